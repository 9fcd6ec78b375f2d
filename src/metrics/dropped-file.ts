// The running agent's drop counts on disk, so `sluice status` (which reads only files) can show them:
// `<state-dir>/<agent>/dropped.json`, one JSON object
//   {"pid":1234,"since":"2026-12-03T12:00:00.000Z","updatedAt":"…","components":{"SOURCE.r1":{"regex_filter i1":11}}}
// — per component (Flume's `KIND.name`), events dropped on purpose per reason since that process started (the
// counters of core/drops.ts). Written at start, then at most once per DROPPED_WRITE_MS while the counts change, and
// at stop; atomically (temp + rename), without fsync: it is a report, not state, and a lost update costs nothing.

import { join } from "node:path";
import { readFile } from "node:fs/promises";
import { atomicWriteFile } from "../util/atomic-file.ts";
import type { MetricsSource } from "./server.ts";
import { snapshot } from "./snapshot.ts";

export const DROPPED_FILE = "dropped.json";
/** How often the counts are looked at (and written when they changed). */
const DROPPED_WRITE_MS = 1000;
const PREFIX = "EventsDropped.";

export interface DroppedReport {
  pid: number;
  since: string;
  updatedAt: string;
  /** `KIND.name` → reason → events (components that dropped nothing are left out). */
  components: Record<string, Record<string, number>>;
}

export function droppedPath(stateDir: string, agent: string): string {
  return join(stateDir, agent, DROPPED_FILE);
}

function collect(src: MetricsSource): DroppedReport["components"] {
  const out: DroppedReport["components"] = {};
  const a = src.current();
  if (!a) return out;
  for (const c of snapshot(a)) {
    for (const [k, v] of Object.entries(c.values)) {
      if (k.startsWith(PREFIX) && v > 0) (out[`${c.kind}.${c.name}`] ??= {})[k.slice(PREFIX.length)] = v;
    }
  }
  return out;
}

/** Keeps dropped.json up to date for `src` until stop(); a failed write is retried on the next tick, never fatal. */
export function startDroppedFile(src: MetricsSource, onError: (message: string) => void): { stop(): Promise<void> } {
  const path = droppedPath(src.stateDir, src.agentName);
  const since = new Date().toISOString();
  let last: string | undefined;
  let writing: Promise<void> = Promise.resolve();
  const write = () => {
    writing = writing.then(async () => {
      const components = collect(src);
      const key = JSON.stringify(components);
      if (key === last) return;
      const report: DroppedReport = { pid: process.pid, since, updatedAt: new Date().toISOString(), components };
      try {
        await atomicWriteFile(path, JSON.stringify(report) + "\n", { durable: false });
        last = key;
      } catch (err) {
        onError(`cannot write ${path}: ${(err as Error).message}`);
      }
    });
    return writing;
  };
  void write();
  const timer = setInterval(() => void write(), DROPPED_WRITE_MS);
  timer.unref?.();
  return {
    async stop() {
      clearInterval(timer);
      await write();
    },
  };
}

/** The last report written for this agent; undefined when there is none or it does not parse. */
export async function readDropped(stateDir: string, agent: string): Promise<DroppedReport | undefined> {
  try {
    const o = JSON.parse(await readFile(droppedPath(stateDir, agent), "utf8")) as DroppedReport;
    return typeof o?.pid === "number" && typeof o.components === "object" && o.components !== null ? o : undefined;
  } catch {
    return undefined;
  }
}
