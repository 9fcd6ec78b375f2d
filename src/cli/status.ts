// `sluice status -f FILE [-n NAME] [--json]`: what an agent's state on disk says, whether or not the agent runs.
// Read-only: it asks each component type's `inspect()` (the type owns its disk format) and reads the lock file; it
// never takes the lock, writes or repairs anything. A table for people, `--json` for scripts.

import { parseArgs } from "node:util";
import { parseOrUsage } from "./args.ts";
import type { AgentSpec, Resolved } from "../core/spec.ts";
import type { InspectReport } from "../core/component-type.ts";
import { describeError } from "../core/errors.ts";
import { lockHolder, lockPath } from "../core/lock.ts";
import { inspectComponent } from "../metrics/inspect.ts";
import { readDropped, type DroppedReport } from "../metrics/dropped-file.ts";
import { CONFIG_OPTIONS, loadConfig, resolveStateDir } from "./common.ts";
import { EXIT_OK } from "./exit-codes.ts";

export const STATUS_HELP = `usage: sluice status -f FILE [-n NAME] [--state-dir DIR] [--json]

Shows the agent's state on disk, whether or not the agent runs (read-only): per tailed file its path, inode, offset,
size and lag; per spool directory the files pending and in progress; per channel the events and bytes in its log and
the checkpoint's age; whether an agent holds the lock (its pid); and the events each component dropped on purpose,
per reason, since the agent started (EventsDropped, as the agent last wrote it to <state-dir>/<agent>/dropped.json).

options:
  -f, --conf-file FILE   the agent's config file
  -n, --name NAME        the agent (may be omitted when the file defines one)
  --state-dir DIR        the agent's --state-dir (default: $SLUICE_STATE_DIR, else /var/lib/sluice as root, ~/.sluice)
  --json                 one JSON object, for scripts`;

type Cell = string | number | boolean | null;

export interface ComponentStatus {
  kind: "source" | "channel" | "sink";
  name: string;
  type: string;
  /** Absent when the type keeps no state on disk. */
  report?: InspectReport;
  error?: string;
}

export interface StatusReport {
  agent: string;
  config: string;
  stateDir: string;
  lock: { held: true; pid: number; startedAt?: string; path: string } | { held: false; path: string };
  components: ComponentStatus[];
  /** Events dropped on purpose, per component and reason, as the agent last wrote them (since its start). */
  dropped?: DroppedReport;
}

async function inspectOne(spec: AgentSpec, r: Resolved, stateDir: string): Promise<ComponentStatus> {
  const out: ComponentStatus = { kind: r.kind as ComponentStatus["kind"], name: r.name, type: r.typeName };
  try {
    out.report = await inspectComponent(spec, r, stateDir);
  } catch (err) {
    out.error = describeError(err);
  }
  return out;
}

export async function collectStatus(spec: AgentSpec, stateDir: string): Promise<StatusReport> {
  const holder = await lockHolder(stateDir, spec.agent);
  const path = lockPath(stateDir, spec.agent);
  const components = await Promise.all([...spec.sources, ...spec.channels, ...spec.sinks].map((r) => inspectOne(spec, r, stateDir)));
  return {
    agent: spec.agent,
    config: spec.file,
    stateDir,
    lock: holder ? { held: true, pid: holder.pid, startedAt: holder.startedAt, path } : { held: false, path },
    components,
    dropped: await readDropped(stateDir, spec.agent),
  };
}

function cellText(v: Cell | undefined): string {
  if (v === null || v === undefined) return "-";
  return String(v);
}

/** Columns padded to their widest cell; numbers right-aligned. */
export function table(rows: Array<Record<string, Cell>>, indent = "  "): string[] {
  const cols: string[] = [];
  for (const r of rows) for (const k of Object.keys(r)) if (!cols.includes(k)) cols.push(k);
  const width = cols.map((c) => Math.max(c.length, ...rows.map((r) => cellText(r[c]).length)));
  const line = (cells: string[], numeric: boolean[]) => indent + cells.map((s, i) => (numeric[i] ? s.padStart(width[i]!) : s.padEnd(width[i]!))).join("  ").trimEnd();
  const numeric = cols.map((c) => rows.every((r) => r[c] === undefined || r[c] === null || typeof r[c] === "number"));
  return [line(cols, numeric), ...rows.map((r) => line(cols.map((c) => cellText(r[c])), numeric))];
}

export function formatStatus(s: StatusReport): string {
  const lines = [`agent ${s.agent} (${s.config}), state in ${s.stateDir}`];
  lines.push(s.lock.held ? `lock: held by pid ${s.lock.pid}${s.lock.startedAt ? ` since ${s.lock.startedAt}` : ""} (agent running)` : `lock: free (no agent running)`);
  for (const c of s.components) {
    const head = `${c.kind} ${c.name} (${c.type})`;
    if (c.error) lines.push(``, `${head}: cannot inspect: ${c.error}`);
    else if (!c.report) lines.push(``, `${head}: keeps no state on disk`);
    else {
      const summary = Object.entries(c.report.summary).map(([k, v]) => `${k} ${cellText(v)}`).join(", ");
      lines.push(``, `${head}${summary ? `: ${summary}` : ""}`);
      if (c.report.items && c.report.items.length > 0) lines.push(...table(c.report.items));
    }
  }
  const d = s.dropped;
  if (d) {
    const rows = Object.entries(d.components).flatMap(([component, reasons]) => Object.entries(reasons).map(([reason, events]) => ({ component, reason, events })));
    const whose = s.lock.held && s.lock.pid === d.pid ? "the running agent" : `pid ${d.pid}, no longer running`;
    lines.push(``, `events dropped on purpose (EventsDropped) since ${d.since} (${whose}, as of ${d.updatedAt})${rows.length === 0 ? ": none" : ""}`);
    if (rows.length > 0) lines.push(...table(rows));
  }
  return lines.join("\n");
}

export async function statusCommand(argv: string[], out: (s: string) => void): Promise<number> {
  const options = { ...CONFIG_OPTIONS, "state-dir": { type: "string" }, json: { type: "boolean" }, help: { type: "boolean", short: "h" } } as const;
  const { values } = parseOrUsage(options, () => parseArgs({ args: argv, options, strict: true }));
  if (values.help) {
    out(STATUS_HELP);
    return EXIT_OK;
  }
  const spec = await loadConfig(values);
  const report = await collectStatus(spec, resolveStateDir(values["state-dir"]));
  out(values.json ? JSON.stringify(report, null, 2) : formatStatus(report));
  return EXIT_OK;
}
