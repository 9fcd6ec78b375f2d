// The replicating selector (Flume's default): every event goes to every channel; `optional` channels may fail.

import type { Channel } from "../core/channel.ts";
import type { ChannelSelector, Route } from "../core/channel-processor.ts";
import { defineType } from "../core/component-type.ts";
import type { Event } from "../core/event.ts";
import { key } from "../core/keys.ts";

export const replicatingKeys = {
  optional: key.list("channels whose failures are ignored", { default: [] }),
};

export class ReplicatingSelector implements ChannelSelector {
  constructor(
    readonly channels: readonly Channel[],
    private readonly optional: ReadonlySet<string> = new Set(),
  ) {}

  route(events: Event[]): Route[] {
    // The same array goes to every channel: channels never mutate a put batch.
    const routes = this.channels.map((channel) => ({ channel, events, optional: this.optional.has(channel.name) }));
    return routes.sort((a, b) => Number(a.optional) - Number(b.optional));
  }
}

export const replicatingSelectorType = defineType({
  kind: "selector",
  names: ["replicating", "org.apache.flume.channel.ReplicatingChannelSelector"],
  keys: replicatingKeys,
  check(cfg, report, ctx) {
    for (const c of cfg.optional) if (!ctx.channels?.includes(c)) report("optional", `"${c}" is not one of this source's channels (${ctx.channels?.join(" ")})`);
  },
  create: (cfg, _ctx, deps) => new ReplicatingSelector(deps.channels, new Set(cfg.optional)),
});
