// The memory channel: a bounded in-memory queue. Not durable, so it holds each put batch's Ack until a sink's
// take of those events commits (core/ack.ts): a crash loses nothing a re-readable source cannot read again.

import { releaseRuns, type Ack } from "../core/ack.ts";
import { BaseTransaction, type Channel, type Transaction } from "../core/channel.ts";
import { claimWithin, Signal } from "../util/signal.ts";
import type { ComponentContext } from "../core/component.ts";
import { defineType } from "../core/component-type.ts";
import { ChannelClosedError, ChannelFullError } from "../core/errors.ts";
import { bodyBytes, type Event } from "../core/event.ts";
import { key, type ConfigOf } from "../core/keys.ts";
import { ChannelCounters } from "../core/counters.ts";
import { Deque } from "../util/deque.ts";
import { totalMemoryBytes } from "../runtime.ts";

/** Flume sizes byteCapacity from the JVM heap; we have no heap limit, so take a tenth of physical memory. */
const DEFAULT_BYTE_CAPACITY_FRACTION = 0.1;

export const memoryKeys = {
  capacity: key.int("maximum events held", { default: 100, min: 1 }),
  transactionCapacity: key.int("maximum events per put or take transaction", { default: 100, min: 1 }),
  byteCapacity: key.bytes("maximum body bytes held (0 = no byte limit)", { defaultText: "10 % of physical memory", min: 0 }),
  byteCapacityBufferPercentage: key.int("percent of byteCapacity kept free for headers and overhead", { default: 20, min: 0, max: 99 }),
  "keep-alive": key.duration("how long a put waits for room before the source is told the channel is full", { default: 3000, unit: "s" }),
};
export type MemoryChannelConfig = ConfigOf<typeof memoryKeys>;

export class MemoryChannel implements Channel {
  readonly durable = false;
  readonly counters = new ChannelCounters();
  private readonly events: Deque<Event>;
  private readonly acks: Deque<Ack | undefined>;
  private bytes = 0;
  /** Events taken by open transactions: still counted against capacity until their take commits. */
  private taken = 0;
  private readonly byteLimit: number;
  private readonly signal = new Signal();
  private readonly room = new Signal();
  private open = false;

  constructor(
    readonly name: string,
    readonly config: MemoryChannelConfig,
    readonly type = "memory",
  ) {
    const cap = config.byteCapacity ?? Math.floor(totalMemoryBytes() * DEFAULT_BYTE_CAPACITY_FRACTION);
    this.byteLimit = cap === 0 ? Infinity : Math.floor(cap * (1 - config.byteCapacityBufferPercentage / 100));
    this.events = new Deque(Math.min(config.capacity, 4096));
    this.acks = new Deque(Math.min(config.capacity, 4096));
  }

  async start(): Promise<void> {
    this.open = true;
    this.counters.StartTime = Date.now();
  }

  async stop(): Promise<void> {
    this.open = false;
    this.counters.StopTime = Date.now();
    this.signal.notify();
    this.room.notify();
  }

  size(): number {
    return this.events.length;
  }

  capacity(): number {
    return this.config.capacity;
  }

  byteSize(): number {
    return this.bytes;
  }

  waitForEvents(ms: number): Promise<void> {
    return this.events.length > 0 ? Promise.resolve() : this.signal.wait(ms);
  }

  gauges(): Record<string, number> {
    return { ChannelBytes: this.bytes };
  }

  begin(): Transaction {
    if (!this.open) throw new ChannelClosedError(this.name);
    return new MemoryTransaction(this);
  }

  private fits(n: number, b: number): boolean {
    return this.events.length + this.taken + n <= this.config.capacity && (this.bytes + b <= this.byteLimit || this.bytes === 0);
  }

  /** @internal Puts the batches once there is room (claimed in the same step as the check), waiting up to keep-alive. */
  async putWithin(batches: readonly (readonly Event[])[], acks: readonly (Ack | undefined)[], n: number, b: number): Promise<void> {
    const put = () => {
      for (let i = 0; i < batches.length; i++) {
        const batch = batches[i]!;
        const ack = acks[i];
        this.events.pushAll(batch);
        this.acks.fill(ack, batch.length);
        ack?.hold(batch.length);
      }
      this.bytes += b;
      this.counters.EventPutSuccessCount += n;
      this.signal.notify();
    };
    if (await claimWithin(this.room, this.config["keep-alive"], () => this.fits(n, b), put, () => this.open)) return;
    const byBytes = this.events.length + this.taken + n <= this.config.capacity;
    throw new ChannelFullError(
      this.name,
      byBytes
        ? `no room for ${b} more body bytes within keep-alive (${this.bytes}/${this.byteLimit} bytes: byteCapacity less byteCapacityBufferPercentage)`
        : `no room for ${n} events within keep-alive (size ${this.size()}/${this.capacity()}, ${this.taken} taken and not yet committed)`,
    );
  }

  /** @internal */
  takeNow(max: number): { events: Event[]; acks: (Ack | undefined)[] } {
    const events = this.events.shift(max);
    this.taken += events.length;
    return { events, acks: this.acks.shift(max) };
  }

  /** @internal */
  commitTakes(events: readonly Event[], acks: readonly (Ack | undefined)[]): void {
    this.bytes -= bodyBytes(events);
    this.taken -= events.length;
    this.counters.EventTakeSuccessCount += events.length;
    releaseRuns(acks);
    this.room.notify();
  }

  /** @internal */
  returnTakes(events: readonly Event[], acks: readonly (Ack | undefined)[]): void {
    this.events.unshiftAll(events);
    this.acks.unshiftAll(acks);
    this.taken -= events.length;
    this.signal.notify();
  }
}

class MemoryTransaction extends BaseTransaction {
  private taken: Event[] = [];
  private takenAcks: (Ack | undefined)[] = [];

  constructor(private readonly ch: MemoryChannel) {
    super(ch.name, ch.config.transactionCapacity, ch.counters);
  }

  protected async takeNow(max: number): Promise<Event[]> {
    const { events, acks } = this.ch.takeNow(max);
    if (this.taken.length === 0) {
      this.taken = events;
      this.takenAcks = acks;
    } else {
      this.taken.push(...events);
      this.takenAcks.push(...acks);
    }
    return events;
  }

  protected async commitPuts(): Promise<void> {
    let b = 0;
    for (const batch of this.batches) b += bodyBytes(batch);
    await this.ch.putWithin(this.batches, this.acks, this.putCount, b);
  }

  protected async commitTakes(): Promise<void> {
    if (this.taken.length > 0) this.ch.commitTakes(this.taken, this.takenAcks);
  }

  protected rollbackTakes(): void {
    if (this.taken.length > 0) this.ch.returnTakes(this.taken, this.takenAcks);
  }
}

export const memoryChannelType = defineType({
  kind: "channel",
  names: ["memory", "org.apache.flume.channel.MemoryChannel"],
  keys: memoryKeys,
  check(cfg, report) {
    if (cfg.transactionCapacity > cfg.capacity) {
      report("transactionCapacity", `transactionCapacity (${cfg.transactionCapacity}) must be ≤ capacity (${cfg.capacity})`);
    }
  },
  create(cfg, ctx: ComponentContext) {
    return new MemoryChannel(ctx.name, cfg);
  },
});
