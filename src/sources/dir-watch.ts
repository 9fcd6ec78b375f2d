// The directory watch the file sources share (TAILDIR, spooldir): an fs.watch per directory for promptness — a write
// names the file to look at, a create/delete/rename asks for a new listing, and either ends the source's back-off
// sleep. Without a watch (none available, or the directory went away) a source polls at its back-off cadence.

import { watch, type FSWatcher } from "node:fs";
import { join } from "node:path";
import { Signal } from "../util/signal.ts";

/** One watched directory; a source extends it with what it keeps per directory. */
export interface WatchedDir {
  dir: string;
  /** A watch reported a create, delete or rename (or failed): list again. */
  rescan: boolean;
  watcher?: FSWatcher;
}

export class DirWatch<D extends WatchedDir = WatchedDir> {
  readonly dirs = new Map<string, D>();
  private touched = new Set<string>();
  private touchedAll = false;
  private open = false;
  private readonly wakeSignal = new Signal();

  /** `names`: keep the paths the watches name for takeTouched() (a source that lists everything anyway needs none). */
  constructor(
    dirs: Iterable<D>,
    private readonly names = true,
  ) {
    for (const d of dirs) this.dirs.set(d.dir, d);
  }

  start(): void {
    this.open = true;
    for (const d of this.dirs.values()) this.watch(d);
  }

  stop(): void {
    this.open = false;
    for (const d of this.dirs.values()) this.unwatch(d);
    this.notify();
  }

  /** Starts watching `d` if it is not watched yet (after it came back, or a watch error). */
  watch(d: D): void {
    if (d.watcher || !this.open) return;
    try {
      d.watcher = watch(d.dir, { persistent: false }, (event, name) => {
        if (event === "rename") d.rescan = true;
        if (!this.names) {
          // nothing kept: the source lists the whole directory
        } else if (name) this.touched.add(join(d.dir, String(name)));
        else this.touchedAll = true;
        this.notify();
      });
      d.watcher.on("error", () => {
        this.unwatch(d);
        d.rescan = true;
      });
    } catch {
      // No watch (directory missing, or no inotify): polling finds changes at the back-off cadence.
    }
  }

  unwatch(d: D): void {
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

  /** Resolves at the next reported change (or notify()), or after `ms`. */
  wake(ms: number): Promise<void> {
    return this.wakeSignal.wait(ms);
  }

  /** Ends a wake() early (the source has something to do). */
  notify(): void {
    this.wakeSignal.notify();
  }
}
