// Benchmark: TAILDIR over many files appended round-robin while the agent runs (→ memory → null). 10, 100 and 1,000
// files each get LINES_PER_ROUND lines of 200 bytes per round, for ROUNDS rounds; the figure is the agent's CPU time
// (utime + stime from /proc) per line, from the first append until the position file shows every file read to its
// end. It should stay flat as the file count grows: a pass costs per changed file, never per tracked file.
// Run: node_modules/.bin/bun bench/taildir-many.ts [lines per file per round]   (default 20)

import { appendFile, mkdir, readFile, writeFile } from "node:fs/promises";
import { join } from "node:path";
import { ensureBinary, report, withTempDir } from "./ops-common.ts";

const LINES_PER_ROUND = Number(process.argv[2] ?? 20);
const LINE = 200;
const ROUNDS = 20;
const CLK_TCK = 100;

function lines(n: number): Uint8Array {
  const buf = new Uint8Array(n * LINE).fill(0x79);
  for (let i = 0; i < n; i++) buf[i * LINE + LINE - 1] = 0x0a;
  return buf;
}

async function cpuSeconds(pid: number): Promise<number> {
  const f = (await readFile(`/proc/${pid}/stat`, "utf8")).split(") ")[1]!.split(" ");
  return (Number(f[11]) + Number(f[12])) / CLK_TCK;
}

async function positionsDone(posFile: string, files: number, bytesEach: number): Promise<boolean> {
  const recs = JSON.parse(await readFile(posFile, "utf8").catch(() => "[]")) as Array<{ pos: number }>;
  return recs.length === files && recs.every((r) => r.pos === bytesEach);
}

async function run(bin: string, files: number): Promise<number> {
  return withTempDir("sluice-bench-many-", async (dir) => {
    const logs = join(dir, "logs");
    await mkdir(logs);
    for (let f = 0; f < files; f++) await writeFile(join(logs, `f${f}.log`), "");
    const conf = join(dir, "many.conf");
    await writeFile(conf, [
      "a1.sources = r1", "a1.channels = c1", "a1.sinks = k1",
      "a1.sources.r1.type = TAILDIR", "a1.sources.r1.channels = c1", "a1.sources.r1.filegroups = g",
      `a1.sources.r1.filegroups.g = ${logs}/f[0-9]+[.]log`, "a1.sources.r1.batchSize = 1000",
      "a1.channels.c1.type = memory", "a1.channels.c1.capacity = 10000", "a1.channels.c1.transactionCapacity = 1000",
      "a1.sinks.k1.type = null", "a1.sinks.k1.channel = c1", "a1.sinks.k1.batchSize = 1000",
    ].join("\n") + "\n");
    const p = Bun.spawn([bin, "agent", "-f", conf, "--state-dir", join(dir, "state"), "--log-level", "warn"], { stdout: "ignore", stderr: "inherit" });
    const posFile = join(dir, "state", "a1", "r1", "taildir_position.json");
    try {
      const t = Date.now() + 15_000;
      while (!(await positionsDone(posFile, files, 0))) {
        if (Date.now() > t) throw new Error(`${files} files: the agent did not pick the files up`);
        await Bun.sleep(100);
      }
      const perFileRound = LINES_PER_ROUND;
      const chunk = lines(perFileRound);
      const cpu0 = await cpuSeconds(p.pid);
      for (let r = 0; r < ROUNDS; r++) {
        for (let f = 0; f < files; f++) await appendFile(join(logs, `f${f}.log`), chunk);
        await Bun.sleep(50);
      }
      const deadline = Date.now() + 120_000;
      while (!(await positionsDone(posFile, files, perFileRound * ROUNDS * LINE))) {
        if (Date.now() > deadline) throw new Error(`${files} files: not every line was read in time`);
        await Bun.sleep(50);
      }
      const total = perFileRound * ROUNDS * files;
      return ((await cpuSeconds(p.pid)) - cpu0) / total;
    } finally {
      p.kill(9);
      await p.exited;
    }
  });
}

const bin = await ensureBinary();
const perLine: number[] = [];
for (const files of [10, 100, 1000]) {
  const s = await run(bin, files);
  perLine.push(s);
  report("taildir-many", `${files} files, ${LINES_PER_ROUND} lines each per round, ${ROUNDS} rounds: agent CPU µs per line`, Math.round(s * 1e6 * 100) / 100);
}
// 10 files are dominated by fixed costs (the once-a-second full survey, wake-ups), so the ratio compares 1,000 to 100.
report("taildir-many", "CPU per line, 1,000 files ÷ 100 files", Math.round((perLine[2]! / perLine[1]!) * 100) / 100, "<= 1 (flat)");
