// The file channel's record cache: the decoded events of PUT records, keyed by position. Recent puts enter while the
// cache is under its byte budget (so a sink that keeps up never reads the disk); anything else is read back from its
// segment when taken — neighbours in one positional read — and leaves once its last event's take committed.

import { CorruptLogError } from "../../core/errors.ts";
import { bodyBytes, type Event } from "../../core/event.ts";
import { decodePutEvents, recordKey, type Run } from "./segment.ts";
import type { Wal } from "./wal.ts";

/** Uncached neighbour records are read together when at most this far apart (TAKE records sit between them)… */
const READ_GAP_BYTES = 64 * 1024;
/** …and the whole read stays below this. */
const READ_SPAN_BYTES = 8 * 1024 * 1024;

export interface CacheEntry {
  events: Event[];
  bytes: number;
}

export class RecordCache {
  private readonly entries = new Map<number, CacheEntry>();
  private readonly loading = new Map<number, Promise<CacheEntry>>();
  private bytes = 0;

  constructor(
    private readonly wal: Wal,
    private readonly limit: number,
  ) {}

  private add(k: number, events: Event[], bytes: number): CacheEntry {
    // Two takes that split one record may both load it: keep the first copy, count its bytes once.
    const old = this.entries.get(k);
    if (old) return old;
    const e = { events, bytes };
    this.entries.set(k, e);
    this.bytes += bytes;
    return e;
  }

  /** A record just put: kept while under budget. When over, new records wait on disk (older ones are taken first). */
  offer(k: number, events: Event[], bytes: number): void {
    if (this.bytes < this.limit) this.add(k, events, bytes);
  }

  /** A take of `run` committed: the record leaves once its last event is gone. */
  taken(run: Run): void {
    const k = recordKey(run.seg, run.off);
    const e = this.entries.get(k);
    if (!e || run.end < e.events.length) return;
    this.entries.delete(k);
    this.bytes -= e.bytes;
  }

  /** A PUT record's events, from the cache or read back from its segment (concurrent readers share one read). */
  record(run: Run): CacheEntry | Promise<CacheEntry> {
    const k = recordKey(run.seg, run.off);
    const hit = this.entries.get(k);
    if (hit) return hit;
    let p = this.loading.get(k);
    if (!p) {
      p = (async () => {
        const buf = await this.wal.read(run.seg, run.off, run.len);
        const ev = decodePutEvents(buf);
        if (typeof ev === "string") throw new CorruptLogError(`unreadable PUT record (${ev})`, this.wal.segmentPath(run.seg), run.off);
        return this.add(k, ev, bodyBytes(ev));
      })().finally(() => this.loading.delete(k));
      this.loading.set(k, p);
    }
    return p;
  }

  /**
   * Reads the uncached records of a take in as few reads as possible: neighbours in one segment come in one
   * positional read. Damaged records are left for record() to report.
   */
  async prefetch(runs: readonly Run[]): Promise<void> {
    let group: Run[] = [];
    const flush = async () => {
      const g = group;
      group = [];
      if (g.length < 2) return;
      const first = g[0]!;
      const last = g[g.length - 1]!;
      let buf: Uint8Array;
      try {
        buf = await this.wal.read(first.seg, first.off, last.off + last.len - first.off);
      } catch {
        return;
      }
      for (const r of g) {
        const k = recordKey(r.seg, r.off);
        const at = r.off - first.off;
        if (this.entries.has(k) || this.loading.has(k) || at + r.len > buf.byteLength) continue;
        // Views, not copies: records are taken in order, so the span is released soon after its last record.
        const ev = decodePutEvents(buf.subarray(at, at + r.len));
        if (typeof ev !== "string") this.add(k, ev, bodyBytes(ev));
      }
    };
    for (const r of runs) {
      const k = recordKey(r.seg, r.off);
      if (this.entries.has(k) || this.loading.has(k)) continue;
      const prev = group[group.length - 1];
      if (prev && (r.seg !== prev.seg || r.off < prev.off + prev.len || r.off - (prev.off + prev.len) > READ_GAP_BYTES || r.off + r.len - group[0]!.off > READ_SPAN_BYTES)) {
        await flush();
      }
      group.push(r);
    }
    await flush();
  }
}
