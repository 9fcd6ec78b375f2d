// The file channel's in-memory queue: runs of events (slices of PUT records, see segment.ts) in delivery order.
// One entry per put batch rather than per event, so a backlog of millions of events costs a few MB here.

import { Deque } from "../../util/deque.ts";
import type { Run } from "./segment.ts";

export class RunQueue {
  private readonly runs = new Deque<Run>(64);
  /** Events in all runs. */
  events = 0;

  get length(): number {
    return this.runs.length;
  }

  push(r: Run): void {
    this.runs.push(r);
    this.events += r.end - r.start;
  }

  unshift(r: Run): void {
    this.runs.unshift(r);
    this.events += r.end - r.start;
  }

  /** Puts runs back at the head in their order (runs[0] becomes the head). */
  unshiftAll(runs: readonly Run[]): void {
    this.runs.unshiftAll(runs);
    for (const r of runs) this.events += r.end - r.start;
  }

  peek(): Run | undefined {
    return this.runs.peek();
  }

  /**
   * Removes up to `max` events from the head as runs (the last one split when needed; the queue keeps the rest of
   * it as a new, shorter run).
   */
  take(max: number): Run[] {
    const out: Run[] = [];
    let need = max;
    while (need > 0 && this.runs.length > 0) {
      const r = this.runs.peek()!;
      const n = r.end - r.start;
      if (n <= need) {
        this.runs.shiftOne();
        out.push(r);
        need -= n;
      } else {
        out.push({ ...r, end: r.start + need });
        this.runs.replaceHead({ ...r, start: r.start + need });
        need = 0;
      }
    }
    this.events -= max - need;
    return out;
  }

  [Symbol.iterator](): IterableIterator<Run> {
    return this.runs[Symbol.iterator]();
  }
}
