// A log writer that rotates the way numbered logrotate does (`rotate K`, no dateext), run as a process of its own
// by the TAILDIR cascade test and the soak benchmark: each line is `L<seq>` padded to --line-bytes, written at
// --rate lines/s; every --rotate-ms the kept files move by one (app.log.k → app.log.k+1, from the oldest down), the
// oldest is deleted (or, with --gzip, compressed to app.log.K.gz first), app.log → app.log.1, 20 more lines go to
// the old descriptor, then a new app.log is created. On exit (after --seconds, or SIGTERM) it prints
// {"lines": N, "rotations": R}: lines L0 … L(N-1) were written, each once.
// Run: bun bench/taildir-rotation-common.ts --dir D --seconds S [--rate 5000] [--rotate-ms 30000] [--keep 30] [--gzip]

import { closeSync, existsSync, openSync, readFileSync, renameSync, unlinkSync, writeFileSync, writeSync } from "node:fs";
import { join } from "node:path";
import { parseArgs } from "node:util";
import { gzipSync } from "node:zlib";

/** Lines written to the old descriptor after it was renamed (a writer that has not reopened yet). */
const LATE_LINES = 20;
/** Writes per second: the rate is spread over this many appends. */
const TICKS_PER_S = 100;

export interface WriterOptions {
  dir: string;
  seconds: number;
  rate: number;
  rotateMs: number;
  keep: number;
  gzip: boolean;
  lineBytes: number;
}

export function writerArgs(o: Partial<WriterOptions> & { dir: string; seconds: number }): string[] {
  const a = ["--dir", o.dir, "--seconds", String(o.seconds)];
  if (o.rate !== undefined) a.push("--rate", String(o.rate));
  if (o.rotateMs !== undefined) a.push("--rotate-ms", String(o.rotateMs));
  if (o.keep !== undefined) a.push("--keep", String(o.keep));
  if (o.lineBytes !== undefined) a.push("--line-bytes", String(o.lineBytes));
  if (o.gzip) a.push("--gzip");
  return a;
}

/** The sequence number of a line `L<seq>…` (NaN for anything else). */
export function seqOf(line: string): number {
  return line.charCodeAt(0) === 0x4c ? parseInt(line.slice(1), 10) : NaN;
}

function run(o: WriterOptions): void {
  const log = join(o.dir, "app.log");
  let fd = openSync(log, "a");
  let seq = 0;
  let rotations = 0;
  const pad = "x".repeat(Math.max(0, o.lineBytes));
  const lines = (n: number): string => {
    let s = "";
    for (let i = 0; i < n; i++) {
      const head = `L${seq++} `;
      s += head + pad.slice(0, Math.max(0, o.lineBytes - head.length - 1)) + "\n";
    }
    return s;
  };
  const rotate = () => {
    const kept = (k: number) => `${log}.${k}`;
    if (existsSync(kept(o.keep))) {
      if (o.gzip) writeFileSync(`${kept(o.keep)}.gz`, gzipSync(readFileSync(kept(o.keep))));
      unlinkSync(kept(o.keep));
    }
    for (let k = o.keep - 1; k >= 1; k--) if (existsSync(kept(k))) renameSync(kept(k), kept(k + 1));
    renameSync(log, kept(1));
    writeSync(fd, lines(LATE_LINES));
    closeSync(fd);
    fd = openSync(log, "a");
    rotations++;
  };
  const t0 = Date.now();
  let nextRotation = t0 + o.rotateMs;
  let ticks = 0;
  let stopping = false;
  const finish = () => {
    closeSync(fd);
    process.stdout.write(JSON.stringify({ lines: seq, rotations }) + "\n");
    process.exit(0);
  };
  process.on("SIGTERM", () => (stopping = true));
  const tick = () => {
    const now = Date.now();
    if (stopping || now - t0 >= o.seconds * 1000) return finish();
    // Catch up to the rate over the whole run (a late timer writes more), so the rate holds under load.
    const due = Math.floor(((now - t0) / 1000) * o.rate) - (seq - rotations * LATE_LINES);
    if (due > 0) writeSync(fd, lines(due));
    if (now >= nextRotation) {
      rotate();
      nextRotation += o.rotateMs;
    }
    ticks++;
    setTimeout(tick, Math.max(0, t0 + (ticks * 1000) / TICKS_PER_S - Date.now()));
  };
  tick();
}

if (import.meta.main) {
  const { values: v } = parseArgs({
    options: {
      dir: { type: "string" },
      seconds: { type: "string" },
      rate: { type: "string", default: "5000" },
      "rotate-ms": { type: "string", default: "30000" },
      keep: { type: "string", default: "30" },
      "line-bytes": { type: "string", default: "200" },
      gzip: { type: "boolean", default: false },
    },
  });
  if (!v.dir || !v.seconds) {
    process.stderr.write("usage: taildir-rotation-common.ts --dir D --seconds S [--rate N] [--rotate-ms N] [--keep N] [--line-bytes N] [--gzip]\n");
    process.exit(2);
  }
  run({ dir: v.dir, seconds: Number(v.seconds), rate: Number(v.rate), rotateMs: Number(v["rotate-ms"]), keep: Number(v.keep), gzip: v.gzip!, lineBytes: Number(v["line-bytes"]) });
}
