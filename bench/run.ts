// `make bench`: runs every benchmark script in bench/ (each `bun bench/<name>.ts`, one after another so they do not
// disturb each other) and prints one table. A script prints one JSON line per figure
// ({"bench","metric","value","goal"?}); any other non-empty stdout line is shown as a figure of its own.
// Run: node_modules/.bin/bun bench/run.ts [--mib N] [name…]   (names without .ts; default: all). `--mib N` sets
// $BENCH_MIB, the input size of the benchmarks that read generated files (http-tail, avro-tail; default 1024).

import { readdir } from "node:fs/promises";
import { join } from "node:path";
import { ROOT } from "./ops-common.ts";

/** Files in bench/ that are helpers, not benchmarks: this runner, `*-common.ts` and `_*.ts`. */
const isBenchmark = (f: string) => f.endsWith(".ts") && f !== "run.ts" && !f.endsWith("-common.ts") && !f.startsWith("_") && !f.endsWith(".d.ts");
/** A benchmark that runs longer than this is stopped and reported as such. */
const PER_BENCH_TIMEOUT_MS = 20 * 60_000;

interface Row {
  bench: string;
  metric: string;
  value: string;
  goal: string;
}

async function runOne(name: string): Promise<Row[]> {
  const t0 = performance.now();
  const p = Bun.spawn([join(ROOT, "node_modules/.bin/bun"), join(ROOT, "bench", `${name}.ts`)], { cwd: ROOT, env: { ...process.env }, stdout: "pipe", stderr: "inherit" });
  const timer = setTimeout(() => p.kill("SIGKILL"), PER_BENCH_TIMEOUT_MS);
  const out = await new Response(p.stdout).text();
  const code = await p.exited;
  clearTimeout(timer);
  const rows: Row[] = [];
  for (const line of out.split("\n").map((l) => l.trim()).filter(Boolean)) {
    try {
      const o = JSON.parse(line) as { bench?: string; metric?: string; value?: unknown; goal?: string };
      if (o && typeof o === "object" && "value" in o) {
        rows.push({ bench: o.bench ?? name, metric: o.metric ?? "", value: String(o.value), goal: o.goal ?? "" });
        continue;
      }
    } catch {
      // not JSON: a plain result line
    }
    rows.push({ bench: name, metric: line, value: "", goal: "" });
  }
  if (code !== 0) rows.push({ bench: name, metric: `FAILED (exit ${code}) after ${Math.round((performance.now() - t0) / 1000)} s`, value: "", goal: "" });
  return rows;
}

function table(rows: Row[]): string {
  const head: Row = { bench: "bench", metric: "figure", value: "value", goal: "goal" };
  const cols = ["bench", "metric", "value", "goal"] as const;
  const w = cols.map((c) => Math.max(...[head, ...rows].map((r) => r[c].length)));
  const line = (r: Row) => cols.map((c, i) => (c === "value" ? r[c].padStart(w[i]!) : r[c].padEnd(w[i]!))).join("  ").trimEnd();
  return [line(head), w.map((n) => "-".repeat(n)).join("  "), ...rows.map(line)].join("\n");
}

const args = process.argv.slice(2);
const mibAt = args.indexOf("--mib");
if (mibAt >= 0) {
  process.env.BENCH_MIB = args[mibAt + 1];
  args.splice(mibAt, 2);
}
const wanted = args;
const names = (await readdir(join(ROOT, "bench")))
  .filter(isBenchmark)
  .map((f) => f.slice(0, -3))
  .filter((n) => wanted.length === 0 || wanted.includes(n))
  .sort();
const rows: Row[] = [];
for (const n of names) {
  process.stderr.write(`bench: ${n}…\n`);
  rows.push(...(await runOne(n)));
}
console.log(table(rows));
