// `make bench`: runs every benchmark script in bench/ (each `bun bench/<name>.ts`, one after another so they do not
// disturb each other) and prints one table. A script prints one JSON line per figure
// ({"bench","metric","value","goal"?}); any other non-empty stdout line is shown as a figure of its own.
// Run: node_modules/.bin/bun bench/run.ts [--mib N] [name…]   (names without .ts; default: all). `--mib N` sets
// $BENCH_MIB, the input size of the benchmarks that generate their input (taildir, once-backlog, file-channel-replay,
// http-tail, avro-tail; default 1024).
// A missed goal is a figure in the table, not a failure. A benchmark that exits non-zero (a lost or corrupted line,
// a crash) or runs past PER_BENCH_TIMEOUT_MS is a FAILED row, one line per failure after the table, and exit 1.

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

/**
 * The bench column is the script's name: a script that names its figure "<name> <what>" (backlog, spillable,
 * file-channel, taildir-soak…) has <what> moved to the front of the figure, so the table has one row label per script.
 */
function column(name: string, bench: string, metric: string): { bench: string; metric: string } {
  if (bench === name || !bench.startsWith(name) || !/^[\s:,]/.test(bench.slice(name.length))) return { bench, metric };
  const what = bench.slice(name.length).replace(/^[\s:,]+/, "");
  return { bench: name, metric: metric ? `${what}: ${metric}` : what };
}

async function runOne(name: string): Promise<Row[]> {
  const t0 = performance.now();
  const p = Bun.spawn([join(ROOT, "node_modules/.bin/bun"), join(ROOT, "bench", `${name}.ts`)], { cwd: ROOT, env: { ...process.env }, stdout: "pipe", stderr: "pipe" });
  // stderr is passed through as it comes; its last line (a failing benchmark's reason) goes into the FAILED row.
  let errTail = "";
  const errDone = (async () => {
    for await (const chunk of p.stderr as ReadableStream<Uint8Array>) {
      process.stderr.write(chunk);
      errTail = (errTail + new TextDecoder().decode(chunk)).slice(-4096);
    }
  })();
  let timedOut = false;
  const timer = setTimeout(() => {
    timedOut = true;
    p.kill("SIGKILL");
  }, PER_BENCH_TIMEOUT_MS);
  const out = await new Response(p.stdout).text();
  const code = await p.exited;
  clearTimeout(timer);
  // A child the benchmark left running may still hold the pipe: wait for the rest of stderr only briefly.
  await Promise.race([errDone, Bun.sleep(2000)]);
  const reason = errTail.split("\n").map((l) => l.trim()).filter(Boolean).at(-1) ?? "nothing on stderr";
  const rows: Row[] = [];
  for (const line of out.split("\n").map((l) => l.trim()).filter(Boolean)) {
    try {
      const o = JSON.parse(line) as { bench?: string; metric?: string; value?: unknown; goal?: string };
      if (o && typeof o === "object" && "value" in o) {
        rows.push({ ...column(name, o.bench ?? name, o.metric ?? ""), value: String(o.value), goal: o.goal ?? "" });
        continue;
      }
    } catch {
      // not JSON: a plain result line
    }
    rows.push({ bench: name, metric: line, value: "", goal: "" });
  }
  const secs = Math.round((performance.now() - t0) / 1000);
  if (timedOut) rows.push({ bench: name, metric: `FAILED: stopped after ${secs} s (longer than ${PER_BENCH_TIMEOUT_MS / 60_000} min)`, value: "", goal: "" });
  else if (code !== 0) rows.push({ bench: name, metric: `FAILED (exit ${code}) after ${secs} s: ${reason}`, value: "", goal: "" });
  process.stderr.write(`bench: ${name} ${timedOut || code !== 0 ? "FAILED" : "done"} in ${secs} s\n`);
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
const unknown = wanted.filter((w) => !names.includes(w));
if (unknown.length > 0) {
  console.error(`bench: no benchmark named ${unknown.join(", ")} in bench/`);
  process.exit(2);
}
const rows: Row[] = [];
const started = performance.now();
for (const n of names) {
  process.stderr.write(`bench: ${n}…\n`);
  rows.push(...(await runOne(n)));
}
console.log(table(rows));
const failed = rows.filter((r) => r.metric.startsWith("FAILED"));
const minutes = ((performance.now() - started) / 60_000).toFixed(1);
console.log(`${names.length} benchmarks in ${minutes} min${process.env.BENCH_MIB ? ` (--mib ${process.env.BENCH_MIB})` : ""}: ${failed.length === 0 ? "all ran, no line lost" : `${failed.length} FAILED`}`);
for (const f of failed) console.log(`bench ${f.bench}: ${f.metric}`);
if (failed.length > 0) process.exit(1);
