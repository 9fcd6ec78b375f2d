// TAILDIR's listings: the files of a directory that match its file groups, whether a listing raced with renames
// (consistentListing, see discovery.ts), and the rule a found file resumes by. Discovery and `sluice status`
// (plan.ts) share them, so both find the same files at the same offsets.

import { readdir, stat, type FileHandle } from "node:fs/promises";
import { join } from "node:path";
import { sameStart, type Listed } from "./identity.ts";
import type { PositionRecord } from "./position-file.ts";
import type { FileGroup } from "./settings.ts";

/**
 * A listing is consistent only if the directory had not changed for this long when it began: longer than the
 * coarsest timestamp granularity of the filesystems we run on (1 s), so no rename during the listing can leave the
 * directory's mtime as it was.
 */
export const DIR_QUIET_MS = 1100;

/** What a file found at `path` resumes from, given the record known for its identity (shared with `sluice status`). */
export async function resumeOffset(rec: PositionRecord | undefined, fh: FileHandle, size: number): Promise<{ start: number; note?: string; recordUsed: boolean }> {
  if (!rec) return { start: 0, recordUsed: false };
  const sameFile = rec.fp === undefined || (await sameStart(fh, { crc: rec.fp, len: rec.fplen ?? 0 }));
  if (!sameFile) return { start: 0, recordUsed: true, note: `reuses the inode of ${rec.file} but starts differently: a new file, read from its start` };
  if (rec.pos > size) return { start: 0, recordUsed: true, note: `is shorter (${size} bytes) than its saved position ${rec.pos}: truncated while sluice was down; reading from its start` };
  return { start: rec.pos, recordUsed: true };
}

/** The record of `dev:ino` in `recs` (a Flume record has no device: inode alone). */
export function recordIndex(recs: readonly PositionRecord[], dev: number, ino: number): number {
  return recs.findIndex((r) => r.inode === ino && (r.dev === undefined || r.dev === dev));
}

/** The regular files of `dir` whose names match one of `groups`, with their group; `skipped` gets the non-files. */
export async function matchingFiles(dir: string, groups: readonly FileGroup[], skipped?: (path: string, g: FileGroup) => void): Promise<Array<Listed & { group: FileGroup; mtimeMs: number }>> {
  const out: Array<Listed & { group: FileGroup; mtimeMs: number }> = [];
  for (const n of await readdir(dir)) {
    const g = groups.find((x) => x.pattern.test(n));
    if (!g) continue;
    const path = join(dir, n);
    const st = await stat(path).catch(() => undefined); // removed between the listing and the stat
    if (!st) continue;
    if (!st.isFile()) {
      skipped?.(path, g);
      continue;
    }
    out.push({ path, dev: st.dev, ino: st.ino, size: st.size, mtimeMs: st.mtimeMs, group: g });
  }
  return out;
}

/** Lists `dir` with `list` and says whether the listing was consistent (see the header). */
export async function consistentListing<T>(dir: string, list: () => Promise<T>): Promise<{ result: T; consistent: boolean }> {
  const began = Date.now();
  const before = await stat(dir).catch(() => undefined);
  const result = await list();
  const after = await stat(dir).catch(() => undefined);
  const consistent = before !== undefined && after !== undefined && before.mtimeMs === after.mtimeMs && before.ctimeMs === after.ctimeMs && began - Math.max(before.mtimeMs, before.ctimeMs) >= DIR_QUIET_MS;
  return { result, consistent };
}
