// The TAILDIR source at run time: finds the files of each file group, follows them across rotation, reads them in
// large batched reads, and persists each file's offset only as far as its lines are safe (core/ack.ts).

import { mkdir, readdir, stat } from "node:fs/promises";
import { basename, dirname, join } from "node:path";
import type { ChannelProcessor } from "../../core/channel-processor.ts";
import { describeError } from "../../core/errors.ts";
import type { Event } from "../../core/event.ts";
import type { PollableSource, PollStatus } from "../../core/source.ts";
import { SourceCounters } from "../../core/counters.ts";
import { BatchPutter } from "../../core/batch-putter.ts";
import { initCrc32c } from "../../util/crc.ts";
import type { Logger } from "../../util/log.ts";
import { collectGarbage } from "../../runtime.ts";
import { fingerprint, identityKey, regularFiles, sameStart, startsLike } from "./identity.ts";
import { PositionWriter, readPositions, type PositionRecord } from "./position-file.ts";
import { TailFile, type TailOptions } from "./reader.ts";
import { DirWatch, type FileGroup } from "./watch.ts";

export interface TaildirSettings extends TailOptions {
  groups: FileGroup[];
  positionFile: string;
  skipToEnd: boolean;
  idleTimeoutMs: number;
  writePosIntervalMs: number;
  maxBatchCount: number;
  cachePatternMatching: boolean;
  fileHeaderKey?: string;
  backoff: { incrementMs: number; maxMs: number };
}

/** A rotated or deleted file is closed once it stopped growing for this long (a writer may still finish a line). */
const ROTATED_GRACE_MS = 1000;
/**
 * Read buffers are garbage once a sink took their lines, but a backlog read at hundreds of MiB/s outruns the
 * collector's heuristics and the resident set balloons; a collection every 16 MiB read keeps it flat at no measurable cost
 * (bench/taildir.ts: peak RSS 100 → 75 MiB).
 */
const COLLECT_EVERY_BYTES = 16 * 1024 * 1024;
/** Every file is stat'ed at least this often, watch or not. */
const FULL_SURVEY_MS = 1000;
/** While a backlog keeps the source busy, directories and files are still surveyed this often (new files, rotation). */
const BUSY_REFRESH_MS = 1000;

export class TaildirSource implements PollableSource {
  readonly type = "TAILDIR";
  readonly counters = new SourceCounters();
  readonly backoff: { incrementMs: number; maxMs: number };
  private readonly files = new Map<string, TailFile>();
  /** The file each watched path holds now (a rotated-away file keeps its old path but not this entry). */
  private readonly byPath = new Map<string, TailFile>();
  /** Files with lines to put in this pass, in round-robin order. */
  private ready: TailFile[] = [];
  /** A batch a full channel refused: retried as is (with a new Ack) before anything else is read. */
  private readonly watch: DirWatch;
  private saved: PositionRecord[] = [];
  private scannedOnce = false;
  private lastFullSurvey = 0;
  private lastRefresh = 0;
  private bytesRead = 0;
  private collectedAt = 0;
  private readonly warned = new Set<string>();
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
    this.watch = new DirWatch(s.groups);
  }

  async start(): Promise<void> {
    await initCrc32c();
    this.saved = await readPositions(this.s.positionFile);
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
      await this.refresh();
      if (this.ready.length === 0) {
        if (this.once && this.scannedOnce && [...this.files.values()].every((f) => f.drained || f.failed)) return "done";
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
    return this.putter.put(events, () => tf.tracker.issue(end));
  }

  private readFailed(tf: TailFile, err: unknown): void {
    tf.failed = true;
    this.counters.EventReadFail++;
    this.log.error(`cannot read ${tf.path} at offset ${tf.readPos}: ${describeError(err)}; the file is skipped until it changes`);
    void tf.close();
  }

  /**
   * One pass over the world: list directories that changed, stat every tracked file, notice growth, truncation,
   * rotation and deletion, close idle files, and queue the files that have something to read.
   */
  private async refresh(): Promise<void> {
    this.lastRefresh = Date.now();
    await this.survey();
  }

  /** A rotated file goes first, so it is finished before its successor: lines keep their order across rotation. */
  private enqueue(tf: TailFile): void {
    if (tf.inReady) return;
    tf.inReady = true;
    if (tf.state === "gone") this.ready.unshift(tf);
    else this.ready.push(tf);
  }

  private async survey(): Promise<void> {
    const now = Date.now();
    // With every directory watched, only the files the watch named are stat'ed; a full survey still runs every
    // FULL_SURVEY_MS (missed events, idle and rotated files). So a pass costs per changed file, not per tracked file.
    const { paths: touched, all } = this.watch.takeTouched();
    let full = all || now - this.lastFullSurvey >= FULL_SURVEY_MS;
    for (const [dir, d] of this.watch.dirs) {
      let st;
      try {
        st = await stat(dir);
      } catch (err) {
        if (!d.missing) this.log.warn(`directory ${dir} is not readable (${describeError(err)}); files already open are read to their end, the directory is checked again on each pass`);
        d.missing = true;
        this.watch.unwatch(d);
        for (const tf of this.files.values()) if (dirname(tf.path) === dir && tf.state === "active") tf.state = "gone";
        continue;
      }
      if (d.missing) {
        this.log.info(`directory ${dir} is back`);
        d.missing = false;
        d.rescan = true;
      }
      this.watch.watch(d);
      if (d.rescan || !this.s.cachePatternMatching || st.mtimeMs !== d.mtimeMs) {
        d.rescan = false;
        d.mtimeMs = st.mtimeMs;
        full = true;
        await this.scanDir(dir, d.groups);
      }
    }
    if (!this.scannedOnce) {
      await this.adoptOrphans();
      this.scannedOnce = true;
      this.saved = [];
      this.positions.changed();
    }
    if (full) this.lastFullSurvey = now;
    const list: Iterable<TailFile> = full ? [...this.files.values()] : [...touched].map((p) => this.byPath.get(p)).filter((tf): tf is TailFile => tf !== undefined);
    for (const tf of list) {
      await this.statFile(tf, now, full);
      tf.flushMultilineIfDue(now);
      if (tf.queued > 0 || (tf.isOpen && !tf.failed && tf.readPos < tf.size)) {
        this.enqueue(tf);
        continue;
      }
      if (!tf.isOpen) {
        if (tf.state === "gone" && tf.tracker.inFlight === 0) this.forget(tf);
        continue;
      }
      const quiet = now - tf.lastGrowth;
      if ((tf.state === "gone" && quiet >= ROTATED_GRACE_MS) || (tf.state === "active" && quiet >= this.s.idleTimeoutMs)) {
        tf.flushOnIdle(tf.state === "gone");
        if (tf.queued > 0) {
          this.enqueue(tf);
          continue;
        }
        this.log.debug(`closing ${tf.state === "gone" ? "rotated" : "idle"} file ${tf.path} at offset ${tf.readPos}`);
        await tf.close();
      }
    }
  }

  private forget(tf: TailFile): void {
    this.files.delete(identityKey(tf.dev, tf.ino));
    if (this.byPath.get(tf.path) === tf) this.byPath.delete(tf.path);
    this.positions.changed();
  }

  /** Lists one directory and starts tracking each new matching regular file; tracked files not seen are gone. */
  private async scanDir(dir: string, groups: FileGroup[]): Promise<void> {
    let names: string[];
    try {
      names = await readdir(dir);
    } catch (err) {
      this.warnOnce(`list:${dir}`, `cannot list ${dir}: ${describeError(err)}`);
      return;
    }
    const seen = new Set<string>();
    for (const n of names) {
      const g = groups.find((x) => x.pattern.test(n));
      if (!g) continue;
      const path = join(dir, n);
      let st;
      try {
        st = await stat(path);
      } catch {
        continue; // removed between the listing and the stat
      }
      if (!st.isFile()) {
        this.warnOnce(`type:${path}`, `skipping ${path}: it matches file group ${g.name} but is not a regular file`);
        continue;
      }
      const key = identityKey(st.dev, st.ino);
      seen.add(key);
      const known = this.files.get(key);
      if (known) {
        if (known.path !== path) {
          this.log.info(`${known.path} was renamed to ${path}; following it`);
          if (this.byPath.get(known.path) === known) this.byPath.delete(known.path);
        }
        known.path = path;
        this.byPath.set(path, known);
        known.state = "active";
        if (known.failed && st.size !== known.size) known.failed = false;
        continue;
      }
      await this.track(path, st.dev, st.ino, st.size, g);
    }
    for (const tf of this.files.values()) {
      if (dirname(tf.path) === dir && tf.state === "active" && !seen.has(identityKey(tf.dev, tf.ino))) {
        this.log.info(`${tf.path} was rotated or deleted; reading it to its end before closing it`);
        tf.state = "gone";
      }
    }
  }

  /** Starts tracking a file: at its saved position when the position file knows it (same inode, same start), else at 0. */
  private async track(path: string, dev: number, ino: number, size: number, g: FileGroup, state: "active" | "gone" = "active", from?: { read: number; safe: number }): Promise<TailFile | undefined> {
    const headers = this.s.fileHeaderKey ? { ...g.headers, [this.s.fileHeaderKey]: path } : g.headers;
    const tf = new TailFile(path, dev, ino, g.name, 0, headers, this.s, () => this.positions.changed());
    try {
      await tf.open();
    } catch (err) {
      this.warnOnce(`open:${path}`, `cannot open ${path}: ${describeError(err)}`);
      return;
    }
    tf.size = size;
    const fp = await fingerprint(tf.fh!, size);
    let start = 0;
    const rec = this.saved.find((r) => r.inode === ino && (r.dev === undefined || r.dev === dev));
    if (rec) {
      this.saved.splice(this.saved.indexOf(rec), 1);
      const sameFile = rec.fp === undefined || (await sameStart(tf.fh!, { crc: rec.fp, len: rec.fplen ?? 0 }));
      if (!sameFile) this.log.info(`${path} reuses the inode of ${rec.file} but starts differently: a new file, read from its start`);
      else if (rec.pos > size) this.log.warn(`${path} is shorter (${size} bytes) than its saved position ${rec.pos}: truncated while sluice was down; reading from its start`);
      else start = rec.pos;
    } else if (from !== undefined) {
      start = Math.min(from.read, size);
    } else if (this.s.skipToEnd && !this.scannedOnce) {
      start = size;
    }
    tf.fp = fp;
    if (start > 0) tf.seek(start, from ? Math.min(from.safe, start) : start);
    tf.state = state;
    this.files.set(identityKey(dev, ino), tf);
    if (state === "active" || !this.byPath.has(path)) this.byPath.set(path, tf);
    this.positions.changed();
    return tf;
  }

  /**
   * At start only: a saved file no longer at a matching path may have been renamed while sluice was down (rotation
   * by rename). Found by inode in its old directory, it is read to its end from its saved position.
   */
  private async adoptOrphans(): Promise<void> {
    const dirs = new Set(this.saved.map((r) => dirname(r.file)));
    for (const dir of dirs) {
      const g = this.s.groups.find((x) => x.dir === dir);
      if (!g) continue;
      for (const f of await regularFiles(dir)) {
        const rec = this.saved.find((r) => r.inode === f.ino && (r.dev === undefined || r.dev === f.dev));
        if (!rec || this.files.has(identityKey(f.dev, f.ino))) continue;
        this.log.info(`${basename(f.path)} holds the unread end of ${rec.file} (rotated while sluice was down); reading it`);
        await this.track(f.path, f.dev, f.ino, f.size, g, "gone");
      }
    }
  }

  /**
   * fstat (open) or stat (closed) one file: growth, truncation, deletion, and (when `checkStart`: on full surveys and
   * directory changes, where copytruncate shows) a rewrite in place.
   */
  private async statFile(tf: TailFile, now: number, checkStart: boolean): Promise<void> {
    if (!tf.isOpen) {
      if (tf.state === "gone") return;
      const st = await stat(tf.path).catch(() => undefined);
      if (!st || st.ino !== tf.ino || st.dev !== tf.dev) return; // the next listing sees the change
      if (st.size === tf.size && st.mtimeMs === tf.mtimeMs) return;
      try {
        await tf.open();
      } catch (err) {
        this.warnOnce(`open:${tf.path}`, `cannot reopen ${tf.path}: ${describeError(err)}`);
        return;
      }
      tf.failed = false;
      tf.lastGrowth = now;
    }
    let st;
    try {
      st = await tf.fh!.stat();
    } catch (err) {
      this.readFailed(tf, err);
      return;
    }
    if (st.nlink === 0 && tf.state === "active") {
      this.log.info(`${tf.path} was deleted; reading it to its end before closing it`);
      tf.state = "gone";
    }
    if (st.size < tf.readPos) {
      this.log.warn(`${tf.path} was truncated (size ${st.size} < offset ${tf.readPos}); reading it again from its start`);
      tf.restartFromZero(!(await this.adoptCopy(tf)));
      this.positions.changed();
    } else if (checkStart && (st.size !== tf.size || st.mtimeMs !== tf.mtimeMs)) {
      // copytruncate followed by fast writes can regrow a file past our offset: its first bytes tell.
      if (tf.readPos > 0 && (await tf.startChanged())) {
        this.log.warn(`${tf.path} was rewritten in place (its first bytes changed); reading it again from its start`);
        tf.restartFromZero(!(await this.adoptCopy(tf)));
        this.positions.changed();
      }
    }
    if (st.size > tf.size) tf.lastGrowth = now;
    tf.size = st.size;
    tf.mtimeMs = st.mtimeMs;
    await tf.updateFingerprint();
  }

  /**
   * copytruncate: before the file was truncated, logrotate copied it. If an untracked file in the same directory
   * starts with the same bytes and reaches past our offset, it is that copy: its unread end is read from our offset.
   */
  private async adoptCopy(tf: TailFile): Promise<boolean> {
    if (tf.fp.len === 0) return false;
    const g = this.s.groups.find((x) => x.name === tf.group)!;
    for (const f of await regularFiles(dirname(tf.path))) {
      if (f.size <= tf.takenOffset || this.files.has(identityKey(f.dev, f.ino)) || !(await startsLike(f.path, tf.fp))) continue;
      this.log.info(`${f.path} is the copy of ${tf.path} made before it was truncated; reading its unread end from offset ${tf.takenOffset}`);
      const copy = await this.track(f.path, f.dev, f.ino, f.size, g, "gone", { read: tf.takenOffset, safe: tf.safeOffset });
      if (copy) {
        copy.lastGrowth = Date.now();
        this.enqueue(copy);
      }
      return true;
    }
    return false;
  }

  private warnOnce(key: string, msg: string): void {
    if (this.warned.has(key)) return;
    this.warned.add(key);
    this.log.warn(msg);
  }

  /** What the position file says now: each tracked file at its safe offset (and, before the first scan, the saved ones). */
  private records(): PositionRecord[] {
    const out: PositionRecord[] = [...this.saved];
    for (const tf of this.files.values()) out.push({ inode: tf.ino, pos: tf.safeOffset, file: tf.path, dev: tf.dev, fp: tf.fp.crc, fplen: tf.fp.len });
    return out;
  }
}
