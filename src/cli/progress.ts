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

export interface ProgressFields {
  events: number;
  eventRate: number;
  /** Byte figures: only for runs with file sources. */
  done?: number;
  total?: number;
  pct?: number;
  byteRate?: number;
  eta?: string;
}

/** Usable columns of a terminal stream (one short of the edge: a full last column makes some terminals wrap). */
function columns(stream: { columns?: number }): number {
  return Math.max(10, (stream.columns || 80) - 1);
}

const BAR_FULL = "\u2588";
const BAR_EMPTY = "\u2591";
const BAR_MIN = 10;
const BAR_MAX = 40;

/**
 * The bar's line fitted to `width`: `████░░░░ 12% · 12 MiB of 100 MiB · 3400 events (900/s) · 4.1 MiB/s · ETA 21s`.
 * As the width shrinks the bar narrows to BAR_MIN, then fields go in a fixed order — the event rate, the byte rate,
 * the event count, the bytes done of total — then the bar itself; the percentage and the ETA stay.
 */
export function fitProgressLine(width: number, f: ProgressFields): string {
  const fraction = f.pct !== undefined ? f.pct / 100 : 0;
  type Field = { text: string; drop: number };
  const fields: Field[] = [];
  if (f.pct !== undefined) fields.push({ text: `${f.pct}%`, drop: Infinity });
  if (f.done !== undefined) fields.push({ text: `${formatBytes(f.done)} of ${formatBytes(f.total!)}`, drop: 4 });
  fields.push({ text: `${f.events} events`, drop: f.pct === undefined ? Infinity : 3 });
  fields.push({ text: `(${f.eventRate}/s)`, drop: 1 });
  if (f.byteRate !== undefined) fields.push({ text: `${formatBytes(f.byteRate)}/s`, drop: 2 });
  if (f.eta !== undefined) fields.push({ text: `ETA ${f.eta}`, drop: Infinity });
  const text = (list: Field[]) => list.map((x) => x.text).join(" · ").replace(" events · (", " events (");
  let kept = fields;
  // Without byte figures (seq, avro, http sources) there is no fraction to draw: the events and their rate only.
  if (f.pct === undefined) return (text(kept).length <= width ? text(kept) : text(kept.filter((x) => x.drop > 1))).slice(0, width);
  for (let level = 1; ; level++) {
    const t = text(kept);
    const room = width - t.length - 1;
    if (room >= BAR_MIN) {
      const size = Math.min(BAR_MAX, room);
      const full = Math.round(size * fraction);
      return `${BAR_FULL.repeat(full)}${BAR_EMPTY.repeat(size - full)} ${t}`;
    }
    if (level > 4) return t.slice(0, width);
    kept = kept.filter((x) => x.drop > level);
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

  /** The figures of the run so far, for the log line and the bar. */
  fields(): ProgressFields {
    const secs = Math.max((Date.now() - this.t0) / 1000, 0.001);
    const r = this.last;
    const f: ProgressFields = { events: r.events, eventRate: Math.round((r.events - this.events0) / secs) };
    if (!r.hasBytes) return f;
    const b = this.backlog;
    const rate = b.done / secs;
    f.done = b.done;
    f.total = b.total;
    f.pct = b.total > 0 ? Math.floor((b.done * 100) / b.total) : 100;
    f.byteRate = Math.round(rate);
    f.eta = b.behind === 0 ? "0s" : rate > 0 ? formatSeconds(b.behind / rate) : "?";
    return f;
  }

  /** "done 12 MiB of 100 MiB (12%), 3400 events delivered (900/s), 4.1 MiB/s, ETA 21s". */
  describe(): string {
    const f = this.fields();
    const events = `${f.events} events delivered (${f.eventRate}/s)`;
    if (f.pct === undefined) return events;
    return `done ${formatBytes(f.done!)} of ${formatBytes(f.total!)} (${f.pct}%), ${events}, ${formatBytes(f.byteRate!)}/s, ETA ${f.eta}`;
  }

  private async startBar(): Promise<void> {
    const { MultiBar } = await import("cli-progress");
    const stream = process.stderr;
    // The whole line is ours, fitted to the terminal's width at each render (so a resize is followed at once).
    // Autowrap stays on (linewrap: true): with it off, cli-progress's terminal cut every log line at the edge.
    let drawn = 0;
    const line = () => {
      const l = fitProgressLine(columns(stream), this.fields());
      drawn = l.length;
      return l;
    };
    const multi = new MultiBar({ stream, hideCursor: true, clearOnComplete: false, fps: 1000 / SAMPLE_MS, linewrap: true, format: line });
    const bar = multi.create(1, 0);
    // Log lines would tear the bar: they go above it, whole, at the next render.
    configureLogging({ write: (line) => multi.log(line + "\n") });
    // A terminal made narrower reflows the bar drawn last onto as many rows as it now needs (tmux, most terminal
    // emulators): go up to the first of them and clear down before the redraw, or the old copy stays on screen.
    const onResize = () => {
      const rows = Math.ceil(drawn / Math.max(1, stream.columns || 80)) - 1;
      stream.write(`\r${rows > 0 ? `\x1b[${rows}A` : ""}\x1b[J`);
      bar.update(0);
    };
    stream.on("resize", onResize);
    const refresh = () => bar.update(0);
    const barTimer = setInterval(refresh, SAMPLE_MS);
    this.stopBar = () => {
      clearInterval(barTimer);
      stream.off("resize", onResize);
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
