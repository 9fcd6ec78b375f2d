// The load_balance sink processor (Flume's LoadBalancingSinkProcessor): each batch goes to the next sink in
// round-robin (or random) order; a failing sink is skipped for this batch and, with `backoff`, blacklisted for an
// exponentially growing time capped at `selector.maxTimeOut`.

import { defineType } from "../core/component-type.ts";
import { DeliveryError } from "../core/errors.ts";
import { backoffCeiling } from "../util/backoff.ts";
import type { Sink, SinkStatus } from "../core/sink.ts";
import { SinkGroup } from "./group.ts";
import { key, type ConfigOf } from "../core/keys.ts";
import type { Logger } from "../util/log.ts";

/** Flume's OrderSelector blacklists for 1 s × 2^failures. */
const BLACKLIST_BASE_MS = 1000;

export const loadBalanceKeys = {
  backoff: key.bool("blacklist a failed sink for a growing time", { default: false }),
  selector: key.enum("order in which sinks are tried", ["round_robin", "random"], { default: "round_robin" }),
  "selector.maxTimeOut": key.duration("longest blacklisting of a failed sink", { default: 30_000, unit: "ms" }),
};
type Config = ConfigOf<typeof loadBalanceKeys>;

interface Member {
  sink: Sink;
  failures: number;
  blacklistedUntil: number;
}

export class LoadBalanceSinkProcessor extends SinkGroup {
  private readonly members: Member[];
  private next = 0;

  constructor(
    name: string,
    sinks: readonly Sink[],
    private readonly cfg: Config,
    log: Logger,
    private readonly now: () => number = Date.now,
  ) {
    super(name, sinks, log);
    this.members = sinks.map((sink) => ({ sink, failures: 0, blacklistedUntil: 0 }));
  }

  /** This batch's try order: every sink not blacklisted, starting at the round-robin cursor or shuffled. */
  private order(): Member[] {
    const now = this.now();
    const live = this.members.filter((m) => m.blacklistedUntil <= now);
    if (this.cfg.selector === "random") {
      for (let i = live.length - 1; i > 0; i--) {
        const j = Math.floor(Math.random() * (i + 1));
        [live[i], live[j]] = [live[j]!, live[i]!];
      }
      return live;
    }
    if (live.length === 0) return live;
    const start = this.next++ % live.length;
    return live.slice(start).concat(live.slice(0, start));
  }

  async process(): Promise<SinkStatus> {
    const order = this.order();
    let lastError: unknown;
    for (const m of order) {
      const { status, error } = await this.attempt(m.sink);
      if (error !== undefined) lastError = error;
      if (status !== "failed") {
        if (m.failures > 0) this.log.info(`group ${this.name}: sink ${m.sink.name} is back`);
        m.failures = 0;
        return status;
      }
      if (this.cfg.backoff) {
        const ms = backoffCeiling(m.failures, BLACKLIST_BASE_MS, this.cfg["selector.maxTimeOut"]);
        m.blacklistedUntil = this.now() + ms;
        this.memberFailed(m.sink, m.failures === 0, lastError, `blacklisted for ${ms} ms`);
      } else this.memberFailed(m.sink, m.failures === 0, lastError, "trying the next sink");
      m.failures++;
    }
    if (order.length === 0) throw new DeliveryError(`group ${this.name}: every sink is blacklisted after failures`);
    throw this.allFailed("every sink failed", lastError);
  }
}

export const loadBalanceSinkProcessorType = defineType({
  kind: "sinkprocessor",
  names: ["load_balance", "org.apache.flume.sink.LoadBalancingSinkProcessor"],
  keys: loadBalanceKeys,
  create: (cfg, ctx, deps) => new LoadBalanceSinkProcessor(ctx.name, deps.sinks, cfg, ctx.log),
});
