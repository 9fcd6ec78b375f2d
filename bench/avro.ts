// Benchmark: seq → memory → avro sink ══TCP══▶ avro source → memory → null, 200-byte events, batch 1000, plain
// and deflate. The edge runs as its own process (`sluice agent`), the aggregator in this process; MiB/s counts
// event bodies from the first to the last event the aggregator's null sink took.
// Run: node_modules/.bin/bun bench/avro.ts [events]  (default 2,000,000 per run); one JSON line per figure (bench/run.ts)

import { mkdtemp, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join, resolve } from "node:path";
import { buildAgentSpec } from "../src/config/load.ts";
import { Agent } from "../src/core/agent.ts";
import type { NullSink } from "../src/sinks/null.ts";
import type { AvroSource } from "../src/sources/avro.ts";
import { configureLogging } from "../src/util/log.ts";

const ROOT = resolve(import.meta.dir, "..");
const EVENTS = Number(process.argv[2] ?? 2_000_000);
const BODY = 200;
const BATCH = 1000;

configureLogging({ level: "warn" });

async function run(compression: "none" | "deflate"): Promise<void> {
  const dir = await mkdtemp(join(tmpdir(), "sluice-bench-avro-"));
  try {
    const agg = [
      "agg.sources = r1", "agg.channels = c1", "agg.sinks = k1",
      "agg.sources.r1.type = avro", "agg.sources.r1.bind = 127.0.0.1", "agg.sources.r1.port = 0",
      `agg.sources.r1.compression-type = ${compression}`, "agg.sources.r1.channels = c1",
      "agg.channels.c1.type = memory", "agg.channels.c1.capacity = 20000", `agg.channels.c1.transactionCapacity = ${BATCH}`,
      "agg.sinks.k1.type = null", `agg.sinks.k1.batchSize = ${BATCH}`, "agg.sinks.k1.channel = c1",
    ].join("\n");
    const built = buildAgentSpec(agg, "bench-agg.conf", "agg");
    if (!built.spec) throw new Error(built.problems.map((p) => p.message).join("\n"));
    const agent = await Agent.build(built.spec, { stateDir: dir });
    await agent.start();
    const port = (agent.sources.get("r1")!.source as AvroSource).port;
    const sink = agent.sinks.get("k1") as NullSink;
    const edgeConf = join(dir, "edge.conf");
    await writeFile(edgeConf, [
      "edge.sources = s1", "edge.channels = c1", "edge.sinks = k1",
      "edge.sources.s1.type = seq", `edge.sources.s1.totalEvents = ${EVENTS}`, `edge.sources.s1.batchSize = ${BATCH}`,
      `edge.sources.s1.bodySize = ${BODY}`, "edge.sources.s1.channels = c1",
      "edge.channels.c1.type = memory", "edge.channels.c1.capacity = 20000", `edge.channels.c1.transactionCapacity = ${BATCH}`,
      "edge.sinks.k1.type = avro", "edge.sinks.k1.hostname = 127.0.0.1", `edge.sinks.k1.port = ${port}`,
      `edge.sinks.k1.batch-size = ${BATCH}`, `edge.sinks.k1.compression-type = ${compression}`, "edge.sinks.k1.channel = c1",
    ].join("\n") + "\n");
    const edge = Bun.spawn([join(ROOT, "node_modules/.bin/bun"), join(ROOT, "main.ts"), "agent", "-f", edgeConf, "-n", "edge", "--state-dir", dir, "--log-level", "warn"], {
      stdout: "ignore", stderr: "inherit",
    });
    let first = 0;
    const deadline = Date.now() + 300_000;
    while (sink.counters.EventDrainSuccessCount < EVENTS && Date.now() < deadline) {
      if (!first && sink.counters.EventDrainSuccessCount > 0) first = performance.now();
      await Bun.sleep(first ? 5 : 1);
    }
    const secs = (performance.now() - first) / 1000;
    const got = sink.counters.EventDrainSuccessCount;
    edge.kill(9);
    await edge.exited;
    await agent.stop(0);
    const mib = (got * BODY) / 1024 / 1024;
    const what = `${compression === "none" ? "plain" : "deflate"}, ${BODY} B events, batch ${BATCH}`;
    console.log(JSON.stringify({ bench: "avro", metric: `MiB/s (${what})`, value: Number((mib / secs).toFixed(1)), goal: compression === "none" ? ">= 100" : undefined }));
    console.log(JSON.stringify({ bench: "avro", metric: `events/s (${what})`, value: Math.round(got / secs) }));
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
}

await run("none");
await run("deflate");
