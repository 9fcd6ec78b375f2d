// The default sink processor, as a registered type so `processor.type = default` validates like any other.

import { defineType } from "../core/component-type.ts";
import { DefaultSinkProcessor } from "../core/sink.ts";

export const defaultSinkProcessorType = defineType({
  kind: "sinkprocessor",
  names: ["default", "org.apache.flume.sink.DefaultSinkProcessor"],
  keys: {},
  check(_cfg, report, ctx) {
    if ((ctx.sinks?.length ?? 0) > 1) report("type", `the default processor drives exactly one sink, but the group lists ${ctx.sinks!.length} (use failover or load_balance)`);
  },
  create: (_cfg, _ctx, deps) => new DefaultSinkProcessor(deps.sinks[0]!),
});
