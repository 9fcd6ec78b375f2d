// Directory locks for the file channel: two channels (in one agent or two) must never share a checkpoint or data
// dir, or each would delete the other's segments. The lock is `in_use.lock`, created with O_EXCL and holding the
// owner's identity in the agent lock's format (src/util/lock.ts: pid, boot id, process start time), so a lock left
// by kill -9 or a power cut is recognised as stale even when its pid now belongs to another process after a reboot,
// and is taken over with a log line.

import { open, unlink } from "node:fs/promises";
import { join } from "node:path";
import { SluiceError } from "../../core/errors.ts";
import type { Logger } from "../../util/log.ts";
import { readLock, staleReason, thisProcessLockInfo } from "../../util/lock.ts";

export const DIR_LOCK_FILE = "in_use.lock";
const MAX_ATTEMPTS = 3;

/** Directories locked by channels of this process: a second channel here gets an error, not a takeover. */
const heldHere = new Map<string, string>();

export class DirLockedError extends SluiceError {
  constructor(message: string) {
    super("LOCKED", message, false);
  }
}

/** The pid holding `dir`'s lock when it is live (read-only, for status). */
export async function dirLockHolder(dir: string): Promise<number | undefined> {
  const info = await readLock(join(dir, DIR_LOCK_FILE)).catch(() => undefined);
  if (!info) return undefined;
  if (info.pid === process.pid) return heldHere.has(dir) ? info.pid : undefined;
  return staleReason(info) ? undefined : info.pid;
}

/** Locks `dir` for channel `owner`; returns the release function. */
export async function lockDir(dir: string, owner: string, log: Logger): Promise<() => Promise<void>> {
  const path = join(dir, DIR_LOCK_FILE);
  const other = heldHere.get(dir);
  if (other !== undefined) throw new DirLockedError(`channel ${owner}: ${dir} is already used by channel ${other} of this agent; give each file channel its own checkpointDir and dataDirs`);
  for (let attempt = 0; attempt < MAX_ATTEMPTS; attempt++) {
    try {
      const fh = await open(path, "wx", 0o644);
      try {
        await fh.writeFile(JSON.stringify(thisProcessLockInfo()) + "\n");
      } finally {
        await fh.close();
      }
      heldHere.set(dir, owner);
      return async () => {
        if (heldHere.get(dir) !== owner) return;
        heldHere.delete(dir);
        await unlink(path).catch(() => {});
      };
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code !== "EEXIST") throw err;
    }
    const holder = await readLock(path);
    if (!holder) continue; // released between our open and read
    // Our own pid here means an earlier run of this process id (a container restart): heldHere has no entry.
    const reason = staleReason(holder);
    if (!reason) {
      throw new DirLockedError(`channel ${owner}: ${dir} is in use by another process (pid ${holder.pid}, see ${path}); two channels must never share a directory`);
    }
    log.info(`taking over the stale lock ${path}: ${reason}`);
    await unlink(path).catch(() => {});
  }
  throw new DirLockedError(`channel ${owner}: cannot lock ${path} after ${MAX_ATTEMPTS} attempts`);
}
