// What the failover and load_balance processors share: their members' lifecycle, the backoff cap the runner uses when
// every member failed, and one delivery attempt that turns a thrown error into a status.

import { DeliveryError, describeError } from "../core/errors.ts";
import type { Sink, SinkProcessor, SinkStatus } from "../core/sink.ts";
import type { Logger } from "../util/log.ts";

export abstract class SinkGroup implements SinkProcessor {
  constructor(
    readonly name: string,
    readonly sinks: readonly Sink[],
    protected readonly log: Logger,
  ) {}

  /** The runner's backoff cap when every member failed: the smallest a member asks for (http `maxBackoff`). */
  get maxBackoffMs(): number | undefined {
    const caps = this.sinks.map((s) => s.maxBackoffMs).filter((v): v is number => v !== undefined);
    return caps.length > 0 ? Math.min(...caps) : undefined;
  }

  async start(): Promise<void> {
    for (const s of this.sinks) await s.start();
  }

  async stop(): Promise<void> {
    for (const s of this.sinks) await s.stop().catch((err) => this.log.warn(describeError(err)));
  }

  abstract process(): Promise<SinkStatus>;

  /**
   * The error a group throws when no member delivered: it names the group and the last member error, and keeps that
   * error's Retry-After so the runner still honours it.
   */
  protected allFailed(what: string, lastError: unknown): DeliveryError {
    const why = lastError ? describeError(lastError) : "delivery failed";
    const retryAfterMs = lastError instanceof DeliveryError ? lastError.retryAfterMs : undefined;
    return new DeliveryError(`group ${this.name}: ${what}; last: ${why}`, { cause: lastError, retryAfterMs });
  }

  /** Logs a member's failure: a warning when it goes down, debug for each retry of a long outage. */
  protected memberFailed(sink: Sink, firstFailure: boolean, lastError: unknown, outcome: string): void {
    const say = firstFailure ? this.log.warn : this.log.debug;
    say.call(this.log, `group ${this.name}: sink ${sink.name} failed (${lastError ? describeError(lastError) : "delivery failed"}); ${outcome}`);
  }

  /** One delivery attempt on one member: its status, or `failed` with the error it threw. */
  protected async attempt(sink: Sink): Promise<{ status: SinkStatus; error?: unknown }> {
    try {
      return { status: await sink.process() };
    } catch (error) {
      return { status: "failed", error };
    }
  }
}
