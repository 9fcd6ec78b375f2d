// Benchmark: seq → memory → http sink ══HTTP══▶ http source → memory → null, 200-byte events, batch 1000, ndjson,
// gzip off and on. The edge runs as its own process (`sluice agent`), the aggregator in this process; MiB/s counts
// event bodies from the first to the last event the aggregator's null sink took.
// Run: node_modules/.bin/bun bench/http.ts [events]  (default 1,000,000 per run)

import { mkdtemp, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join, resolve } from "node:path";
import { buildAgentSpec } from "../src/config/load.ts";
import { Agent } from "../src/core/agent.ts";
import type { NullSink } from "../src/sinks/null.ts";
import type { HttpSource } from "../src/sources/http/index.ts";
import { configureLogging } from "../src/util/log.ts";

const ROOT = resolve(import.meta.dir, "..");
const EVENTS = Number(process.argv[2] ?? 1_000_000);
const BODY = 200;
const BATCH = 1000;

configureLogging({ level: "warn" });

async function run(format: "ndjson" | "json" | "avro", compression: "none" | "gzip"): Promise<void> {
  const dir = await mkdtemp(join(tmpdir(), "sluice-bench-http-"));
  try {
    const agg = [
      "agg.sources = r1", "agg.channels = c1", "agg.sinks = k1",
      "agg.sources.r1.type = http", "agg.sources.r1.port = 0", "agg.sources.r1.channels = c1",
      "agg.channels.c1.type = memory", "agg.channels.c1.capacity = 20000", `agg.channels.c1.transactionCapacity = ${BATCH}`,
      "agg.sinks.k1.type = null", `agg.sinks.k1.batchSize = ${BATCH}`, "agg.sinks.k1.channel = c1",
    ].join("\n");
    const built = buildAgentSpec(agg, "bench-agg.conf", "agg");
    if (!built.spec) throw new Error(built.problems.map((p) => p.message).join("\n"));
    const agent = await Agent.build(built.spec, { stateDir: dir });
    await agent.start();
    const port = (agent.sources.get("r1")!.source as HttpSource).port;
    const sink = agent.sinks.get("k1") as NullSink;
    const edgeConf = join(dir, "edge.conf");
    await writeFile(edgeConf, [
      "edge.sources = s1", "edge.channels = c1", "edge.sinks = k1",
      "edge.sources.s1.type = seq", `edge.sources.s1.totalEvents = ${EVENTS}`, `edge.sources.s1.batchSize = ${BATCH}`,
      `edge.sources.s1.bodySize = ${BODY}`, "edge.sources.s1.channels = c1",
      "edge.channels.c1.type = memory", "edge.channels.c1.capacity = 20000", `edge.channels.c1.transactionCapacity = ${BATCH}`,
      "edge.sinks.k1.type = http", `edge.sinks.k1.endpoint = http://127.0.0.1:${port}/`, `edge.sinks.k1.batchSize = ${BATCH}`,
      `edge.sinks.k1.format = ${format}`, `edge.sinks.k1.compression = ${compression}`, "edge.sinks.k1.compression-level = 1", "edge.sinks.k1.channel = c1",
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
    // One JSON line per figure, the shape bench/run.ts tabulates.
    console.log(JSON.stringify({
      bench: "http",
      metric: `seq → http sink (${format}, gzip ${compression === "gzip" ? "on" : "off"}) → http source → null, ${got} × ${BODY} B, batch ${BATCH}`,
      value: `${(mib / secs).toFixed(1)} MiB/s (${Math.round(got / secs)} events/s)`,
      goal: format === "ndjson" && compression === "none" ? "≥ 80 MiB/s" : "",
    }));
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
}

await run("ndjson", "none");
await run("ndjson", "gzip");
await run("avro", "none");
