// A pollable source's put: count the batch, keep it until the channels accept it, and tell the runner to back off
// while they cannot. A full channel or a thrown error (a disk error, a bad interceptor) both leave the batch kept; the
// source retries it, as is and with a fresh Ack, before it reads anything new (core/ack.ts needs that order).

import type { Ack } from "./ack.ts";
import type { ChannelProcessor } from "./channel-processor.ts";
import type { SourceCounters } from "./counters.ts";
import type { SourceCursor } from "./channel.ts";
import type { Event } from "./event.ts";
import type { PollStatus } from "./source.ts";

/** Issues the batch's Ack for one attempt (a refused attempt's Ack is cancelled; the retry needs a new one). */
export type IssueAck = () => Ack | undefined;

export class BatchPutter {
  private kept?: { events: Event[]; issue?: IssueAck; cursor?: SourceCursor };

  constructor(
    private readonly processor: ChannelProcessor,
    private readonly counters: SourceCounters,
  ) {}

  /** Retries the kept batch; undefined when nothing is kept (the source reads on). */
  retry(): Promise<PollStatus> | undefined {
    const k = this.kept;
    if (!k) return undefined;
    this.kept = undefined;
    return this.put(k.events, k.issue, k.cursor);
  }

  /**
   * `ready` once every required channel took the batch; `backoff` when one is full (the batch is kept, with its
   * cursor: the retry comes before anything new is read, so the position after the batch is still the same).
   * `cursor`: the source's position after this batch, for durable channels (ChannelProcessor.putBatch).
   */
  async put(events: Event[], issue?: IssueAck, cursor?: SourceCursor): Promise<PollStatus> {
    this.counters.EventReceivedCount += events.length;
    this.counters.AppendBatchReceivedCount++;
    this.kept = { events, issue, cursor };
    const outcome = await this.processor.putBatch(events, issue?.(), cursor);
    if (outcome === "full") {
      this.counters.ChannelWriteFail++;
      return "backoff";
    }
    this.kept = undefined;
    this.counters.EventAcceptedCount += events.length;
    this.counters.AppendBatchAcceptedCount++;
    return "ready";
  }
}
