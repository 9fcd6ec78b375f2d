// Which files a TAILDIR source tails and who each one is: directory listings matched against the file groups, each
// file known by its identity (device + inode, checked against a fingerprint of its first bytes) wherever it moves.
// Rotation, deletion, truncation and copytruncate are decided here; reading is reader.ts, putting is source.ts.
//
// A listing is not a snapshot. Between readdir() and the stat of each name, a numbered-rotation cascade moves files
// (app.log.8 → app.log.9, then app.log.7 → app.log.8, …), so one listing can miss a file that never left the
// pattern, in any order and for any length of cascade. So:
// - a file is declared gone (deleted, or renamed out of the pattern) only by its own descriptor (nlink 0) or by a
//   *consistent* listing: the directory's mtime and ctime the same before and after it, and at least DIR_QUIET_MS old
//   when it began (so a rename during the listing cannot share the timestamp of the last change before it, even on a
//   filesystem with 1 s timestamps). A file only an inconsistent listing missed is `unseen`: it is read on through its
//   descriptor, its position kept, and the directory is listed again at the next pass.
// - a file's record is never dropped while the file may exist: a file forgotten (gone, drained, closed) keeps a
//   *dormant* record (identity, fingerprint, offset), written to the position file like a tracked one. A file found
//   again under a matching name resumes from it, never from its start. Dormant records, and records of the position
//   file no file took at start, are pruned only when a consistent listing of every name in their directory shows
//   their identity nowhere.

import { stat } from "node:fs/promises";
import { basename, dirname } from "node:path";
import { describeError } from "../../core/errors.ts";
import type { SlabPool } from "../../util/lines.ts";
import type { Logger } from "../../util/log.ts";
import { DormantRecords } from "./dormant.ts";
import { fingerprint, identityKey, regularFiles, startsLike } from "./identity.ts";
import { consistentListing, matchingFiles, resumeOffset } from "./listing.ts";
import type { PositionRecord } from "./position-file.ts";
import { TailFile } from "./reader.ts";
import type { FileGroup, TaildirSettings } from "./settings.ts";
import type { TailWatch } from "./watch.ts";

/** A rotated or deleted file is closed once it stopped growing for this long (a writer may still finish a line). */
const ROTATED_GRACE_MS = 1000;
/** Every file is stat'ed at least this often, watch or not. */
const FULL_SURVEY_MS = 1000;
/** A directory that never holds still (files created all the time): unseen files are declared gone after this. */
const UNSEEN_GIVE_UP_MS = 30_000;

export interface DiscoveryHooks {
  /** The set of records changed: the position file should be rewritten. */
  changed(): void;
  /** `tf` has lines to put or bytes to read. */
  enqueue(tf: TailFile): void;
  /** Reading `tf` failed (its fstat did). */
  readFailed(tf: TailFile, err: unknown): void;
}

export class Discovery {
  /** Tracked files by identity. */
  readonly files = new Map<string, TailFile>();
  /** The file each watched path holds now (as far as the last listing or rename knew). */
  private readonly byPath = new Map<string, TailFile>();
  /** Records of files not tracked now that may still exist (dormant.ts). */
  private readonly dormant: DormantRecords;
  scannedOnce = false;
  private lastFullSurvey = 0;
  private readonly warned = new Set<string>();

  constructor(
    private readonly s: TaildirSettings,
    private readonly watch: TailWatch,
    private readonly log: Logger,
    private readonly pool: SlabPool | undefined,
    private readonly hooks: DiscoveryHooks,
  ) {
    this.dormant = new DormantRecords(new Set(s.groups.map((g) => g.dir)));
  }

  /** The records of the position file, before the first survey. */
  load(saved: PositionRecord[]): void {
    this.dormant.load(saved);
  }

  /** What the position file says now: each tracked file at its safe offset, then the dormant records. */
  records(): PositionRecord[] {
    const out: PositionRecord[] = [];
    for (const tf of this.files.values()) out.push({ inode: tf.ino, pos: tf.safeOffset, file: tf.path, dev: tf.dev, fp: tf.fp.crc, fplen: tf.fp.len });
    out.push(...this.dormant.all);
    return out;
  }

  /**
   * One pass over the world: list directories that changed, stat every tracked file (or only those a watch named),
   * notice growth, truncation, rotation and deletion, close idle files, and enqueue the files with something to read.
   */
  async survey(): Promise<void> {
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
        for (const tf of this.files.values()) if (dirname(tf.path) === dir && tf.state !== "gone") tf.state = "gone";
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
        if (!(await this.scanDir(dir, d.groups, now))) d.rescan = true;
      }
    }
    if (!this.scannedOnce) {
      await this.adoptOrphans();
      this.scannedOnce = true;
      this.hooks.changed();
    }
    if (full) this.lastFullSurvey = now;
    const list: Iterable<TailFile> = full ? [...this.files.values()] : [...touched].map((p) => this.byPath.get(p)).filter((tf): tf is TailFile => tf !== undefined);
    for (const tf of list) {
      await this.statFile(tf, now, full);
      tf.flushMultilineIfDue(now);
      if (tf.queued > 0 || (tf.isOpen && !tf.failed && tf.readPos < tf.size)) {
        this.hooks.enqueue(tf);
        continue;
      }
      if (!tf.isOpen) {
        if (tf.state === "gone" && tf.tracker.inFlight === 0) this.forget(tf);
        continue;
      }
      const quiet = now - tf.lastGrowth;
      if ((tf.state === "gone" && quiet >= ROTATED_GRACE_MS) || (tf.state !== "gone" && quiet >= this.s.idleTimeoutMs)) {
        tf.flushOnIdle(tf.state === "gone");
        if (tf.queued > 0) {
          this.hooks.enqueue(tf);
          continue;
        }
        this.log.debug(`closing ${tf.state === "gone" ? "rotated" : "idle"} file ${tf.path} at offset ${tf.readPos}`);
        await tf.close();
      }
    }
    if (await this.dormant.prune(now)) this.hooks.changed();
  }

  /** Stops tracking `tf`; unless it was deleted, its record stays as a dormant one. */
  private forget(tf: TailFile): void {
    this.files.delete(identityKey(tf.dev, tf.ino));
    if (this.byPath.get(tf.path) === tf) this.byPath.delete(tf.path);
    if (!tf.deleted) {
      this.dormant.add({ inode: tf.ino, pos: tf.safeOffset, file: tf.path, dev: tf.dev, fp: tf.fp.crc, fplen: tf.fp.len });
    }
    this.hooks.changed();
  }

  /**
   * Lists one directory and starts tracking each new matching regular file. Tracked files it did not see are gone
   * only if the listing was consistent (see the header); else they are unseen. Returns the consistency.
   */
  private async scanDir(dir: string, groups: FileGroup[], now: number): Promise<boolean> {
    let listed: Awaited<ReturnType<typeof matchingFiles>>;
    let consistent: boolean;
    try {
      ({ result: listed, consistent } = await consistentListing(dir, () =>
        matchingFiles(dir, groups, (path, g) => this.warnOnce(`type:${path}`, `skipping ${path}: it matches file group ${g.name} but is not a regular file`)),
      ));
    } catch (err) {
      this.warnOnce(`list:${dir}`, `cannot list ${dir}: ${describeError(err)}`);
      return true;
    }
    const seen = new Set<string>();
    for (const f of listed) {
      const key = identityKey(f.dev, f.ino);
      seen.add(key);
      const known = this.files.get(key);
      if (known && !known.isOpen && known.path !== f.path && !(await startsLike(f.path, known.fp))) {
        // Closed, the file was deleted (the oldest of a rotation) and a new file got its inode: not a rename.
        this.log.debug(`${f.path} reuses the inode of ${known.path}, which was deleted: a new file`);
        known.deleted = true;
        known.state = "gone";
        this.files.delete(key);
        if (this.byPath.get(known.path) === known) this.byPath.delete(known.path);
        await this.track(f.path, f.dev, f.ino, f.size, f.group);
        continue;
      }
      if (!known) {
        await this.track(f.path, f.dev, f.ino, f.size, f.group);
        continue;
      }
      if (known.path !== f.path) {
        this.log.debug(`${known.path} was renamed to ${f.path}; following it`);
        if (this.byPath.get(known.path) === known) this.byPath.delete(known.path);
        known.path = f.path;
        known.moved = true;
      }
      this.byPath.set(f.path, known);
      if (known.state === "gone") this.log.info(`${f.path} is back under a matching name; reading on from offset ${known.readPos}`);
      known.state = "active";
      known.unseenSince = 0;
      if (known.failed && f.size !== known.size) known.failed = false;
    }
    let unseen = false;
    for (const tf of this.files.values()) {
      if (dirname(tf.path) !== dir || tf.state === "gone" || seen.has(identityKey(tf.dev, tf.ino))) continue;
      if (tf.unseenSince === 0) tf.unseenSince = now;
      if (consistent || now - tf.unseenSince >= UNSEEN_GIVE_UP_MS) {
        this.log.info(`${tf.path} was rotated out of the pattern or deleted; reading it to its end before closing it`);
        tf.state = "gone";
      } else {
        // Missed by a listing that raced with renames: nothing is decided until a consistent one.
        tf.state = "unseen";
        unseen = true;
      }
    }
    return !unseen;
  }

  /** Starts tracking a file: where its record says (same identity, same start), or at 0 (its end with skipToEnd at start). */
  private async track(path: string, dev: number, ino: number, size: number, g: FileGroup, state: "active" | "gone" = "active", from?: { read: number; safe: number }, moves = 0): Promise<TailFile | undefined> {
    const headers = this.s.fileHeaderKey ? { ...g.headers, [this.s.fileHeaderKey]: path } : g.headers;
    const tf = new TailFile(path, dev, ino, g.name, 0, headers, this.s, () => this.hooks.changed(), this.pool);
    try {
      await tf.open();
    } catch (err) {
      this.warnOnce(`open:${path}`, `cannot open ${path}: ${describeError(err)}`);
      return;
    }
    if (!(await tf.opened())) {
      // Renamed between the listing's stat and the open (a rotation): the descriptor holds whatever took the name.
      // The listed file is followed to where it went, by identity; the newcomer is found by the next listing.
      await tf.close();
      const dir = this.watch.dirs.get(dirname(path));
      if (dir) dir.rescan = true;
      const moved = moves < 3 ? (await regularFiles(dirname(path))).find((f) => f.dev === dev && f.ino === ino) : undefined;
      if (!moved) return;
      const matches = g.pattern.test(basename(moved.path));
      this.log.debug(`${path} was renamed to ${moved.path} as it was opened; following it`);
      return this.track(moved.path, dev, ino, moved.size, g, matches ? state : "gone", from, moves + 1);
    }
    tf.size = size;
    const fp = await fingerprint(tf.fh!, size);
    let start = 0;
    const rec = this.dormant.take(dev, ino);
    if (rec) {
      const r = await resumeOffset(rec, tf.fh!, size);
      // In a run, a deleted file's inode reused by a new one is everyday rotation; at start it is worth saying.
      if (r.note) (this.scannedOnce ? this.log.debug : this.log.info).call(this.log, `${path} ${r.note}`);
      else if (this.scannedOnce) this.log.debug(`${path} is ${rec.file} again; resuming at offset ${r.start}`);
      start = r.start;
    } else if (from !== undefined) {
      start = Math.min(from.read, size);
    } else if (this.s.skipToEnd && !this.scannedOnce) {
      start = size;
    }
    tf.fp = fp;
    if (start > 0) tf.seek(start, from ? Math.min(from.safe, start) : start);
    this.log.debug(`tracking ${path} (group ${g.name}, inode ${ino}, ${size} bytes${state === "gone" ? ", rotated" : ""}) from offset ${start}`);
    tf.state = state;
    this.files.set(identityKey(dev, ino), tf);
    if (state === "active" || !this.byPath.has(path)) this.byPath.set(path, tf);
    this.hooks.changed();
    return tf;
  }

  /**
   * At start only: a saved file no longer at a matching path may have been renamed while sluice was down (rotation
   * by rename). Found by identity in its old directory, it is read to its end from its saved position.
   */
  private async adoptOrphans(): Promise<void> {
    const dirs = new Set(this.dormant.all.map((r) => dirname(r.file)));
    for (const dir of dirs) {
      const g = this.s.groups.find((x) => x.dir === dir);
      if (!g) continue;
      for (const f of await regularFiles(dir)) {
        const rec = this.dormant.find(f.dev, f.ino);
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
      if (tf.state !== "active") return;
      const st = await stat(tf.path).catch(() => undefined);
      if (!st || st.ino !== tf.ino || st.dev !== tf.dev) return; // the next listing sees the change
      if (st.size === tf.size && st.mtimeMs === tf.mtimeMs) return;
      try {
        await tf.open();
      } catch (err) {
        this.warnOnce(`open:${tf.path}`, `cannot reopen ${tf.path}: ${describeError(err)}`);
        return;
      }
      if (!(await tf.opened())) {
        await tf.close(); // renamed between the stat and the open: the next listing follows it
        return;
      }
      tf.failed = false;
      tf.lastGrowth = now;
      // Closed, its inode may have been freed and reused by another file: its first bytes tell.
      checkStart = true;
    }
    let st;
    try {
      st = await tf.fh!.stat();
    } catch (err) {
      this.hooks.readFailed(tf, err);
      return;
    }
    if (st.nlink === 0) {
      if (tf.state !== "gone") this.log.info(`${tf.path} was deleted; reading it to its end before closing it`);
      tf.state = "gone";
      tf.deleted = true;
    }
    if (st.size < tf.readPos) {
      this.log.warn(`${tf.path} was truncated (size ${st.size} < offset ${tf.readPos}); reading it again from its start`);
      tf.restartFromZero(!(await this.adoptCopy(tf)));
      this.hooks.changed();
    } else if (checkStart && (st.size !== tf.size || st.mtimeMs !== tf.mtimeMs)) {
      // copytruncate followed by fast writes can regrow a file past our offset: its first bytes tell.
      if (tf.readPos > 0 && (await tf.startChanged())) {
        this.log.warn(`${tf.path} was rewritten in place (its first bytes changed); reading it again from its start`);
        tf.restartFromZero(!(await this.adoptCopy(tf)));
        this.hooks.changed();
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
      this.dormant.take(f.dev, f.ino);
      const copy = await this.track(f.path, f.dev, f.ino, f.size, g, "gone", { read: tf.takenOffset, safe: tf.safeOffset });
      if (copy) {
        copy.lastGrowth = Date.now();
        this.hooks.enqueue(copy);
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
}
