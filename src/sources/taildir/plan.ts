// What the next run of a TAILDIR source will read, worked out without running it (`sluice status`): the same listing,
// identity matching and resume rules as discovery.ts at start, so status and source agree — every matching file
// (new ones included) from where it will resume, then the files the position file knows that were renamed out of the
// pattern while the agent was stopped, read to their end.

import { open } from "node:fs/promises";
import { dirname } from "node:path";
import { matchingFiles, recordIndex, resumeOffset } from "./listing.ts";
import { identityKey, regularFiles, type Listed } from "./identity.ts";
import type { PositionRecord } from "./position-file.ts";
import type { FileGroup } from "./settings.ts";

export interface PlannedFile {
  file: string;
  inode: number;
  /** Where reading will start. */
  offset: number;
  size: number;
  /** Bytes the next run will read from it. */
  lag: number;
  note: string;
}

/** Where the file at `f` resumes given its record (if any): the source's rule, read-only. */
async function startOf(f: Listed, rec: PositionRecord | undefined, skipToEnd: boolean): Promise<{ start: number; note: string }> {
  if (!rec) return skipToEnd ? { start: f.size, note: "new: read from its end (skipToEnd)" } : { start: 0, note: "new: read from its start" };
  const fh = await open(f.path, "r").catch(() => undefined);
  if (!fh) return { start: rec.pos, note: "cannot be opened" };
  try {
    // Renamed between the listing and the open: the record's offset, unchecked (the next run follows the file).
    const st = await fh.stat();
    if (st.ino !== f.ino || st.dev !== f.dev) return { start: Math.min(rec.pos, f.size), note: "being renamed" };
    const r = await resumeOffset(rec, fh, f.size);
    return { start: r.start, note: r.note ?? (rec.file !== f.path ? `was ${rec.file}` : "") };
  } finally {
    await fh.close().catch(() => {});
  }
}

/** The files the next run reads, and how many records name files that no longer exist (nothing left to read). */
export async function nextRun(groups: readonly FileGroup[], records: readonly PositionRecord[], skipToEnd: boolean): Promise<{ files: PlannedFile[]; gone: number }> {
  const recs = [...records];
  const files: PlannedFile[] = [];
  const taken = new Set<string>();
  const byDir = new Map<string, FileGroup[]>();
  for (const g of groups) byDir.set(g.dir, [...(byDir.get(g.dir) ?? []), g]);
  const add = async (f: Listed, orphan: boolean) => {
    taken.add(identityKey(f.dev, f.ino));
    const i = recordIndex(recs, f.dev, f.ino);
    const rec = i >= 0 ? recs.splice(i, 1)[0] : undefined;
    const { start, note } = await startOf(f, rec, skipToEnd);
    const lag = Math.max(0, f.size - start);
    // A file renamed out of the pattern that was read to its end is opened and closed again: nothing to show.
    if (orphan && lag === 0) return;
    files.push({ file: f.path, inode: f.ino, offset: start, size: f.size, lag, note: orphan ? `rotated while stopped (was ${rec!.file}): read to its end` : note });
  };
  for (const [dir, gs] of byDir) {
    const listed = await matchingFiles(dir, gs).catch(() => []);
    for (const f of listed) if (!taken.has(identityKey(f.dev, f.ino))) await add(f, false);
  }
  for (const dir of new Set(recs.map((r) => dirname(r.file)))) {
    if (!byDir.has(dir)) continue;
    for (const f of await regularFiles(dir)) {
      if (taken.has(identityKey(f.dev, f.ino)) || recordIndex(recs, f.dev, f.ino) < 0) continue;
      await add(f, true);
    }
  }
  return { files, gone: recs.length };
}
