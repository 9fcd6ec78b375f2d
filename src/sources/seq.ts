// The seq source (Flume's SequenceGeneratorSource): counts 0, 1, 2… as event bodies, in batches. For tests and
// benchmarks: bodies are written into one buffer per batch, so generating costs no allocation per event.

import type { ChannelProcessor } from "../core/channel-processor.ts";
import type { ComponentContext } from "../core/component.ts";
import { defineType } from "../core/component-type.ts";
import { emptyHeaders, type Event } from "../core/event.ts";
import type { PollableSource, PollStatus } from "../core/source.ts";
import { key, type ConfigOf } from "../core/keys.ts";
import { SourceCounters } from "../core/counters.ts";
import { BatchPutter } from "../core/batch-putter.ts";

export const seqKeys = {
  totalEvents: key.int("events to generate, then stop (default: no end)", { default: Number.MAX_SAFE_INTEGER, min: 0, defaultText: "no end" }),
  batchSize: key.int("events per channel put", { default: 1, min: 1 }),
  bodySize: key.int("sluice: pad each body with spaces to this many bytes (0 = just the number), for benchmarks", { default: 0, min: 0 }),
  eventsPerSecond: key.int("sluice: generate at most this many events per second (0 = as fast as the channel takes them)", { default: 0, min: 0 }),
};
export type SeqConfig = ConfigOf<typeof seqKeys>;

const SPACE = 0x20;
const ZERO = 0x30;
const NINE = 0x39;
const MAX_DIGITS = 16;

export class SeqSource implements PollableSource {
  readonly type = "seq";
  readonly counters = new SourceCounters();
  readonly backoff = { incrementMs: 100, maxMs: 1000 };
  private next = 0;
  private readonly putter: BatchPutter;

  constructor(
    readonly name: string,
    private readonly cfg: SeqConfig,
    processor: ChannelProcessor,
  ) {
    this.putter = new BatchPutter(processor, this.counters);
  }

  async start(): Promise<void> {
    this.counters.StartTime = Date.now();
  }

  async stop(): Promise<void> {
    this.counters.StopTime = Date.now();
  }

  /** The next counter value as ASCII digits, right-aligned in `digits` from `digitStart` (an odometer). */
  private readonly digits = new Uint8Array(MAX_DIGITS).fill(ZERO);
  private digitStart = MAX_DIGITS - 1;

  private increment(): void {
    let i = MAX_DIGITS - 1;
    while (i >= 0 && this.digits[i] === NINE) this.digits[i--] = ZERO;
    if (i >= 0) this.digits[i]!++;
    if (i < this.digitStart) this.digitStart = i;
  }

  private makeBatch(): Event[] {
    const n = Math.min(this.cfg.batchSize, this.cfg.totalEvents - this.next);
    const width = this.cfg.bodySize;
    const buf = new Uint8Array(width > 0 ? Math.max(width, MAX_DIGITS) * n : n * MAX_DIGITS);
    if (width > 0) buf.fill(SPACE);
    const events = new Array<Event>(n);
    const headers = emptyHeaders();
    const digits = this.digits;
    let at = 0;
    for (let i = 0; i < n; i++) {
      const start = at;
      for (let d = this.digitStart; d < MAX_DIGITS; d++) buf[at++] = digits[d]!;
      const end = width > 0 ? Math.max(start + width, at) : at;
      at = end;
      events[i] = { headers, body: buf.subarray(start, end) };
      this.increment();
    }
    this.next += n;
    return events;
  }

  process(): Promise<PollStatus> {
    const retried = this.putter.retry();
    if (retried) return retried;
    if (this.next >= this.cfg.totalEvents) return Promise.resolve("done");
    // Paced: ahead of the rate, the runner backs off (100 ms and up) and the next poll catches up by whole batches.
    const rate = this.cfg.eventsPerSecond;
    if (rate > 0 && this.next >= (rate * (Date.now() - this.counters.StartTime)) / 1000) return Promise.resolve("backoff");
    return this.putter.put(this.makeBatch());
  }
}

export const seqSourceType = defineType({
  kind: "source",
  names: ["seq", "org.apache.flume.source.SequenceGeneratorSource"],
  keys: seqKeys,
  create(cfg, ctx: ComponentContext, deps) {
    return new SeqSource(ctx.name, cfg, deps.processor);
  },
});
