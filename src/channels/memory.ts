// The memory channel: a bounded in-memory queue. Not durable, so it holds each put batch's Ack until a sink's
// take of those events commits (core/ack.ts): a crash loses nothing a re-readable source cannot read again.

import { StoreTransaction, type Channel, type ChannelStore, type Transaction } from "../core/channel.ts";
import { Signal } from "../util/signal.ts";
import type { ComponentContext } from "../core/component.ts";
import { defineType } from "../core/component-type.ts";
import { ChannelClosedError, ChannelFullError } from "../core/errors.ts";
import type { Ack } from "../core/ack.ts";
import type { Event } from "../core/event.ts";
import { key, type ConfigOf } from "../core/keys.ts";
import { ChannelCounters } from "../core/counters.ts";
import { MemoryQueue, memoryQueueKeys, type MemoryTake } from "./memory-queue.ts";

export const memoryKeys = {
  capacity: key.int("maximum events held", { default: 100, min: 1 }),
  transactionCapacity: key.int("maximum events per put or take transaction", { default: 100, min: 1 }),
  ...memoryQueueKeys,
  "keep-alive": key.duration("how long a put waits for room before the source is told the channel is full", { default: 3000, unit: "s" }),
};
export type MemoryChannelConfig = ConfigOf<typeof memoryKeys>;

export class MemoryChannel implements Channel, ChannelStore<MemoryTake> {
  readonly durable = false;
  /** A batch is safe only when a sink's take of all its events committed: nothing of it is held any more. */
  readonly releasesWhenSafe = true;
  readonly counters = new ChannelCounters();
  private readonly signal = new Signal();
  private readonly q: MemoryQueue;
  private open = false;

  constructor(
    readonly name: string,
    readonly config: MemoryChannelConfig,
    readonly type = "memory",
  ) {
    this.q = new MemoryQueue(config, this.counters, this.signal);
  }

  async start(): Promise<void> {
    this.open = true;
    this.counters.StartTime = Date.now();
  }

  async stop(): Promise<void> {
    this.open = false;
    this.counters.StopTime = Date.now();
    this.signal.notify();
    this.q.room.notify();
  }

  size(): number {
    return this.q.length;
  }

  capacity(): number {
    return this.config.capacity;
  }

  byteSize(): number {
    return this.q.byteSize;
  }

  waitForEvents(ms: number): Promise<void> {
    return this.q.length > 0 ? Promise.resolve() : this.signal.wait(ms);
  }

  gauges(): Record<string, number> {
    return { ChannelBytes: this.q.byteSize };
  }

  begin(): Transaction {
    if (!this.open) throw new ChannelClosedError(this.name);
    return new StoreTransaction(this, this.name, this.config.transactionCapacity, this.counters);
  }

  /** Not durable: source cursors are ignored (the Acks are what tells a source its batch is safe). */
  async put(batches: readonly (readonly Event[])[], acks: readonly (Ack | undefined)[], n: number): Promise<void> {
    if (await this.q.putWithin(batches, acks, n, this.config["keep-alive"], () => true, () => this.open)) return;
    throw new ChannelFullError(this.name, this.q.fullReason(batches, n));
  }

  newTake(): MemoryTake {
    return this.q.newTake();
  }

  async take(held: MemoryTake, max: number): Promise<Event[]> {
    return this.q.take(held, max);
  }

  async commitTake(held: MemoryTake): Promise<void> {
    this.q.commit(held);
  }

  rollbackTake(held: MemoryTake): void {
    this.q.giveBack(held);
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
