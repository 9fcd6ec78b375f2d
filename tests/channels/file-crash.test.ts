// Real processes: an agent (seq → file or spillable channel → file_roll) is killed with SIGKILL at random points and
// restarted; every event a run committed must arrive, in order, with duplicates only from batches in flight.
// A static interceptor stamps each run's events with `run=<i>`, so runs are told apart in the output.

import { describe, expect, test } from "bun:test";
import { mkdir, readdir, readFile, rm, writeFile } from "node:fs/promises";
import { join } from "node:path";
import { spawnSluice, tempDir, waitFor, writeConfig } from "../helpers/index.ts";

const SINK_BATCH = 50;

function agentConf(dir: string, run: number, o: { total: number; channel: string[]; outDir?: string }): string[] {
  return [
    "a1.sources = r1", "a1.channels = c1", "a1.sinks = k1",
    "a1.sources.r1.type = seq", `a1.sources.r1.totalEvents = ${o.total}`, "a1.sources.r1.batchSize = 100", "a1.sources.r1.channels = c1",
    "a1.sources.r1.interceptors = i1", "a1.sources.r1.interceptors.i1.type = static",
    "a1.sources.r1.interceptors.i1.key = run", `a1.sources.r1.interceptors.i1.value = ${run}`,
    `a1.channels.c1.checkpointDir = ${join(dir, "ckpt")}`, `a1.channels.c1.dataDirs = ${join(dir, "data1")},${join(dir, "data2")}`,
    "a1.channels.c1.minimumRequiredSpace = 0",
    ...o.channel,
    "a1.sinks.k1.type = file_roll", "a1.sinks.k1.channel = c1", `a1.sinks.k1.sink.directory = ${o.outDir ?? join(dir, "out")}`,
    "a1.sinks.k1.sink.rollInterval = 0", "a1.sinks.k1.sink.serializer = HEADER_AND_TEXT", `a1.sinks.k1.sink.batchSize = ${SINK_BATCH}`,
  ];
}

interface Delivered {
  /** run → numbers in delivery order (duplicates included). */
  byRun: Map<number, number[]>;
  lines: number;
}

async function delivered(out: string): Promise<Delivered> {
  const byRun = new Map<number, number[]>();
  let lines = 0;
  let names: string[] = [];
  try {
    names = (await readdir(out)).sort();
  } catch {
    return { byRun, lines };
  }
  for (const n of names) {
    for (const line of (await readFile(join(out, n), "utf8")).split("\n")) {
      const m = /^\{run=(\d+)\} (\d+)$/.exec(line);
      if (!m) continue;
      lines++;
      const r = Number(m[1]);
      if (!byRun.has(r)) byRun.set(r, []);
      byRun.get(r)!.push(Number(m[2]));
    }
  }
  return { byRun, lines };
}

/** Each run's numbers must be 0..max without a gap (seq commits in order), first seen in increasing order. */
function checkRuns(d: Delivered, finalRun: number, total: number): { duplicates: number } {
  let duplicates = 0;
  for (const [run, nums] of d.byRun) {
    const seen = new Set<number>();
    let lastNew = -1;
    for (const x of nums) {
      if (seen.has(x)) {
        duplicates++;
        continue;
      }
      seen.add(x);
      if (x !== lastNew + 1) throw new Error(`run ${run}: ${x} arrived after ${lastNew} (a gap or reordering)`);
      lastNew = x;
    }
    if (run === finalRun && seen.size !== total) throw new Error(`final run delivered ${seen.size} of ${total}`);
  }
  return { duplicates };
}

async function killAtRandom(conf: string, state: string, minMs: number, maxMs: number): Promise<void> {
  const a = spawnSluice(["agent", "-f", conf, "--state-dir", state]);
  await waitFor("agent start", () => a.stderr().includes("started") || a.proc.exitCode !== null, 20_000);
  await Bun.sleep(minMs + Math.random() * (maxMs - minMs));
  a.kill("SIGKILL");
  await a.exited;
}

/** Each crash test runs with the default record cache and with one too small for more than a record or so (every take
 * then reads back from the WAL, and the cache's budget is always exceeded). */
const CACHE_BUDGETS: { label: string; keys: string[] }[] = [
  { label: "the default cache budget", keys: [] },
  { label: "a tiny cache budget (2 KiB)", keys: ["a1.channels.c1.cacheBytes = 2k"] },
];

describe.each(CACHE_BUDGETS)("file channel under kill -9, with $label", ({ keys }) => {
  test("delivers every committed event after repeated kill -9 and restart, in order per run, with bounded duplicates", async () => {
    const dir = await tempDir("sluice-crash-");
    const state = join(dir, "state");
    const kills = 8;
    const total = 40_000;
    const channel = ["a1.channels.c1.type = file", "a1.channels.c1.checkpointInterval = 300", "a1.channels.c1.maxFileSize = 262144", "a1.channels.c1.transactionCapacity = 1000", ...keys];
    for (let run = 0; run < kills; run++) {
      await killAtRandom(await writeConfig(dir, agentConf(dir, run, { total, channel })), state, 200, 1200);
    }
    const final = spawnSluice(["agent", "-f", await writeConfig(dir, agentConf(dir, kills, { total, channel })), "--state-dir", state]);
    await waitFor("the final run's events", async () => new Set((await delivered(join(dir, "out"))).byRun.get(kills) ?? []).size === total, 60_000, 200);
    final.kill("SIGTERM");
    expect(await final.exited).toBe(0);
    const d = await delivered(join(dir, "out"));
    const { duplicates } = checkRuns(d, kills, total);
    expect(duplicates).toBeLessThanOrEqual(kills * SINK_BATCH);
    // The killed runs delivered something (the test really exercised recovery).
    expect([...d.byRun.keys()].filter((r) => r < kills).length).toBeGreaterThan(0);
    expect(final.stderr()).not.toContain("ERROR");
  }, 120_000);
});

describe.each(CACHE_BUDGETS)("spillable channel under kill -9, with $label", ({ keys }) => {
  test("a TAILDIR source re-reads what memory held: every line arrives, first seen in file order, after repeated kill -9", async () => {
    const dir = await tempDir("sluice-spill-crash-");
    const lines = 60_000;
    await writeFile(join(dir, "app.log"), Array.from({ length: lines }, (_, i) => `${i}`).join("\n") + "\n");
    const out = join(dir, "out");
    const conf = await writeConfig(dir, [
      "a1.sources = r1", "a1.channels = c1", "a1.sinks = k1",
      "a1.sources.r1.type = TAILDIR", "a1.sources.r1.filegroups = f1", `a1.sources.r1.filegroups.f1 = ${dir}/app\\.log`,
      "a1.sources.r1.batchSize = 100", "a1.sources.r1.channels = c1",
      "a1.channels.c1.type = spillablememory", "a1.channels.c1.memoryCapacity = 2000", "a1.channels.c1.overflowTimeout = 0",
      "a1.channels.c1.minimumRequiredSpace = 0", "a1.channels.c1.checkpointInterval = 300", ...keys,
      "a1.sinks.k1.type = file_roll", "a1.sinks.k1.channel = c1", `a1.sinks.k1.sink.directory = ${out}`,
      "a1.sinks.k1.sink.rollInterval = 0", `a1.sinks.k1.sink.batchSize = ${SINK_BATCH}`,
    ]);
    const state = join(dir, "state");
    for (let run = 0; run < 5; run++) await killAtRandom(conf, state, 100, 800);
    const final = spawnSluice(["agent", "-f", conf, "--state-dir", state]);
    await waitFor("final agent start", () => final.stderr().includes("started"), 20_000);
    const numbers = async () => {
      const got: number[] = [];
      for (const n of (await readdir(out).catch(() => [] as string[])).sort()) {
        for (const l of (await readFile(join(out, n), "utf8")).split("\n")) if (l) got.push(Number(l));
      }
      return got;
    };
    await waitFor("every line delivered", async () => new Set(await numbers()).size === lines, 60_000, 200);
    final.kill("SIGTERM");
    expect(await final.exited).toBe(0);
    const got = await numbers();
    const seen = new Set<number>();
    let last = -1;
    for (const x of got) {
      if (seen.has(x)) continue;
      seen.add(x);
      expect(x).toBe(last + 1);
      last = x;
    }
    expect(seen.size).toBe(lines);
  }, 120_000);
});

describe("file channel directory ownership", () => {
  test("a second agent on the same checkpointDir refuses to start and names the holder's pid", async () => {
    const dir = await tempDir("sluice-lock-");
    const channel = ["a1.channels.c1.type = file"];
    const conf = await writeConfig(dir, agentConf(dir, 0, { total: 1_000_000_000, channel }));
    const first = spawnSluice(["agent", "-f", conf, "--state-dir", join(dir, "s1")]);
    await waitFor("first agent start", () => first.stderr().includes("started"), 20_000);
    const second = spawnSluice(["agent", "-f", conf, "--state-dir", join(dir, "s2")]);
    expect(await second.exited).toBe(1);
    expect(second.stderr()).toContain(`pid ${first.proc.pid}`);
    expect(second.stderr()).toContain(join(dir, "ckpt"));
    first.kill("SIGKILL");
    await first.exited;
    // The dead holder's lock is stale: the next agent takes it over and starts.
    const third = spawnSluice(["agent", "-f", conf, "--state-dir", join(dir, "s1")]);
    await waitFor("third agent start", () => third.stderr().includes("started") || third.proc.exitCode !== null, 20_000);
    expect(third.stderr()).toMatch(/took over the stale lock .*in_use\.lock/);
    third.kill("SIGTERM");
    expect(await third.exited).toBe(0);
  }, 60_000);
});

describe("spillable channel across an outage and a shutdown", () => {
  test("spills a backlog to disk while the sink fails, then drains it completely once the sink is back", async () => {
    const dir = await tempDir("sluice-outage-");
    const out = join(dir, "out");
    await writeFile(out, "not a directory"); // file_roll cannot create its directory: every delivery fails
    const total = 30_000;
    const conf = await writeConfig(dir, agentConf(dir, 0, { total, channel: ["a1.channels.c1.type = spillablememory", "a1.channels.c1.memoryCapacity = 2000", "a1.channels.c1.overflowTimeout = 0"] }));
    const a = spawnSluice(["agent", "-f", conf, "--state-dir", join(dir, "state")]);
    await waitFor("the backlog spilled to disk", () => a.stderr().includes("spilling to the overflow"), 20_000);
    await Bun.sleep(2000);
    await rm(out);
    await mkdir(out);
    await waitFor("every event delivered", async () => new Set((await delivered(out)).byRun.get(0) ?? []).size === total, 60_000, 200);
    a.kill("SIGTERM");
    expect(await a.exited).toBe(0);
    checkRuns(await delivered(out), 0, total);
  }, 90_000);

  test("on SIGTERM moves the memory part to disk; the next start delivers it first, in order", async () => {
    const dir = await tempDir("sluice-term-");
    const out = join(dir, "out");
    await writeFile(out, "not a directory");
    const channel = ["a1.channels.c1.type = dual", "a1.channels.c1.memoryCapacity = 5000", "a1.channels.c1.overflowTimeout = 0"];
    const first = spawnSluice(["agent", "-f", await writeConfig(dir, agentConf(dir, 0, { total: 8000, channel })), "--state-dir", join(dir, "state"), "--drain-timeout", "1s"]);
    await waitFor("the backlog spilled to disk", () => first.stderr().includes("spilling to the overflow"), 20_000);
    await Bun.sleep(1000); // let seq put all 8000: 5000 in memory, the rest on disk
    first.kill("SIGTERM");
    expect(await first.exited).toBe(0);
    expect(first.stderr()).toMatch(/moved \d+ events from memory to the overflow/);
    await rm(out);
    const second = spawnSluice(["agent", "-f", await writeConfig(dir, agentConf(dir, 1, { total: 100, channel })), "--state-dir", join(dir, "state")]);
    await waitFor("run 0's backlog and run 1 delivered", async () => new Set((await delivered(out)).byRun.get(1) ?? []).size === 100, 30_000, 100);
    second.kill("SIGTERM");
    expect(await second.exited).toBe(0);
    const d = await delivered(out);
    checkRuns(d, 1, 100);
    expect(new Set(d.byRun.get(0)).size).toBe(8000);
  }, 60_000);
});
