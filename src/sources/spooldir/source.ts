// The spooldir source at run time: picks the next complete file of the spool directory, reads it in batches (spool-file.ts), and
// retires it (rename, tracker mark or delete) only once every batch is safe. A file that breaks Flume's rules
// (changed after pickup, a name reused) is set aside with a clear error; the rest of the directory goes on.
//
// Cursor (core/channel.ts SourceCursor): when every channel is durable, each batch carries the source's position after
// it — the tracker's progress record (tracker.ts: magic "SLSP", version 1, CRC32C) of the file in progress with the
// batch's end as offset — committed in the same write as the batch. At start it moves the tracker's record forward: with
// several channels the smallest offset (all must name the same file, else the tracker alone decides); it applies when
// it names the tracker's file (same path and inode) at a larger offset, or when the tracker has no record (a file it
// names that was retired is never picked again; one read to its end and not yet retired is retired from its end). The
// tracker file stays a cache: with a memory-held channel it is the only record, as before.

import { open, rename, stat, unlink, type FileHandle } from "node:fs/promises";
import { basename, isAbsolute, join, relative } from "node:path";
import type { ChannelProcessor } from "../../core/channel-processor.ts";
import { describeError, ValueError } from "../../core/errors.ts";
import type { PollableSource, PollStatus } from "../../core/source.ts";
import { DirWatch } from "../dir-watch.ts";
import { SourceCounters } from "../../core/counters.ts";
import { BatchPutter } from "../../core/batch-putter.ts";
import { initCrc32c } from "../../util/crc.ts";
import type { Logger } from "../../util/log.ts";
import { createDeserializer, type DecodeErrorPolicy } from "./deserializers.ts";
import type { AvroSchemaType } from "./avro-deserializer.ts";
import { Tracker, decodeProgress, encodeProgress, type Progress } from "./tracker.ts";
import { listCandidates, type Candidate, type ListSettings } from "./listing.ts";
import { READ_BYTES, SpoolFile } from "./spool-file.ts";
import { SlabPool } from "../../util/lines.ts";

export interface SpoolSettings extends ListSettings {
  deletePolicy: "never" | "immediate";
  consumeOrder: "oldest" | "youngest" | "random";
  batchSize: number;
  fileHeaderKey?: string;
  basenameHeaderKey?: string;
  deserializer: "LINE" | "BLOB" | "AVRO";
  avroSchemaType: AvroSchemaType;
  maxLineLength: number;
  maxBlobLength: number;
  inputCharset: string;
  decodeErrorPolicy: DecodeErrorPolicy;
  backoff: { incrementMs: number; maxMs: number };
}

/** Idle read slabs kept for reuse (1 MiB each). */
const IDLE_SLABS = 4;
/** Progress rewrites are coalesced (no fsync); completion and close write durably. */
const META_COALESCE_MS = 20;

export class SpoolDirSource implements PollableSource {
  readonly type = "spooldir";
  readonly counters = new SourceCounters();
  readonly backoff: { incrementMs: number; maxMs: number };
  private readonly tracker: Tracker;
  private cur?: SpoolFile;
  private resume?: Progress;
  private pendingBytes = 0;
  private bytesRead = 0;
  private readonly watch: DirWatch;
  private metaTimer?: ReturnType<typeof setTimeout>;
  private metaWrite: Promise<void> = Promise.resolve();
  private readonly warned = new Set<string>();
  private readonly putter: BatchPutter;
  private readonly pool?: SlabPool;

  constructor(
    readonly name: string,
    private readonly s: SpoolSettings,
    private readonly processor: ChannelProcessor,
    private readonly log: Logger,
    private readonly once: boolean,
  ) {
    this.putter = new BatchPutter(processor, this.counters);
    // Reused read buffers only for LINE (its lines are views emitted while their chunk is pushed) and only where a
    // safe batch is referenced by nobody (util/lines.ts SlabReader); BLOB and AVRO hold views across reads.
    if (s.deserializer === "LINE" && processor.releasesWhenSafe) this.pool = new SlabPool(READ_BYTES, IDLE_SLABS);
    this.backoff = s.backoff;
    this.tracker = new Tracker(s.trackerDir);
    // Any change in the spool directory ends a back-off sleep; the listing itself runs when the source picks a file.
    this.watch = new DirWatch([{ dir: s.spoolDir, rescan: false }], false);
  }

  async start(): Promise<void> {
    await initCrc32c();
    const st = await stat(this.s.spoolDir).catch(() => undefined);
    if (!st?.isDirectory()) throw new ValueError("is not a readable directory", { key: "spoolDir", value: this.s.spoolDir });
    await this.tracker.init();
    const saved = await this.tracker.load((m) => this.log.warn(m));
    if (saved) {
      this.resume = saved;
    } else {
      const flume = await this.tracker.loadFlume().catch((err) => {
        this.log.warn(describeError(err));
        return undefined;
      });
      if (flume) {
        const st2 = await stat(flume.target).catch(() => undefined);
        if (st2) {
          this.resume = { path: relative(this.s.spoolDir, flume.target), offset: flume.offset, size: st2.size, mtimeMs: st2.mtimeMs, ino: st2.ino };
          await this.tracker.save(this.resume, true);
          this.log.info(`resuming ${flume.target} at offset ${flume.offset} from Flume's tracker file`);
        }
        await this.tracker.dropFlume();
      }
    }
    this.resumeFromCursors();
    this.watch.start();
    this.counters.StartTime = Date.now();
  }

  /** Every channel durable: batches carry cursors, and the committed ones may move `resume` forward (see header). */
  private durable = false;
  /** `resume` comes from a cursor alone (no tracker record). */
  private resumeCursorOnly = false;

  private resumeFromCursors(): void {
    this.durable = this.processor.cursorsDurable;
    const committed = this.processor.committedCursors(this.name);
    if (!committed) return;
    let min: Progress | undefined;
    for (const [i, buf] of committed.entries()) {
      const p = decodeProgress(buf);
      if (typeof p === "string") {
        this.log.warn(`the cursor committed in channel ${i + 1} of this source is unusable (${p}); resuming from the tracker file alone`);
        return;
      }
      if (min && (min.path !== p.path || min.ino !== p.ino)) return; // the channels disagree on the file: the tracker decides
      if (!min || p.offset < min.offset) min = p;
    }
    const r = this.resume;
    if (!min) return;
    if (r ? r.path === min.path && r.ino === min.ino && min.offset > r.offset : true) {
      this.log.info(`${min.path}: resuming at offset ${min.offset}, from the cursor its channel(s) committed (the tracker file said ${r ? r.offset : "nothing"})`);
      this.resume = r ? { ...r, offset: min.offset } : min;
      // Without a tracker record the cursor may name a file retired since (gone or marked: never picked again) or
      // read to its end and not yet retired (retired now, from its end); a file by that name and inode that differs
      // is another file that reuses both, read from its start.
      this.resumeCursorOnly = r === undefined;
    }
  }

  async stop(): Promise<void> {
    this.watch.stop();
    this.counters.StopTime = Date.now();
  }

  async close(): Promise<void> {
    clearTimeout(this.metaTimer);
    const c = this.cur;
    if (c) {
      await this.saveMeta(true);
      await c.close();
    }
    await this.metaWrite;
  }

  gauges(): Record<string, number> {
    const c = this.cur;
    return { BytesRead: this.bytesRead, BytesBehind: this.pendingBytes + (c ? c.size - c.safe : 0) };
  }

  wake(ms: number): Promise<void> {
    return this.watch.wake(ms);
  }

  private poke(): void {
    this.watch.notify();
  }

  async process(): Promise<PollStatus> {
    const retried = this.putter.retry();
    if (retried) return retried;
    if (!this.cur) {
      const next = await this.pickNext();
      if (!next) return this.once ? "done" : "backoff";
      if (!(await this.openFile(next))) return "ready";
    }
    const c = this.cur!;
    if (c.queued === 0 && !c.eof) {
      const r = await c.fill();
      if (typeof r === "number") this.bytesRead += r;
      else await this.setAside(c, r.reason, r.keepQueued, r.now);
    }
    const batch = c.takeBatch(this.s.batchSize);
    if (batch) {
      const cursor = this.durable ? { source: this.name, cursor: encodeProgress({ path: c.rel, offset: batch.end, size: c.size, mtimeMs: c.mtimeMs, ino: c.ino }) } : undefined;
      return this.putter.put(batch.events, () => c.issue(batch), cursor);
    }
    if (!c.eof) return "ready";
    // Everything read and put: retire the file once its batches are safe (a file set aside is only forgotten).
    if (c.tracker.inFlight > 0) return "backoff";
    if (c.setAside) await this.forget(c);
    else await this.retire(c);
    return "ready";
  }

  private async openFile(f: Candidate): Promise<boolean> {
    if (this.s.trackingPolicy === "rename" && (await exists(f.path + this.s.fileSuffix))) {
      await this.markFailed(f, `its name was already used by an ingested file (${basename(f.path)}${this.s.fileSuffix} exists); rename the new file`);
      return false;
    }
    if (this.s.trackingPolicy === "tracker_dir" && (await exists(this.tracker.completedMarker(f.rel, this.s.fileSuffix)))) {
      await this.markFailed(f, `its name was already used by an ingested file (${this.tracker.completedMarker(f.rel, this.s.fileSuffix)} exists); rename the new file`);
      return false;
    }
    let fh: FileHandle;
    try {
      fh = await open(f.path, "r");
    } catch (err) {
      await this.markFailed(f, `cannot open it: ${describeError(err)}`, false);
      return false;
    }
    let start = 0;
    const r = this.resume;
    const cursorOnly = this.resumeCursorOnly;
    this.resume = undefined;
    this.resumeCursorOnly = false;
    if (r && r.path === f.rel && r.ino === f.ino && !(cursorOnly && (r.size !== f.size || r.mtimeMs !== f.mtimeMs))) {
      if (r.size !== f.size || r.mtimeMs !== f.mtimeMs) {
        await fh.close().catch(() => {});
        await this.tracker.clear();
        await this.markFailed(f, `it changed after it was picked up (size ${r.size} → ${f.size}, while sluice was down); files must be complete and unchanging once in the spool directory`);
        return false;
      }
      start = Math.min(r.offset, f.size);
      this.log.info(`resuming ${f.path} at offset ${start}`);
    }
    const headers: Record<string, string> = {};
    if (this.s.fileHeaderKey) headers[this.s.fileHeaderKey] = f.path;
    if (this.s.basenameHeaderKey) headers[this.s.basenameHeaderKey] = basename(f.path);
    const frozen = Object.freeze(headers) as Record<string, string>;
    this.cur = new SpoolFile(f, fh, start, createDeserializer(this.s, start, frozen), frozen, (c) => {
      this.scheduleMeta();
      if (c.tracker.inFlight === 0) this.poke();
    }, this.pool);
    this.pendingBytes = Math.max(0, this.pendingBytes - f.size);
    await this.saveMeta(false);
    return true;
  }

  private async forget(c: SpoolFile): Promise<void> {
    await c.close();
    this.cur = undefined;
    clearTimeout(this.metaTimer);
    this.metaTimer = undefined;
    await this.metaWrite;
    await this.tracker.clear();
  }

  /** Fully read and safe: rename, mark or delete, then forget the progress record. */
  private async retire(c: SpoolFile): Promise<void> {
    try {
      if (this.s.deletePolicy === "immediate") await unlink(c.path);
      else if (this.s.trackingPolicy === "rename") await rename(c.path, c.path + this.s.fileSuffix);
      else await this.tracker.markCompleted(c.rel, this.s.fileSuffix);
    } catch (err) {
      this.log.error(`${c.path} was ingested but cannot be retired: ${describeError(err)}; it is set aside so it is not read twice`);
      await this.tracker.markFailed(c.rel, { ino: c.ino, size: c.size, mtimeMs: c.mtimeMs, reason: `cannot retire: ${describeError(err)}` }).catch(() => {});
    }
    await this.forget(c);
    this.log.debug(`ingested ${c.path}`);
  }

  /**
   * Stops ingesting the current file and records why. Lines already put stay delivered (and `keepQueued` ones are
   * still put); once they are safe, the file is forgotten instead of retired.
   */
  private async setAside(c: SpoolFile, reason: string, keepQueued = false, now?: { size: number; mtimeMs: number }): Promise<void> {
    c.eof = true;
    c.setAside = true;
    if (!keepQueued) c.dropQueued();
    this.counters.EventReadFail++;
    await this.markFailed({ path: c.path, rel: c.rel, size: now?.size ?? c.size, mtimeMs: now?.mtimeMs ?? c.mtimeMs, ino: c.ino }, reason);
  }

  private async markFailed(f: Candidate, reason: string, persist = true): Promise<void> {
    this.log.error(`spooled file ${f.path}: ${reason}. The file is set aside (left in place, not read again while unchanged); the source goes on with the others`);
    // Skipped in memory until restart when the mark is not to be (or cannot be) persisted, so it is never retried in a loop.
    const skip = () => void this.warned.add(`${f.rel}:${f.ino}`);
    if (persist) {
      await this.tracker.markFailed(f.rel, { ino: f.ino, size: f.size, mtimeMs: f.mtimeMs, reason }).catch((err) => {
        this.log.warn(`cannot record ${f.path} as set aside in ${this.s.trackerDir}: ${describeError(err)}; skipping it until restart`);
        skip();
      });
    } else skip();
  }

  /** Lists eligible files and returns the next one by consumeOrder (a saved file in progress goes first). */
  private async pickNext(): Promise<Candidate | undefined> {
    const all: Candidate[] = [];
    await this.list(this.s.spoolDir, all);
    this.pendingBytes = all.reduce((n, f) => n + f.size, 0);
    if (all.length === 0) return undefined;
    if (this.resume) {
      const r = all.find((f) => f.rel === this.resume!.path && f.ino === this.resume!.ino);
      if (r) return r;
      this.resume = undefined;
    }
    if (this.s.consumeOrder === "random") return all[Math.floor(Math.random() * all.length)];
    const dir = this.s.consumeOrder === "oldest" ? 1 : -1;
    all.sort((a, b) => (a.mtimeMs - b.mtimeMs) * dir || (a.rel < b.rel ? -1 : a.rel > b.rel ? 1 : 0));
    return all[0];
  }

  private list(dir: string, out: Candidate[]): Promise<void> {
    return listCandidates(this.s, this.tracker, dir, out, (key) => this.warned.has(key), (d, err) => {
      if (!this.warned.has(`list:${d}`)) this.log.warn(`cannot list ${d}: ${describeError(err)}`);
      this.warned.add(`list:${d}`);
    });
  }

  private scheduleMeta(): void {
    if (this.metaTimer) return;
    this.metaTimer = setTimeout(() => {
      this.metaTimer = undefined;
      void this.saveMeta(false);
    }, META_COALESCE_MS);
  }

  private saveMeta(durable: boolean): Promise<void> {
    this.metaWrite = this.metaWrite.then(async () => {
      const c = this.cur;
      if (!c) return;
      try {
        await this.tracker.save({ path: c.rel, offset: c.safe, size: c.size, mtimeMs: c.mtimeMs, ino: c.ino }, durable);
      } catch (err) {
        this.log.error(`cannot write tracker file in ${this.s.trackerDir}: ${describeError(err)}`);
      }
    });
    return this.metaWrite;
  }
}

async function exists(p: string): Promise<boolean> {
  return (await stat(p).catch(() => undefined)) !== undefined;
}

/** trackerDir relative to spoolDir unless absolute (Flume's rule). */
export function resolveTrackerDir(spoolDir: string, trackerDir: string): string {
  return isAbsolute(trackerDir) ? trackerDir : join(spoolDir, trackerDir);
}
