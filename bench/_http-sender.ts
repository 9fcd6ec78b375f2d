// The ceiling of bench/http-tail.ts, run as its own process: POSTs the same lines as the agent would (NDJSON of
// Flume events with empty headers, `batch` lines per request, `inflight` requests at a time) to the same receiver,
// building each request from a template (a copy and the sequence digits), so nearly all its time is HTTP.
// Prints {"secs": …, "cpu": …} when the receiver has answered every request.
// Run: bun bench/_http-sender.ts <url> <lines> <batch> <inflight>

import { LINE_BYTES, writeLine } from "./lines-common.ts";

const [url, linesArg, batchArg, inflightArg] = process.argv.slice(2);
const LINES = Number(linesArg);
const BATCH = Number(batchArg);
const INFLIGHT = Number(inflightArg ?? 1);
const enc = new TextEncoder();
const PREFIX = enc.encode('{"headers":{},"body":"');
const SUFFIX = enc.encode('"}\n');
const PER = PREFIX.length + LINE_BYTES - 1 + SUFFIX.length;

function body(first: number, n: number): Uint8Array {
  const out = new Uint8Array(n * PER);
  const line = new Uint8Array(LINE_BYTES);
  for (let i = 0; i < n; i++) {
    const at = i * PER;
    writeLine(line, 0, first + i);
    out.set(PREFIX, at);
    out.set(line.subarray(0, LINE_BYTES - 1), at + PREFIX.length);
    out.set(SUFFIX, at + PREFIX.length + LINE_BYTES - 1);
  }
  return out;
}

const t0 = performance.now();
const cpu0 = process.cpuUsage();
let next = 0;
async function worker(): Promise<void> {
  while (next < LINES) {
    const first = next;
    const n = Math.min(BATCH, LINES - first);
    next += n;
    const res = await fetch(url!, { method: "POST", headers: { "Content-Type": "application/x-ndjson; charset=UTF-8" }, body: body(first, n) });
    await res.arrayBuffer();
    if (res.status !== 200) throw new Error(`receiver answered ${res.status}`);
  }
}
await Promise.all(Array.from({ length: INFLIGHT }, worker));
const cpu = process.cpuUsage(cpu0);
console.log(JSON.stringify({ secs: (performance.now() - t0) / 1000, cpu: (cpu.user + cpu.system) / 1e6 }));
