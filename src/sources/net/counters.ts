// Counters of a source that can lose input by design (UDP under a full channel): Flume's source counters plus
// EventsDropped, whose reason the warning names.

import { SourceCounters } from "../../core/counters.ts";

export class DroppingSourceCounters extends SourceCounters {
  /** Datagrams received but not stored: the channel stayed full past the queue, or the source was stopping. */
  EventsDropped = 0;
}
