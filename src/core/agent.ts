// An agent: the component graph built from an AgentSpec, and its lifecycle. Start channels, then sinks, then
// sources; stop in reverse, letting sinks drain for a bounded time so nothing held in memory is dropped.

import { join } from "node:path";
import type { AgentSpec, Resolved } from "./spec.ts";
import type { Channel } from "./channel.ts";
import { ChannelProcessor, type ChannelSelector, type Interceptor } from "./channel-processor.ts";
import type { ComponentContext } from "./component.ts";
import { ComponentError, describeError, SluiceError } from "./errors.ts";
import { DefaultSinkProcessor, SinkRunner, type Sink, type SinkProcessor } from "./sink.ts";
import { isPollable, PollingRunner, type Source } from "./source.ts";
import { getLogger, type Logger } from "../util/log.ts";

export interface AgentOptions {
  /** Root of per-component state when Flume keys name none (`<stateDir>/<agent>/<component>`). */
  stateDir: string;
  /** Cron mode: sources read to their current end, then report done. */
  once?: boolean;
}

/**
 * The context a component gets, built the same way for the running agent and for `inspect()` (status, metrics), so
 * default paths resolve alike: state lives in `<state-dir>/<agent>/<component>`.
 */
export function componentContext(agent: string, r: Resolved, opts: AgentOptions): ComponentContext {
  return {
    agent,
    name: r.name,
    type: r.typeName,
    log: getLogger(agent).child(`${r.kind}.${r.name}`),
    stateDir: join(opts.stateDir, agent, r.name),
    once: opts.once ?? false,
  };
}

export interface SourceEntry {
  source: Source;
  processor: ChannelProcessor;
  runner?: PollingRunner;
}

export class Agent {
  readonly channels = new Map<string, Channel>();
  readonly sinks = new Map<string, Sink>();
  readonly sources = new Map<string, SourceEntry>();
  readonly runners: SinkRunner[] = [];
  private readonly log: Logger;
  /** Stop functions of what started, per layer, in start order. */
  private readonly stops = { channels: [] as Array<() => Promise<void>>, sinks: [] as Array<() => Promise<void>>, sources: [] as Array<() => Promise<void>> };
  private state: "new" | "running" | "stopping" | "stopped" = "new";

  private constructor(
    readonly spec: AgentSpec,
    private readonly opts: AgentOptions,
  ) {
    this.log = getLogger(spec.agent);
  }

  private ctx(r: Resolved): ComponentContext {
    return componentContext(this.spec.agent, r, this.opts);
  }

  /** Builds every component (no I/O beyond what constructors need); throws a ComponentError naming it. */
  static async build(spec: AgentSpec, opts: AgentOptions): Promise<Agent> {
    const a = new Agent(spec, opts);
    for (const c of spec.channels) a.channels.set(c.name, await a.create(c, {}));
    for (const s of spec.sinks) a.sinks.set(s.name, await a.create(s, { channel: a.channels.get(s.channel)! }));
    const grouped = new Set<string>();
    for (const g of spec.groups) {
      const members = g.sinks.map((n) => a.sinks.get(n)!);
      g.sinks.forEach((n) => grouped.add(n));
      const processor: SinkProcessor = await a.create({ ...g.processor, name: g.name }, { sinks: members });
      a.runners.push(new SinkRunner(processor, a.log.child(`sinkgroup.${g.name}`)));
    }
    for (const [name, sink] of a.sinks) {
      if (!grouped.has(name)) a.runners.push(new SinkRunner(new DefaultSinkProcessor(sink), a.log.child(`sink.${name}`)));
    }
    for (const s of spec.sources) {
      const channels = s.channels.map((n) => a.channels.get(n)!);
      const selector: ChannelSelector = await a.create(s.selector, { channels });
      const interceptors: Interceptor[] = [];
      for (const i of s.interceptors) interceptors.push(await a.create(i, {}));
      const names = s.interceptors.map((i) => `${i.typeName} ${i.name}`);
      const processor = new ChannelProcessor(selector, interceptors, a.log.child(`source.${s.name}`), names);
      const source: Source = await a.create(s, { processor });
      a.sources.set(s.name, { source, processor });
    }
    return a;
  }

  // deno-lint-ignore no-explicit-any
  private async create(r: Resolved, deps: any): Promise<any> {
    try {
      return await r.type.create(r.config, this.ctx(r), deps);
    } catch (err) {
      throw new ComponentError(`${r.kind} ${r.name}`, "create", err, r.typeName);
    }
  }

  /**
   * Starts channels, then sinks, then sources. On failure, hands the ComponentError naming the one that failed to
   * `report` (so it is told before the stop's own lines), stops what started and throws it.
   */
  async start(report?: (err: unknown) => void): Promise<void> {
    if (this.state !== "new") throw new SluiceError("INTERNAL", `agent ${this.spec.agent} already ${this.state}`, false);
    this.state = "running";
    try {
      for (const [name, ch] of this.channels) await this.step(this.stops.channels, `channel ${name}`, () => ch.start(), () => ch.stop());
      for (const r of this.runners) {
        await this.step(this.stops.sinks, `sink ${r.processor.name}`, () => r.processor.start(), () => r.processor.stop());
        r.start();
      }
      for (const [name, e] of this.sources) {
        await this.step(this.stops.sources, `source ${name}`, () => e.processor.start(), () => e.processor.stop());
        await this.step(this.stops.sources, `source ${name}`, () => e.source.start(), () => e.source.stop());
        if (isPollable(e.source)) {
          e.runner = new PollingRunner(e.source, this.log.child(`source.${name}`));
          e.runner.start();
        }
      }
    } catch (err) {
      report?.(err);
      await this.stop(0);
      throw err;
    }
    const count = (n: number, what: string) => `${n} ${what}${n === 1 ? "" : "s"}`;
    this.log.info(`agent ${this.spec.agent} started: ${count(this.sources.size, "source")}, ${count(this.channels.size, "channel")}, ${count(this.sinks.size, "sink")}`);
  }

  private async step(stack: Array<() => Promise<void>>, what: string, start: () => Promise<void>, stop: () => Promise<void>): Promise<void> {
    try {
      await start();
    } catch (err) {
      throw new ComponentError(what, "start", err);
    }
    stack.push(stop);
  }

  /** Resolves when every pollable source has finished (returned `done`). */
  async sourcesFinished(): Promise<void> {
    await Promise.all([...this.sources.values()].map((e) => e.runner?.finished ?? new Promise<void>(() => {})));
  }

  /** True when every channel is empty (nothing left to deliver). */
  channelsEmpty(): boolean {
    return [...this.channels.values()].every((c) => c.size() === 0);
  }

  /**
   * Stops sources first (no new input), lets sinks drain for up to `drainMs`, then stops sinks and channels.
   * Safe to call twice.
   */
  async stop(drainMs: number): Promise<void> {
    if (this.state === "stopped" || this.state === "stopping") return;
    this.state = "stopping";
    // 1. No new input. 2. Sinks drain (bounded) and stop. 3. Channels stop (spillable moves its memory part to
    // disk, releasing Acks). 4. Sources close: the last Acks are in, so they persist their final positions.
    for (const e of this.sources.values()) await e.runner?.stop();
    await this.unwind(this.stops.sources);
    const deadline = Date.now() + drainMs;
    await Promise.all(this.runners.map((r) => r.stop(Math.max(0, deadline - Date.now()))));
    await this.unwind(this.stops.sinks);
    await this.unwind(this.stops.channels);
    for (const e of this.sources.values()) await e.source.close?.().catch((err) => this.log.warn(describeError(err)));
    this.state = "stopped";
    this.log.info(`agent ${this.spec.agent} stopped`);
  }

  private async unwind(stack: Array<() => Promise<void>>): Promise<void> {
    while (stack.length > 0) await stack.pop()!().catch((err) => this.log.warn(describeError(err)));
  }
}
