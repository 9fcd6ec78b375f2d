// The directories a TAILDIR source tails, on the shared directory watch (../dir-watch.ts): each with the file
// groups it holds and what its last listing saw.

import { DirWatch, type WatchedDir } from "../dir-watch.ts";
import type { FileGroup } from "./settings.ts";

export interface TailedDir extends WatchedDir {
  groups: FileGroup[];
  /** Modification time at the last listing (cachePatternMatching). */
  mtimeMs: number;
  missing: boolean;
}

export type TailWatch = DirWatch<TailedDir>;

/** One watched directory per distinct directory of `groups`, each listed at the first pass. */
export function watchGroups(groups: readonly FileGroup[]): TailWatch {
  const dirs = new Map<string, TailedDir>();
  for (const g of groups) {
    const d = dirs.get(g.dir);
    if (d) d.groups.push(g);
    else dirs.set(g.dir, { dir: g.dir, groups: [g], mtimeMs: -1, missing: false, rescan: true });
  }
  return new DirWatch(dirs.values());
}
