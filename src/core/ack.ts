// End-to-end acknowledgement: tells a re-readable source when each batch it put is *safe*, so it persists
// offsets only up to what can no longer be lost.
//
// The model (ARCHITECTURE.md, "Acknowledgement"):
//   - A source that can re-read its input (taildir, spooldir) owns one AckTracker per input stream (per file).
//     For each batch it reads it calls `tracker.issue(cursor)`, where `cursor` says where the *next* read starts
//     (e.g. { inode, offset }), and hands the returned Ack to ChannelProcessor.putBatch together with the batch.
//   - The Ack starts with one hold, the "seal", owned by the channel processor while it puts into the channels.
//   - A durable channel (file) adds no hold: its fsynced commit makes the batch safe for that channel.
//     A memory-held channel (memory, the memory part of spillable) calls `ack.hold(n)` for the n events it keeps and
//     `ack.release(k)` when a sink's take of k of them commits (or when they are spilled durably to disk).
//   - When every channel committed, the processor releases the seal. An Ack whose holds reach zero is safe.
//   - The tracker reports, in issue order, the cursor of the newest batch such that it and every batch before it
//     are safe: the contiguous safe watermark. `onSafe` receives that cursor; the source persists it.
//   - If a put fails (channel full, error), the processor cancels the Ack: it is dropped from the tracker and any
//     holds channels took on it are ignored. The source must then retry the *same* batch with a new Ack before it
//     reads further, which is why only the newest issued Ack may be cancelled.
//
// Nothing here does I/O: the source decides how (and how often) a safe cursor is written. Costs are per batch plus one
// counter per run of same-Ack events on take, never a promise or an allocation per event.

import { SluiceError } from "./errors.ts";

export class Ack {
  /** Outstanding holds: the seal plus events still held by memory channels. */
  private holds = 1;
  private cancelled = false;
  constructor(
    private readonly tracker: AckTracker<unknown>,
    readonly seq: number,
    readonly cursor: unknown,
  ) {}

  /** A memory-held channel keeps `n` more events of this batch. */
  hold(n: number): void {
    if (!this.cancelled) this.holds += n;
  }

  /** `n` held events (or the seal) became safe. */
  release(n = 1): void {
    if (this.cancelled || this.holds <= 0) return;
    this.holds -= n;
    if (this.holds <= 0) this.tracker.markSafe(this);
  }

  /** The batch failed to enter the channels; the source will retry it with a new Ack. */
  cancel(): void {
    if (this.cancelled || this.holds <= 0) return;
    this.cancelled = true;
    this.tracker.forget(this);
  }

  get isSafe(): boolean {
    return this.holds <= 0 && !this.cancelled;
  }

  get isCancelled(): boolean {
    return this.cancelled;
  }
}

export class AckTracker<C> {
  private nextSeq = 0;
  /** Issued, not yet cancelled Acks in issue order, from the oldest not yet reported safe. */
  private readonly pending: Ack[] = [];
  private head = 0;
  private safeCursor: C | undefined;
  private readonly idleWaiters: Array<() => void> = [];

  /** `onSafe` runs synchronously inside release(); keep it cheap (record the cursor, schedule a write). */
  constructor(private readonly onSafe: (cursor: C) => void) {}

  issue(cursor: C): Ack {
    const ack = new Ack(this as AckTracker<unknown>, this.nextSeq++, cursor);
    this.pending.push(ack);
    return ack;
  }

  /** Batches issued and not yet safe (cancelled ones excluded). */
  get inFlight(): number {
    return this.pending.length - this.head;
  }

  /** The newest cursor reported safe, if any. */
  get lastSafe(): C | undefined {
    return this.safeCursor;
  }

  /** Resolves when every issued batch is safe, or after `timeoutMs`; true when all were safe. */
  whenIdle(timeoutMs: number): Promise<boolean> {
    if (this.inFlight === 0) return Promise.resolve(true);
    return new Promise((resolve) => {
      const done = () => {
        clearTimeout(timer);
        resolve(true);
      };
      const timer = setTimeout(() => {
        const i = this.idleWaiters.indexOf(done);
        if (i >= 0) this.idleWaiters.splice(i, 1);
        resolve(false);
      }, timeoutMs);
      this.idleWaiters.push(done);
    });
  }

  /** @internal called by Ack */
  markSafe(_ack: Ack): void {
    let advanced: Ack | undefined;
    while (this.head < this.pending.length && this.pending[this.head]!.isSafe) advanced = this.pending[this.head++];
    if (this.head > 1024 && this.head * 2 > this.pending.length) {
      this.pending.splice(0, this.head);
      this.head = 0;
    }
    if (advanced) {
      this.safeCursor = advanced.cursor as C;
      this.onSafe(this.safeCursor);
      if (this.inFlight === 0) for (const w of this.idleWaiters.splice(0)) w();
    }
  }

  /** @internal called by Ack.cancel: only the newest issued Ack can be cancelled (the source retries it next). */
  forget(ack: Ack): void {
    const i = this.pending.lastIndexOf(ack);
    if (i < this.head) return;
    if (i !== this.pending.length - 1) {
      throw new SluiceError("INTERNAL", `ack ${ack.seq} cancelled out of order: a source must retry a failed batch before reading on`, false);
    }
    // Older Acks were already scanned by markSafe, so dropping the newest changes no watermark.
    this.pending.pop();
    if (this.inFlight === 0) for (const w of this.idleWaiters.splice(0)) w();
  }
}
