// `/health`: healthy when the agent runs, no source keeps failing, and every sink delivered (or found nothing to
// deliver) recently.
// The reasons are what an operator reads from `curl /health` on a box that went quiet.

import type { Agent } from "../core/agent.ts";

/**
 * A sink runner that has not finished a delivery attempt for this long is reported stuck even if it never failed:
 * an idle runner polls its channel every second, so only a hung delivery stays silent this long.
 */
export const SINK_STALE_MS = 60_000;

export interface Health {
  ok: boolean;
  /** `running`, `starting`, `reloading`, `stopping`. */
  state: string;
  reasons: string[];
}

export function health(agent: Agent | undefined, state: string, now = Date.now()): Health {
  if (!agent || state !== "running") return { ok: false, state, reasons: [`agent is ${state}`] };
  const reasons: string[] = [];
  for (const [name, e] of agent.sources) {
    if (e.runner?.lastError) reasons.push(`source ${name} is failing: ${e.runner.lastError}`);
  }
  for (const r of agent.runners) {
    const name = r.processor.name;
    if (r.failing) reasons.push(`sink ${name} is failing: ${r.lastError ?? "delivery failed"}`);
    else if (now - r.lastOkAt > SINK_STALE_MS) reasons.push(`sink ${name} has not completed a delivery attempt for ${Math.round((now - r.lastOkAt) / 1000)} s`);
  }
  return { ok: reasons.length === 0, state, reasons };
}
