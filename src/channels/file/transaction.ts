// A file channel transaction: puts are staged in memory and become one WAL record at commit; takes hold their runs
// (visible to checkpoints) until commit logs them or rollback returns them to the head of the queue.

import type { Ack } from "../../core/ack.ts";
import { BaseTransaction } from "../../core/channel.ts";
import type { ChannelCounters } from "../../core/counters.ts";
import type { Event } from "../../core/event.ts";
import type { Run } from "./segment.ts";

/** What a transaction needs of its channel (FileChannel implements it). */
export interface FileTransactionHost {
  readonly name: string;
  readonly config: { readonly transactionCapacity: number };
  readonly counters: ChannelCounters;
  take(tx: FileTransaction, max: number): Promise<Event[]>;
  commitPuts(batches: readonly (readonly Event[])[], acks: readonly (Ack | undefined)[], n: number): Promise<void>;
  commitTakes(tx: FileTransaction): Promise<void>;
  rollbackTakes(tx: FileTransaction): void;
}

export class FileTransaction extends BaseTransaction {
  runs: Run[] = [];
  /** Body bytes of each run in `runs` (for the TAKE record), and their sum. */
  runBytes: number[] = [];
  bytes = 0;

  constructor(private readonly ch: FileTransactionHost) {
    super(ch.name, ch.config.transactionCapacity, ch.counters);
  }

  protected takeNow(max: number): Promise<Event[]> {
    return this.ch.take(this, max);
  }

  protected commitPuts(): Promise<void> {
    return this.ch.commitPuts(this.batches, this.acks, this.putCount);
  }

  protected async commitTakes(): Promise<void> {
    if (this.runs.length > 0) await this.ch.commitTakes(this);
  }

  protected rollbackTakes(): void {
    if (this.runs.length > 0) this.ch.rollbackTakes(this);
  }
}
