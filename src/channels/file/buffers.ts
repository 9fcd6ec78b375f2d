// Reused buffers for the file channel's PUT records: a record is garbage once the WAL wrote it (the cache keeps a
// copy of exactly its size), and one fresh buffer per put batch is most of what a busy channel allocates (measured: seq → file channel with
// the sink down, 200 B events, batch 1000 — see bench/backlog.ts). A few buffers go round instead.

/** Buffers kept for reuse: enough for the WAL's overlapping rounds with a few producers. */
const MAX_FREE_BUFFERS = 4;
/** Larger records get a buffer of their own that is not kept. */
const MAX_POOLED_BYTES = 8 * 1024 * 1024;
/** Buffers are allocated in steps of this, so records of slightly different sizes share them. */
const STEP_BYTES = 64 * 1024;

export class RecordBuffers {
  private readonly free: ArrayBuffer[] = [];

  /** `size` bytes to encode a record into (a view of a reused buffer when one is large enough). */
  readonly alloc = (size: number): Uint8Array => {
    for (let i = 0; i < this.free.length; i++) {
      const b = this.free[i]!;
      if (b.byteLength >= size) {
        this.free.splice(i, 1);
        return new Uint8Array(b, 0, size);
      }
    }
    if (size > MAX_POOLED_BYTES) return new Uint8Array(size);
    return new Uint8Array(new ArrayBuffer(Math.ceil(size / STEP_BYTES) * STEP_BYTES), 0, size);
  };

  /** A record written (or failed): its buffer may be reused. */
  release(rec: Uint8Array): void {
    const b = rec.buffer as ArrayBuffer;
    if (b.byteLength > MAX_POOLED_BYTES || this.free.length >= MAX_FREE_BUFFERS || this.free.includes(b)) return;
    this.free.push(b);
  }
}
