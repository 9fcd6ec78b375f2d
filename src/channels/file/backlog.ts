// The file channel's accounting of what it holds, all in memory and synchronous: the queue of runs, the runs open
// takes hold, room claimed by put commits still on their way to the WAL, body bytes, and live events per segment
// (a segment may go once none is left), and the sources' cursors committed with their batches. The channel changes it only in the WAL's apply callbacks and before any
// await, so a checkpoint's snapshot always matches the WAL position it is taken at.

import type { SourceCursor } from "../../core/channel.ts";
import { RunQueue } from "./queue.ts";
import type { Run } from "./segment.ts";
import type { FileTake } from "./take.ts";

export class Backlog {
  queue = new RunQueue();
  /** Take transactions holding events (not yet committed or rolled back): a checkpoint must include them. */
  private readonly inflight = new Set<FileTake>();
  private inflightEvents = 0;
  /** Events of put commits waiting for their WAL round. */
  private reserved = 0;
  /** Body bytes of queued and in-flight events. */
  bytes = 0;
  private readonly segLive = new Map<number, number>();
  /** The last committed cursor of each source (see FileChannel.put), as of the records applied so far. */
  cursors = new Map<string, Uint8Array>();

  /** Starts from what recovery found. */
  restore(queue: RunQueue, bytes: number, cursors: Map<string, Uint8Array>): void {
    this.queue = queue;
    this.bytes = bytes;
    this.cursors = cursors;
    for (const run of queue) this.addLive(run.seg, run.end - run.start);
  }

  /** A PUT record's cursor was applied: an empty one forgets its key. */
  setCursor(c: SourceCursor): void {
    if (c.cursor.byteLength === 0) this.cursors.delete(c.source);
    else this.cursors.set(c.source, c.cursor);
  }

  /** Events queued, taken-and-uncommitted and reserved by put commits, against `capacity`. */
  fits(n: number, capacity: number): boolean {
    return this.queue.events + this.inflightEvents + this.reserved + n <= capacity;
  }

  reserve(n: number): void {
    this.reserved += n;
  }

  unreserve(n: number): void {
    this.reserved -= n;
  }

  /** A PUT (or PUT_FRONT) record was applied: its run joins the tail (or the head). */
  enqueue(run: Run, bytes: number, front: boolean): void {
    if (front) this.queue.unshift(run);
    else this.queue.push(run);
    this.bytes += bytes;
    this.addLive(run.seg, run.end - run.start);
  }

  /** Moves up to `max` events from the head into `tx` as runs (registered at once: checkpoints include them). */
  take(tx: FileTake, max: number): Run[] {
    const runs = this.queue.take(max);
    if (runs.length === 0) return runs;
    for (const r of runs) tx.runs.push(r);
    this.inflight.add(tx);
    this.inflightEvents += countOf(runs);
    return runs;
  }

  /** The last take into `tx` failed before returning events: its runs go back to the head. */
  untake(tx: FileTake, runs: Run[]): void {
    tx.runs.splice(tx.runs.length - runs.length, runs.length);
    this.inflightEvents -= countOf(runs);
    if (tx.runs.length === 0) this.inflight.delete(tx);
    this.queue.unshiftAll(runs);
  }

  /** The TAKE record of `tx` was applied: its events are gone. Returns how many. */
  taken(tx: FileTake): number {
    let n = 0;
    for (const r of tx.runs) {
      const k = r.end - r.start;
      n += k;
      this.addLive(r.seg, -k);
    }
    this.inflight.delete(tx);
    this.inflightEvents -= n;
    this.bytes -= tx.bytes;
    return n;
  }

  /** `tx` rolled back: its runs return to the head. False when it held nothing (or was already settled). */
  returned(tx: FileTake): boolean {
    if (!this.inflight.delete(tx)) return false;
    this.inflightEvents -= countOf(tx.runs);
    this.queue.unshiftAll(tx.runs);
    return true;
  }

  /** Whether any queued or in-flight event still points into segment `id`. */
  live(id: number): boolean {
    return (this.segLive.get(id) ?? 0) > 0;
  }

  /** Time of the oldest record anything held points into. */
  oldestTs(): number | undefined {
    let oldest = this.queue.peek()?.ts;
    for (const tx of this.inflight) for (const r of tx.runs) if (oldest === undefined || r.ts < oldest) oldest = r.ts;
    return oldest;
  }

  /** What a checkpoint holds: open takes' runs first (in WAL order), then the queue. */
  snapshot(): { runs: Iterable<Run>; count: number } {
    const open: Run[] = [];
    for (const tx of this.inflight) for (const r of tx.runs) open.push(r);
    open.sort((a, b) => a.seg - b.seg || a.off - b.off || a.start - b.start);
    return { runs: concat(open, this.queue), count: open.length + this.queue.length };
  }

  private addLive(seg: number, k: number): void {
    const live = (this.segLive.get(seg) ?? 0) + k;
    if (live > 0) this.segLive.set(seg, live);
    else this.segLive.delete(seg);
  }
}

function countOf(runs: readonly Run[]): number {
  let n = 0;
  for (const r of runs) n += r.end - r.start;
  return n;
}

function* concat(a: readonly Run[], b: Iterable<Run>): Iterable<Run> {
  yield* a;
  yield* b;
}
