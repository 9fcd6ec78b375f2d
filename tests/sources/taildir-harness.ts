// Runs a real agent in this process for the file-source tests: a source → memory channel → file_roll sink into a
// temp dir, so delivered lines can be read back byte for byte.

import { afterAll } from "bun:test";
import { mkdir, readdir, readFile } from "node:fs/promises";
import { join } from "node:path";
import { Agent } from "../../src/core/agent.ts";
import { buildAgentSpec } from "../../src/config/load.ts";
import { configureLogging } from "../../src/util/log.ts";
import { onCleanup, waitFor } from "../helpers/index.ts";

export interface Running {
  agent: Agent;
  out: string;
  logs: string[];
  stop(): Promise<void>;
}

const logLines: string[] = [];
/** Captures log lines (again at each start: other test files in the same process configure logging too). */
const capture = () => configureLogging({ level: "info", format: "text", write: (l) => logLines.push(l) });
afterAll(() => configureLogging({ level: "info", write: (l) => process.stderr.write(l + "\n") }));

/** `source` lines are the r1 keys without the `a1.sources.r1.` prefix. */
export function agentConfig(root: string, source: string[], sink: string[] = [], channel: string[] = []): string {
  return [
    "a1.sources = r1",
    "a1.channels = c1",
    "a1.sinks = k1",
    "a1.sources.r1.channels = c1",
    ...source.map((l) => `a1.sources.r1.${l}`),
    "a1.channels.c1.type = memory",
    ...["capacity = 10000", "transactionCapacity = 1000"].filter((d) => !channel.some((c) => c.split(" ")[0] === d.split(" ")[0])).map((l) => `a1.channels.c1.${l}`),
    ...channel.map((l) => `a1.channels.c1.${l}`),
    "a1.sinks.k1.type = file_roll",
    "a1.sinks.k1.channel = c1",
    `a1.sinks.k1.sink.directory = ${join(root, "out")}`,
    "a1.sinks.k1.sink.rollInterval = 0",
    ...sink.map((l) => `a1.sinks.k1.${l}`),
  ].join("\n");
}

export async function startAgent(root: string, source: string[], o: { sink?: string[]; channel?: string[]; once?: boolean } = {}): Promise<Running> {
  const { spec, problems } = buildAgentSpec(agentConfig(root, source, o.sink, o.channel), join(root, "agent.conf"));
  if (!spec) throw new Error(problems.map((p) => `${p.key}: ${p.message}`).join("\n"));
  await mkdir(join(root, "out"), { recursive: true });
  capture();
  const agent = await Agent.build(spec, { stateDir: join(root, "state"), once: o.once });
  const from = logLines.length;
  await agent.start();
  let stopped = false;
  const stop = async () => {
    if (stopped) return;
    stopped = true;
    await agent.stop(5000);
  };
  onCleanup(stop);
  return {
    agent,
    out: join(root, "out"),
    get logs() {
      return logLines.slice(from);
    },
    stop,
  };
}

/** Delivered lines, in order, across every output file. */
export async function delivered(out: string): Promise<string[]> {
  const names = (await readdir(out).catch(() => [] as string[])).sort();
  const lines: string[] = [];
  for (const n of names) {
    const t = await readFile(join(out, n), "utf8");
    const parts = t.split("\n");
    parts.pop();
    lines.push(...parts);
  }
  return lines;
}

export async function waitForLines(out: string, n: number, timeoutMs = 15_000): Promise<string[]> {
  let last: string[] = [];
  try {
    await waitFor(`${n} delivered lines`, async () => (last = await delivered(out)).length >= n, timeoutMs, 50);
  } catch (err) {
    throw new Error(`${(err as Error).message}; have ${last.length}, the last: ${JSON.stringify(last.slice(-3))}`);
  }
  return last;
}

export function numbered(prefix: string, from: number, to: number): string {
  let s = "";
  for (let i = from; i < to; i++) s += `${prefix}${i}\n`;
  return s;
}

export function range(prefix: string, from: number, to: number): string[] {
  const a: string[] = [];
  for (let i = from; i < to; i++) a.push(`${prefix}${i}`);
  return a;
}
