// Benchmark: TAILDIR → {memory, spillablememory, file} channel → http sink (ndjson, batch 5000) → a receiver in another
// process that checks every line (count, sequence bitmap, content: bench/lines-common.ts), and in the same run a plain
// sender POSTing the same lines in the same batch size to a fresh receiver: the ceiling of this path on this machine.
// The agent runs `dist/sluice agent --once`, timed from spawn to exit (start-up and the final position write
// included); CPU s is its utime + stime from /proc just before exit, peak RSS its VmHWM (sampled every 20 ms).
// Run: node_modules/.bin/bun bench/http-tail.ts [MiB]   (default $BENCH_MIB, else 1024); $CHANNELS picks channel types,
// $HTTP_PARALLEL sets the sink's parallelRequests, $TAIL_BATCH the source's batchSize, $SLUICE_BIN another build.

import { writeFile } from "node:fs/promises";
import { join } from "node:path";
import { ensureBinary, report, ROOT, withTempDir } from "./ops-common.ts";
import { benchMiB, cpuSeconds, lineCount, peakRss, writeLinesFile } from "./lines-common.ts";

const MIB = benchMiB(1024);
const LINES = lineCount(MIB);
const BATCH = 5000;
/** Lines per TAILDIR put ($TAIL_BATCH, default 1000 as in bench/taildir.ts; the file channel fsyncs once per put). */
const SOURCE_BATCH = Number(process.env.TAIL_BATCH ?? 1000);
/** The sink's parallel requests ($HTTP_PARALLEL, default the sink's own default). */
const PARALLEL = process.env.HTTP_PARALLEL;
const BUN = join(ROOT, "node_modules/.bin/bun");
/** Channel types to run ($CHANNELS, comma-separated; default all three). */
const CHANNELS = (process.env.CHANNELS ?? "memory,spillablememory,file").split(",").map((c) => c.trim());

interface Receiver {
  url: string;
  stats(): Promise<{ requests: number; distinct: number; duplicates: number; bad: number; firstBad: string }>;
  stop(): Promise<void>;
}

async function receiver(): Promise<Receiver> {
  const p = Bun.spawn([BUN, join(ROOT, "bench/_http-receiver.ts"), String(LINES)], { stdout: "pipe", stderr: "inherit" });
  const reader = p.stdout.getReader();
  let text = "";
  while (!text.includes("\n")) {
    const { value, done } = await reader.read();
    if (done) throw new Error("the receiver exited before listening");
    text += new TextDecoder().decode(value);
  }
  reader.releaseLock();
  const url = `http://127.0.0.1:${(JSON.parse(text) as { port: number }).port}/`;
  return {
    url,
    stats: async () => (await (await fetch(url)).json()) as Awaited<ReturnType<Receiver["stats"]>>,
    stop: async () => {
      p.kill(9);
      await p.exited;
    },
  };
}

function channelConf(type: string, dir: string): string[] {
  const c = "a1.channels.c1";
  switch (type) {
    case "memory":
      return [`${c}.type = memory`, `${c}.capacity = 20000`, `${c}.transactionCapacity = ${BATCH}`];
    case "spillablememory":
      return [`${c}.type = SPILLABLEMEMORY`, `${c}.memoryCapacity = 20000`, `${c}.transactionCapacity = ${BATCH}`,
        `${c}.checkpointDir = ${dir}/spill-cp`, `${c}.dataDirs = ${dir}/spill-data`];
    default:
      return [`${c}.type = file`, `${c}.capacity = 1000000`, `${c}.transactionCapacity = ${BATCH}`,
        `${c}.checkpointDir = ${dir}/fc-cp`, `${c}.dataDirs = ${dir}/fc-data`];
  }
}

/** A failed run: its line is printed, the exit code is 1, and withTempDir still removes the input file. */
class BenchFailure extends Error {}

/** Every line exactly once as written, else a BenchFailure (the receiver is stopped first). */
async function verify(what: string, r: Receiver): Promise<{ duplicates: number }> {
  const s = await r.stats();
  await r.stop();
  if (s.distinct !== LINES || s.bad !== 0) {
    throw new BenchFailure(`http-tail ${what}: the receiver got ${s.distinct} of ${LINES} lines, ${s.bad} bad (first: ${s.firstBad})`);
  }
  return { duplicates: s.duplicates };
}

const figure = (x: number) => Math.round(x * 10) / 10;

const bin = await ensureBinary();
await withTempDir("sluice-bench-http-tail-", async (dir) => {
  const file = join(dir, "app.log");
  const bytes = await writeLinesFile(file, LINES);
  const mib = bytes / 1024 / 1024;

  // The ceiling first: the same receiver program, the same lines and batch size, one request at a time (and as many
  // at a time as the sink overlaps, when it does).
  const ceilings = new Map<number, number>();
  for (const inflight of [...new Set([1, Number(PARALLEL ?? 1)])]) {
    const r = await receiver();
    const p = Bun.spawn([BUN, join(ROOT, "bench/_http-sender.ts"), r.url, String(LINES), String(BATCH), String(inflight)], { stdout: "pipe", stderr: "inherit" });
    const out = await new Response(p.stdout).text();
    if ((await p.exited) !== 0) {
      await r.stop();
      throw new BenchFailure("http-tail: the plain sender (bench/_http-sender.ts) failed");
    }
    const { secs, cpu } = JSON.parse(out) as { secs: number; cpu: number };
    await verify("plain sender", r);
    ceilings.set(inflight, mib / secs);
    report("http-tail", `ceiling: plain sender → receiver, ${inflight} request(s) at a time: MiB/s (sender CPU s per GiB)`, figure(mib / secs));
    report("http-tail", `ceiling, ${inflight} at a time: sender CPU s per GiB`, figure((cpu / mib) * 1024));
  }
  const ceiling = ceilings.get(Number(PARALLEL ?? 1))!;

  for (const type of CHANNELS) {
    const r = await receiver();
    const run = join(dir, type);
    const conf = join(dir, `${type}.conf`);
    await writeFile(conf, [
      "a1.sources = r1", "a1.channels = c1", "a1.sinks = k1",
      "a1.sources.r1.type = TAILDIR", "a1.sources.r1.channels = c1", "a1.sources.r1.filegroups = f1",
      `a1.sources.r1.filegroups.f1 = ${dir}/app[.]log`, `a1.sources.r1.batchSize = ${SOURCE_BATCH}`,
      ...channelConf(type, run),
      "a1.sinks.k1.type = http", "a1.sinks.k1.channel = c1", `a1.sinks.k1.endpoint = ${r.url}`,
      "a1.sinks.k1.format = ndjson", `a1.sinks.k1.batchSize = ${BATCH}`,
      ...(PARALLEL ? [`a1.sinks.k1.parallelRequests = ${PARALLEL}`] : []),
    ].join("\n") + "\n");
    const t0 = performance.now();
    const p = Bun.spawn([bin, "agent", "--once", "-f", conf, "--state-dir", join(run, "state"), "--max-runtime", "20m", "--log-level", "warn"], { stdout: "ignore", stderr: "inherit" });
    let peak = 0;
    let cpu = 0;
    const sampler = setInterval(async () => {
      peak = Math.max(peak, await peakRss(p.pid));
      cpu = Math.max(cpu, (await cpuSeconds(p.pid)) ?? 0);
    }, 20);
    const code = await p.exited;
    clearInterval(sampler);
    const secs = (performance.now() - t0) / 1000;
    // /proc is gone once the process exits; resourceUsage has the final CPU time (the sampler's last value is ≤ it).
    const ru = p.resourceUsage();
    if (ru) cpu = Math.max(cpu, Number(ru.cpuTime.user + ru.cpuTime.system) / 1e6);
    if (code !== 0) {
      await r.stop();
      throw new BenchFailure(`http-tail ${type}: the agent exited ${code}`);
    }
    const { duplicates } = await verify(type, r);
    const what = `tail → ${type} → http (ndjson, batch ${BATCH}${PARALLEL ? `, ${PARALLEL} parallel` : ""}), ${MIB} MiB of 200 B lines`;
    report("http-tail", `${what}: MiB/s`, figure(mib / secs), type === "file" ? ">= 150" : ">= 250");
    report("http-tail", `${type}: ratio to the ceiling`, Math.round((mib / secs / ceiling) * 100) / 100);
    report("http-tail", `${type}: agent CPU s per GiB`, figure((cpu / mib) * 1024), "<= 4");
    report("http-tail", `${type}: agent peak RSS MiB (VmHWM)`, Math.round(peak / 1024 / 1024), "<= 100");
    report("http-tail", `${type}: lines delivered twice (at-least-once retries)`, duplicates, "0");
  }
}).catch((e: unknown) => {
  if (!(e instanceof BenchFailure)) throw e;
  console.error(e.message);
  process.exitCode = 1;
});
