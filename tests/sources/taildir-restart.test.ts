// Restarts of a real agent process (taildir → memory → file_roll): clean stops and kill -9 at random points, with
// files rotated while the agent is down. Every line must arrive; duplicates only from batches not yet safe.

import { describe, expect, test } from "bun:test";
import { appendFile, mkdir, rename, writeFile } from "node:fs/promises";
import { join } from "node:path";
import { spawnSluice, tempDir, waitFor } from "../helpers/index.ts";
import { agentConfig, delivered, numbered } from "./taildir-harness.ts";

const CHANNEL_CAPACITY = 1000;

async function setup() {
  const root = await tempDir("sluice-taildir-restart-");
  const logs = join(root, "logs");
  await mkdir(logs);
  await mkdir(join(root, "out"));
  const conf = join(root, "agent.conf");
  await writeFile(
    conf,
    agentConfig(
      root,
      ["type = TAILDIR", "filegroups = g1", `filegroups.g1 = ${logs}/app[.]log([.][0-9]+)?`, "batchSize = 50", "backoffSleepIncrement = 50", "maxBackoffSleep = 200"],
      ["sink.batchSize = 100"],
      [`capacity = ${CHANNEL_CAPACITY}`, "transactionCapacity = 100"],
    ),
  );
  let n = 0;
  let rotations = 0;
  const f = join(logs, "app.log");
  await writeFile(f, "");
  return {
    root,
    /** Spawns the agent and waits until it runs (a signal before its handlers are installed would just kill it). */
    start: async () => {
      const a = spawnSluice(["agent", "-f", conf, "-n", "a1", "--state-dir", join(root, "state")]);
      await waitFor("the agent started", () => a.stderr().includes("agent a1 started"), 15_000);
      return a;
    },
    write: async (count: number) => {
      await appendFile(f, numbered("L", n, (n += count)));
    },
    rotate: async () => {
      await rename(f, join(logs, `app.log.${++rotations}`));
      await writeFile(f, "");
    },
    get written() {
      return n;
    },
  };
}

function counts(lines: string[]): Map<string, number> {
  const m = new Map<string, number>();
  for (const l of lines) m.set(l, (m.get(l) ?? 0) + 1);
  return m;
}

describe("TAILDIR across agent restarts", () => {
  test("kill -9 at random points, files rotated while the agent is down: every line delivered, duplicates bounded by unsafe batches", async () => {
    const w = await setup();
    let kills = 0;
    for (let cycle = 0; cycle < 4; cycle++) {
      const a = await w.start();
      const end = Date.now() + 300 + Math.floor(Math.random() * 500);
      while (Date.now() < end) {
        await w.write(200);
        if (Math.random() < 0.15) await w.rotate();
        await Bun.sleep(20);
      }
      a.kill("SIGKILL");
      await a.exited;
      kills++;
      // While the agent is down: more lines, and a rotation.
      await w.write(300);
      await w.rotate();
      await w.write(100);
    }
    const a = await w.start();
    await waitFor("every line", async () => counts(await delivered(join(w.root, "out"))).size >= w.written, 30_000, 100);
    a.kill("SIGTERM");
    expect(await a.exited).toBe(0);
    const c = counts(await delivered(join(w.root, "out")));
    for (let i = 0; i < w.written; i++) expect(c.has(`L${i}`)).toBe(true);
    let dups = 0;
    for (const v of c.values()) dups += v - 1;
    expect(c.size).toBe(w.written);
    // What a kill can re-send: the channel's content, the batches in flight, and what became safe during the last
    // position-write coalescing window (250 ms; the writer adds at most ~10,000 lines/s).
    expect(dups).toBeLessThanOrEqual(kills * (CHANNEL_CAPACITY + 100 + 2500));
  }, 60_000);

  test("clean stops and restarts, with rotation while down, deliver every line exactly once", async () => {
    const w = await setup();
    for (let cycle = 0; cycle < 3; cycle++) {
      const a = await w.start();
      await w.write(500);
      await Bun.sleep(200 + Math.floor(Math.random() * 300));
      await w.write(500);
      a.kill("SIGTERM");
      expect(await a.exited).toBe(0);
      await w.write(200);
      await w.rotate();
      await w.write(100);
    }
    const a = await w.start();
    await waitFor("every line", async () => (await delivered(join(w.root, "out"))).length >= w.written, 30_000, 100);
    a.kill("SIGTERM");
    expect(await a.exited).toBe(0);
    const lines = await delivered(join(w.root, "out"));
    expect(lines.length).toBe(w.written);
    expect(counts(lines).size).toBe(w.written);
  }, 60_000);
});
