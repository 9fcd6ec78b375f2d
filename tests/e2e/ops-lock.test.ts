// Single instance, with real spawned agents: a second agent on the same state exits at once naming the holder's pid;
// an overlapping --once run exits 0 quietly; a lock left by kill -9 is taken over on restart, even while the killed
// agent is an unreaped zombie of a slow supervisor.

import { describe, expect, test } from "bun:test";
import { mkdir, readFile } from "node:fs/promises";
import { join } from "node:path";
import { BUN, MAIN, ROOT, readAllLines, runSluice, spawnSluice, tempDir, waitFor, writeConfig, onCleanup } from "../helpers/index.ts";
import { expectedLines, logFile, stateArgs, tailConfig, waitDelivered, writeLines } from "./ops-helpers.ts";

/**
 * A supervisor that never reaps its children: each line on its stdin starts one agent (stderr to `<dir>/agent-N.err`)
 * and answers with its pid. A child killed with -9 stays a zombie, keeping its pid and start time, until this parent
 * exits.
 */
function lazySupervisor(dir: string, cmd: string[]) {
  const script = [
    "import os, sys, json",
    // A group of its own: nothing that signals this group (a test runner's clean-up) reaches the test runner.
    "os.setpgrp()",
    "cmd = json.loads(sys.argv[1]); d = sys.argv[2]",
    "for line in sys.stdin:",
    "    n = line.strip()",
    "    pid = os.fork()",
    "    if pid == 0:",
    "        err = os.open(os.path.join(d, 'agent-%s.err' % n), os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o644)",
    "        os.dup2(err, 2); os.dup2(os.open(os.devnull, os.O_WRONLY), 1)",
    "        os.execv(cmd[0], cmd)",
    "    print(pid, flush=True)",
  ].join("\n");
  const proc = Bun.spawn(["python3", "-c", script, JSON.stringify(cmd), dir], { cwd: ROOT, stdin: "pipe", stdout: "pipe", stderr: "inherit" });
  const pids: number[] = [];
  onCleanup(async () => {
    for (const pid of pids) {
      try {
        process.kill(pid, 9);
      } catch {
        // already gone
      }
    }
    proc.kill(9);
    await proc.exited;
  });
  const reader = (proc.stdout as ReadableStream<Uint8Array>).getReader();
  const dec = new TextDecoder();
  let n = 0;
  let buffered = "";
  return {
    async start(): Promise<{ pid: number; stderr: () => Promise<string> }> {
      const i = n++;
      (proc.stdin as import("bun").FileSink).write(`${i}\n`);
      (proc.stdin as import("bun").FileSink).flush();
      // One pid per line; a read may hold part of a line.
      while (!buffered.includes("\n")) {
        const { value, done } = await reader.read();
        if (done) throw new Error("the supervisor exited");
        buffered += dec.decode(value, { stream: true });
      }
      const nl = buffered.indexOf("\n");
      const pid = Number(buffered.slice(0, nl));
      buffered = buffered.slice(nl + 1);
      // Never signal pid 0 or below: that would reach the whole process group.
      if (!Number.isSafeInteger(pid) || pid <= 1) throw new Error(`the supervisor answered no pid: ${JSON.stringify(buffered)}`);
      pids.push(pid);
      return { pid, stderr: () => readFile(join(dir, `agent-${i}.err`), "utf8").catch(() => "") };
    },
  };
}

/** The process's state letter from /proc (Linux), or "?" where there is no /proc. */
async function procState(pid: number): Promise<string> {
  const stat = await readFile(`/proc/${pid}/stat`, "utf8").catch(() => "");
  return stat ? stat.slice(stat.lastIndexOf(")") + 2)[0]! : "?";
}

async function setup() {
  const dir = await tempDir();
  const logs = join(dir, "logs");
  await mkdir(logs);
  await writeLines(logFile(logs), 0, 10);
  const conf = await writeConfig(dir, tailConfig({ logs, out: join(dir, "out") }));
  return { dir, logs, conf, state: join(dir, "state"), out: join(dir, "out") };
}

describe("single instance", () => {
  test("a second agent on the same state exits at once with a message naming the first one's pid", async () => {
    const s = await setup();
    const first = spawnSluice(stateArgs(s.conf, s.state));
    await waitDelivered(s.out, 10);
    const t0 = Date.now();
    const second = await runSluice(stateArgs(s.conf, s.state), { timeoutMs: 15_000 });
    expect(second.code).toBe(1);
    expect(second.stderr).toContain(`pid ${first.proc.pid}`);
    expect(second.stderr).toContain("agent.lock");
    expect(Date.now() - t0).toBeLessThan(10_000);
    first.kill("SIGTERM");
    expect(await first.exited).toBe(0);
  });

  test("an overlapping --once run exits 0 quietly while the agent runs", async () => {
    const s = await setup();
    const first = spawnSluice(stateArgs(s.conf, s.state));
    await waitDelivered(s.out, 10);
    const second = await runSluice([...stateArgs(s.conf, s.state), "--once"], { timeoutMs: 15_000 });
    expect(second.code).toBe(0);
    expect(second.stderr).not.toContain("ERROR");
    expect(second.stderr).not.toContain("started");
    first.kill("SIGTERM");
    expect(await first.exited).toBe(0);
  });

  test("after kill -9 a restarted agent takes the stale lock over, says so, and carries on", async () => {
    const s = await setup();
    const first = spawnSluice(stateArgs(s.conf, s.state));
    await waitDelivered(s.out, 10);
    first.kill("SIGKILL");
    await first.exited;
    await writeLines(logFile(s.logs), 10, 20);
    const second = spawnSluice(stateArgs(s.conf, s.state));
    await waitDelivered(s.out, 20);
    await waitFor("the takeover log line", () => second.stderr().includes("took over the stale lock"));
    expect(second.stderr()).toContain(`pid ${first.proc.pid} is not running`);
    second.kill("SIGTERM");
    expect(await second.exited).toBe(0);
  });

  test("cron runs started at the same moment all exit 0 and deliver every line exactly once", async () => {
    const s = await setup();
    await writeLines(logFile(s.logs), 10, 3000);
    const runs = await Promise.all(Array.from({ length: 5 }, () => runSluice([...stateArgs(s.conf, s.state), "--once"], { timeoutMs: 30_000 })));
    expect(runs.map((r) => r.code)).toEqual([0, 0, 0, 0, 0]);
    const lines = await readAllLines(s.out);
    expect(lines).toHaveLength(3000);
    expect(new Set(lines).size).toBe(3000);
  });

  test("under a supervisor that has not reaped the killed agent, five restarts 0.1 s after kill -9 all run and lose no line", async () => {
    const s = await setup();
    const sup = lazySupervisor(s.dir, [BUN, MAIN, ...stateArgs(s.conf, s.state)]);
    let agent = await sup.start();
    await waitDelivered(s.out, 10);
    let written = 10;
    for (let cycle = 0; cycle < 5; cycle++) {
      process.kill(agent.pid, "SIGKILL");
      await writeLines(logFile(s.logs), written, written + 50);
      written += 50;
      await Bun.sleep(100);
      // The killed agent is still there as a zombie: the case a pid check alone mistakes for a live holder.
      if (process.platform === "linux") expect(await procState(agent.pid)).toBe("Z");
      const killed = agent.pid;
      agent = await sup.start();
      const err = await waitFor(`restart ${cycle + 1} to take the lock over`, async () => {
        const e = await agent.stderr();
        return e.includes("took over the stale lock") || e.includes("holds") ? e : undefined;
      }, 15_000, 20);
      expect(err).not.toContain("another sluice agent");
      expect(err).toContain(`pid ${killed} has exited`);
    }
    await writeLines(logFile(s.logs), written, written + 10);
    written += 10;
    const got = await waitDelivered(s.out, written);
    for (const line of expectedLines(0, written)) expect(got.has(line)).toBe(true);
    process.kill(agent.pid, "SIGTERM");
  }, 90_000);
});
