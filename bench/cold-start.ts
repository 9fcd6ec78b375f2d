// Benchmark: cold start of the single binary to the first event read. dist/sluice starts an agent whose TAILDIR source
// tails a file that already holds one line; the clock stops when that line is in the file_roll sink's output (so the
// figure also includes one channel hop and one fsynced write: an upper bound of "first event read").
// Median of RUNS runs, each with a fresh state directory. Goal: ≤ 150 ms.
// Run: node_modules/.bin/bun bench/cold-start.ts [runs]

import { mkdir, readdir, stat, writeFile } from "node:fs/promises";
import { join } from "node:path";
import { ensureBinary, median, report, withTempDir } from "./ops-common.ts";

const RUNS = Number(process.argv[2] ?? 10);

async function once(bin: string, dir: string, i: number): Promise<number> {
  const logs = join(dir, `logs${i}`);
  const out = join(dir, `out${i}`);
  await mkdir(logs, { recursive: true });
  await writeFile(join(logs, "app.log"), "hello\n");
  const conf = join(dir, `c${i}.conf`);
  await writeFile(conf, [
    "a1.sources = r1", "a1.channels = c1", "a1.sinks = k1",
    "a1.sources.r1.type = TAILDIR", "a1.sources.r1.channels = c1", "a1.sources.r1.filegroups = f1",
    `a1.sources.r1.filegroups.f1 = ${logs}/app[.]log`,
    "a1.channels.c1.type = memory",
    "a1.sinks.k1.type = file_roll", "a1.sinks.k1.channel = c1", `a1.sinks.k1.sink.directory = ${out}`, "a1.sinks.k1.sink.rollInterval = 0",
  ].join("\n") + "\n");
  const t0 = performance.now();
  const p = Bun.spawn([bin, "agent", "-f", conf, "--state-dir", join(dir, `state${i}`), "--log-level", "warn"], { stdout: "ignore", stderr: "inherit" });
  let ms = NaN;
  const deadline = t0 + 10_000;
  while (performance.now() < deadline) {
    const names = await readdir(out).catch(() => [] as string[]);
    if (names.length > 0 && (await stat(join(out, names[0]!))).size > 0) {
      ms = performance.now() - t0;
      break;
    }
    await Bun.sleep(1);
  }
  p.kill("SIGTERM");
  await p.exited;
  return ms;
}

const bin = await ensureBinary();
await withTempDir("sluice-bench-cold-", async (dir) => {
  await once(bin, dir, -1); // warm the page cache with the binary
  const times: number[] = [];
  for (let i = 0; i < RUNS; i++) times.push(await once(bin, dir, i));
  report("cold-start", "dist/sluice start → first event delivered, median ms", Math.round(median(times)), "<= 150");
  report("cold-start", "max ms", Math.round(Math.max(...times)));
});
