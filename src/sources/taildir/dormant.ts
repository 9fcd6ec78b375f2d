// TAILDIR's dormant records: what is known of files that are not tracked now but may still exist — the position
// file's records no file took yet, and files forgotten after they were read to their end (rotated out of the
// pattern). Each is an identity, a fingerprint and an offset, written to the position file beside the tracked
// files', so a file that comes back under a matching name resumes instead of starting over, after a restart too.
// A record goes only when a consistent listing of every name in its directory (listing.ts) no longer shows its
// identity, or when the store is full (the oldest first).

import { stat } from "node:fs/promises";
import { dirname } from "node:path";
import { regularFiles } from "./identity.ts";
import { consistentListing, recordIndex } from "./listing.ts";
import type { PositionRecord } from "./position-file.ts";

/** Records are pruned (one listing of every name of their directories) at most this often. */
const PRUNE_EVERY_MS = 10_000;
/** Most records kept (the oldest go first): bounds the position file when files leave the pattern for good. */
const DORMANT_MAX = 1024;

export class DormantRecords {
  private recs: PositionRecord[] = [];
  private lastPrune = 0;
  /** Each directory's mtime at its last consistent prune listing, and whether records were added since. */
  private readonly prunedAt = new Map<string, number>();
  private added = true;

  /** `dirs`: the directories of the file groups (records elsewhere belong to no group and are dropped). */
  constructor(private readonly dirs: ReadonlySet<string>) {}

  load(saved: readonly PositionRecord[]): void {
    this.recs = [...saved];
    this.added = true;
  }

  get all(): readonly PositionRecord[] {
    return this.recs;
  }

  /** The record of `dev:ino`, if any (left in place). */
  find(dev: number, ino: number): PositionRecord | undefined {
    return this.recs[recordIndex(this.recs, dev, ino)];
  }

  /** Removes and returns the record of `dev:ino` (its file is tracked again). */
  take(dev: number, ino: number): PositionRecord | undefined {
    const i = recordIndex(this.recs, dev, ino);
    return i >= 0 ? this.recs.splice(i, 1)[0] : undefined;
  }

  add(r: PositionRecord): void {
    this.recs.push(r);
    this.added = true;
    if (this.recs.length > DORMANT_MAX) this.recs.shift();
  }

  /** Drops the records whose identity a consistent listing of their directory shows nowhere; true if any went. */
  async prune(now: number): Promise<boolean> {
    if (this.recs.length === 0 || now - this.lastPrune < PRUNE_EVERY_MS) return false;
    this.lastPrune = now;
    const before = this.recs.length;
    const added = this.added;
    this.added = false;
    for (const dir of new Set(this.recs.map((r) => dirname(r.file)))) {
      if (!this.dirs.has(dir)) {
        this.recs = this.recs.filter((r) => dirname(r.file) !== dir);
        continue;
      }
      // Nothing removed from the directory and no record added since the last prune: nothing can have gone.
      const mtime = (await stat(dir).catch(() => undefined))?.mtimeMs;
      if (!added && mtime !== undefined && this.prunedAt.get(dir) === mtime) continue;
      const { result: files, consistent } = await consistentListing(dir, () => regularFiles(dir));
      if (!consistent) {
        this.added = true;
        continue;
      }
      if (mtime !== undefined) this.prunedAt.set(dir, mtime);
      this.recs = this.recs.filter((r) => dirname(r.file) !== dir || files.some((f) => f.ino === r.inode && (r.dev === undefined || f.dev === r.dev)));
    }
    return this.recs.length !== before;
  }
}
