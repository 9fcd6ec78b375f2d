// Progress of a cron-mode run (`agent --once`): on a terminal a progress bar (cli-progress) — bytes read of the total
// backlog, events delivered, rate, ETA; off a terminal (cron, systemd) a plain log line every few seconds.
// Bytes come from the sources' BytesRead/BytesBehind gauges (file sources); sources without them add only events.

import type { Agent } from "../core/agent.ts";
import { configureLogging, type Logger } from "../util/log.ts";
import { snapshot, total } from "../metrics/snapshot.ts";

/** How often the log-line form reports (off a terminal). */
export const PROGRESS_LOG_INTERVAL_MS = 5_000;
const BAR_REFRESH_MS = 200;

interface Reading {
  read: number;
  behind: number;
  hasBytes: boolean;
  events: number;
}

function read(agent: Agent): Reading {
  const snap = snapshot(agent);
  return {
    read: total(snap, "SOURCE", "BytesRead"),
    behind: total(snap, "SOURCE", "BytesBehind"),
    hasBytes: snap.some((c) => c.kind === "SOURCE" && "BytesRead" in c.values),
    events: total(snap, "SINK", "EventDrainSuccessCount"),
  };
}

export function formatBytes(n: number): string {
  if (n < 1024) return `${n} B`;
  const units = ["KiB", "MiB", "GiB", "TiB"];
  let v = n / 1024;
  let i = 0;
  while (v >= 1024 && i < units.length - 1) {
    v /= 1024;
    i++;
  }
  return `${v.toFixed(v < 10 ? 1 : 0)} ${units[i]}`;
}

function formatSeconds(s: number): string {
  if (!Number.isFinite(s)) return "?";
  if (s < 60) return `${Math.ceil(s)}s`;
  if (s < 3600) return `${Math.floor(s / 60)}m${String(Math.ceil(s % 60)).padStart(2, "0")}s`;
  return `${Math.floor(s / 3600)}h${String(Math.floor((s % 3600) / 60)).padStart(2, "0")}m`;
}

/** One line: "read 12 MiB of 100 MiB (12%), 3400 events delivered, 4.1 MiB/s, ETA 21s". */
function describe(r: Reading, start: Reading, elapsedMs: number): string {
  const secs = Math.max(elapsedMs / 1000, 0.001);
  const events = `${r.events} events delivered (${Math.round((r.events - start.events) / secs)}/s)`;
  if (!r.hasBytes) return events;
  const all = r.read + r.behind;
  const rate = (r.read - start.read) / secs;
  const pct = all > 0 ? Math.floor((r.read * 100) / all) : 100;
  return `read ${formatBytes(r.read)} of ${formatBytes(all)} (${pct}%), ${events}, ${formatBytes(Math.round(rate))}/s, ETA ${rate > 0 ? formatSeconds(r.behind / rate) : "?"}`;
}

export class Progress {
  private timer?: ReturnType<typeof setInterval>;
  private stopBar?: () => void;
  private readonly t0 = Date.now();
  private readonly first: Reading;

  private constructor(
    private readonly agent: Agent,
    private readonly log: Logger,
  ) {
    this.first = read(agent);
  }

  /** Starts reporting: a bar when `tty`, else log lines. */
  static async start(agent: Agent, log: Logger, tty: boolean): Promise<Progress> {
    const p = new Progress(agent, log);
    if (tty) await p.startBar();
    else p.timer = setInterval(() => p.log.info(`progress: ${describe(read(agent), p.first, Date.now() - p.t0)}`), PROGRESS_LOG_INTERVAL_MS);
    return p;
  }

  private async startBar(): Promise<void> {
    const { MultiBar, Presets } = await import("cli-progress");
    const multi = new MultiBar({ stream: process.stderr, hideCursor: true, clearOnComplete: false, fps: 1000 / BAR_REFRESH_MS, format: " {bar} {text}" }, Presets.shades_classic);
    const r0 = read(this.agent);
    const bar = multi.create(Math.max(1, r0.read + r0.behind), r0.read, { text: "" });
    // Log lines would tear the bar: route them above it while it shows.
    configureLogging({ write: (line) => multi.log(line + "\n") });
    const refresh = () => {
      const r = read(this.agent);
      bar.setTotal(Math.max(1, r.hasBytes ? r.read + r.behind : r.events));
      bar.update(r.hasBytes ? r.read : r.events, { text: describe(r, this.first, Date.now() - this.t0) });
    };
    this.timer = setInterval(refresh, BAR_REFRESH_MS);
    this.stopBar = () => {
      refresh();
      multi.stop();
      configureLogging({ write: (line) => process.stderr.write(line + "\n") });
    };
  }

  /** Stops reporting and prints the final figures once. */
  stop(): string {
    clearInterval(this.timer);
    const final = describe(read(this.agent), this.first, Date.now() - this.t0);
    this.stopBar?.();
    return final;
  }
}
