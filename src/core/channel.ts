// The Channel contract (Flume's): a transaction holds either puts or takes, then commits or rolls back.
// Every implementation (memory, file, spillable) runs the shared contract test in tests/channels/contract.ts.

import type { Ack } from "./ack.ts";
import type { Lifecycle } from "./component.ts";
import type { Event } from "./event.ts";
import type { ChannelCounters } from "./counters.ts";
import { SluiceError, TransactionCapacityError } from "./errors.ts";

export interface Transaction {
  /**
   * Stages a batch. `ack`, when given, is held by a memory-held channel until a sink's take of these events
   * commits (see core/ack.ts); a durable channel ignores it. Throws TransactionCapacityError past transactionCapacity.
   */
  put(events: readonly Event[], ack?: Ack): void;
  /** Takes up to `max` events (fewer when the channel has fewer); an empty array means nothing now. */
  take(max: number): Promise<Event[]>;
  /**
   * Puts: waits up to keep-alive for room, then throws ChannelFullError (the caller keeps its batch); a durable
   * channel resolves only once the batch is on disk. Takes: the events are gone for good (and their Acks released).
   */
  commit(): Promise<void>;
  /** Puts are dropped; taken events return to the head of the channel in their order. */
  rollback(): Promise<void>;
}

export interface Channel extends Lifecycle {
  readonly name: string;
  readonly type: string;
  /** True when a committed put survives kill -9 and power loss (the commit fsynced). */
  readonly durable: boolean;
  readonly counters: ChannelCounters;
  begin(): Transaction;
  /** Events committed and not yet taken. */
  size(): number;
  /** Maximum events the channel holds. */
  capacity(): number;
  /** Resolves as soon as a put commits, or after `ms` (whichever is first): sinks wait here instead of sleeping. */
  waitForEvents(ms: number): Promise<void>;
  /** Extra gauges for metrics and status (bytes on disk, oldest event age…). */
  gauges?(): Record<string, number>;
}

/**
 * What every channel's transaction shares: puts or takes (never both), transactionCapacity for each, the attempt
 * counters, and one commit or rollback. A channel supplies how events are taken, committed and given back.
 */
export abstract class BaseTransaction implements Transaction {
  /** Staged put batches and their Acks, in put order. */
  protected batches: (readonly Event[])[] = [];
  protected acks: (Ack | undefined)[] = [];
  protected putCount = 0;
  protected takenCount = 0;
  private done = false;

  constructor(
    protected readonly channelName: string,
    private readonly transactionCapacity: number,
    protected readonly counters: ChannelCounters,
  ) {}

  put(events: readonly Event[], ack?: Ack): void {
    if (this.takenCount > 0) throw new SluiceError("INTERNAL", `channel ${this.channelName}: a transaction holds either puts or takes`, false);
    if (this.putCount + events.length > this.transactionCapacity) {
      throw new TransactionCapacityError(this.channelName, this.putCount + events.length, this.transactionCapacity);
    }
    this.counters.EventPutAttemptCount += events.length;
    this.batches.push(events);
    this.acks.push(ack);
    this.putCount += events.length;
  }

  async take(max: number): Promise<Event[]> {
    if (this.putCount > 0) throw new SluiceError("INTERNAL", `channel ${this.channelName}: a transaction holds either puts or takes`, false);
    if (this.takenCount + max > this.transactionCapacity) {
      throw new TransactionCapacityError(this.channelName, this.takenCount + max, this.transactionCapacity);
    }
    this.counters.EventTakeAttemptCount += max;
    const got = await this.takeNow(max);
    this.takenCount += got.length;
    return got;
  }

  async commit(): Promise<void> {
    if (this.done) return;
    this.done = true;
    try {
      if (this.putCount > 0) await this.commitPuts();
      else await this.commitTakes();
    } finally {
      this.batches = [];
    }
  }

  async rollback(): Promise<void> {
    if (this.done) return;
    this.done = true;
    this.batches = [];
    await this.rollbackTakes();
  }

  /** Removes up to `max` events from the channel's head for this transaction. */
  protected abstract takeNow(max: number): Promise<Event[]>;
  /** Makes `batches` visible to takers (and durable, for a durable channel); throws ChannelFullError when no room. */
  protected abstract commitPuts(): Promise<void>;
  /** Ends the takes for good (may be called with nothing taken). */
  protected abstract commitTakes(): Promise<void>;
  /** Returns taken events to the head in their order (may be called with nothing taken). */
  protected abstract rollbackTakes(): Promise<void> | void;
}
