// Progress of a cron-mode run (`agent --once`): on a terminal a progress bar (cli-progress) — bytes done of the run's
// backlog, events delivered, rate, ETA; off a terminal (cron, systemd) a plain log line every few seconds.
//
// Bytes come from the file sources' BytesBehind gauge: bytes between the newest *safe* offset (in a durable channel,
// or delivered) and the end of each file. The run's backlog is what was behind when first seen plus every later growth
// (files appended to, new files found); "done" is the backlog minus what is behind now. So a sink that is down shows
// 0 % even though the source already read the lines into a memory channel: nothing of it is safe yet. The figure is
// sampled every SAMPLE_MS; growth and progress within one sample partly cancel, so the backlog is never taken below
// the bytes read in this run (BytesRead), which also covers runs shorter than one sample. Sources without the gauges
// (seq, avro, http) add only events.

import type { Agent } from "../core/agent.ts";
import { configureLogging, type Logger } from "../util/log.ts";
import { snapshot, total } from "../metrics/snapshot.ts";

/** How often the log-line form reports (off a terminal). */
export const PROGRESS_LOG_INTERVAL_MS = 5_000;
const SAMPLE_MS = 200;

interface Reading {
  behind: number;
  read: number;
  hasBytes: boolean;
  events: number;
}

function sample(agent: Agent): Reading {
  const snap = snapshot(agent);
  return {
    behind: total(snap, "SOURCE", "BytesBehind"),
    read: total(snap, "SOURCE", "BytesRead"),
    hasBytes: snap.some((c) => c.kind === "SOURCE" && "BytesBehind" in c.values),
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

/** Backlog bookkeeping from successive BytesBehind samples. */
export class Backlog {
  total = 0;
  private last = 0;

  /** `readInRun`: bytes the sources read since the run started (every one of them was part of the backlog). */
  update(behind: number, readInRun: number): void {
    if (behind > this.last) this.total += behind - this.last;
    this.last = behind;
    this.total = Math.max(this.total, readInRun);
  }

  get behind(): number {
    return this.last;
  }

  get done(): number {
    return Math.max(0, this.total - this.last);
  }
}

export class Progress {
  private sampler?: ReturnType<typeof setInterval>;
  private logger?: ReturnType<typeof setInterval>;
  private stopBar?: () => void;
  private readonly t0 = Date.now();
  private readonly backlog = new Backlog();
  private readonly events0: number;
  private readonly read0: number;
  private last: Reading;

  private constructor(
    private readonly agent: Agent,
    private readonly log: Logger,
  ) {
    this.last = sample(agent);
    this.events0 = this.last.events;
    this.read0 = this.last.read;
    this.backlog.update(this.last.behind, 0);
  }

  /** Starts reporting: a bar when `tty`, else log lines. */
  static async start(agent: Agent, log: Logger, tty: boolean): Promise<Progress> {
    const p = new Progress(agent, log);
    p.sampler = setInterval(() => p.tick(), SAMPLE_MS);
    if (tty) await p.startBar();
    else p.logger = setInterval(() => p.log.info(`progress: ${p.describe()}`), PROGRESS_LOG_INTERVAL_MS);
    return p;
  }

  private tick(): void {
    this.last = sample(this.agent);
    this.backlog.update(this.last.behind, this.last.read - this.read0);
  }

  /** "done 12 MiB of 100 MiB (12%), 3400 events delivered (900/s), 4.1 MiB/s, ETA 21s". */
  describe(): string {
    const secs = Math.max((Date.now() - this.t0) / 1000, 0.001);
    const r = this.last;
    const events = `${r.events} events delivered (${Math.round((r.events - this.events0) / secs)}/s)`;
    if (!r.hasBytes) return events;
    const b = this.backlog;
    const rate = b.done / secs;
    const pct = b.total > 0 ? Math.floor((b.done * 100) / b.total) : 100;
    return `done ${formatBytes(b.done)} of ${formatBytes(b.total)} (${pct}%), ${events}, ${formatBytes(Math.round(rate))}/s, ETA ${b.behind === 0 ? "0s" : rate > 0 ? formatSeconds(b.behind / rate) : "?"}`;
  }

  private async startBar(): Promise<void> {
    const { MultiBar, Presets } = await import("cli-progress");
    const multi = new MultiBar({ stream: process.stderr, hideCursor: true, clearOnComplete: false, fps: 1000 / SAMPLE_MS, format: " {bar} {text}" }, Presets.shades_classic);
    const bar = multi.create(1, 0, { text: "" });
    // Log lines would tear the bar: route them above it while it shows.
    configureLogging({ write: (line) => multi.log(line + "\n") });
    const refresh = () => {
      const bytes = this.last.hasBytes;
      bar.setTotal(Math.max(1, bytes ? this.backlog.total : this.last.events));
      bar.update(bytes ? this.backlog.done : this.last.events, { text: this.describe() });
    };
    const barTimer = setInterval(refresh, SAMPLE_MS);
    this.stopBar = () => {
      clearInterval(barTimer);
      refresh();
      multi.stop();
      configureLogging({ write: (line) => process.stderr.write(line + "\n") });
    };
  }

  /** Stops reporting and returns the final figures (one line); may be called again for fresher figures. */
  stop(): string {
    clearInterval(this.sampler);
    clearInterval(this.logger);
    this.tick();
    const final = this.describe();
    this.stopBar?.();
    this.stopBar = undefined;
    return final;
  }
}
