// Splits a byte stream into lines on `\n` without decoding or copying: each line is a subarray view of the chunk it
// was read in. Only a line that spans two reads is concatenated (the carry), and the carry is capped by an explicit
// over-long-line policy, so one endless line can never grow memory without bound.

const NL = 0x0a;

/**
 * What happens to a line longer than `maxLineLength` bytes:
 * - `truncate`: the first maxLineLength bytes are emitted once its newline arrives, flagged `truncated`; the rest of
 *   the line is read and dropped (memory stays bounded by maxLineLength).
 * - `split`: every maxLineLength bytes become a line of their own as soon as they are read (the last piece ends at
 *   the newline); no byte is dropped.
 */
export type OverlongPolicy = "truncate" | "split";

export interface LineSplitterOptions {
  maxLineLength: number;
  overlong: OverlongPolicy;
}

/**
 * Receives each complete line: its bytes (a view; valid as long as the caller keeps it), the stream offset of its
 * first byte, the offset just past its newline (where a reader resumes), and whether bytes were dropped.
 */
export type OnLine = (line: Uint8Array, start: number, end: number, truncated: boolean) => void;

export class LineSplitter {
  /** Stream offset of the first byte not yet emitted (the start of the carry, if any). */
  private base: number;
  /** Bytes of the current incomplete line kept from earlier chunks (at most maxLineLength). */
  private carry: Uint8Array[] = [];
  private carryLen = 0;
  /** Bytes of the current line dropped by the truncate policy. */
  private dropped = 0;

  constructor(
    private readonly o: LineSplitterOptions,
    startOffset = 0,
  ) {
    this.base = startOffset;
  }

  /** Stream offset where the incomplete line (if any) starts: everything before it was emitted. */
  get committedOffset(): number {
    return this.base;
  }

  /** Bytes held for the incomplete last line (kept + dropped). */
  get pendingBytes(): number {
    return this.carryLen + this.dropped;
  }

  /** Forgets the incomplete line and restarts at `offset` (after a truncation or a seek). */
  reset(offset: number): void {
    this.base = offset;
    this.carry = [];
    this.carryLen = 0;
    this.dropped = 0;
  }

  /**
   * Feeds the next chunk of the stream; calls `onLine` for every line it completes. With `maxLines`, stops after that
   * many newlines and returns how many bytes of the chunk it used: the caller feeds the rest (`chunk.subarray(used)`)
   * later, so a large read need not become objects for all its lines at once. Returns chunk.length when all is used.
   */
  push(chunk: Uint8Array, onLine: OnLine, maxLines = Infinity): number {
    const max = this.o.maxLineLength;
    let from = 0;
    let lines = 0;
    if (this.carryLen > 0 || this.dropped > 0) {
      const nl = chunk.indexOf(NL);
      const headEnd = nl < 0 ? chunk.length : nl;
      from = this.extendCarry(chunk, headEnd, onLine);
      if (nl < 0) return chunk.length;
      // The carried line ends in this chunk: one concatenation, the only copy on this path.
      const start = this.base;
      const end = start + this.carryLen + this.dropped + (headEnd - from) + 1;
      const take = Math.min(headEnd - from, max - this.carryLen);
      if (take < headEnd - from) this.dropped += headEnd - from - take;
      const line = concat(this.carry, this.carryLen, chunk.subarray(from, from + take));
      const truncated = this.dropped > 0;
      this.carry = [];
      this.carryLen = 0;
      this.dropped = 0;
      this.base = end;
      onLine(line, start, end, truncated);
      from = nl + 1;
      lines++;
    }
    // The common path: whole lines inside this chunk, emitted as views.
    while (lines < maxLines) {
      const nl = chunk.indexOf(NL, from);
      if (nl < 0) break;
      const start = this.base;
      const len = nl - from;
      const end = start + len + 1;
      this.base = end;
      if (len <= max) {
        onLine(chunk.subarray(from, nl), start, end, false);
      } else if (this.o.overlong === "truncate") {
        onLine(chunk.subarray(from, from + max), start, end, true);
      } else {
        let s = from;
        let off = start;
        while (nl - s > max) {
          onLine(chunk.subarray(s, s + max), off, off + max, false);
          s += max;
          off += max;
        }
        onLine(chunk.subarray(s, nl), off, end, false);
      }
      from = nl + 1;
      lines++;
    }
    if (lines >= maxLines && from < chunk.length) return from;
    if (from < chunk.length) this.extendCarry(chunk, chunk.length, onLine, from);
    return chunk.length;
  }

  /**
   * Appends chunk[from, to) to the incomplete line, applying the policy when it would pass maxLineLength.
   * Returns the index in `chunk` up to which bytes were consumed into pieces emitted by `split`.
   */
  private extendCarry(chunk: Uint8Array, to: number, onLine: OnLine, from = 0): number {
    const max = this.o.maxLineLength;
    if (this.o.overlong === "split") {
      // Emit full pieces; the carry never exceeds max.
      // Strictly longer than max: a line of exactly max bytes stays whole until its newline.
      while (this.carryLen + (to - from) > max) {
        const need = max - this.carryLen;
        const piece = concat(this.carry, this.carryLen, chunk.subarray(from, from + need));
        const start = this.base;
        this.base += max;
        this.carry = [];
        this.carryLen = 0;
        onLine(piece, start, this.base, false);
        from += need;
      }
      if (to === chunk.length && to > from) {
        // Copy: the chunk's buffer may be reused or dropped by the reader.
        this.carry.push(chunk.slice(from, to));
        this.carryLen += to - from;
        return to;
      }
      return from;
    }
    if (to === chunk.length && to > from) {
      const room = max - this.carryLen;
      const keep = Math.min(room, to - from);
      if (keep > 0) {
        this.carry.push(chunk.slice(from, from + keep));
        this.carryLen += keep;
      }
      this.dropped += to - from - keep;
      return to;
    }
    return from;
  }

  /**
   * Takes the incomplete last line as a line of its own (a partial line emitted on idle close). Its end is the
   * offset after its last byte: a reader resuming there starts with whatever is appended next.
   */
  takePartial(): { line: Uint8Array; start: number; end: number; truncated: boolean } | undefined {
    if (this.carryLen === 0 && this.dropped === 0) return undefined;
    const line = concat(this.carry, this.carryLen);
    const start = this.base;
    const end = start + this.carryLen + this.dropped;
    const truncated = this.dropped > 0;
    this.reset(end);
    return { line, start, end, truncated };
  }
}

/** `parts` (of `len` bytes in all) and `tail` as one array: the single part itself when there is nothing to join. */
export function concat(parts: readonly Uint8Array[], len: number, tail?: Uint8Array): Uint8Array {
  if (parts.length === 0 && tail) return tail;
  if (parts.length === 1 && !tail?.length) return parts[0]!;
  const out = new Uint8Array(len + (tail?.length ?? 0));
  let at = 0;
  for (const p of parts) {
    out.set(p, at);
    at += p.length;
  }
  if (tail) out.set(tail, at);
  return out;
}

/**
 * A read buffer that lines are views of. Its lifetime is explicit: `holds` counts what may still read it — being
 * the buffer reads go into now, lines queued and not yet in a batch, and batches not yet safe. At zero it goes back
 * to its pool and the next read overwrites it. A slab whose batch may have left a copy behind (a put that failed
 * and is retried) is `abandoned`: it never returns to the pool, and the collector frees it once nothing views it.
 */
export class Slab {
  /** Bytes filled so far (reads append after them). */
  used = 0;
  holds = 0;
  abandoned = false;
  constructor(
    readonly buf: Uint8Array,
    private readonly pool: SlabPool,
  ) {}

  get free(): number {
    return this.buf.length - this.used;
  }

  hold(n = 1): void {
    this.holds += n;
  }

  release(n = 1): void {
    this.holds -= n;
    if (this.holds === 0 && !this.abandoned) this.pool.give(this);
  }
}

/**
 * Reusable read buffers of one size, shared by the files of a source: reads go into recycled memory instead of a
 * fresh allocation each, so the resident set stays flat without forcing the collector. Keeps at most `maxFree`
 * idle slabs (more are left to the collector).
 */
export class SlabPool {
  private readonly idle: Slab[] = [];
  /** Slabs handed out again after a recycle (for tests and the benchmark's curiosity). */
  reused = 0;
  allocated = 0;

  constructor(
    readonly slabBytes: number,
    private readonly maxFree: number,
  ) {}

  take(): Slab {
    const s = this.idle.pop();
    if (s) {
      this.reused++;
      s.used = 0;
      return s;
    }
    this.allocated++;
    return new Slab(new Uint8Array(this.slabBytes), this);
  }

  /** @internal Slab.release() returns a slab here. */
  give(s: Slab): void {
    if (this.idle.length < this.maxFree) this.idle.push(s);
  }
}

/** A batch's claim on the slabs its events view (see SlabReader). */
export interface SlabClaim {
  /** The batch's cursor: its claim ends when the safe watermark reaches it. */
  end: number;
  slabs: Slab[];
  /** Put attempts: more than one means a channel may hold a copy of the first (the slabs are then abandoned). */
  attempts: number;
}

/** A slab with less room than this (and than the read wants) is left for a fresh one: no tiny reads at its tail. */
const SLAB_TAIL_BYTES = 16 * 1024;

/**
 * The read side of one input stream over a SlabPool, with the lifetime of its slabs made explicit. A slab is held
 * while reads go into it (`current`), by each line emitted as a view of it and not yet in a batch (`viewed`), and by
 * each batch with lines in it until the batch is safe (`claim` → `safe`). With no hold left it goes back to the pool
 * and is overwritten by a later read. For streams whose lines are emitted while their chunk is pushed (the line
 * splitter's views; carried lines are copies): a consumer that keeps views across reads (a multiline record, a blob)
 * must not read through a pool.
 */
export class SlabReader {
  private current?: Slab;
  /** Slabs that queued lines may view: the current one and older ones not yet fully claimed. */
  private live: Slab[] = [];
  /** Claims of batches not yet safe, oldest first. */
  private claims: SlabClaim[] = [];
  private head = 0;

  constructor(private readonly pool: SlabPool) {}

  /** Where a read of up to `want` bytes goes: `buf` from `at`, at most `len` bytes. */
  target(want: number): { buf: Uint8Array; at: number; len: number } {
    let s = this.current;
    if (!s || s.free < Math.min(want, SLAB_TAIL_BYTES)) {
      s?.release();
      s = this.pool.take();
      s.hold();
      this.current = s;
      this.live.push(s);
    }
    return { buf: s.buf, at: s.used, len: Math.min(want, s.free) };
  }

  /** `n` bytes were read into the last target. */
  filled(n: number): void {
    this.current!.used += n;
  }

  /** A line was emitted as `body`: a view of the current slab holds it until its batch claims it. */
  viewed(body: Uint8Array): void {
    if (this.current !== undefined && body.buffer === this.current.buf.buffer) this.current.hold();
  }

  /** A batch of `events` (cursor `end`) was taken: their views' holds become one hold per slab until it is safe. */
  claim(events: readonly { body: Uint8Array }[], end: number): SlabClaim {
    const c: SlabClaim = { end, slabs: [], attempts: 0 };
    if (this.live.length === 0) return c;
    const views: number[] = [];
    let last = -1;
    for (const e of events) {
      const buf = e.body.buffer;
      if (last >= 0 && buf === c.slabs[last]!.buf.buffer) {
        views[last]!++;
        continue;
      }
      let i = c.slabs.findIndex((x) => x.buf.buffer === buf);
      if (i < 0) {
        const found = this.live.find((x) => x.buf.buffer === buf);
        if (!found) continue; // a copy (a carried or partial line)
        i = c.slabs.push(found) - 1;
        views.push(0);
      }
      views[i]!++;
      last = i;
    }
    for (let i = 0; i < c.slabs.length; i++) {
      c.slabs[i]!.hold();
      c.slabs[i]!.release(views[i]!);
    }
    if (c.slabs.length > 0) this.claims.push(c);
    // Slabs fully claimed and no longer read into drop out of the lookup list.
    if (this.live.length > 1) this.live = this.live.filter((s) => s === this.current || s.holds > 0);
    return c;
  }

  /** One more put attempt of the claimed batch: from the second on, its slabs are never reused. */
  attempt(c: SlabClaim): void {
    if (++c.attempts > 1) for (const s of c.slabs) s.abandoned = true;
  }

  /** The safe watermark reached `end`: the claims of the batches it passed end. */
  safe(end: number): void {
    while (this.head < this.claims.length && this.claims[this.head]!.end <= end) {
      for (const s of this.claims[this.head++]!.slabs) s.release();
    }
    if (this.head === this.claims.length) {
      this.claims = [];
      this.head = 0;
    }
  }

  /** No more reads into the current slab (the stream is closed); its lines still hold it. */
  close(): void {
    this.current?.release();
    this.current = undefined;
  }

  /**
   * Every slab of this stream is given up for good (its offsets restart, so its claims never end): never reused, each
   * freed by the collector once nothing views it.
   */
  abandon(): void {
    for (const s of this.live) s.abandoned = true;
    for (let i = this.head; i < this.claims.length; i++) for (const s of this.claims[i]!.slabs) s.abandoned = true;
    this.current = undefined;
    this.live = [];
    this.claims = [];
    this.head = 0;
  }
}
