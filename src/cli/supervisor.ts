// Keeps one agent graph running for `sluice agent`: starts it, reloads it on SIGHUP or a changed config file, logs
// a periodic summary while a sink is down, and stops it. The metrics endpoint reads the current graph through it.
//
// Reload (what Flume does when its config file changes, but validated first): the new file is parsed and checked
// completely; if anything is wrong, every error is logged and the running graph keeps running untouched. If it is
// valid and differs, the whole graph is replaced in Flume's order: the old one stops (sources stop, sinks drain for
// --drain-timeout, channels close, sources persist their safe offsets), then the new one is built and started. It is
// built only after the old one stopped, so new sources read the positions the old ones just persisted: nothing is lost,
// and only an unacknowledged in-flight batch can be read twice. If the new graph cannot start, the old configuration is
// started again. (A full restart, not "only what changed": simpler, and a reload is rare.)

import { createHash } from "node:crypto";
import { readFile, stat } from "node:fs/promises";
import { buildAgentSpec } from "../config/load.ts";
import type { AgentSpec } from "../core/spec.ts";
import { Agent } from "../core/agent.ts";
import { describeError, formatProblem } from "../core/errors.ts";
import type { Logger } from "../util/log.ts";
import type { MetricsSource } from "../metrics/server.ts";
import { checkPaths } from "./path-checks.ts";
import { describeStartError } from "./start-errors.ts";

/** While a sink is down, one summary line this often instead of a line per retry. */
export const FAILING_SUMMARY_INTERVAL_MS = 60_000;

export interface SupervisorOptions {
  file: string;
  name?: string;
  stateDir: string;
  drainMs: number;
  log: Logger;
  /** For tests: how often the failing-sink summary is logged. */
  summaryIntervalMs?: number;
  /** Called when a reload left no graph running (the old one could not start again): the process should exit. */
  onFatal(err: unknown): void;
}

export type SupervisorState = "starting" | "running" | "reloading" | "stopping" | "stopped";

function digest(text: string): string {
  return createHash("sha256").update(text).digest("hex");
}

export class Supervisor implements MetricsSource {
  private agent?: Agent;
  private st: SupervisorState = "starting";
  private configDigest = "";
  /** Reloads run one at a time; a request during one runs after it. */
  private chain: Promise<unknown> = Promise.resolve();
  private summaryTimer?: ReturnType<typeof setInterval>;
  private watchTimer?: ReturnType<typeof setInterval>;
  private lastStamp = "";
  private readonly downSince = new Map<string, number>();

  constructor(
    private spec: AgentSpec,
    configText: string,
    private readonly o: SupervisorOptions,
  ) {
    this.configDigest = digest(configText);
  }

  get agentName(): string {
    return this.spec.agent;
  }

  get stateDir(): string {
    return this.o.stateDir;
  }

  current(): Agent | undefined {
    return this.st === "running" ? this.agent : undefined;
  }

  state(): string {
    return this.st;
  }

  /** Builds and starts the graph; throws (with the component named) if it cannot start. */
  async start(): Promise<void> {
    this.agent = await this.launch(this.spec);
    this.st = "running";
    const every = this.o.summaryIntervalMs ?? FAILING_SUMMARY_INTERVAL_MS;
    this.summaryTimer = setInterval(() => this.summarize(), every);
  }

  /** Builds and starts a graph. A start failure is logged here, naming the component, key and value, before the
   * lines of the stop that follows it; a build failure is logged here too. Either way it is rethrown. */
  private async launch(spec: AgentSpec): Promise<Agent> {
    let reported = false;
    try {
      const agent = await Agent.build(spec, { stateDir: this.o.stateDir });
      await agent.start((err) => {
        reported = true;
        this.o.log.error(describeStartError(err, spec));
      });
      return agent;
    } catch (err) {
      if (!reported) this.o.log.error(describeError(err));
      throw err;
    }
  }

  /** Polls the config file every `ms` and reloads when its content changed (Flume polls every 30 s). */
  watch(ms: number): void {
    const poll = () =>
      void stat(this.o.file).then(
        (s) => {
          const stamp = `${s.mtimeMs}:${s.size}:${s.ino}`;
          if (this.lastStamp && stamp !== this.lastStamp) void this.reload("config file changed");
          this.lastStamp = stamp;
        },
        () => {}, // a file being replaced may be missing for a moment; the next poll sees it
      );
    poll();
    this.watchTimer = setInterval(poll, ms);
  }

  /** Validates the config file and, if it is valid and changed, replaces the running graph. Never throws. */
  reload(reason: string): Promise<boolean> {
    const run = this.chain.then(() => this.reloadNow(reason));
    this.chain = run.catch(() => {});
    return run;
  }

  private async reloadNow(reason: string): Promise<boolean> {
    const log = this.o.log;
    if (this.st !== "running") {
      log.warn(`reload (${reason}) ignored: the agent is ${this.st}`);
      return false;
    }
    let text: string;
    try {
      text = await readFile(this.o.file, "utf8");
    } catch (err) {
      log.error(`reload (${reason}): cannot read ${this.o.file}: ${describeError(err)}; keeping the running configuration`);
      return false;
    }
    const d = digest(text);
    if (d === this.configDigest) {
      log.info(`reload (${reason}): ${this.o.file} is unchanged; nothing to do`);
      return false;
    }
    const { spec, problems, warnings } = buildAgentSpec(text, this.o.file, this.o.name ?? this.spec.agent);
    if (spec) for (const p of await checkPaths(spec)) warnings.push(formatProblem(p));
    for (const w of warnings) log.warn(`reload: ${w}`);
    if (problems.length > 0 || !spec) {
      for (const p of problems) log.error(`reload: ${formatProblem(p)}`);
      log.error(`reload (${reason}): ${problems.length} error${problems.length === 1 ? "" : "s"} in ${this.o.file}; keeping the running configuration`);
      this.configDigest = d; // report a broken file once, not on every poll
      return false;
    }
    log.info(`reload (${reason}): ${this.o.file} is valid; restarting the graph`);
    this.st = "reloading";
    await this.agent?.stop(this.o.drainMs);
    this.downSince.clear();
    const old = this.spec;
    try {
      this.agent = await this.launch(spec);
      this.spec = spec;
      this.configDigest = d;
      this.st = "running";
      log.info("reload: new configuration running");
      return true;
    } catch (err) {
      log.error(`reload: the new configuration could not start (${describeError(err)}); starting the previous one again`);
      this.configDigest = d;
      try {
        this.agent = await this.launch(old);
        this.st = "running";
      } catch (err2) {
        // Neither graph runs: exit so the service manager restarts the process (and the operator sees why).
        log.error(`reload: the previous configuration could not start either (${describeError(err2)})`);
        this.agent = undefined;
        this.st = "stopped";
        this.o.onFatal(err2);
      }
      return false;
    }
  }

  /** One line per sink that is still down, instead of a line per retry. */
  private summarize(): void {
    const a = this.current();
    if (!a) return;
    const now = Date.now();
    for (const r of a.runners) {
      const name = r.processor.name;
      if (!r.failing) {
        this.downSince.delete(name);
        continue;
      }
      const since = this.downSince.get(name) ?? now;
      this.downSince.set(name, since);
      const waiting = r.channels.map((c) => `${c.size()} in ${c.name}`).join(", ");
      this.o.log.warn(`sink ${name} still down (${Math.round((now - Math.max(since, r.lastOkAt)) / 1000)} s): ${waiting} waiting; last error: ${r.lastError ?? "delivery failed"}`);
    }
  }

  /** Stops the graph after a bounded drain. */
  async stop(drainMs: number): Promise<void> {
    clearInterval(this.summaryTimer);
    clearInterval(this.watchTimer);
    await this.chain;
    this.st = "stopping";
    await this.agent?.stop(drainMs);
    this.st = "stopped";
  }
}
