// `sluice agent -f FILE [-n NAME]`: runs an agent until SIGTERM/SIGINT, then drains and exits 0.

import { parseArgs } from "node:util";
import { Agent } from "../core/agent.ts";
import { parseDuration } from "../config/keys.ts";
import { describeError, UsageError } from "../core/errors.ts";
import { onSignal } from "../runtime.ts";
import { getLogger } from "../util/log.ts";
import { applyLogOptions, CONFIG_OPTIONS, loadConfig, LOG_OPTIONS, resolveStateDir } from "./common.ts";
import { EXIT_OK, EXIT_RUNTIME } from "./exit-codes.ts";

export const AGENT_HELP = `usage: sluice agent -f FILE [-n NAME] [options]

Runs agent NAME from a Flume-format properties file (-n may be omitted when the file defines one agent).

options:
  -f, --conf-file FILE     the config file (Flume's properties format)
  -n, --name NAME          the agent to run
  --state-dir DIR          where positions, trackers and channel data live when their keys are not set
                           (default: $SLUICE_STATE_DIR, else /var/lib/sluice as root, ~/.sluice otherwise)
  --drain-timeout DUR      on SIGTERM/SIGINT, how long sinks may drain before exit (default 10s)
  --log-level LEVEL        debug | info | warn | error (default info)
  --log-format FORMAT      text | json (default text)

SIGTERM or SIGINT stops sources, lets sinks drain, closes channels and exits 0; a second signal exits at once
(nothing is lost: sources persist offsets only for events that are safe).`;

const DEFAULT_DRAIN_MS = 10_000;

export async function agentCommand(argv: string[], out: (s: string) => void): Promise<number> {
  const { values } = parseArgs({
    args: argv,
    options: {
      ...CONFIG_OPTIONS,
      ...LOG_OPTIONS,
      "state-dir": { type: "string" },
      "drain-timeout": { type: "string" },
      help: { type: "boolean", short: "h" },
    },
    strict: true,
  });
  if (values.help) {
    out(AGENT_HELP);
    return EXIT_OK;
  }
  applyLogOptions(values);
  let drainMs = DEFAULT_DRAIN_MS;
  if (values["drain-timeout"] !== undefined) {
    try {
      drainMs = parseDuration(values["drain-timeout"], "s");
    } catch (msg) {
      throw new UsageError(`--drain-timeout: ${msg}`);
    }
  }
  const spec = await loadConfig(values);
  const log = getLogger(spec.agent);
  const agent = await Agent.build(spec, { stateDir: resolveStateDir(values["state-dir"]) });

  let signals = 0;
  let resolveStop!: () => void;
  const stopRequested = new Promise<void>((r) => (resolveStop = r));
  const onStop = (sig: string) => () => {
    signals++;
    if (signals === 1) {
      log.info(`${sig} received: stopping sources, draining sinks for up to ${drainMs} ms`);
      resolveStop();
    } else {
      log.warn(`${sig} received again: exiting now (offsets cover only safe events; the rest is re-read on start)`);
      process.exit(EXIT_RUNTIME);
    }
  };
  const offTerm = onSignal("SIGTERM", onStop("SIGTERM"));
  const offInt = onSignal("SIGINT", onStop("SIGINT"));
  try {
    try {
      await agent.start();
    } catch (err) {
      log.error(describeError(err));
      return EXIT_RUNTIME;
    }
    await stopRequested;
    await agent.stop(drainMs);
    return EXIT_OK;
  } finally {
    offTerm();
    offInt();
  }
}
