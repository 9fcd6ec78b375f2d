// Benchmark: TAILDIR → memory → avro sink ══TCP══▶ sluice avro source → memory → null, 200-byte lines, batch 5000,
// plain. The edge runs `dist/sluice agent --once` (timed from spawn to exit: everything it read was answered OK by
// the source, which put it into its channel); the aggregator runs in this process and its null sink's count is
// checked against the line count. CPU s and peak RSS (VmHWM) are the edge's.
// Run: node_modules/.bin/bun bench/avro-tail.ts [MiB]   (default $BENCH_MIB, else 1024)

import { writeFile } from "node:fs/promises";
import { join } from "node:path";
import { buildAgentSpec } from "../src/config/load.ts";
import { Agent } from "../src/core/agent.ts";
import type { NullSink } from "../src/sinks/null.ts";
import type { AvroSource } from "../src/sources/avro.ts";
import { configureLogging } from "../src/util/log.ts";
import { ensureBinary, report, withTempDir } from "./ops-common.ts";
import { benchMiB, cpuSeconds, lineCount, peakRss, writeLinesFile } from "./lines-common.ts";

const MIB = benchMiB(1024);
const LINES = lineCount(MIB);
const BATCH = 5000;
const figure = (x: number) => Math.round(x * 10) / 10;

configureLogging({ level: "warn" });
const bin = await ensureBinary();
await withTempDir("sluice-bench-avro-tail-", async (dir) => {
  const file = join(dir, "app.log");
  const bytes = await writeLinesFile(file, LINES);
  const mib = bytes / 1024 / 1024;
  const built = buildAgentSpec([
    "agg.sources = r1", "agg.channels = c1", "agg.sinks = k1",
    "agg.sources.r1.type = avro", "agg.sources.r1.bind = 127.0.0.1", "agg.sources.r1.port = 0", "agg.sources.r1.channels = c1",
    "agg.channels.c1.type = memory", "agg.channels.c1.capacity = 50000", `agg.channels.c1.transactionCapacity = ${BATCH}`,
    "agg.sinks.k1.type = null", `agg.sinks.k1.batchSize = ${BATCH}`, "agg.sinks.k1.channel = c1",
  ].join("\n"), "bench-agg.conf", "agg");
  if (!built.spec) throw new Error(built.problems.map((p) => p.message).join("\n"));
  const agg = await Agent.build(built.spec, { stateDir: join(dir, "agg") });
  await agg.start();
  const port = (agg.sources.get("r1")!.source as AvroSource).port;
  const sink = agg.sinks.get("k1") as NullSink;
  const conf = join(dir, "edge.conf");
  await writeFile(conf, [
    "a1.sources = r1", "a1.channels = c1", "a1.sinks = k1",
    "a1.sources.r1.type = TAILDIR", "a1.sources.r1.channels = c1", "a1.sources.r1.filegroups = f1",
    `a1.sources.r1.filegroups.f1 = ${dir}/app[.]log`, "a1.sources.r1.batchSize = 1000",
    "a1.channels.c1.type = memory", "a1.channels.c1.capacity = 20000", `a1.channels.c1.transactionCapacity = ${BATCH}`,
    "a1.sinks.k1.type = avro", "a1.sinks.k1.channel = c1", "a1.sinks.k1.hostname = 127.0.0.1", `a1.sinks.k1.port = ${port}`,
    `a1.sinks.k1.batch-size = ${BATCH}`,
  ].join("\n") + "\n");
  const t0 = performance.now();
  const aggCpu0 = process.cpuUsage();
  const p = Bun.spawn([bin, "agent", "--once", "-f", conf, "--state-dir", join(dir, "edge"), "--max-runtime", "20m", "--log-level", "warn"], { stdout: "ignore", stderr: "inherit" });
  let peak = 0;
  let cpu = 0;
  const sampler = setInterval(async () => {
    peak = Math.max(peak, await peakRss(p.pid));
    cpu = Math.max(cpu, (await cpuSeconds(p.pid)) ?? 0);
  }, 20);
  const code = await p.exited;
  clearInterval(sampler);
  const secs = (performance.now() - t0) / 1000;
  const ru = p.resourceUsage();
  if (ru) cpu = Math.max(cpu, Number(ru.cpuTime.user + ru.cpuTime.system) / 1e6);
  // Every batch the edge committed was put by the source; the null sink may still be draining the last ones.
  const deadline = Date.now() + 30_000;
  while (sink.counters.EventDrainSuccessCount < LINES && Date.now() < deadline) await Bun.sleep(5);
  const got = sink.counters.EventDrainSuccessCount;
  const aggCpu = process.cpuUsage(aggCpu0);
  await agg.stop(0);
  if (code !== 0 || got !== LINES) {
    console.error(`avro-tail: the edge exited ${code}; the aggregator drained ${got} of ${LINES} events`);
    process.exitCode = 1;
    return; // withTempDir removes the input
  }
  report("avro-tail", `tail → memory → avro sink → avro source → null (plain, batch ${BATCH}), ${MIB} MiB of 200 B lines: MiB/s`, figure(mib / secs), ">= 300");
  report("avro-tail", "edge agent CPU s per GiB", figure((cpu / mib) * 1024));
  report("avro-tail", "edge agent peak RSS MiB (VmHWM)", Math.round(peak / 1024 / 1024));
  // The receiving side's share (this process: avro source, channel, null sink, and the sampler).
  report("avro-tail", "aggregator CPU s per GiB", figure(((aggCpu.user + aggCpu.system) / 1e6 / mib) * 1024));
});
