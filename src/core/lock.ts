// The single-instance lock: an agent holds `<state-dir>/<agent>/agent.lock` for its whole life, so two agents (an
// overlapping cron run, a second unit) never work on the same positions, trackers and WAL.
//
// Lock file (text, one JSON object, written once at creation and never modified):
//   {"pid":1234,"host":"edge-7","startedAt":"2026-11-24T00:00:00.000Z","bootId":"…","procStart":"…"}
// It is written in full to a temp file first and then hard-linked to its name: link() fails with EEXIST like
// O_CREAT|O_EXCL, so of two agents starting at once exactly one wins, and no reader ever sees a half-written lock.
// It is removed on a clean exit, and only if it still names this process.
//
// A lock left by kill -9 or a power cut is stale and taken over without manual clean-up, with a log line. Stale means:
//   - the pid is not alive (kill(pid, 0) says ESRCH), or it has exited but is not reaped yet (state Z or X in
//     /proc/<pid>/stat, or `ps -o stat=` where /proc is missing): a supervisor restarting at once must not be refused, or
//   - on Linux, the machine rebooted since (the kernel's boot_id differs) or the pid now belongs to a newer process
//     (its start time in /proc/<pid>/stat differs): after a reboot the old pid is often reused by another daemon,
//     and a pid check alone would then refuse to start forever; elsewhere (macOS), the process with that pid started
//     after the lock was written (`ps -o lstart=`), or
//   - it names this very process (a container restart reusing the pid).
// Takeover renames the stale file aside (atomic), checks that what it moved is still the stale holder (another agent
// may have taken it over first; then it puts that file back and reports the new holder), and retries O_EXCL.

import { link, readFile, rename, unlink, mkdir, writeFile } from "node:fs/promises";
import { readFileSync, unlinkSync } from "node:fs";
import { execFileSync } from "node:child_process";
import { dirname, join } from "node:path";
import { hostName } from "../runtime.ts";
import { SluiceError } from "./errors.ts";

export const LOCK_FILE_NAME = "agent.lock";
/** Attempts to create the lock after takeovers or lost races, before giving up with an error. */
const MAX_ATTEMPTS = 5;

export interface LockInfo {
  pid: number;
  host?: string;
  startedAt?: string;
  bootId?: string;
  procStart?: string;
}

/** Another live process holds the lock. */
export class LockedError extends SluiceError {
  constructor(
    readonly path: string,
    readonly holder: LockInfo,
  ) {
    super("LOCKED", `another sluice agent (pid ${holder.pid}${holder.startedAt ? `, started ${holder.startedAt}` : ""}) holds ${path}; only one agent may use this state at a time`, false);
  }
}

export function lockPath(stateDir: string, agent: string): string {
  return join(stateDir, agent, LOCK_FILE_NAME);
}

function readText(path: string): string | undefined {
  try {
    return readFileSync(path, "utf8").trim();
  } catch {
    return undefined;
  }
}

/** Linux only: the kernel's id of this boot, and a process's start time in clock ticks since boot. */
function bootId(): string | undefined {
  return readText("/proc/sys/kernel/random/boot_id");
}

/** The fields of /proc/<pid>/stat from field 3 (state) on; undefined without /proc or without that process. */
function procStatFields(pid: number): string[] | undefined {
  const stat = readText(`/proc/${pid}/stat`);
  if (!stat) return undefined;
  // Field 2 (comm) may contain spaces and parentheses: the fields after the last ')' start at field 3.
  return stat.slice(stat.lastIndexOf(")") + 2).split(" ");
}

function procStart(pid: number): string | undefined {
  return procStatFields(pid)?.[22 - 3];
}

const HAS_PROC = readText("/proc/self/stat") !== undefined;

/**
 * The process's one-letter scheduler state ("R", "S", "Z" …): field 3 of /proc/<pid>/stat on Linux, the first letter
 * of `ps -o stat=` where /proc is missing (macOS, BSD). Undefined when neither can tell.
 */
function processState(pid: number): string | undefined {
  if (HAS_PROC) return procStatFields(pid)?.[0];
  try {
    const out = execFileSync("ps", ["-o", "stat=", "-p", String(pid)], { encoding: "utf8", timeout: 2000, stdio: ["ignore", "pipe", "ignore"] }).trim();
    return out ? out[0] : undefined;
  } catch {
    return undefined;
  }
}

/** Where /proc is missing (macOS, BSD): a process's start time from `ps`, in epoch ms (1 s resolution). */
function psStartMs(pid: number): number | undefined {
  try {
    const out = execFileSync("ps", ["-o", "lstart=", "-p", String(pid)], { encoding: "utf8", timeout: 2000, stdio: ["ignore", "pipe", "ignore"] }).trim();
    const t = Date.parse(out);
    return Number.isFinite(t) ? t : undefined;
  } catch {
    return undefined;
  }
}

/** A process that started this long after the lock was written cannot be its writer (which writes it at start). */
const START_SLACK_MS = 2000;

function pidAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (err) {
    // EPERM: alive, but another user's process.
    return (err as NodeJS.ErrnoException).code === "EPERM";
  }
}

/** What a lock file written now by this process records. */
function thisProcessLockInfo(): LockInfo {
  return { pid: process.pid, host: hostName(), startedAt: new Date().toISOString(), bootId: bootId(), procStart: procStart(process.pid) };
}

/** Why a lock's holder is no longer running, or undefined when it is alive. */
export function staleReason(info: LockInfo): string | undefined {
  if (!Number.isSafeInteger(info.pid) || info.pid <= 0) return "it names no valid pid";
  if (info.pid === process.pid) return `it names this process's own pid ${info.pid} (left by an earlier run)`;
  if (!pidAlive(info.pid)) return `pid ${info.pid} is not running`;
  // A holder killed with -9 whose parent has not reaped it yet keeps its pid and start time as a zombie (Z), or is
  // being torn down (X): it runs no code and holds nothing, so a supervisor's immediate restart must not wait for it.
  const state = processState(info.pid);
  if (state === "Z" || state === "X" || state === "x") return `pid ${info.pid} has exited (a zombie its parent has not reaped yet)`;
  const boot = bootId();
  if (info.bootId && boot && info.bootId !== boot) return `it dates from before a reboot (pid ${info.pid} is now another process)`;
  const start = procStart(info.pid);
  if (info.procStart && start && info.procStart !== start) return `pid ${info.pid} now belongs to another process`;
  // Without /proc start times to compare (macOS; a lock written where /proc was missing), ask ps.
  if (!(info.procStart && start) && info.startedAt) {
    const began = psStartMs(info.pid);
    const written = Date.parse(info.startedAt);
    if (began !== undefined && began > written + START_SLACK_MS) return `pid ${info.pid} now belongs to a process started after the lock was written`;
  }
  return undefined;
}

/** Reads a lock file; undefined when absent. An unreadable or garbled file counts as a lock with pid 0 (stale). */
export async function readLock(path: string): Promise<LockInfo | undefined> {
  let text: string;
  try {
    text = await readFile(path, "utf8");
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === "ENOENT") return undefined;
    throw err;
  }
  try {
    const o = JSON.parse(text) as LockInfo;
    return typeof o?.pid === "number" ? o : { pid: 0 };
  } catch {
    return { pid: 0 };
  }
}

/** The lock's holder when a live process holds it (for `sluice status`); never modifies anything. */
export async function lockHolder(stateDir: string, agent: string): Promise<(LockInfo & { path: string }) | undefined> {
  const path = lockPath(stateDir, agent);
  const info = await readLock(path).catch(() => undefined);
  if (!info || staleReason(info)) return undefined;
  return { ...info, path };
}

/**
 * Creates `path` as a hard link to the complete temp file; false when it exists already. On a filesystem without hard
 * links it falls back to O_CREAT|O_EXCL and then writes (a reader may then briefly see an empty file).
 */
async function tryLink(tmp: string, path: string, content: string): Promise<boolean> {
  try {
    await link(tmp, path);
    return true;
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code;
    if (code === "EEXIST") return false;
    if (code !== "EPERM" && code !== "ENOTSUP" && code !== "EOPNOTSUPP" && code !== "ENOSYS") throw err;
  }
  try {
    await writeFile(path, content, { flag: "wx", mode: 0o644 });
    return true;
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === "EEXIST") return false;
    throw err;
  }
}

export class StateLock {
  private released = false;
  private readonly onExit = () => this.releaseSync();

  private constructor(
    readonly path: string,
    private readonly content: string,
  ) {
    // A second signal ends the process with process.exit(): the lock still goes away then.
    process.on("exit", this.onExit);
  }

  /**
   * Takes the lock or throws LockedError naming the live holder. `onTakeover` receives one line when a stale lock
   * was taken over.
   */
  static acquire(stateDir: string, agent: string, onTakeover: (message: string) => void): Promise<StateLock> {
    return StateLock.acquireFile(lockPath(stateDir, agent), onTakeover);
  }

  /** The same protocol for any lock file (the file channel locks its directories with it). */
  static async acquireFile(path: string, onTakeover: (message: string) => void): Promise<StateLock> {
    await mkdir(dirname(path), { recursive: true });
    const content = JSON.stringify(thisProcessLockInfo()) + "\n";
    const tmp = `${path}.${process.pid}.tmp`;
    await writeFile(tmp, content, { mode: 0o644 });
    try {
      for (let attempt = 0; attempt < MAX_ATTEMPTS; attempt++) {
        if (await tryLink(tmp, path, content)) return new StateLock(path, content);
        await StateLock.clearStale(path, onTakeover);
      }
    } finally {
      await unlink(tmp).catch(() => {});
    }
    throw new SluiceError("LOCKED", `cannot take the lock ${path} after ${MAX_ATTEMPTS} attempts (other agents keep starting?)`, true);
  }

  /** Throws LockedError if a live process holds `path`; otherwise moves the stale lock out of the way. */
  private static async clearStale(path: string, onTakeover: (message: string) => void): Promise<void> {
    const holder = await readLock(path);
    if (!holder) return; // released between our link and read: try again
    const reason = staleReason(holder);
    if (!reason) throw new LockedError(path, holder);
    const aside = `${path}.stale.${process.pid}`;
    try {
      await rename(path, aside);
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code === "ENOENT") return; // someone else moved it first
      throw err;
    }
    const moved = await readLock(aside);
    if (moved && !staleReason(moved)) {
      // We raced with an agent that had just taken the stale lock over: give its lock back.
      await rename(aside, path).catch(() => {});
      throw new LockedError(path, moved);
    }
    await unlink(aside).catch(() => {});
    onTakeover(`took over the stale lock ${path}: ${reason}`);
  }

  /** Removes the lock if it still names this process. Safe to call twice. */
  async release(): Promise<void> {
    this.releaseSync();
  }

  private releaseSync(): void {
    if (this.released) return;
    this.released = true;
    process.off("exit", this.onExit);
    try {
      if (readFileSync(this.path, "utf8") === this.content) unlinkSync(this.path);
    } catch {
      // Already gone: nothing to release.
    }
  }
}
