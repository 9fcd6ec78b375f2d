// The null sink: takes batches and discards them. For benchmarks and for testing the path up to a sink.

import type { Channel } from "../core/channel.ts";
import { defineType } from "../core/component-type.ts";
import { takeAndDeliver, type Sink, type SinkStatus } from "../core/sink.ts";
import { key, type ConfigOf } from "../core/keys.ts";
import { SinkCounters } from "../core/counters.ts";

export const nullKeys = {
  batchSize: key.int("events per take", { default: 100, min: 1 }),
};

export class NullSink implements Sink {
  readonly type = "null";
  readonly counters = new SinkCounters();
  constructor(
    readonly name: string,
    readonly channel: Channel,
    private readonly cfg: ConfigOf<typeof nullKeys>,
  ) {}
  async start(): Promise<void> {
    this.counters.StartTime = Date.now();
  }
  async stop(): Promise<void> {
    this.counters.StopTime = Date.now();
  }
  process(): Promise<SinkStatus> {
    return takeAndDeliver(this.channel, this.cfg.batchSize, this.counters, () => {});
  }
}

export const nullSinkType = defineType({
  kind: "sink",
  names: ["null", "org.apache.flume.sink.NullSink"],
  keys: nullKeys,
  create: (cfg, ctx, deps) => new NullSink(ctx.name, deps.channel, cfg),
});
