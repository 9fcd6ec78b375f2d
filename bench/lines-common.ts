// Shared by the tail → sink benchmarks: the input file of numbered 200-byte lines, the check a receiver applies to
// each line it gets, and peak-RSS sampling. Every line is `<12-digit sequence> <filler>\n` where the filler is one of
// FILLERS, picked by the sequence number, so a receiver verifies each line's whole content from its number alone.

import { open, readFile } from "node:fs/promises";

export const LINE_BYTES = 200;
const SEQ_DIGITS = 12;
const FILLER_BYTES = LINE_BYTES - SEQ_DIGITS - 2;

const pad = (s: string) => (s.repeat(Math.ceil(FILLER_BYTES / s.length))).slice(0, FILLER_BYTES);
/** Typical log text (no character that JSON must escape). */
export const FILLERS: readonly Uint8Array[] = [
  "INFO  [worker-3] GET /api/v1/items?page=2 status=200 bytes=5123 duration_ms=12 user_agent=curl/8.5.0 ",
  "WARN  [worker-1] slow query on table orders: 812 ms, rows=1024, plan=index scan orders_created_at_idx ",
  "DEBUG [scheduler] job cleanup-temp-files finished in 41 ms; next run at 2026-12-03T13:00:00Z; ok=true ",
  "ERROR [http-7] upstream 10.0.3.17:8443 refused the connection after 3 retries; circuit=open for 30 s ",
].map((s) => new TextEncoder().encode(pad(s)));

/** Lines in a file of `mib` MiB (rounded down to whole lines). */
export function lineCount(mib: number): number {
  return Math.floor((mib * 1024 * 1024) / LINE_BYTES);
}

/** Writes line `seq` (newline included) at `at`. */
export function writeLine(buf: Uint8Array, at: number, seq: number): void {
  let n = seq;
  for (let i = SEQ_DIGITS - 1; i >= 0; i--) {
    buf[at + i] = 0x30 + (n % 10);
    n = Math.floor(n / 10);
  }
  buf[at + SEQ_DIGITS] = 0x20;
  buf.set(FILLERS[seq % FILLERS.length]!, at + SEQ_DIGITS + 1);
  buf[at + LINE_BYTES - 1] = 0x0a;
}

/** Writes `lines` numbered lines to `path` in 4 MiB writes. */
export async function writeLinesFile(path: string, lines: number): Promise<number> {
  const per = Math.floor((4 * 1024 * 1024) / LINE_BYTES);
  const buf = new Uint8Array(per * LINE_BYTES);
  const fh = await open(path, "w");
  try {
    for (let seq = 0; seq < lines; ) {
      const n = Math.min(per, lines - seq);
      for (let i = 0; i < n; i++) writeLine(buf, i * LINE_BYTES, seq + i);
      await fh.write(buf.subarray(0, n * LINE_BYTES));
      seq += n;
    }
  } finally {
    await fh.close();
  }
  return lines * LINE_BYTES;
}

/**
 * Which lines arrived: a bit per sequence number, duplicates and bad lines counted. `add` takes one line's body
 * (without its newline) as bytes [start, end) of `buf`; the content must be exactly what writeLine wrote.
 */
export class LineCheck {
  private readonly seen: Uint8Array;
  distinct = 0;
  duplicates = 0;
  bad = 0;
  firstBad = "";
  constructor(readonly expected: number) {
    this.seen = new Uint8Array(Math.ceil(expected / 8));
  }
  add(buf: Uint8Array, start: number, end: number): void {
    if (!this.tryAdd(buf, start, end)) this.fail(buf, start, end);
  }
  /** add() without counting a mismatch as bad: false when the bytes are not one of our lines as they are. */
  tryAdd(buf: Uint8Array, start: number, end: number): boolean {
    if (end - start !== LINE_BYTES - 1) return false;
    let seq = 0;
    for (let i = 0; i < SEQ_DIGITS; i++) {
      const d = buf[start + i]! - 0x30;
      if (d < 0 || d > 9) return false;
      seq = seq * 10 + d;
    }
    if (seq >= this.expected || buf[start + SEQ_DIGITS] !== 0x20) return false;
    if (!sameBytes(buf, start + SEQ_DIGITS + 1, FILLERS[seq % FILLERS.length]!)) return false;
    const bit = 1 << (seq & 7);
    if (this.seen[seq >> 3]! & bit) this.duplicates++;
    else {
      this.seen[seq >> 3]! |= bit;
      this.distinct++;
    }
    return true;
  }
  private fail(buf: Uint8Array, start: number, end: number): void {
    if (this.bad++ === 0) this.firstBad = new TextDecoder().decode(buf.subarray(start, Math.min(end, start + 80)));
  }
}

function sameBytes(buf: Uint8Array, at: number, want: Uint8Array): boolean {
  for (let i = 0; i < want.length; i++) if (buf[at + i] !== want[i]) return false;
  return true;
}

/** VmHWM (peak RSS) of a live process in bytes; 0 when it is gone. */
export async function peakRss(pid: number): Promise<number> {
  const text = await readFile(`/proc/${pid}/status`, "utf8").catch(() => "");
  return Number(/VmHWM:\s+(\d+) kB/.exec(text)?.[1] ?? 0) * 1024;
}

/** CPU seconds (user + system) of a live process from /proc/<pid>/stat; undefined when it is gone. */
export async function cpuSeconds(pid: number): Promise<number | undefined> {
  const text = await readFile(`/proc/${pid}/stat`, "utf8").catch(() => "");
  if (!text) return undefined;
  const f = text.slice(text.lastIndexOf(")") + 2).split(" ");
  return (Number(f[11]) + Number(f[12])) / 100;
}

/** Size in MiB for a benchmark: argv[2], else $BENCH_MIB, else `dflt`. */
export function benchMiB(dflt: number): number {
  const v = Number(process.argv[2] ?? process.env.BENCH_MIB ?? dflt);
  if (!Number.isFinite(v) || v <= 0) throw new Error(`bad size "${process.argv[2] ?? process.env.BENCH_MIB}" (MiB)`);
  return v;
}
