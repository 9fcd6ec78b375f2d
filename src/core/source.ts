// Sources and their runners. A pollable source is driven by PollingRunner (backoff when idle); an event-driven
// source (avro, http) runs its own server between start() and stop().

import type { Lifecycle } from "./component.ts";
import type { SourceCounters } from "./counters.ts";
import { describeError } from "./errors.ts";
import type { Logger } from "../util/log.ts";

/** `ready`: call again now. `backoff`: nothing to do (or channel full); call again after a pause. `done`: finished. */
export type PollStatus = "ready" | "backoff" | "done";

export interface Source extends Lifecycle {
  readonly name: string;
  readonly type: string;
  readonly counters: SourceCounters;
  /** Gauges for metrics and status (bytes behind EOF…). */
  gauges?(): Record<string, number>;
  /**
   * Called once after stop(), when sinks have drained and channels have stopped (a spillable channel has moved its
   * memory part to disk): the last Acks have arrived, so persist the final safe positions and release files.
   * stop() itself only ends input (no new reads, servers closed) and keeps acknowledgement tracking alive.
   */
  close?(): Promise<void>;
}

export interface PollableSource extends Source {
  process(): Promise<PollStatus>;
  /** Backoff after `backoff`: grows by increment up to max (Flume's backoffSleepIncrement / maxBackoffSleep). */
  readonly backoff?: { incrementMs: number; maxMs: number };
  /**
   * Resolves early when the source may have new input (e.g. fs.watch fired), so a backoff sleep ends sooner.
   * Optional; without it the runner simply sleeps.
   */
  wake?(ms: number): Promise<void>;
}

export function isPollable(s: Source): s is PollableSource {
  return typeof (s as PollableSource).process === "function";
}

const DEFAULT_BACKOFF_INCREMENT_MS = 1000;
const DEFAULT_MAX_BACKOFF_MS = 5000;

/** Drives a pollable source on the event loop, one process() at a time, until stopped or done. */
export class PollingRunner {
  private running = false;
  private loop?: Promise<void>;
  private wakeSleep?: () => void;
  /** Why the last process() threw, while the source keeps failing (for /health); cleared by the next success. */
  lastError?: string;
  /** Resolves when the source returned `done` (cron mode) or the runner stopped. */
  readonly finished: Promise<void>;
  private resolveFinished!: () => void;

  constructor(
    readonly source: PollableSource,
    private readonly log: Logger,
  ) {
    this.finished = new Promise((r) => (this.resolveFinished = r));
  }

  start(): void {
    this.running = true;
    this.loop = this.run();
  }

  private async run(): Promise<void> {
    const inc = this.source.backoff?.incrementMs ?? DEFAULT_BACKOFF_INCREMENT_MS;
    const max = this.source.backoff?.maxMs ?? DEFAULT_MAX_BACKOFF_MS;
    let backoff = 0;
    while (this.running) {
      let status: PollStatus;
      try {
        status = await this.source.process();
        this.lastError = undefined;
      } catch (err) {
        this.source.counters.GenericProcessingFail++;
        const message = describeError(err);
        // One error line when the source starts failing (or fails differently), not one per retry.
        if (message !== this.lastError) this.log.error(`source ${this.source.name} failed: ${message}`);
        this.lastError = message;
        this.log.debug(String((err as Error)?.stack));
        status = "backoff";
      }
      if (status === "done") break;
      if (status === "ready") {
        backoff = 0;
        continue;
      }
      backoff = Math.min(backoff + inc, max);
      await this.sleep(backoff);
    }
    this.resolveFinished();
  }

  private sleep(ms: number): Promise<void> {
    return new Promise((resolve) => {
      const t = setTimeout(done, ms);
      let woke = false;
      function done() {
        if (woke) return;
        woke = true;
        clearTimeout(t);
        resolve();
      }
      this.wakeSleep = done;
      this.source.wake?.(ms).then(done, done);
    });
  }

  async stop(): Promise<void> {
    this.running = false;
    this.wakeSleep?.();
    await this.loop;
  }
}
