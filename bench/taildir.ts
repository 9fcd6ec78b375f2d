// Benchmark: TAILDIR → memory → null over one 1 GiB file of 200-byte lines, `agent --once` (read to EOF, deliver,
// persist positions, exit), timed from spawn to exit. Figures: MiB/s, lines/s, and the agent's peak RSS (VmHWM,
// sampled from /proc every 50 ms). The file is generated into a temp dir and deleted afterwards.
// Run: node_modules/.bin/bun bench/taildir.ts [MiB]   (default $BENCH_MIB, else 1024)

import { open, readFile, writeFile } from "node:fs/promises";
import { join } from "node:path";
import { ensureBinary, report, withTempDir } from "./ops-common.ts";
import { benchMiB } from "./lines-common.ts";

const MIB = benchMiB(1024);
const LINE = 200;

/** One MiB of 200-byte lines (199 characters and a newline), written over and over. */
function chunk(): Uint8Array {
  const lines = Math.floor((1024 * 1024) / LINE);
  const buf = new Uint8Array(lines * LINE).fill(0x78);
  for (let i = 0; i < lines; i++) buf[i * LINE + LINE - 1] = 0x0a;
  return buf;
}

async function peakRss(pid: number): Promise<number> {
  const text = await readFile(`/proc/${pid}/status`, "utf8").catch(() => "");
  return Number(/VmHWM:\s+(\d+) kB/.exec(text)?.[1] ?? 0) * 1024;
}

const bin = await ensureBinary();
await withTempDir("sluice-bench-taildir-", async (dir) => {
  const file = join(dir, "app.log");
  const c = chunk();
  const fh = await open(file, "w");
  for (let i = 0; i < MIB; i++) await fh.write(c);
  await fh.close();
  const bytes = MIB * c.byteLength;
  const conf = join(dir, "taildir.conf");
  await writeFile(conf, [
    "a1.sources = r1", "a1.channels = c1", "a1.sinks = k1",
    "a1.sources.r1.type = TAILDIR", "a1.sources.r1.channels = c1", "a1.sources.r1.filegroups = f1",
    `a1.sources.r1.filegroups.f1 = ${dir}/app[.]log`, "a1.sources.r1.batchSize = 1000",
    "a1.channels.c1.type = memory", "a1.channels.c1.capacity = 10000", "a1.channels.c1.transactionCapacity = 1000",
    "a1.sinks.k1.type = null", "a1.sinks.k1.channel = c1", "a1.sinks.k1.batchSize = 1000",
  ].join("\n") + "\n");
  const t0 = performance.now();
  const p = Bun.spawn([bin, "agent", "--once", "-f", conf, "--state-dir", join(dir, "state"), "--max-runtime", "10m", "--log-level", "warn"], { stdout: "ignore", stderr: "inherit" });
  let peak = 0;
  const sampler = setInterval(async () => (peak = Math.max(peak, await peakRss(p.pid))), 50);
  const code = await p.exited;
  clearInterval(sampler);
  const secs = (performance.now() - t0) / 1000;
  const pos = JSON.parse(await readFile(join(dir, "state", "a1", "r1", "taildir_position.json"), "utf8").catch(() => "[]"));
  if (code !== 0 || pos[0]?.pos !== bytes) {
    console.error(`taildir: exit ${code}, position ${pos[0]?.pos} of ${bytes} bytes`);
    process.exitCode = 1;
    return; // withTempDir removes the input
  }
  report("taildir", `1 file, ${MIB} MiB of 200 B lines → memory → null: MiB/s`, Math.round((MIB / secs) * 10) / 10, ">= 150");
  report("taildir", "lines/s", Math.round(bytes / LINE / secs));
  report("taildir", "peak RSS MiB (VmHWM)", Math.round(peak / 1024 / 1024), "<= 80");
});
