// Sinks, sink processors and the runner that drives them. A sink's process() takes one batch from its channel
// in a transaction, delivers it, and commits only after the destination has it.

import type { Channel } from "./channel.ts";
import type { Event } from "./event.ts";
import type { Lifecycle } from "./component.ts";
import { DeliveryError, describeError } from "./errors.ts";
import type { SinkCounters } from "./counters.ts";
import type { Logger } from "../util/log.ts";
import { backoffDelay } from "../util/backoff.ts";

/** `ready`: delivered a batch. `empty`: the channel had nothing. `failed`: delivery failed, the take was rolled back. */
export type SinkStatus = "ready" | "empty" | "failed";

export interface Sink extends Lifecycle {
  readonly name: string;
  readonly type: string;
  readonly channel: Channel;
  readonly counters: SinkCounters;
  /** Cap of the runner's retry backoff after failures, when the sink has its own key for it (http `maxBackoff`). */
  readonly maxBackoffMs?: number;
  process(): Promise<SinkStatus>;
  /**
   * A sink that overlaps deliveries (http `parallelRequests`) returns from process() once a take is under way: how
   * many of those are still running (taken, not yet committed or rolled back), and a wait for them to settle.
   */
  readonly deliveriesInFlight?: number;
  settle?(): Promise<void>;
}

/** Chooses which sink of a group handles each process() call (default, failover, load_balance). */
export interface SinkProcessor extends Lifecycle {
  readonly name: string;
  readonly sinks: readonly Sink[];
  /** Cap of the runner's retry backoff (see Sink.maxBackoffMs). */
  readonly maxBackoffMs?: number;
  process(): Promise<SinkStatus>;
}

/** One sink, no grouping. */
export class DefaultSinkProcessor implements SinkProcessor {
  readonly sinks: readonly Sink[];
  constructor(readonly sink: Sink) {
    this.sinks = [sink];
  }
  get name(): string {
    return this.sink.name;
  }
  get maxBackoffMs(): number | undefined {
    return this.sink.maxBackoffMs;
  }
  start(): Promise<void> {
    return this.sink.start();
  }
  stop(): Promise<void> {
    return this.sink.stop();
  }
  process(): Promise<SinkStatus> {
    return this.sink.process();
  }
}

/** How long an idle sink waits for a put before polling again (a put wakes it at once). */
const IDLE_WAIT_MS = 1000;
const FAILURE_BACKOFF_START_MS = 250;
const DEFAULT_MAX_FAILURE_BACKOFF_MS = 30_000;

export interface SinkRunnerOptions {
  maxBackoffMs?: number;
}

/**
 * Calls process() in a loop. An empty channel parks the runner on the channel's signal; a failure backs off
 * exponentially with full jitter. A sink going down is logged once, its recovery once, not every retry.
 */
export class SinkRunner {
  private running = false;
  private loop?: Promise<void>;
  private wake?: () => void;
  private failures = 0;
  /** The last failure's Retry-After, if its destination gave one. */
  private retryAfterMs?: number;
  private inFlight = 0;
  /** Last time a process() delivered or found nothing to deliver (for /health). */
  lastOkAt = 0;
  lastError?: string;

  constructor(
    readonly processor: SinkProcessor,
    private readonly log: Logger,
    private readonly opts: SinkRunnerOptions = {},
  ) {}

  /** Channels this runner drains (one per sink). */
  get channels(): Channel[] {
    return [...new Set(this.processor.sinks.map((s) => s.channel))];
  }

  start(): void {
    this.running = true;
    this.lastOkAt = Date.now();
    this.loop = this.run();
  }

  private async run(): Promise<void> {
    while (this.running) {
      const status = await this.processOnce();
      if (!this.running) break;
      if (status === "empty") await this.idle();
      else if (status === "failed") {
        const cap = this.opts.maxBackoffMs ?? this.processor.maxBackoffMs ?? DEFAULT_MAX_FAILURE_BACKOFF_MS;
        // A destination that said when to come back (Retry-After) is not asked sooner, within the cap.
        await this.pause(Math.max(backoffDelay(this.failures, FAILURE_BACKOFF_START_MS, cap), Math.min(this.retryAfterMs ?? 0, cap)));
      }
    }
  }

  private async processOnce(): Promise<SinkStatus> {
    let status: SinkStatus;
    this.retryAfterMs = undefined;
    this.inFlight++;
    const t0 = Date.now();
    const drainedBefore = this.drained();
    try {
      status = await this.processor.process();
    } catch (err) {
      this.lastError = describeError(err);
      if (err instanceof DeliveryError) this.retryAfterMs = err.retryAfterMs;
      this.log.debug(String((err as Error)?.stack));
      status = "failed";
    } finally {
      this.inFlight--;
    }
    // One line per attempt that moved something or failed (an empty channel's wake-ups stay quiet).
    if (status !== "empty") {
      const took = `${Date.now() - t0} ms`;
      this.log.debug(status === "failed" ? `sink ${this.processor.name}: attempt ${this.failures + 1} failed after ${took}: ${this.lastError ?? "delivery failed"}` : `sink ${this.processor.name}: delivered ${this.drained() - drainedBefore} events in ${took}`);
    }
    if (status === "failed") {
      if (this.failures++ === 0) this.log.warn(`sink ${this.processor.name} is failing, will retry with backoff: ${this.lastError ?? "delivery failed"}`);
    } else {
      if (this.failures > 0) this.log.info(`sink ${this.processor.name} recovered after ${this.failures} failed attempts`);
      this.failures = 0;
      this.lastError = undefined;
      this.lastOkAt = Date.now();
    }
    return status;
  }

  private drained(): number {
    let n = 0;
    for (const s of this.processor.sinks) n += s.counters.EventDrainSuccessCount;
    return n;
  }

  get failing(): boolean {
    return this.failures > 0;
  }

  /** A process() call is under way: a batch may be taken and not yet committed or rolled back. */
  get busy(): boolean {
    return this.inFlight > 0 || this.processor.sinks.some((s) => (s.deliveriesInFlight ?? 0) > 0);
  }

  private idle(): Promise<void> {
    return Promise.race(this.channels.map((c) => c.waitForEvents(IDLE_WAIT_MS)).concat(this.wakePromise()));
  }

  private pause(ms: number): Promise<void> {
    return new Promise((resolve) => {
      const t = setTimeout(resolve, ms);
      this.wake = () => {
        clearTimeout(t);
        resolve();
      };
    });
  }

  private wakePromise(): Promise<void> {
    return new Promise((resolve) => (this.wake = resolve));
  }

  /**
   * Stops after draining: keeps delivering until the channels are empty, delivery fails, or `drainMs` passes.
   * Whatever is left stays in the channel (durable) or unacknowledged at its source (memory): nothing is lost.
   * A delivery in flight at the deadline (a dead peer can hold one for its whole request timeout) is not waited
   * for: the processor's stop() closes its connections, which fails that call and rolls its take back.
   */
  async stop(drainMs = 0): Promise<void> {
    const deadline = Date.now() + drainMs;
    this.running = false;
    this.wake?.();
    let settled = await settlesBy(this.loop, deadline);
    while (settled && Date.now() < deadline && this.channels.some((c) => c.size() > 0)) {
      const status = this.processOnce();
      settled = await settlesBy(status, deadline);
      if (settled && (await status) !== "ready") break;
    }
    // Deliveries a sink still overlaps get the rest of the drain time to commit (or roll back) on their own.
    if (settled) settled = await settlesBy(Promise.all(this.processor.sinks.map((s) => s.settle?.())), deadline);
    if (!settled) this.log.warn(`sink ${this.processor.name}: a delivery was still in flight at the drain deadline; it is rolled back, not lost`);
  }
}

/** True when `p` settles before `deadline` (epoch ms), false otherwise; never rejects. */
async function settlesBy(p: Promise<unknown> | undefined, deadline: number): Promise<boolean> {
  if (!p) return true;
  let timer: ReturnType<typeof setTimeout> | undefined;
  const timeout = new Promise<boolean>((r) => (timer = setTimeout(() => r(false), Math.max(0, deadline - Date.now()))));
  try {
    return await Promise.race([p.then(() => true, () => true), timeout]);
  } finally {
    clearTimeout(timer);
  }
}

/**
 * A destination's refusal that is not an error to retry blindly (an HTTP status with Flume's code keys): whether
 * the take rolls back (retried) or commits (dropped, the sink has logged it), whether the events count as drained,
 * and the error the runner backs off with, if any.
 */
export interface Refusal {
  rollback: boolean;
  countAsDrained: boolean;
  error?: DeliveryError;
}

/**
 * The take → deliver → commit cycle every sink shares. `deliver` must resolve only once the destination has the
 * batch (fsynced, acknowledged by the peer…); if it throws, the take is rolled back and the error rethrown. It may
 * instead return a Refusal, which decides between rollback and commit.
 */
export async function takeAndDeliver(
  channel: Channel,
  batchSize: number,
  counters: SinkCounters,
  deliver: (events: Event[]) => Promise<Refusal | void> | Refusal | void,
): Promise<SinkStatus> {
  const tx = channel.begin();
  let events: Event[];
  try {
    events = await tx.take(batchSize);
  } catch (err) {
    counters.ChannelReadFail++;
    await tx.rollback().catch(() => {});
    throw err;
  }
  if (events.length === 0) {
    counters.BatchEmptyCount++;
    await tx.commit();
    return "empty";
  }
  if (events.length < batchSize) counters.BatchUnderflowCount++;
  else counters.BatchCompleteCount++;
  counters.EventDrainAttemptCount += events.length;
  let refusal: Refusal | void;
  try {
    refusal = await deliver(events);
  } catch (err) {
    counters.EventWriteFail += events.length;
    await tx.rollback();
    throw err;
  }
  if (refusal?.rollback) await tx.rollback();
  else await tx.commit();
  if (!refusal || refusal.countAsDrained) counters.EventDrainSuccessCount += events.length;
  else counters.EventWriteFail += events.length;
  if (refusal?.error) throw refusal.error;
  return "ready";
}
