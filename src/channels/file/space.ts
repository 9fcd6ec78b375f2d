// Free-space guard for the file channel's data dirs: puts are refused with DiskFullError (recoverable: the source
// backs off and retries) before the disk fills, so the WAL never dies half-written on ENOSPC.

import { statfs } from "node:fs/promises";
import { DiskFullError } from "../../core/errors.ts";
import type { Logger } from "../../util/log.ts";

/** statfs costs a syscall: refresh at most this often, and count our own writes in between. */
const STATFS_REFRESH_MS = 1000;

export class DiskSpace {
  private readonly cache = new Map<string, { free: number; at: number }>();
  private unsupported = false;

  constructor(
    private readonly minimumRequiredSpace: number,
    private readonly channel: string,
    private readonly log: Logger,
  ) {}

  /** Free bytes in `dir` (cached), or undefined when the runtime cannot tell. */
  async free(dir: string): Promise<number | undefined> {
    if (this.unsupported) return undefined;
    const now = Date.now();
    const c = this.cache.get(dir);
    if (c && now - c.at < STATFS_REFRESH_MS) return c.free;
    try {
      const s = await statfs(dir);
      const free = Number(s.bavail) * Number(s.bsize);
      this.cache.set(dir, { free, at: now });
      return free;
    } catch (err) {
      const code = (err as NodeJS.ErrnoException).code;
      if (code === "ENOENT" || code === "EACCES") throw err;
      this.unsupported = true;
      this.log.warn(`channel ${this.channel}: cannot read free disk space (${(err as Error).message}); minimumRequiredSpace is not enforced`);
      return undefined;
    }
  }

  /**
   * Throws DiskFullError when writing `bytes` to `dir` would leave less than minimumRequiredSpace free, or less than
   * `reserve`: the room the next checkpoint needs. Without it a full disk could never be freed again, since drained
   * segments are deleted only after a checkpoint covers them.
   */
  async ensure(dir: string, bytes: number, reserve = 0): Promise<void> {
    const free = await this.free(dir);
    if (free === undefined) return;
    const floor = Math.max(this.minimumRequiredSpace, reserve);
    if (free - bytes < floor) {
      this.cache.delete(dir); // look again next time: space may have been freed
      const why = floor === this.minimumRequiredSpace ? `minimumRequiredSpace (${mib(floor)})` : `the ${mib(floor)} kept for the next checkpoint`;
      throw new DiskFullError(
        `channel ${this.channel}: ${dir} has ${mib(free)} free, below ${why} after a ${mib(bytes)} write; ` +
          `puts are refused until space is freed (nothing committed is lost)`,
      );
    }
    const c = this.cache.get(dir);
    if (c) c.free -= bytes;
  }
}

function mib(n: number): string {
  if (n < 10 * 1024 * 1024) return `${Math.round(n / 1024)} KiB`;
  return `${(n / 1024 / 1024).toFixed(1)} MiB`;
}
