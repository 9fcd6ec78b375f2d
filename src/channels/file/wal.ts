// The WAL writer and reader: appends records (segment.ts) to the active segment with group commit, rolls segments at
// maxFileSize, fsyncs, and reads PUT records back by position. The channel decides what records mean.
//
// Group commit: records handed in while a write+fsync is running wait and go out together in the next round, one
// write per segment and one fsync for all of them. So fsync latency is paid per round, not per transaction, and
// throughput grows with batch size and concurrency.
//
// Durability per record kind: a record appended with `sync` (a put commit) resolves only after the fsync covering it.
// A record without it (a take commit) resolves once written — it then survives kill -9 (the page cache belongs to
// the kernel) — and is fsynced by the next put round, or within LAZY_SYNC_MS by an fsync of its own. Losing a take record to a power cut can only
// re-deliver those events (a duplicate), never lose one, and every checkpoint fsyncs the WAL before it is written.
// Not waiting for it keeps a sink's commit off the fsync path: one sequential sink at batch 100 would otherwise be
// capped near 100 events per fsync latency.

import { open, mkdir, type FileHandle } from "node:fs/promises";
import { join } from "node:path";
import { DiskFullError, SluiceError, describeError } from "../../core/errors.ts";
import { fsyncDir } from "../../util/atomic-file.ts";
import type { Logger } from "../../util/log.ts";
import { comparePos, type WalPos } from "./checkpoint.ts";
import { encodeSegmentHeader, SEGMENT_HEADER_BYTES, segmentName } from "./segment.ts";

/** Buffers per writev (Linux IOV_MAX). */
const IOV_MAX = 1024;
/** Rounds whose fsyncs may overlap: measured 2345 → 3547 write+fsync rounds/s on the dev VM going from 1 to 2. */
const MAX_ROUNDS_IN_FLIGHT = 2;
/**
 * How long written take records may wait for a put round's fsync before getting their own: a background fsync per
 * take round competes with the put rounds' fsyncs (measured: batch 100, one producer, ~100 k → ~190 k events/s).
 */
const LAZY_SYNC_MS = 10;

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
  sync: boolean;
  /** Runs synchronously, in WAL order, once the record is written (and fsynced when fsyncPerTransaction). */
  apply: (pos: WalPos) => void;
  resolve: () => void;
  reject: (err: unknown) => void;
}

/** Reads into all of `buf` from `pos` (fewer bytes only at the end of the file); returns the bytes read. */
export async function readFully(fh: FileHandle, buf: Uint8Array, pos: number): Promise<number> {
  let got = 0;
  while (got < buf.byteLength) {
    const { bytesRead } = await fh.read(buf, got, buf.byteLength - got, pos + got);
    if (bytesRead === 0) break;
    got += bytesRead;
  }
  return got;
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
  /** A round is writing: the next one waits (writes stay in order); its fsync may overlap the next write. */
  private writing = false;
  private roundsInFlight = 0;
  /** Settles when the newest round has applied (rounds apply in order). */
  private lastRound: Promise<void> = Promise.resolve();
  /** Records up to here are written and applied by the channel (a checkpoint may cover them after sync()). */
  appliedPos: WalPos = { seg: 0, off: 0 };
  /** Writes completed so far, and how many of them an fsync has covered: an fsync is needed when they differ. */
  private writeEpoch = 0;
  private syncedEpoch = 0;
  private lazySync?: ReturnType<typeof setTimeout>;
  private syncWaiters: Array<() => void> = [];
  private syncing?: Promise<void>;
  private timer?: ReturnType<typeof setInterval>;
  /** One read handle per segment; a promise, so two first reads of a segment share one open(). */
  private readonly readers = new Map<number, Promise<FileHandle>>();
  /** Write rounds and fsyncs so far (tests and benchmarks check that group commit shares them). */
  readonly stats = { rounds: 0, fsyncs: 0 };
  /** Set after an fsync failed: the page cache state is unknown, so no further write is trusted. */
  broken?: string;

  constructor(private readonly o: WalOptions) {}

  segmentDir(id: number): string {
    return this.o.dataDirs[id % this.o.dataDirs.length]!;
  }

  /** Where recovery found older segments: dataDirs may have been reordered or extended since they were written. */
  readonly foundAt = new Map<number, string>();

  segmentPath(id: number): string {
    return this.foundAt.get(id) ?? join(this.segmentDir(id), segmentName(id));
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
    // A background fsync may still run on the old handle: closing under it would fail it (and mark the WAL broken).
    while (this.syncing) await this.syncing;
    await old?.close().catch(() => {});
  }

  /**
   * Appends one record; resolves after `apply` ran, once the record is written and — when `sync` and
   * fsyncPerTransaction — fsynced.
   */
  append(rec: Uint8Array, apply: (pos: WalPos) => void, sync = true): Promise<void> {
    if (this.broken) return Promise.reject(new WalIoError(this.broken));
    return new Promise((resolve, reject) => {
      this.queue.push({ rec, sync, apply, resolve, reject });
      this.kick();
    });
  }

  /** Starts a round when none is writing and fewer than MAX_ROUNDS_IN_FLIGHT are waiting for their fsync. */
  private kick(): void {
    if (this.writing || this.roundsInFlight >= MAX_ROUNDS_IN_FLIGHT || this.queue.length === 0) return;
    const batch = this.queue;
    this.queue = [];
    const prev = this.lastRound;
    this.writing = true;
    this.roundsInFlight++;
    this.stats.rounds++;
    this.lastRound = this.round(batch, prev).finally(() => {
      this.roundsInFlight--;
      this.kick();
    });
  }

  /**
   * One round: write the batch (rolling segments as needed), let the next round start writing, fsync, then — after
   * every earlier round — apply and resolve in WAL order. A later fsync covers earlier writes, so order is all that
   * the overlap has to respect. Never rejects: failures go to the batch's callers.
   */
  private async round(batch: Pending[], prev: Promise<void>): Promise<void> {
    const positions: WalPos[] = new Array(batch.length);
    let bufs: Uint8Array[] = [];
    let bufStart = this.off;
    let failure: unknown;
    try {
      for (let i = 0; i < batch.length; i++) {
        const len = batch[i]!.rec.byteLength;
        if (this.off > SEGMENT_HEADER_BYTES && this.off + len > this.o.maxFileSize) {
          await this.writeAll(bufs, bufStart);
          // The old segment is complete: make it durable before the next one exists, so only the newest segment
          // can ever end in a torn record. Earlier rounds still use its handle: let them finish first.
          await this.fh!.datasync();
          await prev;
          await this.createSegment(this.seg + 1);
          bufs = [];
          bufStart = this.off;
        }
        positions[i] = { seg: this.seg, off: this.off };
        bufs.push(batch[i]!.rec);
        this.off += len;
      }
      await this.writeAll(bufs, bufStart);
      this.writeEpoch++;
    } catch (err) {
      await this.undo(bufStart, err);
      const what = `channel ${this.o.name}: cannot write ${this.segmentPath(this.seg)} at offset ${bufStart}: ${describeError(err)}`;
      failure = (err as NodeJS.ErrnoException).code === "ENOSPC" ? new DiskFullError(`${what}; puts are refused until space is freed (nothing committed is lost)`) : new WalIoError(what, { cause: err });
    }
    this.writing = false;
    this.kick();
    // A round of take records only may apply before earlier rounds finish their fsync: a take can only name events
    // already applied, and takes commute. The covered position (appliedPos) still advances in WAL order, so a
    // checkpoint may hold a take's effect with the take after its position: replaying it again removes nothing.
    const takesOnly = batch.every((p) => !p.sync);
    if (!failure && takesOnly) {
      const end = this.applyAll(batch, positions);
      await prev;
      if (end && comparePos(end, this.appliedPos) > 0) this.appliedPos = end;
      return;
    }
    if (!failure && this.o.fsyncPerTransaction) {
      try {
        this.stats.fsyncs++;
        const covers = this.writeEpoch;
        await this.fh!.datasync();
        this.syncedEpoch = Math.max(this.syncedEpoch, covers);
      } catch (err) {
        this.broken = `channel ${this.o.name}: fsync of ${this.segmentPath(this.seg)} failed (${describeError(err)}); restart the agent`;
        this.o.log.error(this.broken);
        failure = new WalIoError(this.broken, { cause: err });
      }
    }
    await prev;
    if (failure) {
      for (const p of batch) p.reject(failure);
      return;
    }
    const end = this.applyAll(batch, positions);
    if (end) this.appliedPos = end;
  }

  /** Applies and resolves a written batch in order; returns the end of its last applied record. */
  private applyAll(batch: Pending[], positions: WalPos[]): WalPos | undefined {
    let end: WalPos | undefined;
    for (let i = 0; i < batch.length; i++) {
      const p = batch[i]!;
      try {
        p.apply(positions[i]!);
      } catch (err) {
        p.reject(err);
        continue;
      }
      end = { seg: positions[i]!.seg, off: positions[i]!.off + p.rec.byteLength };
    }
    for (const p of batch) p.resolve();
    if (this.o.fsyncPerTransaction && this.syncedEpoch < this.writeEpoch && !this.lazySync) {
      // Take records: a put round coming soon fsyncs them for free; if none does, fsync them shortly.
      this.lazySync = setTimeout(() => {
        this.lazySync = undefined;
        void this.sync().catch(() => {});
      }, LAZY_SYNC_MS);
    }
    return end;
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

  /**
   * Writes a round's records at `at` with one writev per IOV_MAX buffers (one thread-pool round trip instead of one
   * per record; measured on the file channel path below). A short write resumes at the first byte not written.
   */
  private async writeAll(bufs: Uint8Array[], at: number): Promise<void> {
    let pos = at;
    let i = 0;
    let skip = 0; // bytes of bufs[i] already written
    while (i < bufs.length) {
      const n = Math.min(bufs.length - i, IOV_MAX);
      const chunk = bufs.slice(i, i + n);
      if (skip > 0) chunk[0] = chunk[0]!.subarray(skip);
      let want = 0;
      for (const b of chunk) want += b.byteLength;
      const { bytesWritten } = await this.fh!.writev(chunk, pos);
      pos += bytesWritten;
      if (bytesWritten === want) {
        i += n;
        skip = 0;
        continue;
      }
      if (bytesWritten === 0) throw new Error(`writev wrote 0 of ${want} bytes at offset ${pos}`);
      // Short write: find where it stopped.
      let left = bytesWritten;
      for (const b of chunk) {
        if (left < b.byteLength) break;
        left -= b.byteLength;
        i++;
        skip = 0;
      }
      skip += left;
    }
  }

  /** Calls `fn` after the next fsync that starts from now on (fsyncPerTransaction = false: Acks wait for it). */
  afterSync(fn: () => void): void {
    this.syncWaiters.push(fn);
  }

  /** fsyncs what was written; resolves when everything written before the call is durable. */
  async sync(): Promise<void> {
    while (this.syncing) await this.syncing;
    if (this.syncedEpoch >= this.writeEpoch && this.syncWaiters.length === 0) return;
    const waiters = this.syncWaiters;
    this.syncWaiters = [];
    const covers = this.writeEpoch;
    this.syncing = (async () => {
      try {
        this.stats.fsyncs++;
        await this.fh?.datasync();
        this.syncedEpoch = Math.max(this.syncedEpoch, covers);
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
    let opening = this.readers.get(seg);
    if (!opening) {
      opening = open(this.segmentPath(seg), "r");
      this.readers.set(seg, opening);
      opening.catch(() => this.readers.delete(seg));
    }
    const buf = new Uint8Array(len);
    const got = await readFully(await opening, buf, off);
    return got === len ? buf : buf.subarray(0, got);
  }

  /** Closes the reader of a deleted segment. */
  async forget(seg: number): Promise<void> {
    const opening = this.readers.get(seg);
    this.readers.delete(seg);
    await opening?.then((fh) => fh.close()).catch(() => {});
  }

  /** Waits for queued writes, fsyncs, closes every handle. */
  async close(): Promise<void> {
    while (this.roundsInFlight > 0 || this.queue.length > 0) await this.lastRound;
    if (this.timer) clearInterval(this.timer);
    this.timer = undefined;
    if (this.lazySync) clearTimeout(this.lazySync);
    this.lazySync = undefined;
    if (!this.broken) await this.sync().catch(() => {});
    await this.fh?.close().catch(() => {});
    this.fh = undefined;
    for (const seg of [...this.readers.keys()]) await this.forget(seg);
  }
}
