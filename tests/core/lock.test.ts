// The state lock in-process: exclusive creation, naming the holder, stale takeover, careful release.

import { describe, expect, test } from "bun:test";
import { readFile, writeFile, stat } from "node:fs/promises";
import { LockedError, lockHolder, lockPath, StateLock, staleReason } from "../../src/core/lock.ts";
import { tempDir, waitFor } from "../helpers/index.ts";

/** A pid that is certainly not running: a child that has exited. */
async function deadPid(): Promise<number> {
  const p = Bun.spawn(["true"]);
  await p.exited;
  return p.pid;
}

describe("state lock", () => {
  test("a second lock on the same agent state is refused, naming the holder's pid", async () => {
    const dir = await tempDir();
    const first = await StateLock.acquire(dir, "a1", () => {});
    const held = JSON.parse(await readFile(lockPath(dir, "a1"), "utf8"));
    // Same process, so pretend the holder is another live process: our parent (the test runner's shell/bun).
    await writeFile(lockPath(dir, "a1"), JSON.stringify({ ...held, pid: process.ppid, procStart: undefined }));
    const err = await StateLock.acquire(dir, "a1", () => {}).catch((e) => e);
    expect(err).toBeInstanceOf(LockedError);
    expect((err as LockedError).message).toContain(`pid ${process.ppid}`);
    expect((await lockHolder(dir, "a1"))?.pid).toBe(process.ppid);
    await first.release();
  });

  test("different agents in one state directory hold separate locks", async () => {
    const dir = await tempDir();
    const a = await StateLock.acquire(dir, "a1", () => {});
    const b = await StateLock.acquire(dir, "a2", () => {});
    await a.release();
    await b.release();
  });

  test("a lock left by a dead process is taken over with a log line", async () => {
    const dir = await tempDir();
    await StateLock.acquire(dir, "a1", () => {}).then((l) => l.release());
    const pid = await deadPid();
    await writeFile(lockPath(dir, "a1"), JSON.stringify({ pid, startedAt: "yesterday" }));
    expect(await lockHolder(dir, "a1")).toBeUndefined();
    const lines: string[] = [];
    const lock = await StateLock.acquire(dir, "a1", (m) => lines.push(m));
    expect(lines).toHaveLength(1);
    expect(lines[0]).toContain(`pid ${pid} is not running`);
    expect(JSON.parse(await readFile(lockPath(dir, "a1"), "utf8")).pid).toBe(process.pid);
    await lock.release();
  });

  test("a lock from before a reboot is stale even if its pid is alive again", () => {
    const reason = staleReason({ pid: process.ppid, bootId: "00000000-0000-0000-0000-000000000000" });
    if (process.platform === "linux") expect(reason).toContain("reboot");
  });

  test("a lock whose pid now belongs to a process started after the lock was written is stale (pid reuse)", async () => {
    const sleeper = Bun.spawn(["sleep", "30"]);
    try {
      // No boot id or /proc start time in this lock (as on macOS): the process start time from ps decides.
      const reason = staleReason({ pid: sleeper.pid, startedAt: new Date(Date.now() - 3_600_000).toISOString() });
      expect(reason).toContain("started after the lock was written");
      expect(staleReason({ pid: sleeper.pid, startedAt: new Date(Date.now() + 60_000).toISOString() })).toBeUndefined();
    } finally {
      sleeper.kill(9);
      await sleeper.exited;
    }
  });

  test("a holder that has exited but is not reaped yet (a zombie) is not alive", async () => {
    // A parent that forks a child which exits at once and is never waited for: the child stays a zombie.
    const parent = Bun.spawn(["python3", "-c", "import os,sys,time\npid=os.fork()\nif pid==0: os._exit(0)\nprint(pid,flush=True)\ntime.sleep(30)"], { stdout: "pipe" });
    try {
      const reader = (parent.stdout as ReadableStream<Uint8Array>).getReader();
      const pid = Number(new TextDecoder().decode((await reader.read()).value).trim());
      expect(pid).toBeGreaterThan(0);
      // kill(pid, 0) succeeds on a zombie (checked below): this is the case a pid check alone gets wrong.
      // The child may take a moment to exit after the fork returns.
      const reason = await waitFor("the child to exit", () => staleReason({ pid, startedAt: new Date().toISOString() }), 5000, 10);
      expect(reason).toContain("zombie");
      expect(() => process.kill(pid, 0)).not.toThrow();
    } finally {
      parent.kill(9);
      await parent.exited;
    }
  });

  test("a garbled lock file (power cut mid-write) is taken over", async () => {
    const dir = await tempDir();
    await StateLock.acquire(dir, "a1", () => {}).then((l) => l.release());
    await writeFile(lockPath(dir, "a1"), '{"pi');
    const lines: string[] = [];
    const lock = await StateLock.acquire(dir, "a1", (m) => lines.push(m));
    expect(lines[0]).toContain("took over");
    await lock.release();
  });

  test("release removes the lock only while it still names this process", async () => {
    const dir = await tempDir();
    const lock = await StateLock.acquire(dir, "a1", () => {});
    await writeFile(lockPath(dir, "a1"), JSON.stringify({ pid: process.ppid }));
    await lock.release();
    expect((await stat(lockPath(dir, "a1"))).isFile()).toBe(true);
  });
});
