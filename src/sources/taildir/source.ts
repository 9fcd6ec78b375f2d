// The TAILDIR source at run time: takes the files discovery.ts found (and follows across rotation), reads them in
// large batched reads, puts their lines in batches, and persists each file's offset only as far as its lines are
// safe (core/ack.ts).

import { mkdir } from "node:fs/promises";
import { dirname } from "node:path";
import type { ChannelProcessor } from "../../core/channel-processor.ts";
import { describeError } from "../../core/errors.ts";
import type { PollableSource, PollStatus } from "../../core/source.ts";
import { SourceCounters } from "../../core/counters.ts";
import { BatchPutter } from "../../core/batch-putter.ts";
import { initCrc32c } from "../../util/crc.ts";
import type { Logger } from "../../util/log.ts";
import { SlabPool } from "../../util/lines.ts";
import { CursorBuilder, resumeRecords } from "./cursor.ts";
import { Discovery } from "./discovery.ts";
import { PositionWriter, readPositions, type PositionRecord } from "./position-file.ts";
import type { TailFile } from "./reader.ts";
import type { TaildirSettings } from "./settings.ts";
import { watchGroups, type TailWatch } from "./watch.ts";

/**
 * Idle read slabs a source keeps for reuse (the rest are left to the collector): enough for the slabs freed between
 * two reads of a busy backlog.
 */
const IDLE_SLABS = 16;
/** While a backlog keeps the source busy, directories and files are still surveyed this often (new files, rotation). */
const BUSY_REFRESH_MS = 1000;
/** Cursor entries of files the position file no longer names are dropped this often. */
const CURSOR_RETAIN_MS = 10_000;

export class TaildirSource implements PollableSource {
  readonly type = "TAILDIR";
  readonly counters = new SourceCounters();
  readonly backoff: { incrementMs: number; maxMs: number };
  /** Files with lines to put in this pass, in round-robin order. */
  private ready: TailFile[] = [];
  private readonly watch: TailWatch;
  private readonly discovery: Discovery;
  private lastRefresh = 0;
  private bytesRead = 0;
  private readonly positions: PositionWriter;
  private readonly putter: BatchPutter;
  /** Set at start when every channel is durable: each batch then carries the source's cursor (cursor.ts). */
  private cursor?: CursorBuilder;
  private cursorRetainedAt = 0;

  constructor(
    readonly name: string,
    private readonly s: TaildirSettings,
    private readonly processor: ChannelProcessor,
    private readonly log: Logger,
    private readonly once: boolean,
  ) {
    this.putter = new BatchPutter(processor, this.counters);
    this.backoff = s.backoff;
    this.positions = new PositionWriter(s.positionFile, s.writePosIntervalMs, () => this.records(), (m) => log.error(m));
    this.watch = watchGroups(s.groups);
    // Reused read buffers only where a safe batch is referenced by nobody (tail/reader.ts explains the lifetime);
    // a multiline record holds line views across reads, so it reads into fresh buffers.
    const pool = processor.releasesWhenSafe && !s.multiline ? new SlabPool(s.readBytes, IDLE_SLABS) : undefined;
    this.discovery = new Discovery(s, this.watch, log, pool, {
      changed: () => this.positions.changed(),
      enqueue: (tf) => this.enqueue(tf),
      readFailed: (tf, err) => this.readFailed(tf, err),
    });
  }

  private get files(): Map<string, TailFile> {
    return this.discovery.files;
  }

  /** Set once the saved positions were read: before that, nothing may be written over them. */
  private positionsLoaded = false;

  async start(): Promise<void> {
    await initCrc32c();
    let records = await readPositions(this.s.positionFile, (m) => this.log.warn(m));
    if (this.processor.cursorsDurable) {
      // Every channel is durable: resume from what they committed where it is newer than the position file (a cache).
      this.cursor = new CursorBuilder();
      const committed = this.processor.committedCursors(this.name);
      if (committed) {
        const r = resumeRecords(records, committed, (m) => this.log.warn(m));
        records = r.records;
        if (r.resumed > 0) this.log.info(`${r.resumed} file(s) resume from the cursor their channel(s) committed, past the position file`);
        if (r.behind > 0) this.log.info(`${r.behind} file(s) of the position file are ahead of the cursor their channel(s) committed; the position file is used for them`);
      }
      this.cursor.seed(records);
    }
    this.discovery.load(records);
    this.positionsLoaded = true;
    await mkdir(dirname(this.s.positionFile), { recursive: true });
    this.counters.StartTime = Date.now();
    this.watch.start();
    this.positions.start();
    this.log.info(`tailing ${this.s.groups.map((g) => g.spec).join(", ")}; positions in ${this.s.positionFile}`);
  }

  /** Ends reading (watchers); acknowledgement tracking and position writes go on until close(). */
  async stop(): Promise<void> {
    this.watch.stop();
    this.counters.StopTime = Date.now();
  }

  /** After the sinks drained: the final safe positions, fsynced; then every descriptor is closed. */
  async close(): Promise<void> {
    this.positions.stop();
    // A start refused over an unreadable position file must leave that file as it found it, for the operator.
    if (!this.positionsLoaded) return;
    this.positions.changed();
    await this.positions.flush(true);
    for (const tf of this.files.values()) await tf.close();
  }

  gauges(): Record<string, number> {
    let behind = 0;
    for (const tf of this.files.values()) behind += Math.max(0, tf.size - tf.safeOffset);
    return { BytesRead: this.bytesRead, BytesBehind: behind, OpenFiles: [...this.files.values()].filter((f) => f.isOpen).length };
  }

  /** Ends a backoff sleep early when a watched directory reports a change. */
  wake(ms: number): Promise<void> {
    return this.watch.wake(ms);
  }

  async process(): Promise<PollStatus> {
    const retried = this.putter.retry();
    if (retried) return retried;
    if (this.ready.length === 0 || Date.now() - this.lastRefresh >= BUSY_REFRESH_MS) {
      this.lastRefresh = Date.now();
      await this.discovery.survey();
      if (this.ready.length === 0) {
        if (this.once && this.discovery.scannedOnce && [...this.files.values()].every((f) => f.drained || f.failed)) return "done";
        return "backoff";
      }
    }
    const tf = this.ready[0]!;
    let batch = tf.takeBatch();
    if (!batch && !tf.failed) {
      try {
        const n = await tf.fill(Date.now());
        this.bytesRead += n;
      } catch (err) {
        this.readFailed(tf, err);
      }
      batch = tf.takeBatch();
    }
    if (!batch) {
      this.ready.shift();
      tf.inReady = false;
      tf.inRow = 0;
      return "ready";
    }
    if (++tf.inRow >= this.s.maxBatchCount) {
      // Fairness: this file had its turn; the others go first.
      tf.inRow = 0;
      this.ready.push(this.ready.shift()!);
    }
    // Lines beyond multiline.maxLines / maxBytes: their record carries truncated=true; the lines are counted here.
    this.counters.dropped.add("multiline cap (lines)", tf.takeDroppedLines());
    const taken = batch;
    const c = this.cursor;
    if (!c) return this.putter.put(taken.events, () => tf.issue(taken));
    if (Date.now() - this.cursorRetainedAt >= CURSOR_RETAIN_MS) {
      this.cursorRetainedAt = Date.now();
      c.retain(this.records());
    }
    return this.putter.put(taken.events, () => tf.issue(taken), { source: this.name, cursor: c.after(tf, taken.end) });
  }

  private readFailed(tf: TailFile, err: unknown): void {
    tf.failed = true;
    this.counters.EventReadFail++;
    this.log.error(`cannot read ${tf.path} at offset ${tf.readPos}: ${describeError(err)}; the file is skipped until it changes`);
    void tf.close();
  }

  /** A rotated file goes first, so it is finished before its successor: lines keep their order across rotation. */
  private enqueue(tf: TailFile): void {
    if (tf.inReady) return;
    tf.inReady = true;
    if (tf.state !== "active" || tf.moved) this.ready.unshift(tf);
    else this.ready.push(tf);
  }

  /** What the position file says now. */
  private records(): PositionRecord[] {
    return this.discovery.records();
  }
}
