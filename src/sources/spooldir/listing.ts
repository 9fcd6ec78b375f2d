// The spool directory's eligible files: what the source picks from and what `sluice status` lists, one listing.

import { readdir, stat } from "node:fs/promises";
import { join, relative } from "node:path";
import type { Tracker } from "./tracker.ts";

/** What the listing needs of the source's settings. */
export interface ListSettings {
  spoolDir: string;
  trackerDir: string;
  trackingPolicy: "rename" | "tracker_dir";
  fileSuffix: string;
  includePattern: RegExp;
  ignorePattern: RegExp;
  recursive: boolean;
}

/** An eligible file of the spool directory. */
export interface Candidate {
  path: string;
  rel: string;
  size: number;
  mtimeMs: number;
  ino: number;
}

/**
 * The files of `dir` (and below, with recursive) that are eligible for ingestion: matching, not hidden, not done,
 * not set aside while unchanged, and not skipped by `skip(rel:ino)`. The source's picker and `sluice status` share it.
 */
export async function listCandidates(
  s: ListSettings,
  tracker: Tracker,
  dir: string,
  out: Candidate[],
  skip: (key: string) => boolean = () => false,
  onListError: (dir: string, err: unknown) => void = () => {},
): Promise<void> {
  let entries;
  try {
    entries = await readdir(dir, { withFileTypes: true });
  } catch (err) {
    onListError(dir, err);
    return;
  }
  for (const e of entries) {
    const name = e.name;
    const path = join(dir, name);
    // Hidden files are a writer's work in progress by convention (Flume skips them too); so is the tracker dir.
    if (name.startsWith(".") || path === s.trackerDir) continue;
    if (e.isDirectory()) {
      if (s.recursive) await listCandidates(s, tracker, path, out, skip, onListError);
      continue;
    }
    if (s.trackingPolicy === "rename" && name.endsWith(s.fileSuffix)) continue;
    if (!s.includePattern.test(name) || s.ignorePattern.test(name)) continue;
    const st = await stat(path).catch(() => undefined);
    if (!st?.isFile()) continue;
    const rel = relative(s.spoolDir, path);
    if (skip(`${rel}:${st.ino}`)) continue;
    // tracker_dir: a marked name is done — unless the file is newer than its mark (a reused name, reported at pickup).
    if (s.trackingPolicy === "tracker_dir") {
      const mark = await stat(tracker.completedMarker(rel, s.fileSuffix)).catch(() => undefined);
      if (mark && st.mtimeMs <= mark.mtimeMs) continue;
    }
    const failed = await tracker.failedMark(rel);
    if (failed === "unreadable") continue;
    if (failed && failed.ino === st.ino && failed.size === st.size && failed.mtimeMs === st.mtimeMs) continue;
    out.push({ path, rel, size: st.size, mtimeMs: st.mtimeMs, ino: st.ino });
  }
}
