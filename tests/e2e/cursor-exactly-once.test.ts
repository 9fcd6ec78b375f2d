// A file source into a file channel resumes from the cursor the channel committed with its last batch: 10 × kill -9
// of a real agent while lines are written (and files rotated), its sink unable to deliver, then a drain — every line
// arrives exactly once. What a sink sends twice when a crash cuts its delivery short is another matter: here the sink
// delivers nothing until the drain, so every duplicate would be the source's.

import { describe, expect, test } from "bun:test";
import { appendFile, mkdir, readdir, rename, rm, writeFile } from "node:fs/promises";
import { join } from "node:path";
import { freePort, spawnSluice, tempDir, waitFor } from "../helpers/index.ts";
import { delivered, numbered } from "../sources/taildir-harness.ts";

const KILLS = 10;

/** r1 → file channel c1 → k1: an http sink to a port nobody listens on (nothing leaves), or file_roll for the drain. */
function config(root: string, source: string[], sink: "stuck" | "drain", closedPort: number): string {
  return [
    "a1.sources = r1",
    "a1.channels = c1",
    "a1.sinks = k1",
    "a1.sources.r1.channels = c1",
    ...source.map((l) => `a1.sources.r1.${l}`),
    "a1.channels.c1.type = file",
    `a1.channels.c1.checkpointDir = ${join(root, "ch", "checkpoint")}`,
    `a1.channels.c1.dataDirs = ${join(root, "ch", "data")}`,
    "a1.channels.c1.capacity = 200000",
    "a1.channels.c1.transactionCapacity = 1000",
    "a1.sinks.k1.channel = c1",
    ...(sink === "stuck"
      ? ["a1.sinks.k1.type = http", `a1.sinks.k1.endpoint = http://127.0.0.1:${closedPort}/`, "a1.sinks.k1.connectTimeout = 200", "a1.sinks.k1.requestTimeout = 200"]
      : ["a1.sinks.k1.type = file_roll", `a1.sinks.k1.sink.directory = ${join(root, "out")}`, "a1.sinks.k1.sink.rollInterval = 0", "a1.sinks.k1.batchSize = 1000"]),
  ].join("\n");
}

async function rig(prefix: string, source: string[]) {
  const root = await tempDir(prefix);
  await mkdir(join(root, "out"));
  const closedPort = await freePort();
  const stuck = join(root, "stuck.conf");
  const drain = join(root, "drain.conf");
  await writeFile(stuck, config(root, source, "stuck", closedPort));
  await writeFile(drain, config(root, source, "drain", closedPort));
  const start = async (conf: string) => {
    const a = spawnSluice(["agent", "-f", conf, "-n", "a1", "--state-dir", join(root, "state")]);
    await waitFor("the agent started", () => a.stderr().includes("agent a1 started") || a.proc.exitCode !== null, 20_000);
    expect(a.proc.exitCode).toBeNull();
    return a;
  };
  return { root, stuck, drain, start };
}

/** Lines delivered more than once, and how many distinct lines arrived. */
function tally(lines: string[]): { distinct: number; twice: string[] } {
  const seen = new Set<string>();
  const twice: string[] = [];
  for (const l of lines) {
    if (seen.has(l)) twice.push(l);
    seen.add(l);
  }
  return { distinct: seen.size, twice };
}

describe("exactly once from a file source into a file channel", () => {
  test("TAILDIR: 10 × kill -9 while lines are appended and the file is rotated, the position file lost once, then a drain: every line once", async () => {
    const logs = await tempDir("sluice-cursor-logs-");
    const r = await rig("sluice-cursor-taildir-", [
      "type = TAILDIR",
      "filegroups = g1",
      `filegroups.g1 = ${logs}/app[.]log([.][0-9]+)?`,
      "batchSize = 100",
      "backoffSleepIncrement = 20",
      "maxBackoffSleep = 100",
    ]);
    const f = join(logs, "app.log");
    await writeFile(f, "");
    let n = 0;
    let rotations = 0;
    const write = (count: number) => appendFile(f, numbered("L", n, (n += count)));
    const rotate = async () => {
      // Numbered rotation: app.log.1 → app.log.2 …, app.log → app.log.1, a new app.log.
      for (let i = rotations; i >= 1; i--) await rename(join(logs, `app.log.${i}`), join(logs, `app.log.${i + 1}`));
      await rename(f, join(logs, "app.log.1"));
      await writeFile(f, "");
      rotations++;
    };
    for (let k = 0; k < KILLS; k++) {
      const a = await r.start(r.stuck);
      const end = Date.now() + 300 + Math.floor(Math.random() * 400);
      while (Date.now() < end) {
        await write(100);
        // A rotation during the run in three of the cycles, just before the kill in one of them.
        if ((k === 2 || k === 6) && rotations < (k === 2 ? 1 : 2)) await rotate();
        await Bun.sleep(15);
      }
      if (k === 8) await rotate();
      a.kill("SIGKILL");
      await a.exited;
      await write(200); // while it is down
      // The position file is only a cache of the channel's cursor: losing it costs nothing.
      if (k === 4) await rm(join(r.root, "state", "a1", "r1", "taildir_position.json"));
    }
    expect(rotations).toBe(3);
    const a = await r.start(r.drain);
    await waitFor("every line", async () => tally(await delivered(join(r.root, "out"))).distinct >= n, 30_000, 100);
    await Bun.sleep(500); // a duplicate would come with the rest of the backlog; give it a moment
    a.kill("SIGTERM");
    expect(await a.exited).toBe(0);
    const lines = await delivered(join(r.root, "out"));
    const t = tally(lines);
    expect(t.distinct).toBe(n);
    expect(t.twice).toEqual([]);
    expect(lines.length).toBe(n);
  }, 90_000);

  test("spooldir: 10 × kill -9 while files are dropped in, the tracker record lost once, then a drain: every line once and every file retired", async () => {
    const spool = await tempDir("sluice-cursor-spool-");
    const staging = await tempDir("sluice-cursor-staging-");
    const r = await rig("sluice-cursor-spooldir-", ["type = spooldir", `spoolDir = ${spool}`, "batchSize = 100"]);
    let n = 0;
    let files = 0;
    // Complete files only (the spooldir rule): written aside, then renamed in.
    const drop = async (lines: number) => {
      const name = `f${String(files++).padStart(3, "0")}.log`;
      await writeFile(join(staging, name), numbered("S", n, (n += lines)));
      await rename(join(staging, name), join(spool, name));
    };
    for (let k = 0; k < KILLS; k++) {
      const a = await r.start(r.stuck);
      // A large file in this cycle, so that the kill below most likely finds it half read (with a tracker record).
      if (k === 4) await drop(30_000);
      const end = Date.now() + 300 + Math.floor(Math.random() * 400);
      while (Date.now() < end) {
        await drop(1500);
        await Bun.sleep(60);
      }
      a.kill("SIGKILL");
      await a.exited;
      await drop(500);
      // Nor is the tracker's progress record needed (when the kill found a file half read; else there is none).
      if (k === 4) await rm(join(spool, ".flumespool", ".sluice-main.meta"), { force: true });
    }
    const a = await r.start(r.drain);
    await waitFor("every line", async () => tally(await delivered(join(r.root, "out"))).distinct >= n, 30_000, 100);
    await waitFor("every file retired", async () => (await readdir(spool)).filter((x) => x.endsWith(".log")).length === 0, 10_000, 50);
    await Bun.sleep(300);
    a.kill("SIGTERM");
    expect(await a.exited).toBe(0);
    const lines = await delivered(join(r.root, "out"));
    const t = tally(lines);
    expect(t.distinct).toBe(n);
    expect(t.twice).toEqual([]);
    expect(lines.length).toBe(n);
  }, 90_000);
});
