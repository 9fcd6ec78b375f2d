// One read of every component's counters and gauges, in Flume's shape: `SOURCE.r1`, `CHANNEL.c1`, `SINK.k1`, each a
// map of Flume's counter names. The JSON endpoint, the Prometheus endpoint and cron-mode progress all read this.

import type { Agent } from "../core/agent.ts";
import { DropCounts } from "../core/drops.ts";

export type ComponentKind = "SOURCE" | "CHANNEL" | "SINK";

export interface ComponentSnapshot {
  kind: ComponentKind;
  name: string;
  /** The component's type name (`memory`, `TAILDIR`). */
  type: string;
  /** Counters under Flume's names, plus ChannelSize/Capacity/FillPercentage for channels, plus the gauges. */
  values: Record<string, number>;
}

function numeric(o: object): Record<string, number> {
  const out: Record<string, number> = {};
  for (const [k, v] of Object.entries(o)) if (typeof v === "number") out[k] = v;
  return out;
}

export function snapshot(agent: Agent): ComponentSnapshot[] {
  const out: ComponentSnapshot[] = [];
  for (const [name, e] of agent.sources) {
    const dropped = new DropCounts();
    for (const d of [e.source.counters.dropped, e.processor.dropped]) for (const [r, n] of d.byReason) dropped.add(r, n);
    out.push({ kind: "SOURCE", name, type: e.source.type, values: { ...numeric(e.source.counters), ...dropped.values(), ...e.source.gauges?.() } });
  }
  for (const [name, ch] of agent.channels) {
    const size = ch.size();
    const cap = ch.capacity();
    out.push({
      kind: "CHANNEL",
      name,
      type: ch.type,
      values: { ...numeric(ch.counters), ...ch.counters.dropped.values(), ChannelSize: size, ChannelCapacity: cap, ChannelFillPercentage: cap > 0 ? (size * 100) / cap : 0, ...ch.gauges?.() },
    });
  }
  for (const [name, sink] of agent.sinks) out.push({ kind: "SINK", name, type: sink.type, values: { ...numeric(sink.counters), ...sink.counters.dropped.values() } });
  return out;
}

/** Flume's `/metrics` body: `{"SOURCE.r1": {"EventReceivedCount": "12", …, "Type": "SOURCE"}, …}` with string values. */
export function flumeJson(snap: readonly ComponentSnapshot[]): Record<string, Record<string, string>> {
  const out: Record<string, Record<string, string>> = {};
  for (const c of snap) {
    const m: Record<string, string> = {};
    for (const [k, v] of Object.entries(c.values)) m[k] = String(v);
    m.Type = c.kind;
    out[`${c.kind}.${c.name}`] = m;
  }
  return out;
}

/** Sum of one value over the components of a kind (missing values count 0). */
export function total(snap: readonly ComponentSnapshot[], kind: ComponentKind, key: string): number {
  let n = 0;
  for (const c of snap) if (c.kind === kind) n += c.values[key] ?? 0;
  return n;
}
