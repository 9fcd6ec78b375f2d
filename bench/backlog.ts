// Benchmark: the agent's memory while a backlog builds up with the sink down (issue 10: memory bounded by
// configuration, not by the backlog). Each case runs `dist/sluice agent` with seq → channel → file_roll whose
// directory path is a plain file (every delivery fails and rolls back, the sink retries with backoff), polls
// `sluice status --json` (another process) until the whole backlog is queued, lets it sit SETTLE_MS, and reads the
// agent's peak RSS (VmHWM, /proc/<pid>/status).
//   file-7b:    file channel, 4 M events of 7 B queued
//   file-200b:  file channel, 3 M events of 200 B queued
//   spill-200b: spillablememory (memoryCapacity 10 000), 3 M events of 200 B, almost all spilled to its overflow
//   outage:     TAILDIR → spillablememory (default keys) → http sink whose receiver is down, 5 000 lines/s of 200 B
//               appended for 60 s (goal ≤ 80 MiB)
// Goal: peak RSS ≤ 100 MiB each, whatever the backlog; a control run (the same producer, no backlog) shows the floor. Default keys except capacity (the backlog must fit),
// checkpointInterval 1 s (so each status poll replays little WAL) and minimumRequiredSpace 0.
// Run: node_modules/.bin/bun bench/backlog.ts [scale]   (scale 0.1: a tenth of the events)

import { mkdir, open, readFile, writeFile } from "node:fs/promises";
import { join } from "node:path";
import { ensureBinary, report, withTempDir } from "./ops-common.ts";

const BATCH = 1000;
/** How long the full backlog sits before the figure is read: the sink's retries run meanwhile. */
const SETTLE_MS = 3000;
const POLL_MS = 1000;
const MAX_WAIT_MS = 10 * 60_000;

interface Case {
  name: string;
  label: string;
  events: number;
  /** seq's bodySize: 0 is the bare counter (up to 7 digits here). */
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

async function vmHwm(pid: number): Promise<number> {
  const text = await readFile(`/proc/${pid}/status`, "utf8").catch(() => "");
  return Number(/VmHWM:\s+(\d+) kB/.exec(text)?.[1] ?? NaN) * 1024;
}

/** Events the channel holds on disk, per `sluice status --json` (memory-held events of a spillable channel excluded). */
async function queuedOnDisk(bin: string, conf: string, state: string): Promise<number> {
  const p = Bun.spawn([bin, "status", "-f", conf, "-n", "a1", "--state-dir", state, "--json"], { stdout: "pipe", stderr: "ignore" });
  const text = await new Response(p.stdout).text();
  await p.exited;
  try {
    const s = JSON.parse(text) as { components: { kind: string; report?: { summary?: { events?: number } } }[] };
    return s.components.find((c) => c.kind === "channel")?.report?.summary?.events ?? 0;
  } catch {
    return 0;
  }
}

async function runCase(bin: string, c: Case, events: number): Promise<{ hwm: number; queued: number; fillSecs: number }> {
  return withTempDir("sluice-bench-backlog-", async (dir) => {
    const out = join(dir, "out");
    await writeFile(out, "a plain file: file_roll cannot write here");
    const conf = join(dir, "backlog.conf");
    const state = join(dir, "state");
    await writeFile(conf, [
      "a1.sources = r1", "a1.channels = c1", "a1.sinks = k1",
      "a1.sources.r1.type = seq", `a1.sources.r1.totalEvents = ${events}`, `a1.sources.r1.batchSize = ${BATCH}`,
      `a1.sources.r1.bodySize = ${c.bodySize}`, "a1.sources.r1.channels = c1",
      `a1.channels.c1.transactionCapacity = ${BATCH}`, "a1.channels.c1.minimumRequiredSpace = 0", "a1.channels.c1.checkpointInterval = 1000",
      ...c.channel.map((l) => `a1.channels.c1.${l}`),
      "a1.sinks.k1.channel = c1", "a1.sinks.k1.type = file_roll", `a1.sinks.k1.sink.directory = ${out}`,
      "a1.sinks.k1.sink.rollInterval = 0", `a1.sinks.k1.sink.batchSize = ${BATCH}`,
    ].join("\n") + "\n");
    const t0 = performance.now();
    const agent = Bun.spawn([bin, "agent", "-f", conf, "-n", "a1", "--state-dir", state, "--log-level", "error"], { stdout: "ignore", stderr: "inherit" });
    try {
      // The spillable channel keeps up to memoryCapacity in memory: what is on disk is enough to know seq is done.
      const want = c.channel.includes("type = spillablememory") ? events - 10_000 : events;
      let queued = 0;
      const deadline = Date.now() + MAX_WAIT_MS;
      while (queued < want && Date.now() < deadline && agent.exitCode === null) {
        await Bun.sleep(POLL_MS);
        queued = await queuedOnDisk(bin, conf, state);
      }
      const fillSecs = (performance.now() - t0) / 1000;
      await Bun.sleep(SETTLE_MS);
      const hwm = await vmHwm(agent.pid);
      return { hwm, queued, fillSecs };
    } finally {
      agent.kill("SIGKILL");
      await agent.exited;
    }
  });
}

/**
 * The control: the same producer with no backlog at all — seq → memory (capacity 10 000) → null, `--once`, peak RSS
 * from wait4's rusage. What the cases above hold beyond this is what the backlog costs.
 */
async function control(bin: string, events: number): Promise<number> {
  return withTempDir("sluice-bench-backlog-", async (dir) => {
    const conf = join(dir, "control.conf");
    await writeFile(conf, [
      "a1.sources = r1", "a1.channels = c1", "a1.sinks = k1",
      "a1.sources.r1.type = seq", `a1.sources.r1.totalEvents = ${events}`, `a1.sources.r1.batchSize = ${BATCH}`,
      "a1.sources.r1.bodySize = 200", "a1.sources.r1.channels = c1",
      "a1.channels.c1.type = memory", "a1.channels.c1.capacity = 10000", `a1.channels.c1.transactionCapacity = ${BATCH}`,
      "a1.sinks.k1.channel = c1", "a1.sinks.k1.type = null", `a1.sinks.k1.batchSize = ${BATCH}`,
    ].join("\n") + "\n");
    const p = Bun.spawn([bin, "agent", "-f", conf, "-n", "a1", "--state-dir", join(dir, "state"), "--once", "--log-level", "error"], { stdout: "ignore", stderr: "inherit" });
    if ((await p.exited) !== 0) throw new Error(`control run exited ${p.exitCode}`);
    return p.resourceUsage()?.maxRSS ?? NaN;
  });
}

/** The outage case: lines appended at OUTAGE_LINES_PER_S for `secs` while the http sink's receiver is down. */
const OUTAGE_LINES_PER_S = 5000;
const OUTAGE_SECS = 60;
const LINE = "x".repeat(199) + "\n";

async function outage(bin: string, secs: number): Promise<{ hwm: number; lines: number }> {
  return withTempDir("sluice-bench-outage-", async (dir) => {
    const logs = join(dir, "logs");
    await mkdir(logs);
    const log = join(logs, "app.log");
    await writeFile(log, "");
    // A port nobody listens on: every delivery is refused, and the sink backs off and retries.
    const probe = Bun.listen({ hostname: "127.0.0.1", port: 0, socket: { data() {} } });
    const port = probe.port;
    probe.stop(true);
    const conf = join(dir, "outage.conf");
    await writeFile(conf, [
      "a1.sources = r1", "a1.channels = c1", "a1.sinks = k1",
      "a1.sources.r1.type = TAILDIR", "a1.sources.r1.filegroups = f1", `a1.sources.r1.filegroups.f1 = ${logs}/app\\.log`,
      "a1.sources.r1.channels = c1",
      "a1.channels.c1.type = spillablememory", "a1.channels.c1.minimumRequiredSpace = 0",
      "a1.sinks.k1.type = http", "a1.sinks.k1.channel = c1", `a1.sinks.k1.endpoint = http://127.0.0.1:${port}/`,
    ].join("\n") + "\n");
    const agent = Bun.spawn([bin, "agent", "-f", conf, "-n", "a1", "--state-dir", join(dir, "state"), "--log-level", "error"], { stdout: "ignore", stderr: "ignore" });
    try {
      const fh = await open(log, "a");
      const tick = 100;
      const chunk = LINE.repeat((OUTAGE_LINES_PER_S * tick) / 1000);
      let lines = 0;
      const t0 = performance.now();
      for (let i = 1; i * tick <= secs * 1000; i++) {
        await fh.write(chunk);
        lines += (OUTAGE_LINES_PER_S * tick) / 1000;
        const wait = t0 + i * tick - performance.now();
        if (wait > 0) await Bun.sleep(wait);
      }
      await fh.close();
      await Bun.sleep(1000);
      return { hwm: await vmHwm(agent.pid), lines };
    } finally {
      agent.kill("SIGKILL");
      await agent.exited;
    }
  });
}

const bin = await ensureBinary();
const scale = Number(process.argv[2] ?? 1);
const controlEvents = Math.round(3_000_000 * scale);
report(`backlog control, no backlog: seq → memory → null, ${Number((controlEvents / 1e6).toFixed(2))} M × 200 B`, "agent peak RSS MiB (maxrss)", Math.round((await control(bin, controlEvents)) / 1048576));
for (const c of CASES) {
  const events = Math.round(c.events * scale);
  const r = await runCase(bin, c, events);
  const what = `${Number((events / 1e6).toFixed(2))} M × ${c.bodySize === 0 ? 7 : c.bodySize} B`;
  if (r.queued < events - 10_000) console.log(`backlog ${c.name}: only ${r.queued} of ${events} events queued after ${Math.round(r.fillSecs)} s`);
  report(`backlog, sink down: seq → ${c.label}, ${what} queued`, "agent peak RSS MiB (VmHWM)", Math.round(r.hwm / 1048576), "<= 100");
}

const secs = Math.max(1, Math.round(OUTAGE_SECS * scale));
const o = await outage(bin, secs);
report(`backlog, receiver down ${secs} s: TAILDIR → spillablememory → http, ${OUTAGE_LINES_PER_S} lines/s of 200 B (${o.lines} lines)`, "agent peak RSS MiB (VmHWM)", Math.round(o.hwm / 1048576), "<= 80");
