// The failover sink processor (Flume's FailoverSinkProcessor): the live sink with the highest `priority.<sink>` takes
// every batch; a failing sink is set aside for an exponentially growing penalty (capped at `maxpenalty`) and the next
// one takes over; when the preferred sink's penalty expires it is tried again and, if it works, takes back over.

import { defineType } from "../core/component-type.ts";
import { DeliveryError } from "../core/errors.ts";
import { backoffCeiling } from "../util/backoff.ts";
import type { Sink, SinkStatus } from "../core/sink.ts";
import { SinkGroup } from "./group.ts";
import { key, type ConfigOf } from "../core/keys.ts";
import type { Logger } from "../util/log.ts";

/** Flume's FailoverSinkProcessor starts a penalty at one second and doubles it per consecutive failure. */
const PENALTY_BASE_MS = 1000;

export const failoverKeys = {
  priority: key.prefixed("`priority.<sink>`: a whole number; the highest live sink takes every batch"),
  maxpenalty: key.duration("longest time a failed sink is set aside", { default: 30_000, unit: "ms" }),
};
type Config = ConfigOf<typeof failoverKeys>;

interface Member {
  sink: Sink;
  priority: number;
  failures: number;
  /** Epoch ms before which the sink is not tried. */
  penaltyUntil: number;
}

export class FailoverSinkProcessor extends SinkGroup {
  /** Members, highest priority first (ties keep the group's listing order). */
  private readonly members: Member[];
  private active?: Sink;

  constructor(
    name: string,
    sinks: readonly Sink[],
    private readonly cfg: Config,
    log: Logger,
    private readonly now: () => number = Date.now,
  ) {
    super(name, sinks, log);
    this.members = sinks
      .map((sink, i) => ({ sink, priority: Number(cfg.priority[sink.name]?.value ?? 0), failures: 0, penaltyUntil: 0, i }))
      .sort((a, b) => b.priority - a.priority || a.i - b.i);
  }

  async process(): Promise<SinkStatus> {
    const now = this.now();
    let lastError: unknown;
    let tried = 0;
    for (const m of this.members) {
      if (m.penaltyUntil > now) continue;
      tried++;
      const { status, error } = await this.attempt(m.sink);
      if (error !== undefined) lastError = error;
      if (status !== "failed") {
        if (m.failures > 0) this.log.info(`sink ${m.sink.name} is back; group ${this.name} uses it again`);
        m.failures = 0;
        if (this.active !== m.sink) this.log.info(`group ${this.name}: sink ${m.sink.name} (priority ${m.priority}) is active`);
        this.active = m.sink;
        return status;
      }
      const penalty = backoffCeiling(m.failures, PENALTY_BASE_MS, this.cfg.maxpenalty);
      this.memberFailed(m.sink, m.failures === 0, lastError, `set aside for ${penalty} ms`);
      m.failures++;
      m.penaltyUntil = this.now() + penalty;
    }
    if (tried === 0) {
      const next = Math.min(...this.members.map((m) => m.penaltyUntil)) - now;
      throw new DeliveryError(`group ${this.name}: every sink is set aside after failures; the first is retried in ${Math.max(0, next)} ms`);
    }
    throw this.allFailed("every available sink failed", lastError);
  }
}

export const failoverSinkProcessorType = defineType({
  kind: "sinkprocessor",
  names: ["failover", "org.apache.flume.sink.FailoverSinkProcessor"],
  keys: failoverKeys,
  check(cfg, report, ctx) {
    const members = ctx.sinks ?? [];
    for (const [s, raw] of Object.entries(cfg.priority)) {
      if (!members.includes(s)) report(`priority.${s}`, `"${s}" is not a sink of this group (${members.join(" ")})`);
      if (!/^\s*[+-]?\d+\s*$/.test(raw.value)) report(`priority.${s}`, `expected a whole number, got "${raw.value}"`);
    }
  },
  create: (cfg, ctx, deps) => new FailoverSinkProcessor(ctx.name, deps.sinks, cfg, ctx.log),
});
