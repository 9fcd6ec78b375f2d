// The Channel contract (Flume's): a transaction holds either puts or takes, then commits or rolls back.
// Every implementation (memory, file, spillable) runs the shared contract test in tests/channels/contract.ts.

import type { Ack } from "./ack.ts";
import type { Lifecycle } from "./component.ts";
import type { Event } from "./event.ts";
import type { ChannelCounters } from "../metrics/counters.ts";

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

/** Shared by channel implementations: wakes sinks waiting for events. */
export class EventSignal {
  private waiters: Array<() => void> = [];

  wait(ms: number): Promise<void> {
    return new Promise((resolve) => {
      const t = setTimeout(() => {
        const i = this.waiters.indexOf(done);
        if (i >= 0) this.waiters.splice(i, 1);
        resolve();
      }, ms);
      const done = () => {
        clearTimeout(t);
        resolve();
      };
      this.waiters.push(done);
    });
  }

  notify(): void {
    if (this.waiters.length === 0) return;
    const w = this.waiters;
    this.waiters = [];
    for (const f of w) f();
  }
}
