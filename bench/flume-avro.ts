// Benchmark of the Flume-compatibility paths: (1) avro sink → avro source over TLS + deflate, in Flume 1.10+'s
// layering (TLS inside the zlib stream) and Flume 1.9's (deflate inside TLS), both in this process; (2) spooldir
// `deserializer = AVRO` reading one deflate container (python3-avro writes it) → memory → null, with the longest
// event-loop stall seen while it runs; (3) file_roll `sink.serializer = avro_event` (deflate) from a seq source.
// Run: node_modules/.bin/bun bench/flume-avro.ts [events]   (default 300,000); one JSON line per figure

import { mkdtemp, rm, stat } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join, resolve } from "node:path";
import { buildAgentSpec } from "../src/config/load.ts";
import { Agent } from "../src/core/agent.ts";
import type { FileRollSink } from "../src/sinks/file-roll.ts";
import type { NullSink } from "../src/sinks/null.ts";
import type { AvroSource } from "../src/sources/avro.ts";
import { configureLogging } from "../src/util/log.ts";

const ROOT = resolve(import.meta.dir, "..");
const EVENTS = Number(process.argv[2] ?? 300_000);
const BODY = 200;
const BATCH = 1000;
configureLogging({ level: "warn" });

async function agentOf(lines: string[], dir: string, name: string): Promise<Agent> {
  const built = buildAgentSpec(lines.join("\n") + "\n", `${name}.conf`, name);
  if (!built.spec) throw new Error(built.problems.map((p) => `${p.key}: ${p.message}`).join("\n"));
  const agent = await Agent.build(built.spec, { stateDir: await mkdtemp(join(dir, "state-")) });
  await agent.start();
  return agent;
}

/** Polls `done` every 5 ms; also measures the longest gap between ticks (an event-loop stall). */
async function measure(what: string, done: () => boolean, started: () => boolean): Promise<{ secs: number; maxGapMs: number }> {
  let first = 0;
  let last = performance.now();
  let maxGap = 0;
  const deadline = Date.now() + 300_000;
  while (!done() && Date.now() < deadline) {
    await Bun.sleep(5);
    const now = performance.now();
    if (first) maxGap = Math.max(maxGap, now - last - 5);
    last = now;
    if (!first && started()) first = now;
  }
  if (!done()) {
    // A lost event is a failure of the run, not a slow figure.
    console.error(`flume-avro ${what}: not every one of ${EVENTS} events arrived within 300 s`);
    process.exit(1);
  }
  return { secs: (performance.now() - first) / 1000, maxGapMs: maxGap };
}

const emit = (metric: string, value: number, goal?: string) => console.log(JSON.stringify({ bench: "flume-avro", metric, value, goal }));

async function layering(dir: string, layer: "outside-tls" | "inside-tls"): Promise<void> {
  const cert = join(dir, "cert.pem");
  const key = join(dir, "key.pem");
  Bun.spawnSync(["openssl", "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-keyout", key, "-out", cert, "-days", "2", "-subj", "/CN=localhost", "-addext", "subjectAltName=IP:127.0.0.1"]);
  const agg = await agentOf([
    "agg.sources = r1", "agg.channels = c1", "agg.sinks = k1",
    "agg.sources.r1.type = avro", "agg.sources.r1.bind = 127.0.0.1", "agg.sources.r1.port = 0", "agg.sources.r1.channels = c1",
    "agg.sources.r1.compression-type = deflate", "agg.sources.r1.ssl = true", `agg.sources.r1.ssl-cert = ${cert}`, `agg.sources.r1.ssl-key = ${key}`,
    "agg.channels.c1.type = memory", "agg.channels.c1.capacity = 20000", `agg.channels.c1.transactionCapacity = ${BATCH}`,
    "agg.sinks.k1.type = null", `agg.sinks.k1.batchSize = ${BATCH}`, "agg.sinks.k1.channel = c1",
  ], dir, "agg");
  const port = (agg.sources.get("r1")!.source as AvroSource).port;
  const edge = await agentOf([
    "edge.sources = s1", "edge.channels = c1", "edge.sinks = k1",
    "edge.sources.s1.type = seq", `edge.sources.s1.totalEvents = ${EVENTS}`, `edge.sources.s1.batchSize = ${BATCH}`, `edge.sources.s1.bodySize = ${BODY}`,
    "edge.sources.s1.channels = c1", "edge.channels.c1.type = memory", "edge.channels.c1.capacity = 20000", `edge.channels.c1.transactionCapacity = ${BATCH}`,
    "edge.sinks.k1.type = avro", "edge.sinks.k1.hostname = 127.0.0.1", `edge.sinks.k1.port = ${port}`, `edge.sinks.k1.batch-size = ${BATCH}`,
    "edge.sinks.k1.compression-type = deflate", "edge.sinks.k1.ssl = true", `edge.sinks.k1.truststore = ${cert}`, `edge.sinks.k1.compression-layer = ${layer}`,
    "edge.sinks.k1.channel = c1",
  ], dir, "edge");
  const sink = agg.sinks.get("k1") as NullSink;
  const { secs } = await measure(`ssl + deflate ${layer}`, () => sink.counters.EventDrainSuccessCount >= EVENTS, () => sink.counters.EventDrainSuccessCount > 0);
  await edge.stop(0);
  await agg.stop(0);
  emit(`ssl + deflate ${layer} (${layer === "outside-tls" ? "Flume 1.10+" : "Flume 1.9"}), one process, ${BODY} B, batch ${BATCH}: MiB/s`, Number(((EVENTS * BODY) / 1048576 / secs).toFixed(1)));
}

async function spoolAvro(dir: string): Promise<void> {
  // The container is written by Apache Avro's Python library (Debian python3-avro, which `make test` installs).
  if (Bun.spawnSync(["/usr/bin/python3", "-c", "import avro"], { stderr: "ignore" }).exitCode !== 0) {
    console.log(JSON.stringify({ bench: "flume-avro", metric: "spooldir AVRO: skipped, python3-avro is not installed (make sysdeps installs it)", value: "-" }));
    return;
  }
  const spool = join(dir, "spool");
  const py = Bun.spawnSync(["/usr/bin/python3", join(ROOT, "tests/avro/avro_files.py"), "write", join(dir, "big.avro"), "--codec", "deflate", "--count", String(EVENTS)]);
  if (py.exitCode !== 0) throw new Error(py.stderr.toString());
  Bun.spawnSync(["mkdir", "-p", spool]);
  const size = (await stat(join(dir, "big.avro"))).size;
  const agent = await agentOf([
    "a.sources = r1", "a.channels = c1", "a.sinks = k1",
    "a.sources.r1.type = spooldir", `a.sources.r1.spoolDir = ${spool}`, "a.sources.r1.deserializer = AVRO", `a.sources.r1.batchSize = ${BATCH}`,
    "a.sources.r1.pollDelay = 20", "a.sources.r1.channels = c1",
    "a.channels.c1.type = memory", "a.channels.c1.capacity = 20000", `a.channels.c1.transactionCapacity = ${BATCH}`,
    "a.sinks.k1.type = null", `a.sinks.k1.batchSize = ${BATCH}`, "a.sinks.k1.channel = c1",
  ], dir, "a");
  Bun.spawnSync(["mv", join(dir, "big.avro"), join(spool, "big.avro")]);
  const sink = agent.sinks.get("k1") as NullSink;
  const { secs, maxGapMs } = await measure("spooldir AVRO", () => sink.counters.EventDrainSuccessCount >= EVENTS, () => sink.counters.EventDrainSuccessCount > 0);
  await agent.stop(0);
  emit(`spooldir AVRO, ${EVENTS} records in one deflate container (${(size / 1048576).toFixed(1)} MiB): records/s`, Math.round(EVENTS / secs));
  emit("spooldir AVRO: longest event-loop stall while ingesting, ms", Math.round(maxGapMs), "<= 50");
}

async function fileRollAvro(dir: string): Promise<void> {
  const out = join(dir, "roll");
  const agent = await agentOf([
    "a.sources = s1", "a.channels = c1", "a.sinks = k1",
    "a.sources.s1.type = seq", `a.sources.s1.totalEvents = ${EVENTS}`, `a.sources.s1.batchSize = ${BATCH}`, `a.sources.s1.bodySize = ${BODY}`, "a.sources.s1.channels = c1",
    "a.channels.c1.type = memory", "a.channels.c1.capacity = 20000", `a.channels.c1.transactionCapacity = ${BATCH}`,
    "a.sinks.k1.type = file_roll", `a.sinks.k1.sink.directory = ${out}`, "a.sinks.k1.sink.rollInterval = 0", `a.sinks.k1.sink.batchSize = ${BATCH}`,
    "a.sinks.k1.sink.serializer = avro_event", "a.sinks.k1.sink.serializer.compressionCodec = deflate", "a.sinks.k1.channel = c1",
  ], dir, "a");
  const sink = agent.sinks.get("k1") as FileRollSink;
  const { secs } = await measure("file_roll avro_event", () => sink.counters.EventDrainSuccessCount >= EVENTS, () => sink.counters.EventDrainSuccessCount > 0);
  await agent.stop(0);
  emit(`file_roll avro_event deflate, ${BODY} B, batch ${BATCH} (fsync per batch): MiB/s of bodies`, Number(((EVENTS * BODY) / 1048576 / secs).toFixed(1)));
}

const dir = await mkdtemp(join(tmpdir(), "sluice-bench-flume-avro-"));
try {
  await layering(dir, "outside-tls");
  await layering(dir, "inside-tls");
  await spoolAvro(dir);
  await fileRollAvro(dir);
} finally {
  await rm(dir, { recursive: true, force: true });
}
