// The file channel's in-memory queue: runs of events (slices of PUT records, see segment.ts) in delivery order.
// One entry per put batch rather than per event, so a backlog of millions of events costs a few MB here.

import type { Run } from "./segment.ts";

export class RunQueue {
  private buf: (Run | undefined)[] = new Array(64);
  private head = 0;
  private len = 0;
  /** Events in all runs. */
  events = 0;

  get length(): number {
    return this.len;
  }

  private grow(): void {
    const next = new Array<Run | undefined>(this.buf.length * 2);
    for (let i = 0; i < this.len; i++) next[i] = this.buf[(this.head + i) % this.buf.length];
    this.buf = next;
    this.head = 0;
  }

  push(r: Run): void {
    if (this.len === this.buf.length) this.grow();
    this.buf[(this.head + this.len) % this.buf.length] = r;
    this.len++;
    this.events += r.end - r.start;
  }

  unshift(r: Run): void {
    if (this.len === this.buf.length) this.grow();
    this.head = (this.head - 1 + this.buf.length) % this.buf.length;
    this.buf[this.head] = r;
    this.len++;
    this.events += r.end - r.start;
  }

  /** Puts runs back at the head in their order (runs[0] becomes the head). */
  unshiftAll(runs: readonly Run[]): void {
    for (let i = runs.length - 1; i >= 0; i--) this.unshift(runs[i]!);
  }

  peek(): Run | undefined {
    return this.len === 0 ? undefined : this.buf[this.head];
  }

  /**
   * Removes up to `max` events from the head as runs (the last one split when needed; the queue keeps the rest of
   * it as a new, shorter run).
   */
  take(max: number): Run[] {
    const out: Run[] = [];
    let need = max;
    while (need > 0 && this.len > 0) {
      const r = this.buf[this.head]!;
      const n = r.end - r.start;
      if (n <= need) {
        this.buf[this.head] = undefined;
        this.head = (this.head + 1) % this.buf.length;
        this.len--;
        out.push(r);
        need -= n;
      } else {
        out.push({ ...r, end: r.start + need });
        this.buf[this.head] = { ...r, start: r.start + need };
        need = 0;
      }
    }
    this.events -= max - need;
    return out;
  }

  *[Symbol.iterator](): IterableIterator<Run> {
    for (let i = 0; i < this.len; i++) yield this.buf[(this.head + i) % this.buf.length]!;
  }
}
