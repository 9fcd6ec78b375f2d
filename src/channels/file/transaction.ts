// A file channel transaction: puts are staged in memory and become one WAL record at commit; takes hold their runs
// (visible to checkpoints) until commit logs them or rollback returns them to the head of the queue.

import type { Ack } from "../../core/ack.ts";
import type { Transaction } from "../../core/channel.ts";
import { TransactionCapacityError } from "../../core/errors.ts";
import type { Event } from "../../core/event.ts";
import type { FileChannel } from "./index.ts";
import type { Run } from "./segment.ts";

export class FileTransaction implements Transaction {
  private batches: (readonly Event[])[] = [];
  private acks: (Ack | undefined)[] = [];
  private putCount = 0;
  runs: Run[] = [];
  /** Body bytes of each run in `runs` (for the TAKE record). */
  runBytes: number[] = [];
  bytes = 0;
  private taken = 0;
  private done = false;

  constructor(private readonly ch: FileChannel) {}

  put(events: readonly Event[], ack?: Ack): void {
    if (this.taken > 0) throw new Error("a transaction holds either puts or takes");
    const cap = this.ch.config.transactionCapacity;
    if (this.putCount + events.length > cap) throw new TransactionCapacityError(this.ch.name, this.putCount + events.length, cap);
    this.ch.counters.EventPutAttemptCount += events.length;
    this.batches.push(events);
    this.acks.push(ack);
    this.putCount += events.length;
  }

  async take(max: number): Promise<Event[]> {
    if (this.putCount > 0) throw new Error("a transaction holds either puts or takes");
    const cap = this.ch.config.transactionCapacity;
    if (this.taken + max > cap) throw new TransactionCapacityError(this.ch.name, this.taken + max, cap);
    this.ch.counters.EventTakeAttemptCount += max;
    const got = await this.ch.take(this, max);
    this.taken += got.length;
    return got;
  }

  async commit(): Promise<void> {
    if (this.done) return;
    this.done = true;
    if (this.putCount > 0) await this.ch.commitPuts(this.batches, this.acks, this.putCount);
    else if (this.runs.length > 0) await this.ch.commitTakes(this);
    this.batches = [];
  }

  async rollback(): Promise<void> {
    if (this.done) return;
    this.done = true;
    this.batches = [];
    if (this.runs.length > 0) this.ch.rollbackTakes(this);
  }
}

