// Directory locks for the file channel: two channels (in one agent or two) must never share a checkpoint or data
// dir, or each would delete the other's segments. The lock is `in_use.lock`, taken with the agent lock's protocol and
// holding the owner's identity in its format (src/core/lock.ts: pid, boot id, process start time), so a lock left
// by kill -9 or a power cut is recognised as stale even when its pid now belongs to another process after a reboot,
// and is taken over with a log line.

import { join } from "node:path";
import { SluiceError } from "../../core/errors.ts";
import type { Logger } from "../../util/log.ts";
import { LockedError, readLock, StateLock, staleReason } from "../../core/lock.ts";

export const DIR_LOCK_FILE = "in_use.lock";

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

/** Locks `dir` for channel `owner` (the agent lock's protocol, src/core/lock.ts); returns the release function. */
export async function lockDir(dir: string, owner: string, log: Logger): Promise<() => Promise<void>> {
  const path = join(dir, DIR_LOCK_FILE);
  const other = heldHere.get(dir);
  if (other !== undefined) throw new DirLockedError(`channel ${owner}: ${dir} is already used by channel ${other} of this agent; give each file channel its own checkpointDir and dataDirs`);
  let lock: StateLock;
  try {
    lock = await StateLock.acquireFile(path, (m) => log.info(m));
  } catch (err) {
    if (err instanceof LockedError) {
      throw new DirLockedError(`channel ${owner}: ${dir} is in use by another process (pid ${err.holder.pid}, see ${path}); two channels must never share a directory`);
    }
    throw err;
  }
  heldHere.set(dir, owner);
  return async () => {
    if (heldHere.get(dir) !== owner) return;
    heldHere.delete(dir);
    await lock.release();
  };
}
