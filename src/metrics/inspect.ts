// Runs a component type's read-only `inspect()` with the same context the agent gives the component, so defaults
// resolve to the same paths. Shared by `sluice status` and the per-file gauges of /metrics/prometheus.

import type { AgentSpec, Resolved } from "../core/spec.ts";
import type { InspectReport } from "../core/component-type.ts";
import { componentContext } from "../core/agent.ts";

export function inspectComponent(spec: AgentSpec, r: Resolved, stateDir: string): Promise<InspectReport> | undefined {
  return r.type.inspect?.(r.config, componentContext(spec.agent, r, { stateDir }));
}

export interface FileLag {
  source: string;
  type: string;
  file: string;
  bytesBehind: number;
}

/**
 * Bytes behind EOF per tailed file, from each source's inspect() rows that carry `file` and `lag` (TAILDIR). They
 * come from the persisted position file, so they trail the live reader by up to its writePosInterval.
 */
export async function fileLags(spec: AgentSpec, stateDir: string): Promise<FileLag[]> {
  const out: FileLag[] = [];
  for (const s of spec.sources) {
    const report = await inspectComponent(spec, s, stateDir)?.catch(() => undefined);
    for (const it of report?.items ?? []) {
      if (typeof it.file === "string" && typeof it.lag === "number") out.push({ source: s.name, type: s.typeName, file: it.file, bytesBehind: it.lag });
    }
  }
  return out;
}
