// The WAL writer and reader: appends records (segment.ts) to the active segment with group commit, rolls segments at
// maxFileSize, fsyncs, and reads PUT records back by position. The channel decides what records mean.
//
// Group commit: records handed in while a write+fsync is running wait and go out together in the next round, one
// write per segment and one fsync for all of them. So fsync latency is paid per round, not per transaction, and
// throughput grows with batch size and concurrency.

import { open, mkdir, type FileHandle } from "node:fs/promises";
import { join } from "node:path";
import { SluiceError, describeError } from "../../core/errors.ts";
import { fsyncDir } from "../../util/atomic-file.ts";
import type { Logger } from "../../util/log.ts";
import type { WalPos } from "./checkpoint.ts";
import { encodeSegmentHeader, SEGMENT_HEADER_BYTES, segmentName } from "./segment.ts";

export interface WalOptions {
  name: string;
  dataDirs: readonly string[];
  maxFileSize: number;
  /** fsync each round before commits resolve (true), or every fsyncIntervalMs (false). */
  fsyncPerTransaction: boolean;
  fsyncIntervalMs: number;
  log: Logger;
  /** Told about each segment created (the channel tracks them for deletion). */
  onSegment?: (id: number) => void;
}

interface Pending {
  rec: Uint8Array;
  /** Runs synchronously, in WAL order, once the record is written (and fsynced when fsyncPerTransaction). */
  apply: (pos: WalPos) => void;
  resolve: () => void;
  reject: (err: unknown) => void;
}

export class WalIoError extends SluiceError {
  constructor(message: string, options?: { cause?: unknown }) {
    super("IO", message, true, options);
  }
}

export class Wal {
  private fh?: FileHandle;
  private seg = 0;
  private off = 0;
  private queue: Pending[] = [];
  private flushing?: Promise<void>;
  /** Records up to here are written and applied by the channel (a checkpoint may cover them after sync()). */
  appliedPos: WalPos = { seg: 0, off: 0 };
  private dirty = false;
  private syncWaiters: Array<() => void> = [];
  private syncing?: Promise<void>;
  private timer?: ReturnType<typeof setInterval>;
  private readonly readers = new Map<number, FileHandle>();
  /** Set after an fsync failed: the page cache state is unknown, so no further write is trusted. */
  broken?: string;

  constructor(private readonly o: WalOptions) {}

  segmentDir(id: number): string {
    return this.o.dataDirs[id % this.o.dataDirs.length]!;
  }

  segmentPath(id: number): string {
    return join(this.segmentDir(id), segmentName(id));
  }

  get activeSegment(): number {
    return this.seg;
  }

  get activeDir(): string {
    return this.segmentDir(this.seg);
  }

  /** Starts writing a fresh segment `id` (recovery never appends to an old segment). */
  async open(id: number): Promise<void> {
    for (const d of this.o.dataDirs) await mkdir(d, { recursive: true });
    await this.createSegment(id);
    this.appliedPos = { seg: this.seg, off: this.off };
    if (!this.o.fsyncPerTransaction) {
      this.timer = setInterval(() => void this.sync().catch(() => {}), this.o.fsyncIntervalMs);
    }
  }

  private async createSegment(id: number): Promise<void> {
    const path = this.segmentPath(id);
    const fh = await open(path, "wx+", 0o644);
    try {
      await fh.write(encodeSegmentHeader(id), 0, SEGMENT_HEADER_BYTES, 0);
      await fh.datasync();
      await fsyncDir(this.segmentDir(id));
    } catch (err) {
      await fh.close().catch(() => {});
      throw err;
    }
    const old = this.fh;
    this.fh = fh;
    this.seg = id;
    this.off = SEGMENT_HEADER_BYTES;
    this.o.onSegment?.(id);
    await old?.close().catch(() => {});
  }

  /** Appends one record; resolves once written and (with fsyncPerTransaction) fsynced, after `apply` ran. */
  append(rec: Uint8Array, apply: (pos: WalPos) => void): Promise<void> {
    if (this.broken) return Promise.reject(new WalIoError(this.broken));
    return new Promise((resolve, reject) => {
      this.queue.push({ rec, apply, resolve, reject });
      if (!this.flushing) this.flushing = this.flush();
    });
  }

  private async flush(): Promise<void> {
    while (this.queue.length > 0) {
      const batch = this.queue;
      this.queue = [];
      await this.round(batch);
    }
    this.flushing = undefined;
  }

  private async round(batch: Pending[]): Promise<void> {
    const positions: WalPos[] = new Array(batch.length);
    let bufs: Uint8Array[] = [];
    let bufStart = this.off;
    try {
      for (let i = 0; i < batch.length; i++) {
        const len = batch[i]!.rec.byteLength;
        if (this.off > SEGMENT_HEADER_BYTES && this.off + len > this.o.maxFileSize) {
          await this.writeAll(bufs, bufStart);
          // The old segment is complete: make it durable before the next one exists, so only the newest segment
          // can ever end in a torn record.
          await this.fh!.datasync();
          await this.createSegment(this.seg + 1);
          bufs = [];
          bufStart = this.off;
        }
        positions[i] = { seg: this.seg, off: this.off };
        bufs.push(batch[i]!.rec);
        this.off += len;
      }
      await this.writeAll(bufs, bufStart);
      if (this.o.fsyncPerTransaction) await this.fh!.datasync();
      else this.dirty = true;
    } catch (err) {
      await this.undo(bufStart, err);
      const e = new WalIoError(`channel ${this.o.name}: cannot write ${this.segmentPath(this.seg)} at offset ${bufStart}: ${describeError(err)}`, { cause: err });
      for (const p of batch) p.reject(e);
      return;
    }
    for (let i = 0; i < batch.length; i++) {
      const p = batch[i]!;
      try {
        p.apply(positions[i]!);
      } catch (err) {
        p.reject(err);
        continue;
      }
      this.appliedPos = { seg: positions[i]!.seg, off: positions[i]!.off + p.rec.byteLength };
    }
    for (const p of batch) p.resolve();
  }

  /** A failed round: cut the segment back to where the round started, so no half record stays in the middle. */
  private async undo(at: number, cause: unknown): Promise<void> {
    this.off = at;
    try {
      await this.fh!.truncate(at);
    } catch (err) {
      this.broken = `channel ${this.o.name}: the WAL segment ${this.segmentPath(this.seg)} could not be repaired after a failed write (${describeError(cause)}; truncate: ${describeError(err)}); restart the agent`;
      this.o.log.error(this.broken);
    }
  }

  private async writeAll(bufs: Uint8Array[], at: number): Promise<void> {
    let pos = at;
    for (const b of bufs) {
      let done = 0;
      while (done < b.byteLength) {
        const { bytesWritten } = await this.fh!.write(b, done, b.byteLength - done, pos + done);
        done += bytesWritten;
      }
      pos += b.byteLength;
    }
  }

  /** Calls `fn` after the next fsync that starts from now on (fsyncPerTransaction = false: Acks wait for it). */
  afterSync(fn: () => void): void {
    this.syncWaiters.push(fn);
  }

  /** fsyncs what was written; resolves when everything written before the call is durable. */
  async sync(): Promise<void> {
    while (this.syncing) await this.syncing;
    if (!this.dirty && this.syncWaiters.length === 0) return;
    const waiters = this.syncWaiters;
    this.syncWaiters = [];
    this.dirty = false;
    this.syncing = (async () => {
      try {
        await this.fh?.datasync();
      } catch (err) {
        this.broken = `channel ${this.o.name}: fsync of ${this.segmentPath(this.seg)} failed (${describeError(err)}); restart the agent`;
        this.o.log.error(this.broken);
        throw err;
      }
      for (const w of waiters) w();
    })();
    try {
      await this.syncing;
    } finally {
      this.syncing = undefined;
    }
  }

  /** Reads `len` bytes at `off` of segment `seg` (a whole PUT record). */
  async read(seg: number, off: number, len: number): Promise<Uint8Array> {
    let fh = this.readers.get(seg);
    if (!fh) {
      fh = await open(this.segmentPath(seg), "r");
      this.readers.set(seg, fh);
    }
    const buf = new Uint8Array(len);
    let got = 0;
    while (got < len) {
      const { bytesRead } = await fh.read(buf, got, len - got, off + got);
      if (bytesRead === 0) break;
      got += bytesRead;
    }
    return got === len ? buf : buf.subarray(0, got);
  }

  /** Closes the reader of a deleted segment. */
  async forget(seg: number): Promise<void> {
    const fh = this.readers.get(seg);
    this.readers.delete(seg);
    await fh?.close().catch(() => {});
  }

  /** Waits for queued writes, fsyncs, closes every handle. */
  async close(): Promise<void> {
    while (this.flushing) await this.flushing;
    if (this.timer) clearInterval(this.timer);
    this.timer = undefined;
    if (!this.broken) await this.sync().catch(() => {});
    await this.fh?.close().catch(() => {});
    this.fh = undefined;
    for (const seg of [...this.readers.keys()]) await this.forget(seg);
  }
}
