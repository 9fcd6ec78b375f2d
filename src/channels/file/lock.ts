// Directory locks for the file channel: two channels (in one agent or two) must never share a checkpoint or data
// dir, or each would delete the other's segments. The lock is `in_use.lock` holding the owner's pid, created with
// O_EXCL; a lock whose pid is dead is stale and taken over with a log line.

import { open, readFile, unlink } from "node:fs/promises";
import { join } from "node:path";
import { SluiceError } from "../../core/errors.ts";
import type { Logger } from "../../util/log.ts";

export const DIR_LOCK_FILE = "in_use.lock";
const MAX_ATTEMPTS = 3;

/** Directories locked by channels of this process: a second channel here gets an error, not a takeover. */
const heldHere = new Map<string, string>();

export class DirLockedError extends SluiceError {
  constructor(message: string) {
    super("LOCKED", message, false);
  }
}

function pidAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (err) {
    return (err as NodeJS.ErrnoException).code === "EPERM";
  }
}

/** The pid in `dir`'s lock when a live process other than this one holds it (read-only, for status). */
export async function dirLockHolder(dir: string): Promise<number | undefined> {
  const pid = Number((await readFile(join(dir, DIR_LOCK_FILE), "utf8").catch(() => "")).trim());
  return Number.isSafeInteger(pid) && pid > 0 && (pid === process.pid ? heldHere.has(dir) : pidAlive(pid)) ? pid : undefined;
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
        await fh.writeFile(`${process.pid}\n`);
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
    const text = (await readFile(path, "utf8").catch(() => "")).trim();
    const pid = Number(text);
    if (Number.isSafeInteger(pid) && pid > 0 && pid !== process.pid && pidAlive(pid)) {
      throw new DirLockedError(`channel ${owner}: ${dir} is in use by another process (pid ${pid}, see ${path}); two channels must never share a directory`);
    }
    log.info(`taking over the stale lock ${path} (its process ${text || "?"} is gone)`);
    await unlink(path).catch(() => {});
  }
  throw new DirLockedError(`channel ${owner}: cannot lock ${path} after ${MAX_ATTEMPTS} attempts`);
}
