// Cron mode (`agent --once`, alias `--exit-when-drained`): read every source to its current end, deliver everything,
// persist offsets and checkpoints, exit 0. If that is not done by --max-runtime (typically: a sink stays unreachable),
// stop with a bounded drain — sources persist only what is safe — and exit 3, so the next run resumes.
//
// "Read to its current end" is each pollable source returning `done` in cron mode (TAILDIR: every matched file read to
// EOF; spooldir: the directory empty; seq: totalEvents). Event-driven sources (avro, http) never end, so they count as
// done at once: a cron run delivers what is already in the channels and whatever arrives while it drains.

import type { Agent } from "../core/agent.ts";
import { isPollable } from "../core/source.ts";
import { describeError } from "../core/errors.ts";
import type { Logger } from "../util/log.ts";
import { EXIT_INCOMPLETE, EXIT_OK, EXIT_RUNTIME } from "./exit-codes.ts";
import { Progress } from "./progress.ts";

/** How often the run checks whether everything was delivered. */
const POLL_MS = 50;

export interface OnceOptions {
  maxRuntimeMs: number;
  drainMs: number;
  log: Logger;
  /** Show a progress bar (stderr is a terminal) rather than log lines. */
  tty: boolean;
  /** Resolves when SIGTERM/SIGINT asks the run to stop early. */
  stopRequested: Promise<void>;
  /** One line for a start failure (component, key and value first). */
  describeStartError?(err: unknown): string;
}

/** No sink is failing or in the middle of a delivery (a batch taken but not yet committed or rolled back). */
function sinksIdle(agent: Agent): boolean {
  return !agent.runners.some((r) => r.failing || r.busy);
}

function leftover(agent: Agent): string {
  return [...agent.channels.values()].filter((c) => c.size() > 0).map((c) => `${c.size()} events in channel ${c.name}`).join(", ");
}

export async function runOnce(agent: Agent, o: OnceOptions): Promise<number> {
  const t0 = Date.now();
  try {
    await agent.start((err) => o.log.error(o.describeStartError?.(err) ?? describeError(err)));
  } catch {
    return EXIT_RUNTIME;
  }
  const progress = await Progress.start(agent, o.log, o.tty);
  let sourcesDone = false;
  void Promise.all([...agent.sources.values()].map((e) => (isPollable(e.source) ? e.runner?.finished : undefined))).then(() => (sourcesDone = true));
  let stopped = false;
  void o.stopRequested.then(() => (stopped = true));

  // Drained = sources at their end, channels empty and no batch in flight, seen twice in a row (a sink may be
  // between its take and its commit at the first look).
  let quiet = 0;
  let outcome: "drained" | "timeout" | "signal" = "timeout";
  while (Date.now() - t0 < o.maxRuntimeMs) {
    if (stopped) {
      outcome = "signal";
      break;
    }
    if (sourcesDone && agent.channelsEmpty() && sinksIdle(agent)) {
      if (++quiet >= 2) {
        outcome = "drained";
        break;
      }
    } else quiet = 0;
    await new Promise((r) => setTimeout(r, POLL_MS));
  }
  const summary = progress.stop();
  if (outcome === "timeout") {
    const failing = agent.runners.filter((r) => r.failing).map((r) => `sink ${r.processor.name} (${r.lastError ?? "delivery failed"})`);
    o.log.warn(
      `--max-runtime (${o.maxRuntimeMs} ms) reached before everything was delivered` +
        `${failing.length ? `; failing: ${failing.join(", ")}` : ""}${leftover(agent) ? `; left: ${leftover(agent)}` : ""}` +
        `; persisting what is safe, the next run resumes (exit ${EXIT_INCOMPLETE})`,
    );
  }
  await agent.stop(o.drainMs);
  if (outcome === "timeout" && sourcesDone && !leftover(agent) && !agent.runners.some((r) => r.failing)) {
    o.log.info(`--once: the final drain delivered the rest after all: ${progress.stop()}`);
    return EXIT_OK;
  }
  if (outcome === "drained" && leftover(agent)) {
    o.log.warn(`--once: the last batch failed while draining (${leftover(agent)}); the next run resumes (exit ${EXIT_INCOMPLETE})`);
    return EXIT_INCOMPLETE;
  }
  if (outcome === "drained") {
    o.log.info(`--once: done in ${Date.now() - t0} ms: ${summary}`);
    return EXIT_OK;
  }
  if (outcome === "signal") {
    o.log.info(`--once: stopped by a signal: ${summary}`);
    return EXIT_OK;
  }
  return EXIT_INCOMPLETE;
}
