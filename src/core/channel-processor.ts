// Carries a source's batch into its channels: interceptors first, then the selector's routes, one transaction per
// channel, then the Ack's seal is released. The only door from sources to channels.

import type { Ack } from "./ack.ts";
import type { Channel } from "./channel.ts";
import type { Event } from "./event.ts";
import type { Lifecycle } from "./component.ts";
import { ChannelFullError, SluiceError, describeError } from "./errors.ts";
import type { Logger } from "../util/log.ts";

export interface Interceptor extends Partial<Lifecycle> {
  /**
   * Returns the batch to keep (the same array, a filtered one, or one with replaced events). A batch refused by a
   * full channel runs the chain again on its retry, so changes must be idempotent: never rewrite an input body in
   * place (return a new event); setting a header with withHeader() is fine.
   */
  intercept(events: Event[]): Event[];
}

export interface Route {
  channel: Channel;
  events: Event[];
  /** Failures on an optional channel are logged and ignored (Flume's `selector.optional`). */
  optional: boolean;
}

export interface ChannelSelector {
  /** Every channel the selector may route to. */
  readonly channels: readonly Channel[];
  /** Splits a batch into per-channel batches, required channels first. */
  route(events: Event[]): Route[];
}

/** `ok`: every required channel committed. `full`: a required channel had no room; retry the same batch later. */
export type PutOutcome = "ok" | "full";

export class ChannelProcessor {
  constructor(
    readonly selector: ChannelSelector,
    private readonly interceptors: readonly Interceptor[],
    private readonly log: Logger,
  ) {}

  get channels(): readonly Channel[] {
    return this.selector.channels;
  }

  async start(): Promise<void> {
    for (const i of this.interceptors) await i.start?.();
  }

  async stop(): Promise<void> {
    for (const i of this.interceptors) await i.stop?.();
  }

  /**
   * Puts one batch. On `full` (or a thrown error) the Ack is cancelled and the caller must retry the same batch
   * (with a new Ack) before reading further. Events rejected by a filter interceptor count as delivered.
   */
  async putBatch(events: Event[], ack?: Ack): Promise<PutOutcome> {
    let batch = events;
    for (const i of this.interceptors) batch = i.intercept(batch);
    try {
      if (batch.length > 0) {
        for (const route of this.selector.route(batch)) {
          if (route.events.length === 0) continue;
          const tx = route.channel.begin();
          try {
            tx.put(route.events, ack);
            await tx.commit();
          } catch (err) {
            await tx.rollback().catch(() => {});
            if (!route.optional) throw err;
            this.log.warn(`optional channel ${route.channel.name} refused a batch: ${describeError(err)}`);
          }
        }
      }
    } catch (err) {
      ack?.cancel();
      if (err instanceof ChannelFullError) return "full";
      if (err instanceof SluiceError && err.recoverable) {
        this.log.warn(describeError(err));
        return "full";
      }
      throw err;
    }
    ack?.release();
    return "ok";
  }
}
