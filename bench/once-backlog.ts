// Benchmark: a cron-mode run over a backlog. 1 GiB of 200-byte lines in 10 files → TAILDIR → file channel → file_roll,
// `dist/sluice agent --once`, timed from spawn to exit 0 (read everything, fsync it into the WAL, write and fsync it
// out, persist offsets). The output is checked to hold as many bytes as the input.
// Run: node_modules/.bin/bun bench/once-backlog.ts [MiB]   (default $BENCH_MIB, else 1024)

import { mkdir, open, readdir, stat, writeFile } from "node:fs/promises";
import { join } from "node:path";
import { ensureBinary, report, withTempDir } from "./ops-common.ts";
import { benchMiB } from "./lines-common.ts";

const MIB = benchMiB(1024);
const FILES = 10;
const LINE = 200;

/** One MiB of 200-byte lines (199 characters and a newline), written over and over. */
function chunk(): Uint8Array {
  const lines = Math.floor((1024 * 1024) / LINE);
  const buf = new Uint8Array(lines * LINE).fill(0x78);
  for (let i = 0; i < lines; i++) buf[i * LINE + LINE - 1] = 0x0a;
  return buf;
}

async function makeBacklog(logs: string): Promise<number> {
  await mkdir(logs, { recursive: true });
  const c = chunk();
  const perFile = Math.ceil(MIB / FILES);
  let total = 0;
  for (let f = 0; f < FILES; f++) {
    const fh = await open(join(logs, `app${f}.log`), "w");
    for (let i = 0; i < perFile; i++) await fh.write(c);
    await fh.close();
    total += perFile * c.byteLength;
  }
  return total;
}

const bin = await ensureBinary();
await withTempDir("sluice-bench-once-", async (dir) => {
  const logs = join(dir, "logs");
  const out = join(dir, "out");
  const bytes = await makeBacklog(logs);
  const conf = join(dir, "once.conf");
  await writeFile(conf, [
    "a1.sources = r1", "a1.channels = c1", "a1.sinks = k1",
    "a1.sources.r1.type = TAILDIR", "a1.sources.r1.channels = c1", "a1.sources.r1.filegroups = f1",
    `a1.sources.r1.filegroups.f1 = ${logs}/app.*[.]log`, "a1.sources.r1.batchSize = 1000",
    "a1.channels.c1.type = file", `a1.channels.c1.checkpointDir = ${dir}/cp`, `a1.channels.c1.dataDirs = ${dir}/data`,
    "a1.channels.c1.transactionCapacity = 10000", "a1.channels.c1.minimumRequiredSpace = 0",
    "a1.sinks.k1.type = file_roll", "a1.sinks.k1.channel = c1", `a1.sinks.k1.sink.directory = ${out}`,
    "a1.sinks.k1.sink.rollInterval = 0", "a1.sinks.k1.sink.batchSize = 1000",
  ].join("\n") + "\n");
  const t0 = performance.now();
  const p = Bun.spawn([bin, "agent", "--once", "-f", conf, "--state-dir", join(dir, "state"), "--max-runtime", "30m", "--log-level", "warn"], { stdout: "ignore", stderr: "inherit" });
  const code = await p.exited;
  const secs = (performance.now() - t0) / 1000;
  let outBytes = 0;
  for (const n of await readdir(out).catch(() => [] as string[])) outBytes += (await stat(join(out, n))).size;
  if (code !== 0 || outBytes !== bytes) {
    console.error(`once-backlog: exit ${code}, ${outBytes} of ${bytes} bytes delivered`);
    process.exitCode = 1;
    return; // withTempDir removes the input
  }
  report("once-backlog", `--once ${MIB} MiB in ${FILES} files → file channel → file_roll, MiB/s`, Math.round((bytes / 1048576 / secs) * 10) / 10);
  report("once-backlog", "wall seconds", Math.round(secs * 10) / 10);
});
