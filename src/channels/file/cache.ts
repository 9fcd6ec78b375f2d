// The file channel's record cache, keyed by position, within a byte budget (`cacheBytes`) that counts what its entries
// really cost. A record just put enters while the cache is under its budget as the put's own events (so a sink that
// keeps up takes them with no decode and no copy: the cost counted is the record's encoded size plus each event
// object's measured overhead); anything else is read back from its segment when taken — neighbours in one positional
// read — held as encoded bytes, and decoded per take, only the run taken. An entry leaves once its last event's take
// committed, so a backlog beyond the budget costs nothing here, never an object per event.

import { CorruptLogError } from "../../core/errors.ts";
import type { Event } from "../../core/event.ts";
import { checkPutRecord, decodePutRange, recordKey, type EventPos, type Run } from "./segment.ts";
import type { Wal } from "./wal.ts";

/** Uncached neighbour records are read together when at most this far apart (TAKE records sit between them)… */
const READ_GAP_BYTES = 64 * 1024;
/** …and the whole read stays below this. */
const READ_SPAN_BYTES = 8 * 1024 * 1024;
/** What an entry costs beyond its record's bytes: the entry and cursor objects and the map's slot (measured ~150 B). */
const ENTRY_OVERHEAD_BYTES = 160;
/**
 * What a held event costs beyond its encoded bytes: the event object, its body's Uint8Array view and an array slot
 * (measured under Bun: a million 200 B events as views into one buffer added 126 MB of RSS).
 */
const EVENT_OVERHEAD_BYTES = 128;

export interface CacheEntry {
  /** The put's own events, when the entry was offered by put (then `rec` is empty). */
  events?: readonly Event[];
  /** The whole PUT record (header included), CRC-checked, when the entry was read back from its segment. */
  rec: Uint8Array;
  count: number;
  cost: number;
  /** Where the record's first event starts. */
  first: EventPos;
  /** Where the last decoded range ended: the next take of this record usually starts there. */
  next: EventPos;
}

const NO_RECORD = new Uint8Array(0);
/** The position of an entry that holds events, not a record (never decoded). */
const START: EventPos = { index: 0, at: 0 };

export class RecordCache {
  private readonly entries = new Map<number, CacheEntry>();
  private readonly loading = new Map<number, Promise<CacheEntry>>();
  private bytes = 0;

  constructor(
    private readonly wal: Wal,
    private readonly limit: number,
  ) {}

  /** Bytes the cache holds now (its entries' full cost). */
  get size(): number {
    return this.bytes;
  }

  private add(k: number, e: CacheEntry): CacheEntry {
    // Two takes that split one record may both load it: keep the first copy, count its bytes once.
    const old = this.entries.get(k);
    if (old) return old;
    this.entries.set(k, e);
    this.bytes += e.cost;
    return e;
  }

  private addRecord(k: number, rec: Uint8Array, count: number, first: EventPos): CacheEntry {
    return this.add(k, { rec, count, cost: rec.byteLength + ENTRY_OVERHEAD_BYTES, first, next: first });
  }

  /**
   * A PUT record of `recBytes` just written, holding `batches` (`count` events): kept as those very events while
   * under budget (the events are the put's, which nobody changes once put: the memory channel holds them the same
   * way). When over, new records wait on disk (older ones are taken first).
   */
  offer(k: number, batches: readonly (readonly Event[])[], count: number, recBytes: number): void {
    const cost = recBytes + count * EVENT_OVERHEAD_BYTES + ENTRY_OVERHEAD_BYTES;
    if (this.bytes + cost > this.limit) return;
    // A copy of the array (references only): the caller's array is its own to reuse.
    const events = batches.length === 1 ? batches[0]!.slice() : batches.flat();
    this.add(k, { events, rec: NO_RECORD, count, cost, first: START, next: START });
  }

  /** A take of `run` committed: the record leaves once its last event is gone. */
  taken(run: Run): void {
    const k = recordKey(run.seg, run.off);
    const e = this.entries.get(k);
    if (!e || run.end < e.count) return;
    this.entries.delete(k);
    this.bytes -= e.cost;
  }

  /** A PUT record, from the cache or read back from its segment (concurrent readers share one read). */
  record(run: Run): CacheEntry | Promise<CacheEntry> {
    const k = recordKey(run.seg, run.off);
    const hit = this.entries.get(k);
    if (hit) return hit;
    let p = this.loading.get(k);
    if (!p) {
      p = (async () => {
        const rec = await this.wal.read(run.seg, run.off, run.len);
        const c = checkPutRecord(rec);
        if (typeof c === "string") throw new CorruptLogError(`unreadable PUT record (${c})`, this.wal.segmentPath(run.seg), run.off);
        return this.addRecord(k, rec, c.count, c.first);
      })().finally(() => this.loading.delete(k));
      this.loading.set(k, p);
    }
    return p;
  }

  /** Decodes the events of `run` from its record into `out`; returns their body bytes. */
  events(e: CacheEntry, run: Run, out: Event[]): number {
    const from = out.length;
    if (e.events) {
      let b = 0;
      for (let i = run.start; i < run.end; i++) {
        const ev = e.events[i]!;
        out.push(ev);
        b += ev.body.byteLength;
      }
      return b;
    }
    const end = decodePutRange(e.rec, run.start, run.end, e.next.index <= run.start ? e.next : e.first, out);
    if (typeof end === "string") {
      out.length = from;
      throw new CorruptLogError(`unreadable PUT record (${end})`, this.wal.segmentPath(run.seg), run.off);
    }
    e.next = end;
    let b = 0;
    for (let i = from; i < out.length; i++) b += out[i]!.body.byteLength;
    return b;
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
        const rec = buf.subarray(at, at + r.len);
        const c = checkPutRecord(rec);
        if (typeof c !== "string") this.addRecord(k, rec, c.count, c.first);
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
