// Benchmark: memory while a backlog builds up with the sink down (issue 10: memory bounded by configuration, not by
// the backlog). Each case runs seq → channel → file_roll whose directory path is a plain file (every delivery fails
// and rolls back), in a process of its own so its peak RSS (VmHWM) is its own; the figure is read once the whole
// backlog is queued and has sat for a moment (the sink keeps retrying meanwhile).
//   file-7b:    file channel, 4 M events of 7 B queued
//   file-200b:  file channel, 3 M events of 200 B queued
//   spill-200b: spillablememory (memoryCapacity 10 000), 3 M events of 200 B, almost all spilled to its overflow
// Goal: peak RSS ≤ 100 MiB each. Run: node_modules/.bin/bun bench/backlog.ts [scale]   (scale 0.1 = a tenth of the events)

import { readFileSync } from "node:fs";
import { mkdtemp, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { report } from "./ops-common.ts";

const BATCH = 1000;
/** How long the full backlog sits before the figure is read: the sink's retries run meanwhile. */
const SETTLE_MS = 3000;

interface Case {
  name: string;
  label: string;
  events: number;
  bodySize: number;
  channel: string[];
}

const CASES: Case[] = [
  { name: "file-7b", label: "file channel", events: 4_000_000, bodySize: 0, channel: ["type = file", "capacity = 10000000"] },
  { name: "file-200b", label: "file channel", events: 3_000_000, bodySize: 200, channel: ["type = file", "capacity = 10000000"] },
  {
    name: "spill-200b",
    label: "spillablememory (memoryCapacity 10 000)",
    events: 3_000_000,
    bodySize: 200,
    channel: ["type = spillablememory", "memoryCapacity = 10000", "overflowTimeout = 0", "byteCapacity = 0"],
  },
];

function vmHwmBytes(): number {
  const text = readFileSync("/proc/self/status", "utf8");
  return Number(/VmHWM:\s+(\d+) kB/.exec(text)?.[1] ?? NaN) * 1024;
}

/** Child: runs one case in this process and prints its figures as one JSON line. */
async function child(c: Case): Promise<void> {
  const { buildAgentSpec } = await import("../src/config/load.ts");
  const { Agent } = await import("../src/core/agent.ts");
  const { configureLogging } = await import("../src/util/log.ts");
  configureLogging({ level: "error" });
  const state = await mkdtemp(join(tmpdir(), "sluice-bench-backlog-"));
  const out = join(state, "out");
  await writeFile(out, "a plain file: file_roll cannot write here");
  const conf = [
    "a1.sources = r1", "a1.channels = c1", "a1.sinks = k1",
    "a1.sources.r1.type = seq", `a1.sources.r1.totalEvents = ${c.events}`, `a1.sources.r1.batchSize = ${BATCH}`,
    `a1.sources.r1.bodySize = ${c.bodySize}`, "a1.sources.r1.channels = c1",
    `a1.channels.c1.transactionCapacity = ${BATCH}`, "a1.channels.c1.minimumRequiredSpace = 0",
    ...c.channel.map((l) => `a1.channels.c1.${l}`),
    "a1.sinks.k1.channel = c1", "a1.sinks.k1.type = file_roll", `a1.sinks.k1.sink.directory = ${out}`,
    "a1.sinks.k1.sink.rollInterval = 0", `a1.sinks.k1.sink.batchSize = ${BATCH}`,
  ].join("\n");
  const { spec, problems } = buildAgentSpec(conf, "backlog.conf");
  if (!spec) throw new Error(problems.map((p) => p.message).join("\n"));
  const agent = await Agent.build(spec, { stateDir: state });
  const t0 = performance.now();
  await agent.start();
  const src = agent.sources.get("r1")!.source;
  const ch = agent.channels.get("c1")!;
  const deadline = Date.now() + 10 * 60_000;
  while (src.counters.EventAcceptedCount < c.events && Date.now() < deadline) await Bun.sleep(50);
  const fillSecs = (performance.now() - t0) / 1000;
  await Bun.sleep(SETTLE_MS);
  const queued = ch.size();
  const hwm = vmHwmBytes();
  await agent.stop(0);
  await rm(state, { recursive: true, force: true });
  console.log(JSON.stringify({ queued, hwm, fillSecs }));
}

async function parent(scale: number): Promise<void> {
  for (const c of CASES) {
    const events = Math.round(c.events * scale);
    const p = Bun.spawn([process.execPath, import.meta.path, "--child", c.name, String(events)], { stdout: "pipe", stderr: "inherit" });
    const text = await new Response(p.stdout).text();
    if ((await p.exited) !== 0) throw new Error(`case ${c.name} failed`);
    const r = JSON.parse(text.trim().split("\n").pop()!) as { queued: number; hwm: number; fillSecs: number };
    const what = `${(events / 1e6).toFixed(events % 1e6 === 0 ? 0 : 1)} M × ${c.bodySize === 0 ? 7 : c.bodySize} B`;
    if (r.queued !== events) console.log(`backlog ${c.name}: only ${r.queued} of ${events} events queued`);
    report(`backlog, sink down: seq → ${c.label}, ${what} queued`, "peak RSS MiB (VmHWM)", Math.round(r.hwm / 1048576), "<= 100");
  }
}

if (process.argv[2] === "--child") {
  const c = CASES.find((k) => k.name === process.argv[3])!;
  await child({ ...c, events: Number(process.argv[4]) });
} else {
  await parent(Number(process.argv[2] ?? 1));
}
