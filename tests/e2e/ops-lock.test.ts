// Single instance, with real spawned agents: a second agent on the same state exits at once naming the holder's pid;
// an overlapping --once run exits 0 quietly; a lock left by kill -9 is taken over on restart.

import { describe, expect, test } from "bun:test";
import { mkdir } from "node:fs/promises";
import { join } from "node:path";
import { readAllLines, runSluice, spawnSluice, tempDir, waitFor, writeConfig } from "../helpers/index.ts";
import { logFile, stateArgs, tailConfig, waitDelivered, writeLines } from "./ops-helpers.ts";

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
});
