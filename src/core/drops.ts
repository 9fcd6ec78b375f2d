// Events dropped on purpose (a filter interceptor, an unmapped selector value, a sink's `rollback.CODE = false`…),
// counted per component and reason: never only logged. One DropCounts per component; the metrics snapshot shows the
// total as `EventsDropped` and each reason as `EventsDropped.<reason>` (Flume JSON, Prometheus with a reason label).

export class DropCounts {
  /** Every event dropped on purpose by this component, whatever the reason. */
  total = 0;
  /** Reason (a short stable phrase naming what dropped them: "regex_filter i1", "no channel matched") → events. */
  readonly byReason = new Map<string, number>();

  /** Counts `n` events dropped for `reason` (per batch, never per event in a loop). */
  add(reason: string, n: number): void {
    if (n <= 0) return;
    this.total += n;
    this.byReason.set(reason, (this.byReason.get(reason) ?? 0) + n);
  }

  /** `{EventsDropped, "EventsDropped.<reason>"…}` for a metrics snapshot. */
  values(): Record<string, number> {
    const out: Record<string, number> = { EventsDropped: this.total };
    for (const [r, n] of this.byReason) out[`EventsDropped.${r}`] = n;
    return out;
  }
}
