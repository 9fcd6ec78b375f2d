// `sluice top --metrics-port N`: a live view of a running agent, read from its metrics endpoint (Flume's JSON at
// /metrics plus sluice's gauges, /metrics/files for bytes behind per file). Per source, channel and sink: events/s in
// and out, channel fill and the oldest event's age, sink state and last error, dropped events. On a terminal it
// redraws about once a second on the alternate screen, fits the terminal and follows a resize; `q` (or Ctrl-C)
// quits. Without a terminal it prints one snapshot (two samples an interval apart, for the rates) and exits.

import { parseArgs } from "node:util";
import { parseDuration } from "../core/keys.ts";
import { describeError, UsageError } from "../core/errors.ts";
import { parseOrUsage } from "./args.ts";
import { EXIT_OK, EXIT_RUNTIME } from "./exit-codes.ts";
import { formatBytes } from "./progress.ts";
import { onSignal } from "../runtime.ts";

export const TOP_HELP = `usage: sluice top --metrics-port N [--metrics-host HOST] [--interval DUR]

A live view of a running agent (started with --metrics-port N or -Dflume.monitoring.port=N): per source, channel
and sink, events/s in and out, channel fill and the age of its oldest event, bytes behind per tailed file, sink
state and last error, dropped events. Redraws every --interval (default 1s) and on resize; q quits. Without a
terminal (a pipe, cron) it prints one snapshot and exits.

options:
  --metrics-port N     the agent's metrics port
  --metrics-host HOST  where it listens (default 127.0.0.1)
  --interval DUR       time between refreshes (default 1s)`;

type Json = Record<string, Record<string, string>>;
interface FileLag {
  source: string;
  file: string;
  bytesBehind: number;
}

export interface Sample {
  t: number;
  metrics: Json;
  files: FileLag[];
}

const FETCH_TIMEOUT_MS = 2000;

async function getJson<T>(url: string): Promise<T> {
  const res = await fetch(url, { signal: AbortSignal.timeout(FETCH_TIMEOUT_MS) });
  if (!res.ok) throw new Error(`${url} answered ${res.status}`);
  return (await res.json()) as T;
}

export async function fetchSample(base: string): Promise<Sample> {
  const [metrics, files] = await Promise.all([getJson<Json>(`${base}/metrics`), getJson<FileLag[]>(`${base}/metrics/files`).catch(() => [])]);
  return { t: Date.now(), metrics, files };
}

const num = (m: Record<string, string> | undefined, k: string): number => Number(m?.[k] ?? 0) || 0;

function rate(now: Sample, prev: Sample | undefined, key: string, k: string): string {
  if (!prev) return "-";
  const secs = (now.t - prev.t) / 1000;
  if (secs <= 0) return "-";
  const r = Math.max(0, (num(now.metrics[key], k) - num(prev.metrics[key], k)) / secs);
  return r >= 10 ? String(Math.round(r)) : r.toFixed(1).replace(/\.0$/, "");
}

function age(ms: number): string {
  if (ms <= 0) return "-";
  const s = ms / 1000;
  if (s < 60) return `${s.toFixed(s < 10 ? 1 : 0)}s`;
  if (s < 3600) return `${Math.floor(s / 60)}m${String(Math.floor(s % 60)).padStart(2, "0")}s`;
  return `${Math.floor(s / 3600)}h${String(Math.floor((s % 3600) / 60)).padStart(2, "0")}m`;
}

/** Columns of a table: each cell is cut to its column; the last column takes what is left of the width. */
function table(header: string[], rows: string[][], width: number): string[] {
  const widths = header.map((h, i) => Math.max(h.length, ...rows.map((r) => (r[i] ?? "").length)));
  const line = (cells: string[]) => {
    let s = "";
    for (let i = 0; i < cells.length; i++) {
      const cell = cells[i] ?? "";
      const last = i === cells.length - 1;
      s += last ? cell : (i < 1 ? cell.padEnd(widths[i]!) : cell.padStart(widths[i]!)) + "  ";
    }
    return s.length > width ? s.slice(0, Math.max(0, width - 1)) + "…" : s;
  };
  return [line(header), ...rows.map(line)];
}

/** The whole screen for one sample: at most `rows` lines of at most `width` characters. */
export function renderTop(now: Sample, prev: Sample | undefined, o: { width: number; rows: number; target: string; error?: string }): string[] {
  const entries = Object.entries(now.metrics);
  const of = (kind: string) => entries.filter(([k]) => k.startsWith(`${kind}.`)).map(([k, v]) => ({ key: k, name: k.slice(kind.length + 1), m: v }));
  const dropped = (m: Record<string, string>) => (m.EventsDropped !== undefined ? m.EventsDropped : "-");
  const clock = new Date(now.t).toISOString().slice(11, 19);
  const out: string[] = [`sluice top — ${o.target} — ${clock} — q quits`.slice(0, o.width)];
  if (o.error) out.push(`! ${o.error}`.slice(0, o.width));
  const sources = of("SOURCE");
  const behindBySource = new Map<string, number>();
  for (const f of now.files) behindBySource.set(f.source, (behindBySource.get(f.source) ?? 0) + f.bytesBehind);
  out.push("");
  out.push(
    ...table(
      ["SOURCE", "IN/s", "OUT/s", "BEHIND", "DROPPED"],
      sources.map((s) => [s.name, rate(now, prev, s.key, "EventReceivedCount"), rate(now, prev, s.key, "EventAcceptedCount"), s.m.BytesBehind !== undefined || behindBySource.has(s.name) ? formatBytes(behindBySource.get(s.name) ?? num(s.m, "BytesBehind")) : "-", dropped(s.m)]),
      o.width,
    ),
  );
  out.push("");
  out.push(
    ...table(
      ["CHANNEL", "IN/s", "OUT/s", "FILL", "SIZE", "OLDEST", "DROPPED"],
      of("CHANNEL").map((c) => [c.name, rate(now, prev, c.key, "EventPutSuccessCount"), rate(now, prev, c.key, "EventTakeSuccessCount"), `${num(c.m, "ChannelFillPercentage").toFixed(1)}%`, `${num(c.m, "ChannelSize")}/${num(c.m, "ChannelCapacity")}`, age(num(c.m, "OldestEventAgeMs")), dropped(c.m)]),
      o.width,
    ),
  );
  out.push("");
  out.push(
    ...table(
      ["SINK", "IN/s", "OUT/s", "STATE", "DROPPED", "LAST ERROR"],
      of("SINK").map((k) => [k.name, rate(now, prev, k.key, "EventDrainAttemptCount"), rate(now, prev, k.key, "EventDrainSuccessCount"), k.m.SinkState ?? "-", dropped(k.m), k.m.LastError ?? ""]),
      o.width,
    ),
  );
  if (now.files.length > 0) {
    out.push("");
    out.push(...table(["SOURCE", "BEHIND", "FILE"], now.files.map((f) => [f.source, formatBytes(f.bytesBehind), f.file]), o.width));
  }
  if (out.length > o.rows) {
    const cut = out.slice(0, Math.max(1, o.rows - 1));
    cut.push(`… ${out.length - cut.length} more lines (a taller terminal shows them)`.slice(0, o.width));
    return cut;
  }
  return out;
}

export async function topCommand(argv: string[], out: (s: string) => void): Promise<number> {
  const options = {
    "metrics-port": { type: "string" },
    "metrics-host": { type: "string", default: "127.0.0.1" },
    interval: { type: "string", default: "1s" },
    help: { type: "boolean", short: "h" },
  } as const;
  const { values } = parseOrUsage(options, () => parseArgs({ args: argv, options, strict: true }));
  if (values.help) {
    out(TOP_HELP);
    return EXIT_OK;
  }
  const portText = values["metrics-port"];
  if (portText === undefined) throw new UsageError("missing --metrics-port N (the port the agent serves its metrics on)");
  const port = Number(portText);
  if (!Number.isInteger(port) || port < 1 || port > 65535) throw new UsageError(`--metrics-port: expected a port number 1-65535, got "${portText}"`);
  let intervalMs: number;
  try {
    intervalMs = Math.max(100, parseDuration(values.interval, "s"));
  } catch (msg) {
    throw new UsageError(`--interval: ${msg}`);
  }
  const host = values["metrics-host"].includes(":") ? `[${values["metrics-host"]}]` : values["metrics-host"];
  const base = `http://${host}:${port}`;
  const target = `${base}/metrics`;
  const unreachable = (err: unknown) => `cannot read ${target}: ${describeError(err)} (is the agent running with --metrics-port ${port}?)`;

  if (!process.stdout.isTTY) {
    let first: Sample;
    try {
      first = await fetchSample(base);
      await new Promise((r) => setTimeout(r, intervalMs));
      const second = await fetchSample(base);
      for (const l of renderTop(second, first, { width: 200, rows: Number.MAX_SAFE_INTEGER, target })) out(l);
      return EXIT_OK;
    } catch (err) {
      process.stderr.write(`sluice top: ${unreachable(err)}\n`);
      return EXIT_RUNTIME;
    }
  }
  return live(base, target, intervalMs, unreachable);
}

/** The terminal form: alternate screen, raw keys, a redraw every interval and on resize. */
async function live(base: string, target: string, intervalMs: number, unreachable: (err: unknown) => string): Promise<number> {
  const tty = process.stdout;
  const stdin = process.stdin;
  let prev: Sample | undefined;
  let last: Sample | undefined;
  let error: string | undefined;
  let done!: () => void;
  const finished = new Promise<void>((r) => (done = r));
  const draw = () => {
    const width = Math.max(20, (tty.columns || 80) - 1);
    const rows = Math.max(3, tty.rows || 24);
    const lines = last ? renderTop(last, prev, { width, rows, target, error }) : [`sluice top — ${target}`, error ? `! ${error}` : "connecting…"];
    tty.write(`\x1b[H\x1b[2J${lines.map((l) => l.slice(0, width)).join("\r\n")}`);
  };
  const poll = async () => {
    try {
      const s = await fetchSample(base);
      prev = last;
      last = s;
      error = undefined;
    } catch (err) {
      error = unreachable(err);
    }
    draw();
  };
  tty.write("\x1b[?1049h\x1b[?25l");
  const onKey = (data: Buffer | string) => {
    const s = typeof data === "string" ? data : data.toString("utf8");
    if (s.includes("q") || s.includes("Q") || s.includes("\x03")) done();
  };
  if (stdin.isTTY) stdin.setRawMode(true);
  stdin.on("data", onKey);
  stdin.resume();
  tty.on("resize", draw);
  const offs = [onSignal("SIGTERM", () => done()), onSignal("SIGINT", () => done())];
  await poll();
  const timer = setInterval(() => void poll(), intervalMs);
  await finished;
  clearInterval(timer);
  for (const off of offs) off();
  tty.off("resize", draw);
  stdin.off("data", onKey);
  if (stdin.isTTY) stdin.setRawMode(false);
  stdin.pause();
  tty.write("\x1b[?25h\x1b[?1049l");
  return EXIT_OK;
}
