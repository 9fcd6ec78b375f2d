// The file channel: Flume's durable channel. Every committed transaction is one CRC-checked WAL record (segment.ts),
// fsynced before commit resolves (group commit in wal.ts); the queue of pending events lives in memory as runs of
// PUT records (backlog.ts, queue.ts) and is checkpointed (checkpointer.ts, checkpoint.ts) so a restart replays only
// the recent WAL (replay.ts). Takes are served from a bounded cache of recent PUT records (cache.ts), else read back
// from the segment. This file: the lifecycle (locks, recovery, WAL, timers) and the store a transaction drives.

import { mkdir } from "node:fs/promises";
import type { Ack } from "../../core/ack.ts";
import { StoreTransaction, type Channel, type ChannelStore, type SourceCursor, type Transaction } from "../../core/channel.ts";
import { claimWithin, Signal } from "../../util/signal.ts";
import type { ComponentContext } from "../../core/component.ts";
import { defineType } from "../../core/component-type.ts";
import { ChannelClosedError, ChannelFullError, CorruptLogError, describeError, DiskFullError } from "../../core/errors.ts";
import type { Event } from "../../core/event.ts";
import { initCrc32c } from "../../util/crc.ts";
import type { Logger } from "../../util/log.ts";
import { Backlog } from "./backlog.ts";
import { RecordBuffers } from "./buffers.ts";
import { RecordCache } from "./cache.ts";
import { Checkpointer } from "./checkpointer.ts";
import { checkDirs, resolveDirs, type FileChannelDirs } from "./dirs.ts";
import { inspectFileChannel } from "./inspect.ts";
import { FileChannelCounters, fileChannelKeys, type FileChannelConfig } from "./keys.ts";
import { lockDir } from "./lock.ts";
import { recover } from "./replay.ts";
import { encodePut, encodeTake, MAX_RECORD_BYTES, recordKey, RecordType, type Run } from "./segment.ts";
import { DiskSpace } from "./space.ts";
import { FileTake } from "./take.ts";
import { Wal } from "./wal.ts";

export { checkDirs, resolveDirs, FileTake, FileChannelCounters, fileChannelKeys, type FileChannelConfig, type FileChannelDirs };

/** Free space kept (besides twice the last checkpoint's size) so a checkpoint, which frees segments, can always be written. */
const CHECKPOINT_RESERVE_BYTES = 256 * 1024;

export class FileChannel implements Channel, ChannelStore<FileTake> {
  readonly durable: boolean;
  readonly counters = new FileChannelCounters();
  readonly dirs: FileChannelDirs;
  readonly type: string;
  private wal?: Wal;
  private readonly backlog = new Backlog();
  private readonly segments = new Set<number>();
  private checkpointer?: Checkpointer;
  private cache?: RecordCache;
  private readonly signal = new Signal();
  private readonly room = new Signal();
  private open = false;
  private unhealthy = false;
  private txid = Date.now() * 1000;
  private timer?: ReturnType<typeof setInterval>;
  private unlocks: Array<() => Promise<void>> = [];
  private readonly space: DiskSpace;
  private readonly buffers = new RecordBuffers();

  constructor(
    readonly name: string,
    readonly config: FileChannelConfig,
    stateDir: string,
    private readonly log: Logger,
    opts: { type?: string } = {},
  ) {
    this.dirs = resolveDirs(config, stateDir);
    this.durable = config.fsyncPerTransaction;
    this.space = new DiskSpace(config.minimumRequiredSpace, name, log);
    this.type = opts.type ?? "file";
  }

  async start(): Promise<void> {
    await initCrc32c();
    const { checkpointDir, backupCheckpointDir, dataDirs } = this.dirs;
    try {
      for (const d of [checkpointDir, ...(backupCheckpointDir ? [backupCheckpointDir] : []), ...dataDirs]) {
        await mkdir(d, { recursive: true });
        this.unlocks.push(await lockDir(d, this.name, this.log));
      }
      const t0 = Date.now();
      const r = await recover({ name: this.name, ...this.dirs, maxRecordBytes: MAX_RECORD_BYTES, skipCorruptRecords: this.config.skipCorruptRecords, readOnly: false, log: this.log });
      for (const n of r.notes) (n.includes("SKIPPED") ? this.log.error : this.log.warn)(`channel ${this.name}: ${n}`);
      // skipCorruptRecords: a corrupt record's event count cannot be read, so the unit here is records.
      this.counters.dropped.add("skipCorruptRecords (records)", r.notes.filter((n) => n.includes("SKIPPED")).length);
      this.backlog.restore(r.queue, r.bytes, r.cursors);
      for (const id of r.segments.keys()) this.segments.add(id);
      this.wal = new Wal({ name: this.name, dataDirs, maxFileSize: this.config.maxFileSize, fsyncPerTransaction: this.config.fsyncPerTransaction, fsyncIntervalMs: this.config.fsyncInterval, log: this.log, onSegment: (id) => this.segments.add(id) });
      for (const [id, seg] of r.segments) this.wal.foundAt.set(id, seg.path);
      await this.wal.open(r.nextSeg);
      this.cache = new RecordCache(this.wal, this.config.cacheBytes);
      this.checkpointer = new Checkpointer(this.name, this.dirs, this.wal, this.backlog, this.segments, this.counters, this.log);
      this.log.info(
        `channel ${this.name}: ${r.queue.events} events pending (${r.checkpoint ? `${r.checkpoint.source} checkpoint + ` : "no checkpoint, full replay of "}${r.recordsReplayed} WAL records in ${Date.now() - t0} ms)`,
      );
      this.open = true;
      // A checkpoint now makes the next start fast and lets drained segments go; failing to write one (a full disk)
      // is logged by checkpoint() and must not keep the channel, and so its sinks, from draining what it holds.
      await this.checkpoint(true).catch(() => {});
    } catch (err) {
      this.open = false;
      await this.wal?.close();
      await this.releaseLocks();
      throw err;
    }
    this.timer = setInterval(() => void this.checkpoint(false).catch(() => {}), this.config.checkpointInterval);
    this.counters.StartTime = Date.now();
  }

  private async releaseLocks(): Promise<void> {
    for (const u of this.unlocks.splice(0)) await u();
  }

  async stop(): Promise<void> {
    if (!this.open) return;
    this.open = false;
    if (this.timer) clearInterval(this.timer);
    this.signal.notify();
    this.room.notify();
    // A periodic checkpoint still running holds a snapshot from before the stop: let it finish, then write the final one.
    await this.checkpointer?.settle();
    if (this.config.checkpointOnClose) await this.checkpoint(true).catch(() => {});
    await this.wal?.close();
    await this.releaseLocks();
    this.counters.StopTime = Date.now();
  }

  /**
   * The cursor `source` committed with its last committed put (recovered at start from the checkpoint and the WAL
   * after it). With fsyncPerTransaction = false it may be newer than what a power cut would leave.
   */
  committedCursor(source: string): Uint8Array | undefined {
    return this.backlog.cursors.get(source);
  }

  /** Every committed cursor by key, as committedCursor() would return each. */
  committedCursors(): ReadonlyMap<string, Uint8Array> {
    return this.backlog.cursors;
  }

  /** Writes a checkpoint now (see checkpointer.ts); skipped when nothing was logged since the last one unless forced. */
  checkpoint(force: boolean): Promise<void> {
    return this.checkpointer?.checkpoint(force) ?? Promise.resolve();
  }

  size(): number {
    return this.backlog.queue.events;
  }

  capacity(): number {
    return this.config.capacity;
  }

  /** WAL write rounds and fsyncs so far: group commit makes these far fewer than commits. */
  walStats(): { rounds: number; fsyncs: number } {
    return { ...(this.wal?.stats ?? { rounds: 0, fsyncs: 0 }) };
  }

  waitForEvents(ms: number): Promise<void> {
    return this.backlog.queue.events > 0 ? Promise.resolve() : this.signal.wait(ms);
  }

  gauges(): Record<string, number> {
    const oldest = this.backlog.oldestTs();
    const g: Record<string, number> = {
      ChannelBytes: this.backlog.bytes,
      Open: this.open ? 1 : 0,
      Unhealthy: this.unhealthy || this.wal?.broken ? 1 : 0,
      CheckpointWriteErrorCount: this.counters.CheckpointWriteErrorCount,
      CheckpointBackupWriteErrorCount: this.counters.CheckpointBackupWriteErrorCount,
      EventPutErrorCount: this.counters.EventPutErrorCount,
      EventTakeErrorCount: this.counters.EventTakeErrorCount,
      Segments: this.segments.size,
      CacheBytes: this.cache?.size ?? 0,
    };
    if (oldest !== undefined) g.OldestEventAgeMs = Math.max(0, Date.now() - oldest);
    const age = this.checkpointer?.ageMs();
    if (age !== undefined) g.CheckpointAgeMs = age;
    return g;
  }

  begin(): Transaction {
    if (!this.open) throw new ChannelClosedError(this.name);
    return new StoreTransaction(this, this.name, this.config.transactionCapacity, this.counters);
  }

  /**
   * Writes one PUT record for the transaction's batches and its sources' cursors (segment.ts); resolves once durable
   * (see fsyncPerTransaction). The cursors become committedCursor() when the record is applied, in WAL order.
   */
  async put(batches: readonly (readonly Event[])[], acks: readonly (Ack | undefined)[], n: number, cursors: readonly SourceCursor[] = []): Promise<void> {
    if (!this.open) throw new ChannelClosedError(this.name);
    // Room is claimed (reserved) in the same step as the check, so concurrent commits cannot overshoot capacity.
    const fits = () => this.backlog.fits(n, this.config.capacity);
    if (!(await claimWithin(this.room, this.config["keep-alive"], fits, () => this.backlog.reserve(n), () => this.open))) {
      throw new ChannelFullError(this.name, `no room for ${n} events within keep-alive (size ${this.size()}/${this.capacity()})`);
    }
    let applied = false;
    let rec: Uint8Array | undefined;
    try {
      const ts = Date.now();
      const encoded = encodePut(RecordType.Put, ++this.txid, ts, batches, this.buffers.alloc, cursors);
      const r = (rec = encoded.rec);
      const bytes = encoded.bytes;
      const reserve = CHECKPOINT_RESERVE_BYTES + 2 * (this.checkpointer?.lastBytes ?? 0);
      await this.space.ensure(this.wal!.activeDir, r.byteLength, reserve);
      if (this.dirs.checkpointDir !== this.wal!.activeDir) await this.space.ensure(this.dirs.checkpointDir, 0, reserve);
      await this.wal!.append(r, (pos) => {
        applied = true;
        this.backlog.unreserve(n);
        for (const c of cursors) this.backlog.setCursor(c);
        if (n === 0) return; // only cursors: nothing to queue
        this.enqueue({ seg: pos.seg, off: pos.off, len: r.byteLength, start: 0, end: n, ts }, bytes, false);
        this.cache!.offer(recordKey(pos.seg, pos.off), batches, n, r.byteLength);
      });
    } catch (err) {
      if (!applied) this.backlog.unreserve(n);
      if (!(err instanceof DiskFullError)) {
        this.counters.EventPutErrorCount += n;
        this.log.debug(`channel ${this.name}: put failed: ${describeError(err)}`);
      }
      this.room.notify();
      throw err;
    } finally {
      // Written (or failed); the cache keeps the events, not the record: nothing refers to its bytes any more.
      if (rec) this.buffers.release(rec);
    }
    this.counters.EventPutSuccessCount += n;
    if (!this.config.fsyncPerTransaction) {
      // Committed but not yet fsynced: the batch is not safe until the fsync that covers it.
      for (const ack of acks) {
        if (!ack) continue;
        ack.hold(1);
        this.wal!.afterSync(() => ack.release(1));
      }
    }
  }

  /**
   * Puts events at the head of the queue, ahead of everything queued, durably and in their order (PUT_FRONT records):
   * for events older than all this channel holds — the spillable channel moving its memory part here at shutdown.
   * Ignores capacity: those events were already accepted by their owner. Resolves once they are on disk.
   */
  async putAtHead(events: readonly Event[]): Promise<void> {
    if (!this.open) throw new ChannelClosedError(this.name);
    const max = this.config.transactionCapacity;
    const writes: Promise<void>[] = [];
    // Chunks go out last first: each lands at the head, so the first chunk ends up first.
    for (let end = events.length; end > 0; end -= max) {
      const chunk = events.slice(Math.max(0, end - max), end);
      const ts = Date.now();
      const { rec, bytes } = encodePut(RecordType.PutFront, ++this.txid, ts, [chunk]);
      writes.push(this.wal!.append(rec, (pos) => this.enqueue({ seg: pos.seg, off: pos.off, len: rec.byteLength, start: 0, end: chunk.length, ts }, bytes, true)));
    }
    await Promise.all(writes);
    this.counters.EventPutSuccessCount += events.length;
  }

  private enqueue(run: Run, bytes: number, front: boolean): void {
    this.backlog.enqueue(run, bytes, front);
    this.signal.notify();
  }

  newTake(): FileTake {
    return new FileTake();
  }

  async take(tx: FileTake, max: number): Promise<Event[]> {
    // Registered before any await: a checkpoint from now on includes these events.
    const runs = this.backlog.take(tx, max);
    if (runs.length === 0) return [];
    const out: Event[] = [];
    const runBytes: number[] = [];
    try {
      if (runs.length > 1) await this.cache!.prefetch(runs);
      for (const r of runs) {
        runBytes.push(0);
        try {
          const got = this.cache!.record(r);
          runBytes[runBytes.length - 1] = this.cache!.events(got instanceof Promise ? await got : got, r, out);
        } catch (err) {
          if (!(err instanceof CorruptLogError) || !this.config.skipCorruptRecords) throw err;
          // The run stays in the transaction, so its commit drops these events for good.
          this.log.error(`channel ${this.name}: DROPPED ${r.end - r.start} events: ${err.message} (skipCorruptRecords = true)`);
        }
      }
    } catch (err) {
      let n = 0;
      for (const r of runs) n += r.end - r.start;
      this.counters.EventTakeErrorCount += n;
      if (err instanceof CorruptLogError) this.unhealthy = true;
      this.backlog.untake(tx, runs);
      throw err;
    }
    for (const b of runBytes) {
      tx.runBytes.push(b);
      tx.bytes += b;
    }
    return out;
  }

  /** Logs the take (a TAKE record); on failure the events go back to the head (re-delivered, never lost). */
  async commitTake(tx: FileTake): Promise<void> {
    const runs = tx.runs;
    if (runs.length === 0) return;
    try {
      await this.wal!.append(encodeTake(++this.txid, Date.now(), runs, tx.runBytes), () => {
        for (const r of runs) this.cache!.taken(r);
        this.counters.EventTakeSuccessCount += this.backlog.taken(tx);
        this.room.notify();
      }, false);
    } catch (err) {
      this.counters.EventTakeErrorCount += runs.reduce((n, r) => n + r.end - r.start, 0);
      this.rollbackTake(tx);
      throw err;
    }
  }

  rollbackTake(tx: FileTake): void {
    if (this.backlog.returned(tx)) this.signal.notify();
  }
}

export const fileChannelType = defineType({
  kind: "channel",
  names: ["file", "org.apache.flume.channel.file.FileChannel"],
  keys: fileChannelKeys,
  check(cfg, report) {
    if (cfg.transactionCapacity > cfg.capacity) {
      report("transactionCapacity", `transactionCapacity (${cfg.transactionCapacity}) must be ≤ capacity (${cfg.capacity})`);
    }
    checkDirs(cfg, report);
  },
  create(cfg, ctx: ComponentContext) {
    return new FileChannel(ctx.name, cfg, ctx.stateDir, ctx.log);
  },
  inspect: (cfg, ctx) => inspectFileChannel(resolveDirs(cfg, ctx.stateDir), cfg, ctx),
});
