// One batch into the channels for the network sources (tcp.ts, udp.ts): a full channel is retried with backoff until
// it takes the batch or the source stops. Counted per batch, as Flume's source counters are.

import type { ChannelProcessor } from "../../core/channel-processor.ts";
import type { SourceCounters } from "../../core/counters.ts";
import type { Event } from "../../core/event.ts";
import type { Signal } from "../../util/signal.ts";

/** Retry pause while a channel is full: starts here, doubles up to the max. */
const FULL_BACKOFF_MIN_MS = 50;
const FULL_BACKOFF_MAX_MS = 1000;

/**
 * Puts `batch`, waiting on `wake` (or the backoff) while the channel is full. `stored`, or `stopping` when the channel
 * was still full once `stopping()` turned true. A channel error is counted (ChannelWriteFail) and thrown.
 */
export async function putWhileFull(
  processor: ChannelProcessor,
  batch: Event[],
  counters: SourceCounters,
  wake: Signal,
  stopping: () => boolean,
): Promise<"stored" | "stopping"> {
  counters.AppendBatchReceivedCount++;
  let backoff = FULL_BACKOFF_MIN_MS;
  for (;;) {
    let outcome: string;
    try {
      outcome = await processor.putBatch(batch);
    } catch (err) {
      counters.ChannelWriteFail++;
      throw err;
    }
    if (outcome === "ok") break;
    counters.ChannelWriteFail++;
    if (stopping()) return "stopping";
    await wake.wait(backoff);
    backoff = Math.min(backoff * 2, FULL_BACKOFF_MAX_MS);
  }
  counters.AppendBatchAcceptedCount++;
  counters.EventAcceptedCount += batch.length;
  return "stored";
}
