// The directories a TAILDIR source tails, each with an fs.watch for promptness: a write names the file to stat, a
// create/delete/rename asks for a new listing, and either ends the source's back-off sleep. Without a watch (none
// available, or the directory went away) the source polls at its back-off cadence.

import { watch, type FSWatcher } from "node:fs";
import { join } from "node:path";
import type { FileGroup } from "./settings.ts";
import { Signal } from "../../util/signal.ts";

export interface WatchedDir {
  dir: string;
  groups: FileGroup[];
  /** Modification time at the last listing (cachePatternMatching). */
  mtimeMs: number;
  missing: boolean;
  /** A watch reported a create, delete or rename: list again. */
  rescan: boolean;
  watcher?: FSWatcher;
}

export class DirWatch {
  readonly dirs = new Map<string, WatchedDir>();
  private touched = new Set<string>();
  private touchedAll = false;
  private open = false;
  private readonly wakeSignal = new Signal();

  constructor(groups: readonly FileGroup[]) {
    for (const g of groups) {
      const d = this.dirs.get(g.dir);
      if (d) d.groups.push(g);
      else this.dirs.set(g.dir, { dir: g.dir, groups: [g], mtimeMs: -1, missing: false, rescan: true });
    }
  }

  start(): void {
    this.open = true;
    for (const d of this.dirs.values()) this.watch(d);
  }

  stop(): void {
    this.open = false;
    for (const d of this.dirs.values()) this.unwatch(d);
    this.poke();
  }

  /** Starts watching `d` if it is not watched yet (after it came back, or a watch error). */
  watch(d: WatchedDir): void {
    if (d.watcher || !this.open) return;
    try {
      d.watcher = watch(d.dir, { persistent: false }, (event, name) => {
        if (event === "rename") d.rescan = true;
        if (name) this.touched.add(join(d.dir, String(name)));
        else this.touchedAll = true;
        this.poke();
      });
      d.watcher.on("error", () => {
        this.unwatch(d);
        d.rescan = true;
      });
    } catch {
      // No watch (directory missing, or no inotify): polling finds changes at the back-off cadence.
    }
  }

  unwatch(d: WatchedDir): void {
    d.watcher?.close();
    d.watcher = undefined;
  }

  /** The paths the watches named since the last call; `all` when some change could not be attributed. */
  takeTouched(): { paths: Set<string>; all: boolean } {
    const paths = this.touched;
    const all = this.touchedAll || [...this.dirs.values()].some((d) => !d.watcher);
    this.touched = new Set();
    this.touchedAll = false;
    return { paths, all };
  }

  /** Resolves at the next reported change, or after `ms`. */
  wake(ms: number): Promise<void> {
    return this.wakeSignal.wait(ms);
  }

  private poke(): void {
    this.wakeSignal.notify();
  }
}
