// `sluice agent -f FILE [-n NAME]`: runs an agent unattended. Holds the state lock for its whole life, serves metrics
// when asked, reloads on SIGHUP (or a changed file), and on SIGTERM/SIGINT drains and exits 0. `--once` is cron mode.

import { parseArgs } from "node:util";
import { readFile } from "node:fs/promises";
import { Agent } from "../core/agent.ts";
import { buildAgentSpec } from "../config/load.ts";
import type { AgentSpec } from "../core/spec.ts";
import { parseDuration } from "../core/keys.ts";
import { ConfigError, describeError, formatProblem, UsageError, ValueError } from "../core/errors.ts";
import { onSignal } from "../runtime.ts";
import { getLogger, type Logger } from "../util/log.ts";
import { LockedError, StateLock } from "../core/lock.ts";
import { startMetricsServer, type MetricsServer, type MetricsSource } from "../metrics/server.ts";
import { startDroppedFile } from "../metrics/dropped-file.ts";
import { applyLogOptions, CONFIG_OPTIONS, LOG_OPTIONS, resolveStateDir } from "./common.ts";
import { splitDefines } from "./defines.ts";
import { parseOrUsage } from "./args.ts";
import { FLUME_AGENT_OPTIONS, interpretFlumeFlags } from "./flume-args.ts";
import { EXIT_OK, EXIT_RUNTIME } from "./exit-codes.ts";
import { runOnce } from "./once.ts";
import { checkPaths } from "./path-checks.ts";
import { describeStartError } from "./start-errors.ts";
import { Supervisor } from "./supervisor.ts";

export const AGENT_HELP = `usage: sluice agent -f FILE [-n NAME] [options]

Runs agent NAME from a Flume-format properties file (-n may be omitted when the file defines one agent).

options:
  -f, --conf-file FILE     the config file (Flume's properties format)
  -n, --name NAME          the agent to run
  --state-dir DIR          where positions, trackers and channel data live when their keys are not set, and the
                           agent's lock (default: $SLUICE_STATE_DIR, else /var/lib/sluice as root, ~/.sluice otherwise)
  --drain-timeout DUR      on SIGTERM/SIGINT, how long sinks may drain before exit (default 10s)
  --once                   cron mode: read every source to its current end, deliver everything, exit 0
  --exit-when-drained      the same as --once
  --max-runtime DUR        with --once: give up after this long, persist what is safe, exit 3 (default 10m)
  --metrics-port N         serve /metrics (Flume JSON), /metrics/prometheus and /health on this port
  --metrics-bind ADDR      address for the metrics port (default 127.0.0.1)
  -Dflume.monitoring.type=http -Dflume.monitoring.port=N    Flume's spelling of --metrics-port
  -Dflume.root.logger=LEVEL,console                         Flume's spelling of --log-level
  --reload-interval DUR    also reload when the config file changes, checking this often (default: only on SIGHUP)
  --log-level LEVEL        debug | info | warn | error (default info)
  --log-format FORMAT      text | json (default text)

Flume's flags work too: -c/--conf DIR, --classpath, --plugins-path, --no-reload-conf and Java VM options (-Xmx…)
are accepted, each with one line saying sluice has no use for it; --conf-uri file:PATH is -f PATH; --dryrun,
ZooKeeper (-z, -p) and remote config providers are refused with what to do instead.

Only one agent may use a state directory's agent state at a time: a second one exits at once naming the holder's
pid (with --once it exits 0 quietly, so an overlapping cron run is harmless). A lock left by kill -9 or a power cut
is taken over. SIGHUP validates the config file and, if valid, restarts the graph with it (if not, every error is
logged and the running graph keeps going). SIGTERM or SIGINT stops sources, lets sinks drain, closes channels and
exits 0; a second signal exits at once (nothing is lost: sources persist offsets only for events that are safe).
Exit codes: 0 ok, 1 runtime failure or lock held, 2 bad usage or config, 3 --once did not deliver everything in time.`;

const DEFAULT_DRAIN_MS = 10_000;
const DEFAULT_MAX_RUNTIME_MS = 10 * 60_000;
const DEFAULT_METRICS_BIND = "127.0.0.1";

function duration(values: Record<string, unknown>, flag: string, fallback: number): number {
  const v = values[flag];
  if (v === undefined) return fallback;
  try {
    return parseDuration(String(v), "s");
  } catch (msg) {
    throw new UsageError(`--${flag}: ${msg instanceof ValueError ? msg.detail : describeError(msg)}`);
  }
}

function port(v: string | undefined): number | undefined {
  if (v === undefined) return undefined;
  const n = Number(v);
  if (!Number.isInteger(n) || n < 0 || n > 65535) throw new UsageError(`--metrics-port: expected a port number 0-65535, got "${v}"`);
  return n;
}

export async function agentCommand(argv: string[], out: (s: string) => void): Promise<number> {
  const { rest, defines } = splitDefines(argv);
  const options = {
    ...CONFIG_OPTIONS,
    ...LOG_OPTIONS,
    ...FLUME_AGENT_OPTIONS,
    "state-dir": { type: "string" },
    "drain-timeout": { type: "string" },
    once: { type: "boolean" },
    "exit-when-drained": { type: "boolean" },
    "max-runtime": { type: "string" },
    "metrics-port": { type: "string" },
    "metrics-bind": { type: "string" },
    "reload-interval": { type: "string" },
    help: { type: "boolean", short: "h" },
  } as const;
  const { values } = parseOrUsage(options, () => parseArgs({ args: rest, options, strict: true }));
  if (values.help) {
    out(AGENT_HELP);
    return EXIT_OK;
  }
  const flume = interpretFlumeFlags(values);
  const levelGiven = rest.some((a) => a === "--log-level" || a.startsWith("--log-level="));
  applyLogOptions({ ...values, "log-level": levelGiven ? values["log-level"] : (defines.logLevel ?? values["log-level"]) });
  const once = Boolean(values.once || values["exit-when-drained"]);
  const drainMs = duration(values, "drain-timeout", DEFAULT_DRAIN_MS);
  const maxRuntimeMs = duration(values, "max-runtime", DEFAULT_MAX_RUNTIME_MS);
  const reloadMs = duration(values, "reload-interval", 0);
  const metricsPort = port(values["metrics-port"]) ?? defines.monitoringPort;
  const metricsBind = values["metrics-bind"] ?? DEFAULT_METRICS_BIND;

  const file = values["conf-file"] ?? flume.confFile;
  if (!file) throw new UsageError("missing -f FILE (the agent's config file)");
  let text: string;
  try {
    text = await readFile(file, "utf8");
  } catch (err) {
    throw new ConfigError([{ where: file, message: `cannot read config file: ${describeError(err)}` }]);
  }
  const built = buildAgentSpec(text, file, values.name);
  if (built.problems.length > 0 || !built.spec) throw new ConfigError(built.problems, built.warnings);

  const spec = built.spec;
  const log = getLogger(spec.agent);
  for (const n of [...flume.notes, ...defines.notes]) getLogger("cli").info(n);
  for (const w of [...defines.warnings, ...built.warnings]) getLogger("config").warn(w);
  // What validate reports as errors is only a warning here: a sink retries a directory it cannot write yet (a mount
  // not up), and a source that cannot start says so itself, after these lines that name the key.
  for (const p of await checkPaths(spec)) getLogger("config").warn(formatProblem(p));
  const stateDir = resolveStateDir(values["state-dir"]);

  let lock: StateLock;
  try {
    lock = await StateLock.acquire(stateDir, spec.agent, (m) => log.warn(m));
  } catch (err) {
    if (err instanceof LockedError && once) {
      // An overlapping cron run: the running one does the work.
      log.debug(`--once: ${err.message}; exiting`);
      return EXIT_OK;
    }
    log.error(err instanceof LockedError ? err.message : `cannot lock the agent's state in ${stateDir} (set --state-dir or $SLUICE_STATE_DIR): ${describeError(err)}`);
    return EXIT_RUNTIME;
  }

  // Stop signals: the first asks for a drained stop, the second exits at once (the lock goes on process exit).
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
  const offs = [onSignal("SIGTERM", onStop("SIGTERM")), onSignal("SIGINT", onStop("SIGINT"))];
  let metrics: MetricsServer | undefined;
  // The drop counts for `sluice status` (metrics/dropped-file.ts).
  let dropped: { stop(): Promise<void> } | undefined;
  try {
    if (once) {
      const agent = await Agent.build(spec, { stateDir, once: true });
      const src: MetricsSource = { agentName: spec.agent, stateDir, current: () => agent, state: () => "running" };
      if (metricsPort !== undefined) metrics = await serveMetrics(src, metricsBind, metricsPort, log);
      dropped = startDroppedFile(src, (m) => log.warn(m));
      offs.push(onSignal("SIGHUP", () => log.warn("SIGHUP ignored: a --once run does not reload its configuration")));
      return await runOnce(agent, { maxRuntimeMs, drainMs, log, tty: Boolean(process.stderr.isTTY), stopRequested, describeStartError: (err) => describeStartError(err, spec) });
    }
    return await runService(spec, text, { file, name: values.name, stateDir, drainMs, reloadMs, metricsPort, metricsBind, log, stopRequested, offs, setMetrics: (m) => (metrics = m), setDropped: (d) => (dropped = d) });
  } finally {
    for (const off of offs) off();
    await dropped?.stop().catch(() => {});
    await metrics?.stop().catch(() => {});
    await lock.release();
  }
}

async function serveMetrics(src: MetricsSource, bind: string, port: number, log: Logger): Promise<MetricsServer> {
  const m = await startMetricsServer(src, bind, port);
  log.info(`metrics on ${m.url}/metrics (Flume JSON), ${m.url}/metrics/prometheus, ${m.url}/health`);
  return m;
}

interface ServiceOptions {
  file: string;
  name?: string;
  stateDir: string;
  drainMs: number;
  reloadMs: number;
  metricsPort?: number;
  metricsBind: string;
  log: Logger;
  stopRequested: Promise<void>;
  offs: Array<() => void>;
  setMetrics(m: MetricsServer): void;
  setDropped(d: { stop(): Promise<void> }): void;
}

/** The long-running form: supervisor, metrics, reload, until a stop signal (or a reload that left nothing running). */
async function runService(spec: AgentSpec, text: string, o: ServiceOptions): Promise<number> {
  let fatal: unknown;
  let resolveFatal!: () => void;
  const fatalPromise = new Promise<void>((r) => (resolveFatal = r));
  const sup = new Supervisor(spec, text, {
    file: o.file,
    name: o.name,
    stateDir: o.stateDir,
    drainMs: o.drainMs,
    log: o.log,
    onFatal: (err) => {
      fatal = err;
      resolveFatal();
    },
  });
  if (o.metricsPort !== undefined) o.setMetrics(await serveMetrics(sup, o.metricsBind, o.metricsPort, o.log));
  o.setDropped(startDroppedFile(sup, (m) => o.log.warn(m)));
  // Subscribed before the graph starts: SIGHUP's default action would end the process.
  o.offs.push(onSignal("SIGHUP", () => void sup.reload("SIGHUP")));
  try {
    await sup.start();
  } catch {
    return EXIT_RUNTIME; // the supervisor logged why, before the stop's lines
  }
  if (o.reloadMs > 0) sup.watch(o.reloadMs);
  await Promise.race([o.stopRequested, fatalPromise]);
  await sup.stop(o.drainMs);
  return fatal === undefined ? EXIT_OK : EXIT_RUNTIME;
}
