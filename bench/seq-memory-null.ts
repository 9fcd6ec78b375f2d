// Benchmark: seq → memory → null with 200-byte bodies, batch 1000, in one process. Measures the core's own cost
// (channel processor, memory channel transactions, sink runner); goal ≥ 2 M events/s so the core is never the
// bottleneck. Run: node_modules/.bin/bun bench/seq-memory-null.ts [events]

import { buildAgentSpec } from "../src/config/load.ts";
import { Agent } from "../src/core/agent.ts";
import { configureLogging } from "../src/util/log.ts";
import { mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";

configureLogging({ level: "warn" });
const TOTAL = Number(process.argv[2] ?? 20_000_000);
const BODY = 200;
const BATCH = 1000;

const conf = [
  "a1.sources = r1", "a1.channels = c1", "a1.sinks = k1",
  "a1.sources.r1.type = seq", `a1.sources.r1.totalEvents = ${TOTAL}`, `a1.sources.r1.batchSize = ${BATCH}`, `a1.sources.r1.bodySize = ${BODY}`,
  "a1.sources.r1.channels = c1",
  "a1.channels.c1.type = memory", "a1.channels.c1.capacity = 100000", `a1.channels.c1.transactionCapacity = ${BATCH}`, "a1.channels.c1.byteCapacity = 0",
  "a1.sinks.k1.type = null", "a1.sinks.k1.channel = c1", `a1.sinks.k1.batchSize = ${BATCH}`,
].join("\n");

const state = await mkdtemp(join(tmpdir(), "sluice-bench-"));
const { spec, problems } = buildAgentSpec(conf, "bench.conf");
if (!spec) throw new Error(problems.map((p) => p.message).join("\n"));
const agent = await Agent.build(spec, { stateDir: state });
const sink = agent.sinks.get("k1")!;
const t0 = performance.now();
await agent.start();
let peakRss = 0;
while (sink.counters.EventDrainSuccessCount < TOTAL) {
  await Bun.sleep(20);
  peakRss = Math.max(peakRss, process.memoryUsage().rss);
}
const secs = (performance.now() - t0) / 1000;
await agent.stop(0);
await rm(state, { recursive: true, force: true });

const eps = TOTAL / secs;
const mibs = (TOTAL * BODY) / secs / 1024 / 1024;
console.log(JSON.stringify({ bench: "seq-memory-null", metric: "events/s", value: Math.round(eps), goal: ">= 2000000" }));
console.log(JSON.stringify({ bench: "seq-memory-null", metric: "MiB/s", value: Math.round(mibs) }));
console.log(JSON.stringify({ bench: "seq-memory-null", metric: "peak RSS MiB", value: Math.round(peakRss / 1024 / 1024) }));
