// The Channel contract (Flume's): a transaction holds either puts or takes, then commits or rolls back.
// Every implementation (memory, file, spillable) runs the shared contract test in tests/channels/contract.ts.

import type { Ack } from "./ack.ts";
import type { Lifecycle } from "./component.ts";
import type { Event } from "./event.ts";
import type { ChannelCounters } from "./counters.ts";
import { SluiceError, TransactionCapacityError } from "./errors.ts";

/**
 * A source's position after a batch (e.g. file identity + offset), opaque to the channel. A channel that supports it
 * (`committedCursor`) commits it in the same durable write as the batch, so after a crash the source resumes exactly
 * after the last committed batch: no line sent twice.
 */
export interface SourceCursor {
  /**
   * Whose position this is: the source's name, or the source's name and one of its inputs (`r1/<file id>`) for a
   * source reading many files. One cursor per key and channel; the last committed wins.
   */
  source: string;
  /** At most 64 KiB. Empty: forget this key (a file finished and gone), so the set of keys stays bounded. */
  cursor: Uint8Array;
}

export interface Transaction {
  /**
   * Stages a batch. `ack`, when given, is held by a memory-held channel until a sink's take of these events
   * commits (see core/ack.ts); a durable channel ignores it. `cursor`, when given, is the source's position after
   * these events: a channel with `committedCursor` commits it with them (the last one per source wins); others
   * ignore it. A cursor with no events (a batch the interceptors dropped whole) is committed too.
   * Throws TransactionCapacityError past transactionCapacity.
   */
  put(events: readonly Event[], ack?: Ack, cursor?: SourceCursor): void;
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
  /**
   * True when the channel references none of a put batch's events once that batch's Ack is safe (the memory
   * channel: a safe batch was taken and committed). A source may then reuse the buffers its bodies are views of.
   * Absent or false (the file channel keeps recent puts in its cache): bodies must stay untouched.
   */
  readonly releasesWhenSafe?: boolean;
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
  /**
   * The cursor of `source` committed with its last committed put (see Transaction.put), as recovered at start and
   * updated by every commit since; undefined when it never committed one. Only durable channels have this.
   */
  committedCursor?(source: string): Uint8Array | undefined;
  /** Every committed cursor by key (see SourceCursor.source): a source reading many files finds all of its own. */
  committedCursors?(): ReadonlyMap<string, Uint8Array>;
}

/**
 * Where a channel keeps its events, as the one transaction shape (StoreTransaction) sees it: every channel implements
 * this and hands out StoreTransactions over itself. `H` is what an open take holds (events taken and not yet
 * committed or given back): created by `newTake()` on a transaction's first take, then passed to every call of it.
 */
export interface ChannelStore<H> {
  /**
   * Makes a transaction's put batches (`n` events, with their Acks) visible to takers — durable first, for a durable
   * channel — waiting up to keep-alive for room; throws ChannelFullError when there is none.
   */
  put(batches: readonly (readonly Event[])[], acks: readonly (Ack | undefined)[], n: number, cursors: readonly SourceCursor[]): Promise<void>;
  /** An empty holding for a take transaction. */
  newTake(): H;
  /** Moves up to `max` events from the head into `held` and returns them (an empty array: nothing now). */
  take(held: H, max: number): Promise<Event[]>;
  /** The held events are gone for good (their Acks released); may hold nothing. On failure they go back to the head. */
  commitTake(held: H): Promise<void>;
  /** Returns the held events to the head in their order; may hold nothing. */
  rollbackTake(held: H): void;
}

/**
 * The one transaction of every channel: puts or takes (never both), transactionCapacity for each, the attempt
 * counters, and one commit or rollback, over the channel's store.
 */
export class StoreTransaction<H> implements Transaction {
  /** Staged put batches and their Acks, in put order. */
  private batches: (readonly Event[])[] = [];
  private acks: (Ack | undefined)[] = [];
  private putCount = 0;
  /** The last cursor staged per source, in the order sources first staged one. */
  private cursors: SourceCursor[] = [];
  private takenCount = 0;
  private held?: H;
  private done = false;

  constructor(
    private readonly store: ChannelStore<H>,
    private readonly channelName: string,
    private readonly transactionCapacity: number,
    private readonly counters: ChannelCounters,
  ) {}

  put(events: readonly Event[], ack?: Ack, cursor?: SourceCursor): void {
    if (this.held !== undefined) throw new SluiceError("INTERNAL", `channel ${this.channelName}: a transaction holds either puts or takes`, false);
    if (this.putCount + events.length > this.transactionCapacity) {
      throw new TransactionCapacityError(this.channelName, this.putCount + events.length, this.transactionCapacity);
    }
    this.counters.EventPutAttemptCount += events.length;
    this.batches.push(events);
    this.acks.push(ack);
    this.putCount += events.length;
    if (cursor) {
      const i = this.cursors.findIndex((c) => c.source === cursor.source);
      if (i >= 0) this.cursors[i] = cursor;
      else this.cursors.push(cursor);
    }
  }

  async take(max: number): Promise<Event[]> {
    if (this.putCount > 0 || this.cursors.length > 0) throw new SluiceError("INTERNAL", `channel ${this.channelName}: a transaction holds either puts or takes`, false);
    if (this.takenCount + max > this.transactionCapacity) {
      throw new TransactionCapacityError(this.channelName, this.takenCount + max, this.transactionCapacity);
    }
    this.counters.EventTakeAttemptCount += max;
    this.held ??= this.store.newTake();
    const got = await this.store.take(this.held, max);
    this.takenCount += got.length;
    return got;
  }

  async commit(): Promise<void> {
    if (this.done) return;
    this.done = true;
    try {
      if (this.putCount > 0 || this.cursors.length > 0) await this.store.put(this.batches, this.acks, this.putCount, this.cursors);
      else if (this.held !== undefined) await this.store.commitTake(this.held);
    } finally {
      this.batches = [];
      this.acks = [];
    }
  }

  async rollback(): Promise<void> {
    if (this.done) return;
    this.done = true;
    this.batches = [];
    this.acks = [];
    if (this.held !== undefined) this.store.rollbackTake(this.held);
  }
}
