// Prometheus text exposition of the same counters as Flume's JSON, plus process metrics, through prom-client (a
// registry of our own, never the global one). Loaded lazily: an agent without --metrics-port never pays for it.
//
// Naming: `sluice_<kind>_<snake name>` with labels {agent, name, type}. Flume's counters (…Count, …Fail) become
// Prometheus counters ending in `_total`; StartTime/StopTime become `_time_seconds` gauges; everything else (ChannelSize,
// gauges the components report) is a gauge. Example: SOURCE r1 EventReceivedCount → sluice_source_event_received_total.
// EventsDropped → sluice_<kind>_events_dropped_total, its split per reason → …_events_dropped_by_reason_total{reason}.

import type { Counter, Gauge, Registry } from "prom-client";
import type { ComponentSnapshot } from "./snapshot.ts";
import type { FileLag } from "./inspect.ts";

type Metric = { kind: "counter"; m: Counter<string> } | { kind: "gauge"; m: Gauge<string>; scale: number };
const LABELS = ["agent", "name", "type"];
/** Snapshot keys `EventsDropped.<reason>`: one labelled counter instead of a metric per reason. */
const DROPPED_PREFIX = "EventsDropped.";

function snake(s: string): string {
  return s
    .replace(/([a-z0-9])([A-Z])/g, "$1_$2")
    .replace(/([A-Z]+)([A-Z][a-z])/g, "$1_$2")
    .replace(/[^A-Za-z0-9]+/g, "_")
    .toLowerCase();
}

/** The Prometheus name and type for one Flume counter or gauge of a component kind. */
export function metricName(kind: string, key: string): { name: string; counter: boolean; scale: number } {
  const k = kind.toLowerCase();
  let s = snake(key);
  if (s.startsWith(`${k}_`)) s = s.slice(k.length + 1);
  // Flume calls it a count, but it is the number of connections open now.
  if (key === "OpenConnectionCount") return { name: `sluice_${k}_open_connections`, counter: false, scale: 1 };
  if (/^(start|stop)_time$/.test(s)) return { name: `sluice_${k}_${s}_seconds`, counter: false, scale: 1 / 1000 };
  if (/(Count|Fail|Dropped)$/.test(key)) return { name: `sluice_${k}_${s.replace(/_count$/, "")}_total`, counter: true, scale: 1 };
  return { name: `sluice_${k}_${s}`, counter: false, scale: 1 };
}

export class PrometheusExporter {
  private readonly metrics = new Map<string, Metric>();
  private readonly fileLag: Gauge<string>;

  private constructor(
    private readonly prom: typeof import("prom-client"),
    private readonly registry: Registry,
  ) {
    this.fileLag = new prom.Gauge({
      name: "sluice_source_file_bytes_behind",
      help: "Bytes between a tailed file's persisted position and its end (trails the reader by up to writePosInterval)",
      labelNames: [...LABELS, "file"],
      registers: [registry],
    });
  }

  static async create(): Promise<PrometheusExporter> {
    const prom = await import("prom-client");
    const registry = new prom.Registry();
    prom.collectDefaultMetrics({ register: registry });
    return new PrometheusExporter(prom, registry);
  }

  get contentType(): string {
    return this.registry.contentType;
  }

  /** `sluice_<kind>_events_dropped_by_reason_total{…, reason}`: the split of EventsDropped (see core/drops.ts). */
  private droppedBy(kind: string): Counter<string> {
    const name = `sluice_${kind.toLowerCase()}_events_dropped_by_reason_total`;
    let m = this.metrics.get(name);
    if (!m) {
      m = { kind: "counter", m: new this.prom.Counter({ name, help: `Events a ${kind} dropped on purpose, by reason`, labelNames: [...LABELS, "reason"], registers: [this.registry] }) };
      this.metrics.set(name, m);
    }
    return m.m as Counter<string>;
  }

  private metric(kind: string, key: string): Metric {
    const { name, counter, scale } = metricName(kind, key);
    let m = this.metrics.get(name);
    if (!m) {
      const help = `Flume ${kind} ${key}`;
      m = counter
        ? { kind: "counter", m: new this.prom.Counter({ name, help, labelNames: LABELS, registers: [this.registry] }) }
        : { kind: "gauge", m: new this.prom.Gauge({ name, help, labelNames: LABELS, registers: [this.registry] }), scale };
      this.metrics.set(name, m);
    }
    return m;
  }

  /** The exposition text for one snapshot (components gone since the last scrape disappear). */
  async render(agent: string, snap: readonly ComponentSnapshot[], lags: readonly FileLag[] = []): Promise<string> {
    for (const m of this.metrics.values()) m.m.reset();
    this.fileLag.reset();
    for (const l of lags) this.fileLag.set({ agent, name: l.source, type: l.type, file: l.file }, l.bytesBehind);
    for (const c of snap) {
      const labels = { agent, name: c.name, type: c.type };
      for (const [key, v] of Object.entries(c.values)) {
        if (!Number.isFinite(v)) continue;
        if (key.startsWith(DROPPED_PREFIX)) {
          this.droppedBy(c.kind).inc({ ...labels, reason: key.slice(DROPPED_PREFIX.length) }, Math.max(0, v));
          continue;
        }
        const m = this.metric(c.kind, key);
        // Counters only go up: the value is the component's own running total, added once after the reset.
        if (m.kind === "counter") m.m.inc(labels, Math.max(0, v));
        else m.m.set(labels, v * m.scale);
      }
    }
    return this.registry.metrics();
  }
}
