// Edge → http → aggregator with real processes on 127.0.0.1: outages of an aggregator (killed, then restarted on the
// same port), failover and load balancing over two aggregators, and interceptors + multiplexing in a real agent.

import { describe, expect, test } from "bun:test";
import { join } from "node:path";
import { lookupType } from "../../src/registry.ts";
import { freePort, readAllLines, spawnSluice, tempDir, waitFor, writeConfig, type Spawned } from "../helpers/index.ts";

/** The aggregator's channel: the durable file channel once it is registered, else memory (then stops are graceful). */
const DURABLE = lookupType("channel", "file").ok;
/** A re-readable edge (TAILDIR with acknowledgements) makes kill -9 of the edge itself lossless too. */
const TAILDIR = lookupType("source", "TAILDIR").ok;

function aggregatorConf(port: number, out: string, data: string): string[] {
  return [
    "agg.sources = r1", "agg.channels = c1", "agg.sinks = k1",
    "agg.sources.r1.type = http", `agg.sources.r1.port = ${port}`, "agg.sources.r1.channels = c1",
    ...(DURABLE
      ? ["agg.channels.c1.type = file", `agg.channels.c1.checkpointDir = ${data}/cp`, `agg.channels.c1.dataDirs = ${data}/data`, "agg.channels.c1.transactionCapacity = 1000"]
      : ["agg.channels.c1.type = memory", "agg.channels.c1.capacity = 20000", "agg.channels.c1.transactionCapacity = 1000"]),
    "agg.sinks.k1.type = file_roll", "agg.sinks.k1.channel = c1", `agg.sinks.k1.sink.directory = ${out}`, "agg.sinks.k1.sink.batchSize = 1000", "agg.sinks.k1.sink.rollInterval = 0",
  ];
}

function httpSink(name: string, port: number): string[] {
  return [
    `edge.sinks.${name}.type = http`, `edge.sinks.${name}.channel = c1`, `edge.sinks.${name}.endpoint = http://127.0.0.1:${port}/`,
    `edge.sinks.${name}.format = ndjson`, `edge.sinks.${name}.batchSize = 200`, `edge.sinks.${name}.maxBackoff = 500ms`,
    `edge.sinks.${name}.requestTimeout = 2s`,
  ];
}

function edgeConf(sinks: string[], extra: string[]): string[] {
  return [
    "edge.sources = r1", "edge.channels = c1", `edge.sinks = ${sinks.join(" ")}`,
    "edge.sources.r1.type = seq", "edge.sources.r1.batchSize = 100", "edge.sources.r1.channels = c1",
    "edge.channels.c1.type = memory", "edge.channels.c1.capacity = 5000", "edge.channels.c1.transactionCapacity = 1000",
    ...extra,
  ];
}

interface Aggregator {
  port: number;
  out: string;
  start(): Promise<Spawned>;
}

async function aggregator(dir: string, name: string): Promise<Aggregator> {
  const port = await freePort();
  const out = join(dir, `${name}-out`);
  const conf = await writeConfig(dir, aggregatorConf(port, out, join(dir, `${name}-data`)), `${name}.conf`);
  return {
    port,
    out,
    async start() {
      const p = spawnSluice(["agent", "-f", conf, "-n", "agg", "--state-dir", join(dir, `${name}-state`)]);
      await waitFor(`${name} listening`, () => p.stderr().includes("listening on"), 15_000);
      return p;
    },
  };
}

async function stopAggregator(p: Spawned): Promise<void> {
  p.kill(DURABLE ? 9 : "SIGTERM");
  await p.exited;
}

/** Stops the edge (it drains its channel) and returns the numbers delivered, checking 0…max are all there. */
async function stopEdgeAndCheck(edge: Spawned, outs: string[]): Promise<number[]> {
  edge.kill("SIGTERM");
  expect(await edge.exited).toBe(0);
  let seen = new Set<number>();
  // The aggregators' sinks may still be writing the last batches.
  await waitFor("aggregators to settle", async () => {
    const lines = (await Promise.all(outs.map(readAllLines))).flat();
    const next = new Set(lines.map(Number));
    const settled = next.size === seen.size && next.size > 0;
    seen = next;
    const max = Math.max(...seen);
    return settled && seen.size === max + 1;
  }, 20_000, 300).catch(() => {});
  const max = Math.max(...seen);
  const missing = [];
  for (let i = 0; i <= max && missing.length < 10; i++) if (!seen.has(i)) missing.push(i);
  expect(missing).toEqual([]);
  return [...seen];
}

const count = async (dir: string) => (await readAllLines(dir)).length;

describe("two tiers over http", () => {
  test(`an aggregator ${DURABLE ? "killed -9" : "stopped"} for a while and restarted loses nothing`, async () => {
    const dir = await tempDir();
    const agg = await aggregator(dir, "agg");
    let a = await agg.start();
    const edge = spawnSluice(["agent", "-f", await writeConfig(dir, edgeConf(["k1"], httpSink("k1", agg.port)), "edge.conf"), "-n", "edge", "--state-dir", join(dir, "edge-state")]);
    await waitFor("first events at the aggregator", async () => (await count(agg.out)) > 5000, 20_000, 100);
    await stopAggregator(a);
    const during = await count(agg.out);
    await Bun.sleep(1500);
    expect(await count(agg.out)).toBe(during);
    a = await agg.start();
    await waitFor("events flowing again", async () => (await count(agg.out)) > during + 5000, 20_000, 100);
    const seen = await stopEdgeAndCheck(edge, [agg.out]);
    expect(seen.length).toBeGreaterThan(10_000);
    expect(edge.stderr()).toMatch(/sink k1 is failing, will retry with backoff: http sink k1: POST http:\/\/127\.0\.0\.1:\d+\/ failed/);
    await stopAggregator(a);
  }, 60_000);
});

describe.skipIf(!DURABLE || !TAILDIR)("two tiers over http, kill -9 of either agent", () => {
  test("a TAILDIR edge killed -9 mid-stream, then the aggregator killed -9: every line arrives", async () => {
    const dir = await tempDir();
    const log = join(dir, "app.log");
    const LINES = 200_000;
    await Bun.write(log, Array.from({ length: LINES }, (_, i) => `line ${i} ${"x".repeat(40)}\n`).join(""));
    const agg = await aggregator(dir, "agg");
    let a = await agg.start();
    const edgeConfPath = await writeConfig(dir, [
      "edge.sources = r1", "edge.channels = c1", "edge.sinks = k1",
      "edge.sources.r1.type = TAILDIR", "edge.sources.r1.filegroups = f1", `edge.sources.r1.filegroups.f1 = ${dir}/app\\.log`,
      `edge.sources.r1.positionFile = ${dir}/pos.json`, "edge.sources.r1.batchSize = 500", "edge.sources.r1.channels = c1",
      "edge.channels.c1.type = memory", "edge.channels.c1.capacity = 5000", "edge.channels.c1.transactionCapacity = 1000",
      ...httpSink("k1", agg.port),
    ], "edge.conf");
    const startEdge = () => spawnSluice(["agent", "-f", edgeConfPath, "-n", "edge", "--state-dir", join(dir, "edge-state")]);
    let edge = startEdge();
    await waitFor("a first part at the aggregator", async () => (await count(agg.out)) > 20_000, 30_000, 50);
    edge.kill(9);
    await edge.exited;
    edge = startEdge();
    await waitFor("more after the edge restarted", async () => (await count(agg.out)) > 60_000, 30_000, 50);
    a.kill(9);
    await a.exited;
    await Bun.sleep(1000);
    a = await agg.start();
    // A kill -9 in the middle of file_roll's write can leave a torn last line in that file (its batch is rolled back
    // and written again to the next file), so count only whole lines.
    const whole = /^line \d+ x{40}$/;
    const distinct = async () => new Set((await readAllLines(agg.out)).filter((l) => whole.test(l))).size;
    await waitFor("every line at the aggregator", async () => (await distinct()) === LINES, 60_000, 200).catch(async (err) => {
      const seen = new Set((await readAllLines(agg.out)).map((l) => Number(l.split(" ")[1])));
      const missing = Array.from({ length: LINES }, (_, i) => i).filter((i) => !seen.has(i));
      throw new Error(`${err.message}; ${missing.length} missing (first ${missing.slice(0, 5).join(", ")}); edge log tail: ${edge.stderr().slice(-1500)}; aggregator log tail: ${a.stderr().slice(-1500)}`);
    });
    const lines = (await readAllLines(agg.out)).filter((l) => whole.test(l));
    expect(new Set(lines).size).toBe(LINES);
    // Duplicates come only from batches in flight at a kill: a few batches, not a re-read of the file.
    expect(lines.length - LINES).toBeLessThan(20_000);
    edge.kill("SIGTERM");
    await edge.exited;
    await stopAggregator(a);
  }, 90_000);
});

describe("sink groups over http", () => {
  test("failover: the standby takes over while the preferred aggregator is down, and the preferred takes back over", async () => {
    const dir = await tempDir();
    const [a1, a2] = [await aggregator(dir, "a1"), await aggregator(dir, "a2")];
    const p2 = await a2.start();
    const edge = spawnSluice([
      "agent", "-f",
      await writeConfig(dir, edgeConf(["k1", "k2"], [
        ...httpSink("k1", a1.port), ...httpSink("k2", a2.port),
        "edge.sinkgroups = g1", "edge.sinkgroups.g1.sinks = k1 k2", "edge.sinkgroups.g1.processor.type = failover",
        "edge.sinkgroups.g1.processor.priority.k1 = 10", "edge.sinkgroups.g1.processor.priority.k2 = 5", "edge.sinkgroups.g1.processor.maxpenalty = 1s",
      ]), "edge.conf"),
      "-n", "edge", "--state-dir", join(dir, "edge-state"),
    ]);
    // k1's aggregator is down from the start: everything goes to k2.
    await waitFor("events at the standby", async () => (await count(a2.out)) > 3000, 20_000, 100);
    expect(await count(a1.out)).toBe(0);
    const p1 = await a1.start();
    await waitFor("the preferred aggregator back in use", async () => (await count(a1.out)) > 3000, 20_000, 100);
    const atStandby = await count(a2.out);
    await Bun.sleep(500);
    expect(await count(a2.out)).toBe(atStandby);
    await stopEdgeAndCheck(edge, [a1.out, a2.out]);
    await Promise.all([stopAggregator(p1), stopAggregator(p2)]);
  }, 60_000);

  test("load_balance: both aggregators share the stream, the live one carries it alone during an outage", async () => {
    const dir = await tempDir();
    const [a1, a2] = [await aggregator(dir, "a1"), await aggregator(dir, "a2")];
    const p1 = await a1.start();
    let p2 = await a2.start();
    const edge = spawnSluice([
      "agent", "-f",
      await writeConfig(dir, edgeConf(["k1", "k2"], [
        ...httpSink("k1", a1.port), ...httpSink("k2", a2.port),
        "edge.sinkgroups = g1", "edge.sinkgroups.g1.sinks = k1 k2", "edge.sinkgroups.g1.processor.type = load_balance",
        "edge.sinkgroups.g1.processor.backoff = true", "edge.sinkgroups.g1.processor.selector = round_robin", "edge.sinkgroups.g1.processor.selector.maxTimeOut = 1s",
      ]), "edge.conf"),
      "-n", "edge", "--state-dir", join(dir, "edge-state"),
    ]);
    await waitFor("both aggregators receiving", async () => (await count(a1.out)) > 2000 && (await count(a2.out)) > 2000, 20_000, 100);
    await stopAggregator(p2);
    const a2Lines = await count(a2.out);
    const a1Lines = await count(a1.out);
    await waitFor("a1 carrying the stream alone", async () => (await count(a1.out)) > a1Lines + 5000, 20_000, 100);
    expect(await count(a2.out)).toBe(a2Lines);
    p2 = await a2.start();
    await waitFor("a2 back in the rotation", async () => (await count(a2.out)) > a2Lines + 2000, 20_000, 100);
    await stopEdgeAndCheck(edge, [a1.out, a2.out]);
    await Promise.all([stopAggregator(p1), stopAggregator(p2)]);
  }, 60_000);
});

describe("interceptors and a multiplexing selector in a real agent", () => {
  test("extracts, stamps, filters, rewrites and routes every event as configured", async () => {
    const dir = await tempDir();
    // Backslashes are doubled for the properties syntax (\\d in the file is the regex \d).
    const conf = await writeConfig(dir, [
      "a1.sources = r1", "a1.channels = zero other", "a1.sinks = k0 k1",
      "a1.sources.r1.type = seq", "a1.sources.r1.totalEvents = 1000", "a1.sources.r1.batchSize = 100", "a1.sources.r1.channels = zero other",
      "a1.sources.r1.interceptors = last drop5 env ts rw",
      "a1.sources.r1.interceptors.last.type = regex_extractor", "a1.sources.r1.interceptors.last.regex = (\\\\d)$",
      "a1.sources.r1.interceptors.last.serializers = d", "a1.sources.r1.interceptors.last.serializers.d.name = digit",
      "a1.sources.r1.interceptors.drop5.type = regex_filter", "a1.sources.r1.interceptors.drop5.regex = 5$", "a1.sources.r1.interceptors.drop5.excludeEvents = true",
      "a1.sources.r1.interceptors.env.type = static", "a1.sources.r1.interceptors.env.key = env", "a1.sources.r1.interceptors.env.value = prod",
      "a1.sources.r1.interceptors.ts.type = timestamp",
      "a1.sources.r1.interceptors.rw.type = search_replace", "a1.sources.r1.interceptors.rw.searchPattern = ^(\\\\d+)$", "a1.sources.r1.interceptors.rw.replaceString = n=$1",
      "a1.sources.r1.selector.type = multiplexing", "a1.sources.r1.selector.header = digit",
      "a1.sources.r1.selector.mapping.0 = zero", "a1.sources.r1.selector.default = other",
      "a1.channels.zero.type = memory", "a1.channels.other.type = memory",
      "a1.sinks.k0.type = file_roll", "a1.sinks.k0.channel = zero", `a1.sinks.k0.sink.directory = ${dir}/zero`, "a1.sinks.k0.sink.serializer = HEADER_AND_TEXT",
      "a1.sinks.k1.type = file_roll", "a1.sinks.k1.channel = other", `a1.sinks.k1.sink.directory = ${dir}/other`,
    ]);
    const p = spawnSluice(["agent", "-f", conf, "--state-dir", join(dir, "state")]);
    await waitFor("every routed event", async () => (await count(`${dir}/zero`)) === 100 && (await count(`${dir}/other`)) === 800, 20_000, 100);
    p.kill("SIGTERM");
    expect(await p.exited).toBe(0);
    const zero = await readAllLines(`${dir}/zero`);
    expect(zero[3]).toMatch(/^\{digit=0, env=prod, timestamp=\d{13}\} n=30$/);
    const other = await readAllLines(`${dir}/other`);
    expect(other.slice(0, 5)).toEqual(["n=1", "n=2", "n=3", "n=4", "n=6"]);
    expect(other.some((l) => l.endsWith("5"))).toBe(false);
  }, 30_000);
});
