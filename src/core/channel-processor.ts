// Carries a source's batch into its channels: interceptors first, then the selector's routes, one transaction per
// channel, then the Ack's seal is released. The only door from sources to channels.

import type { Ack } from "./ack.ts";
import type { Channel, SourceCursor } from "./channel.ts";
import type { Event } from "./event.ts";
import type { Lifecycle } from "./component.ts";
import { ChannelFullError, SluiceError, describeError } from "./errors.ts";
import type { Logger } from "../util/log.ts";
import { DropCounts } from "./drops.ts";

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
  /** Splits a batch into per-channel batches, required channels first; events routed nowhere go to `dropped`. */
  route(events: Event[], dropped?: DropCounts): Route[];
}

/** `ok`: every required channel committed. `full`: a required channel had no room; retry the same batch later. */
export type PutOutcome = "ok" | "full";

export class ChannelProcessor {
  /** Events of this source dropped on purpose by its interceptors and selector (shown with the source's counters). */
  readonly dropped = new DropCounts();
  /** Drops by interceptors in the batch being put, counted once it is in. */
  private filtered?: Array<[string, number]>;

  constructor(
    readonly selector: ChannelSelector,
    private readonly interceptors: readonly Interceptor[],
    private readonly log: Logger,
    /** Per interceptor, what the drop counter names when it removes events ("regex_filter i1"). */
    private readonly interceptorNames: readonly string[] = [],
  ) {}

  get channels(): readonly Channel[] {
    return this.selector.channels;
  }

  /**
   * True when a source may reuse the buffers behind a batch's bodies once its Ack is safe: every channel this
   * processor puts to releases events when safe (interceptors keep no event after intercept()).
   */
  get releasesWhenSafe(): boolean {
    return this.channels.length > 0 && this.channels.every((c) => c.releasesWhenSafe === true);
  }

  /**
   * True when every channel this source may reach is durable (commits source cursors, `Channel.committedCursor`):
   * only then may the source resume from a committed cursor. With any memory-held channel in the graph, what the
   * cursor covers may be lost in a crash, so the source keeps to its Acks and its own position file.
   */
  get cursorsDurable(): boolean {
    return this.selector.channels.length > 0 && this.selector.channels.every((c) => c.committedCursor !== undefined);
  }

  /**
   * The cursor `source` committed with each of its channels, one per channel (the source takes what is safe for all:
   * e.g. per file the smallest offset); undefined unless every channel is durable and has one.
   */
  committedCursors(source: string): Uint8Array[] | undefined {
    if (!this.cursorsDurable) return undefined;
    const out: Uint8Array[] = [];
    for (const c of this.selector.channels) {
      const cur = c.committedCursor!(source);
      if (!cur) return undefined;
      out.push(cur);
    }
    return out;
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
   *
   * `cursor` (the source's position after this batch; give it only when `cursorsDurable`) is committed with the batch
   * in every channel: with its events where the selector routes some, alone (a cursor-only put) in each durable channel
   * the batch does not reach (filtered whole, or routed elsewhere), so every channel's committed cursor stays current
   * and the smallest of them, which the source resumes from, re-reads nothing that all of them hold.
   */
  async putBatch(events: Event[], ack?: Ack, cursor?: SourceCursor): Promise<PutOutcome> {
    let batch = events;
    for (let k = 0; k < this.interceptors.length; k++) {
      const before = batch.length;
      batch = this.interceptors[k]!.intercept(batch);
      // On a retry after `full` the chain runs again on the same batch: count a filter's drops once, on success.
      if (batch.length < before) (this.filtered ??= []).push([this.interceptorNames[k] ?? `interceptor ${k + 1}`, before - batch.length]);
    }
    const drops = new DropCounts();
    try {
      const routes = batch.length > 0 ? this.selector.route(batch, drops).filter((r) => r.events.length > 0) : [];
      if (cursor) {
        // Optional: a cursor that cannot be written leaves that channel's cursor behind (re-reads after a crash, never
        // a loss); refusing the batch would put its events twice into the channels that took them.
        for (const channel of this.selector.channels) {
          if (channel.committedCursor && !routes.some((r) => r.channel === channel)) routes.push({ channel, events: [], optional: true });
        }
      }
      for (const route of routes) {
        const tx = route.channel.begin();
        try {
          tx.put(route.events, ack, cursor);
          await tx.commit();
          this.log.debug(`committed a batch of ${route.events.length} events to channel ${route.channel.name}`);
        } catch (err) {
          await tx.rollback().catch(() => {});
          if (!route.optional) throw err;
          this.log.warn(`optional channel ${route.channel.name} refused a batch: ${describeError(err)}`);
        }
      }
    } catch (err) {
      this.filtered = undefined;
      ack?.cancel();
      if (err instanceof ChannelFullError) {
        this.log.debug(`a batch of ${batch.length} events waits: ${describeError(err)}`);
        return "full";
      }
      if (err instanceof SluiceError && err.recoverable) {
        this.log.warn(describeError(err));
        return "full";
      }
      throw err;
    }
    for (const [reason, n] of this.filtered ?? []) this.dropped.add(reason, n);
    for (const [reason, n] of drops.byReason) this.dropped.add(reason, n);
    this.filtered = undefined;
    ack?.release();
    return "ok";
  }
}
