// Shared by the operations tests (tests/e2e/ops-*.test.ts): config builders for TAILDIR → channel → file_roll
// agents, writing numbered log lines, and reading `sluice status --json` and the metrics endpoint.

import { appendFile } from "node:fs/promises";
import { join } from "node:path";
import { runSluice, waitFor, readAllLines } from "../helpers/index.ts";
import type { StatusReport } from "../../src/cli/status.ts";

export interface TailOpts {
  /** Directory of the tailed logs; the group matches `app.log` and its rotations (`app.log.1`…). */
  logs: string;
  out: string;
  channel?: "memory" | string[];
  /** Extra lines appended at the end (overrides). */
  extra?: string[];
  agent?: string;
}

/** TAILDIR(logs/app.log*) → channel c1 → file_roll(out). */
export function tailConfig(o: TailOpts): string[] {
  const a = o.agent ?? "a1";
  const channel = o.channel === undefined || o.channel === "memory" ? [`${a}.channels.c1.type = memory`, `${a}.channels.c1.capacity = 10000`, `${a}.channels.c1.transactionCapacity = 1000`] : o.channel;
  return [
    `${a}.sources = r1`,
    `${a}.channels = c1`,
    `${a}.sinks = k1`,
    `${a}.sources.r1.type = TAILDIR`,
    `${a}.sources.r1.channels = c1`,
    `${a}.sources.r1.filegroups = f1`,
    // The properties syntax eats a backslash, so the regex avoids one.
    `${a}.sources.r1.filegroups.f1 = ${o.logs}/app[.]log.*`,
    `${a}.sources.r1.batchSize = 100`,
    `${a}.sources.r1.writePosInterval = 200`,
    `${a}.sources.r1.backoffSleepIncrement = 50`,
    `${a}.sources.r1.maxBackoffSleep = 200`,
    ...channel,
    `${a}.sinks.k1.type = file_roll`,
    `${a}.sinks.k1.channel = c1`,
    `${a}.sinks.k1.sink.directory = ${o.out}`,
    `${a}.sinks.k1.sink.rollInterval = 0`,
    `${a}.sinks.k1.sink.batchSize = 100`,
    ...(o.extra ?? []),
  ];
}

/** Appends lines `<prefix><i>` for i in [from, to) to a file. */
export async function writeLines(file: string, from: number, to: number, prefix = "line-"): Promise<void> {
  let s = "";
  for (let i = from; i < to; i++) s += `${prefix}${i}\n`;
  await appendFile(file, s);
}

export function expectedLines(from: number, to: number, prefix = "line-"): string[] {
  return Array.from({ length: to - from }, (_, i) => `${prefix}${from + i}`);
}

/** Distinct lines delivered to a file_roll directory (duplicates from a crash are allowed, loss is not). */
export async function delivered(out: string): Promise<Set<string>> {
  return new Set(await readAllLines(out));
}

export async function waitDelivered(out: string, n: number, timeoutMs = 20_000): Promise<Set<string>> {
  return waitFor(`${n} distinct lines in ${out}`, async () => {
    const s = await delivered(out);
    return s.size >= n ? s : undefined;
  }, timeoutMs, 50);
}

export async function status(conf: string, stateDir: string): Promise<StatusReport> {
  const r = await runSluice(["status", "-f", conf, "--state-dir", stateDir, "--json"]);
  if (r.code !== 0) throw new Error(`status exited ${r.code}: ${r.stderr}`);
  return JSON.parse(r.stdout) as StatusReport;
}

export function stateArgs(conf: string, stateDir: string): string[] {
  return ["agent", "-f", conf, "--state-dir", stateDir];
}

export const logFile = (logs: string, suffix = "") => join(logs, `app.log${suffix}`);

export async function getJson(url: string): Promise<{ status: number; body: any }> {
  const r = await fetch(url);
  return { status: r.status, body: await r.json() };
}
