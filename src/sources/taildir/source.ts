// The TAILDIR source at run time: takes the files discovery.ts found (and follows across rotation), reads them in
// large batched reads, puts their lines in batches, and persists each file's offset only as far as its lines are
// safe (core/ack.ts).

import { mkdir } from "node:fs/promises";
import { dirname } from "node:path";
import type { ChannelProcessor } from "../../core/channel-processor.ts";
import { describeError } from "../../core/errors.ts";
import type { Event } from "../../core/event.ts";
import type { PollableSource, PollStatus } from "../../core/source.ts";
import { SourceCounters } from "../../core/counters.ts";
import { BatchPutter } from "../../core/batch-putter.ts";
import { initCrc32c } from "../../util/crc.ts";
import type { Logger } from "../../util/log.ts";
import { collectGarbage } from "../../runtime.ts";
import { Discovery } from "./discovery.ts";
import { PositionWriter, readPositions, type PositionRecord } from "./position-file.ts";
import type { TailFile } from "./reader.ts";
import type { TaildirSettings } from "./settings.ts";
import { watchGroups, type TailWatch } from "./watch.ts";

/**
 * Read buffers are garbage once a sink took their lines, but a backlog read at hundreds of MiB/s outruns the
 * collector's heuristics and the resident set balloons; a collection every 16 MiB read keeps it flat at no measurable cost
 * (bench/taildir.ts: peak RSS 100 → 75 MiB).
 */
const COLLECT_EVERY_BYTES = 16 * 1024 * 1024;
/** While a backlog keeps the source busy, directories and files are still surveyed this often (new files, rotation). */
const BUSY_REFRESH_MS = 1000;

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
  private collectedAt = 0;
  private readonly positions: PositionWriter;
  private readonly putter: BatchPutter;

  constructor(
    readonly name: string,
    private readonly s: TaildirSettings,
    processor: ChannelProcessor,
    private readonly log: Logger,
    private readonly once: boolean,
  ) {
    this.putter = new BatchPutter(processor, this.counters);
    this.backoff = s.backoff;
    this.positions = new PositionWriter(s.positionFile, s.writePosIntervalMs, () => this.records(), (m) => log.error(m));
    this.watch = watchGroups(s.groups);
    this.discovery = new Discovery(s, this.watch, log, {
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
    this.discovery.load(await readPositions(this.s.positionFile, (m) => this.log.warn(m)));
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
        if (this.bytesRead - this.collectedAt >= COLLECT_EVERY_BYTES) {
          this.collectedAt = this.bytesRead;
          collectGarbage();
        }
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
    return this.put(tf, batch.events, batch.end);
  }

  private put(tf: TailFile, events: Event[], end: number): Promise<PollStatus> {
    // Lines beyond multiline.maxLines / maxBytes: their record carries truncated=true; the lines are counted here.
    this.counters.dropped.add("multiline cap (lines)", tf.takeDroppedLines());
    return this.putter.put(events, () => tf.tracker.issue(end));
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
