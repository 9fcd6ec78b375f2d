// One tailed file: its open descriptor, where reading stands, the lines read but not yet put, and the acknowledgement
// tracker whose safe watermark is the offset the position file records.
//
// Offsets, from oldest to newest: safeOffset ≤ (ends of batches in flight) ≤ queued lines ≤ splitter/multiline hold
// ≤ readPos ≤ size. Only safeOffset is ever persisted.
//
// Read buffers. With a slab pool (the source gives one when every channel releases a batch once it is safe, and no
// multiline aggregator holds views across reads), reads append into a reused slab and lines are views of it. A slab
// is held while reads go into it, by each queued line that views it, and by each batch in flight that has lines in
// it; the batch's hold is released when the batch is safe (its events are then referenced by nobody), and a slab
// with no holds is overwritten by a later read. A batch whose put is retried may have left events in a channel
// that took it before another refused: its slabs are abandoned, never reused. Without a pool, each read gets a
// fresh buffer sized to what is left, which the collector frees once nothing views it.

import { open, type FileHandle } from "node:fs/promises";
import { AckTracker } from "../../core/ack.ts";
import type { Event } from "../../core/event.ts";
import { LineSplitter, SlabReader, type OverlongPolicy, type SlabClaim, type SlabPool } from "../../util/lines.ts";
import { fingerprint, FINGERPRINT_BYTES, sameStart, type Fingerprint } from "./identity.ts";
import { MultilineAggregator, type MultilineOptions } from "./multiline.ts";

export interface TailOptions {
  batchSize: number;
  maxLineLength: number;
  overlong: OverlongPolicy;
  /** Largest single read. Reads are sized to what the file holds, so a small append costs a small buffer. */
  readBytes: number;
  byteOffsetHeader: boolean;
  multiline?: MultilineOptions;
  emitPartialOnIdle: boolean;
}

/** Header set on a line cut by the truncate policy or a capped multiline record. */
export const TRUNCATED_HEADER = "truncated";
const BYTE_OFFSET_HEADER = "byteoffset";
/** A batch taken for a put: its events, the offset after them (its cursor), and the slabs its events view. */
export interface TakenBatch {
  events: Event[];
  end: number;
  claim?: SlabClaim;
}

/**
 * `active`: the last listing of its directory saw it under a matching name. `unseen`: a listing that raced with
 * renames (see discovery.ts) did not see it; nothing is decided, it is read on as if active. `gone`: deleted, or
 * renamed out of the pattern; it is read to its end through the open descriptor, then closed and forgotten once its
 * batches are safe.
 */
export type TailState = "active" | "unseen" | "gone";

export class TailFile {
  fh?: FileHandle;
  state: TailState = "active";
  size = 0;
  mtimeMs = 0;
  /** Next byte to read. */
  readPos: number;
  /** End of the newest batch taken for a put: lines before it are in a channel or in flight. */
  takenOffset: number;
  /** End of the newest batch known safe: what the position file says. */
  safeOffset: number;
  fp: Fingerprint = { crc: 0, len: 0 };
  /** Last time the file grew (or was opened), for idleTimeout and the grace period of a rotated file. */
  lastGrowth = Date.now();
  tracker: AckTracker<number>;
  /** Batches taken in a row (fairness: maxBatchCount). */
  inRow = 0;
  /** In the source's ready list (kept as a flag: a list lookup per file per pass would be quadratic). */
  inReady = false;
  /** Set when reading failed for good (the file is skipped; named in the log once). */
  failed = false;
  /** When listings began to miss it (state `unseen`), for the give-up bound. */
  unseenSince = 0;
  /** Its descriptor said nlink 0: deleted, not just renamed (nothing of it is remembered once forgotten). */
  deleted = false;
  /** Renamed since it was found: a rotated file, read before the files that took its place. */
  moved = false;
  private readonly splitter: LineSplitter;
  private readonly ml?: MultilineAggregator;
  private queue: Event[] = [];
  /** ends[i]: the offset after queue[i] (reused; grows to the most lines ever queued at once). */
  private ends = new Float64Array(64);
  private qhead = 0;
  /**
   * The part of the last read not yet split into lines: lines are made (objects) only as a batch needs them, so a
   * large read does not hold a few thousand young events at once (each collection would keep them alive).
   */
  private unsplit?: Uint8Array;
  private readonly sharedHeaders: Record<string, string>;
  /** Reads through the source's slab pool, if it has one (see the header). */
  private readonly slabs?: SlabReader;
  private readonly emitLine: (body: Uint8Array, start: number, end: number, truncated: boolean) => void;

  constructor(
    public path: string,
    readonly dev: number,
    readonly ino: number,
    readonly group: string,
    startOffset: number,
    headers: Record<string, string>,
    private readonly o: TailOptions,
    private readonly onSafe: (tf: TailFile) => void,
    pool?: SlabPool,
  ) {
    if (pool) this.slabs = new SlabReader(pool);
    this.readPos = startOffset;
    this.safeOffset = startOffset;
    this.takenOffset = startOffset;
    this.splitter = new LineSplitter({ maxLineLength: o.maxLineLength, overlong: o.overlong }, startOffset);
    if (o.multiline) this.ml = new MultilineAggregator(o.multiline);
    this.sharedHeaders = Object.freeze({ ...headers }) as Record<string, string>;
    this.tracker = this.newTracker();
    // Decided once per file: the plain path shares one frozen header map between all its events.
    this.emitLine = (body, start, end, truncated) => {
      let h = this.sharedHeaders;
      if (truncated || o.byteOffsetHeader) {
        h = { ...h };
        if (o.byteOffsetHeader) h[BYTE_OFFSET_HEADER] = String(start);
        if (truncated) h[TRUNCATED_HEADER] = "true";
      }
      const i = this.queue.push({ headers: h, body }) - 1;
      if (i >= this.ends.length) {
        const grown = new Float64Array(this.ends.length * 2);
        grown.set(this.ends);
        this.ends = grown;
      }
      this.ends[i] = end;
      this.slabs?.viewed(body);
    };
  }

  private newTracker(): AckTracker<number> {
    const t: AckTracker<number> = new AckTracker<number>((end) => {
      // A tracker replaced after truncation still reports its old batches: they no longer describe this file.
      if (t !== this.tracker) return;
      this.safeOffset = end;
      this.slabs?.safe(end);
      this.onSafe(this);
    });
    return t;
  }

  get isOpen(): boolean {
    return this.fh !== undefined;
  }

  /** Lines read and waiting to be put; read bytes not yet split count as one (they hold at least a partial line). */
  get queued(): number {
    return this.queue.length - this.qhead + (this.unsplit ? 1 : 0);
  }

  private get queuedLines(): number {
    return this.queue.length - this.qhead;
  }

  /** Splits the unsplit rest of the last read until `want` lines are queued (or all of it, by default). */
  private split(want: number, now: number): void {
    while (this.unsplit && this.queuedLines < want) {
      const chunk = this.unsplit;
      const need = want === Infinity ? Infinity : want - this.queuedLines;
      const ml = this.ml;
      const used = ml
        ? this.splitter.push(chunk, (line, s, e, t) => ml.push(line, s, e, t, this.emitLine, now), need)
        : this.splitter.push(chunk, this.emitLine, need);
      this.unsplit = used < chunk.length ? chunk.subarray(used) : undefined;
    }
  }

  /** True when nothing is left to read or put (a held partial line or multiline record does not count). */
  get drained(): boolean {
    return this.queued === 0 && this.readPos >= this.size;
  }

  async open(): Promise<void> {
    if (!this.fh) this.fh = await open(this.path, "r");
  }

  /** True when the descriptor open() gave is this file (its path may have changed hands between a stat and the open). */
  async opened(): Promise<boolean> {
    const st = await this.fh?.stat().catch(() => undefined);
    return st !== undefined && st.ino === this.ino && st.dev === this.dev;
  }

  async close(): Promise<void> {
    const fh = this.fh;
    this.fh = undefined;
    // Lines still unsplit view the current slab: made now, they hold it before it is let go.
    this.split(Infinity, Date.now());
    this.slabs?.close();
    await fh?.close().catch(() => {});
  }

  /** Refreshes the fingerprint while the file is shorter than FINGERPRINT_BYTES (it grows into its identity). */
  async updateFingerprint(): Promise<void> {
    if (!this.fh || this.fp.len >= FINGERPRINT_BYTES || this.size <= this.fp.len) return;
    this.fp = await fingerprint(this.fh, this.size);
  }

  /** True when the file no longer starts with the bytes it was fingerprinted by (rewritten in place). */
  async startChanged(): Promise<boolean> {
    return this.fh ? !(await sameStart(this.fh, this.fp)) : false;
  }

  /** Positions a freshly opened file (nothing read yet): reading starts at `offset`, the saved position is `safe`. */
  seek(offset: number, safe = offset): void {
    this.readPos = offset;
    this.safeOffset = safe;
    this.takenOffset = offset;
    this.unsplit = undefined;
    this.splitter.reset(offset);
  }

  /**
   * Starts over from offset 0 (the file was truncated or rewritten): unread and held lines are dropped, a new
   * tracker ignores the old file's batches still in flight.
   */
  restartFromZero(keepQueued: boolean): void {
    // Bytes read before the truncation and not split yet are lines of the old content like the queued ones.
    if (keepQueued) this.split(Infinity, Date.now());
    this.unsplit = undefined;
    this.readPos = 0;
    this.safeOffset = 0;
    this.takenOffset = 0;
    this.splitter.reset(0);
    // A multiline record held back is made of complete lines read before the truncation: deliver it with them.
    if (keepQueued) this.ml?.flush(this.emitLine);
    this.ml?.reset();
    if (keepQueued) {
      // Lines read before the truncation are still delivered; their cursor is 0 (nothing of the new content).
      for (let i = this.qhead; i < this.queue.length; i++) this.ends[i] = 0;
    } else {
      this.queue = [];
      this.qhead = 0;
    }
    this.fp = { crc: 0, len: 0 };
    // The old tracker's batches never report safe: what they and the kept lines view is left to the collector.
    this.slabs?.abandon();
    this.tracker = this.newTracker();
  }

  /** The Ack for one put attempt of `b`; a second attempt abandons its slabs (a channel may hold the first). */
  issue(b: TakenBatch) {
    if (b.claim) this.slabs!.attempt(b.claim);
    return this.tracker.issue(b.end);
  }

  /**
   * Reads until a batch's worth of lines is queued or the known size is reached. Returns the bytes read. Reads go
   * into the current slab, or a fresh buffer without a pool (see the header).
   */
  async fill(now: number): Promise<number> {
    const fh = this.fh;
    if (!fh) return 0;
    let total = 0;
    this.split(this.o.batchSize, now);
    while (!this.unsplit && this.queuedLines < this.o.batchSize && this.readPos < this.size) {
      let want = Math.min(this.o.readBytes, this.size - this.readPos);
      let buf: Uint8Array;
      let at = 0;
      if (this.slabs) {
        const t = this.slabs.target(want);
        buf = t.buf;
        at = t.at;
        want = t.len;
      } else {
        buf = new Uint8Array(want);
      }
      const { bytesRead } = await fh.read(buf, at, want, this.readPos);
      if (bytesRead === 0) {
        // Shorter than the last fstat said: truncated under us; the next stat notices.
        this.size = this.readPos;
        break;
      }
      this.slabs?.filled(bytesRead);
      this.readPos += bytesRead;
      total += bytesRead;
      this.unsplit = at === 0 && bytesRead === buf.length ? buf : buf.subarray(at, at + bytesRead);
      this.split(this.o.batchSize, now);
    }
    if (this.qhead > 0 && this.qhead === this.queue.length) {
      this.queue = [];
      this.qhead = 0;
    }
    return total;
  }

  /** Lines the multiline cap dropped since the last call. */
  takeDroppedLines(): number {
    return this.ml?.takeDropped() ?? 0;
  }

  /** Flushes a multiline record that waited longer than its timeout. */
  flushMultilineIfDue(now: number): void {
    if (this.ml?.pending && now - this.ml.lastLineAt >= this.o.multiline!.timeoutMs) this.ml.flush(this.emitLine);
  }

  /**
   * On close: the pending multiline record always; the partial last line if configured, or when the file was
   * rotated away or deleted (`gone`), since no newline can ever complete it there.
   */
  flushOnIdle(gone = false): void {
    // Normally nothing is left unsplit here (the file is quiet, its lines taken): whatever is goes before the partial.
    this.split(Infinity, Date.now());
    if (this.o.emitPartialOnIdle || gone) {
      const p = this.splitter.takePartial();
      if (p) {
        if (this.ml) this.ml.push(p.line, p.start, p.end, p.truncated, this.emitLine, Date.now());
        else this.emitLine(p.line, p.start, p.end, p.truncated);
      }
    }
    this.ml?.flush(this.emitLine);
  }

  /** Takes up to batchSize queued lines and the offset after the last of them (the batch's cursor). */
  takeBatch(): TakenBatch | undefined {
    const n = Math.min(this.queuedLines, this.o.batchSize);
    if (n === 0) return undefined;
    const end = this.ends[this.qhead + n - 1]!;
    // The common case takes the whole queue: the array itself becomes the batch.
    const events = this.qhead === 0 && n === this.queue.length ? this.queue : this.queue.slice(this.qhead, this.qhead + n);
    this.takenOffset = end;
    this.qhead += n;
    if (this.qhead === this.queue.length) {
      this.queue = [];
      this.qhead = 0;
    }
    return { events, end, claim: this.slabs?.claim(events, end) };
  }
}
