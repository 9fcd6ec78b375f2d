// The logger sink: writes each event to the log at INFO, headers plus the first maxBytesToLog bytes of the body
// as Flume prints them (hex and text). For debugging a pipeline, not for volume.

import type { Channel } from "../core/channel.ts";
import { defineType } from "../core/component-type.ts";
import type { Event } from "../core/event.ts";
import { takeAndDeliver, type Sink, type SinkStatus } from "../core/sink.ts";
import { key, type ConfigOf } from "../core/keys.ts";
import { SinkCounters } from "../core/counters.ts";
import type { Logger } from "../util/log.ts";

export const loggerKeys = {
  maxBytesToLog: key.int("body bytes shown per event", { default: 16, min: 0 }),
  batchSize: key.int("events per take", { default: 100, min: 1 }),
};

const decoder = new TextDecoder("utf-8", { fatal: false });

/** Flume's EventHelper.dumpEvent shape: `Event: { headers:{k=v} body: 68 65 6C 6C 6F  hello }`. */
export function dumpEvent(e: Event, maxBytes: number): string {
  const body = e.body.subarray(0, maxBytes);
  const hex = Array.from(body, (b) => b.toString(16).toUpperCase().padStart(2, "0")).join(" ");
  const text = decoder.decode(body).replace(/[\x00-\x1f\x7f]/g, ".");
  const headers = Object.entries(e.headers).map(([k, v]) => `${k}=${v}`).join(", ");
  return `Event: { headers:{${headers}} body: ${hex}${hex ? " " : ""}${text} }`;
}

export class LoggerSink implements Sink {
  readonly type = "logger";
  readonly counters = new SinkCounters();
  constructor(
    readonly name: string,
    readonly channel: Channel,
    private readonly cfg: ConfigOf<typeof loggerKeys>,
    private readonly log: Logger,
  ) {}
  async start(): Promise<void> {
    this.counters.StartTime = Date.now();
  }
  async stop(): Promise<void> {
    this.counters.StopTime = Date.now();
  }
  process(): Promise<SinkStatus> {
    return takeAndDeliver(this.channel, this.cfg.batchSize, this.counters, (events) => {
      for (const e of events) this.log.info(dumpEvent(e, this.cfg.maxBytesToLog));
    });
  }
}

export const loggerSinkType = defineType({
  kind: "sink",
  names: ["logger", "org.apache.flume.sink.LoggerSink"],
  keys: loggerKeys,
  create: (cfg, ctx, deps) => new LoggerSink(ctx.name, deps.channel, cfg, ctx.log),
});
