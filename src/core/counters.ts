// Per-component counters under Flume's names. Plain number fields: incremented per batch on the hot path,
// read by the metrics endpoint and `sluice status`. `dropped` counts events dropped on purpose, per reason (see
// core/drops.ts): `counters.dropped.add("rollback.404 = false", n)`; the snapshot shows EventsDropped and each reason.

import { DropCounts } from "../core/drops.ts";

export class SourceCounters {
  readonly dropped = new DropCounts();
  EventReceivedCount = 0;
  EventAcceptedCount = 0;
  AppendReceivedCount = 0;
  AppendAcceptedCount = 0;
  AppendBatchReceivedCount = 0;
  AppendBatchAcceptedCount = 0;
  OpenConnectionCount = 0;
  ChannelWriteFail = 0;
  EventReadFail = 0;
  GenericProcessingFail = 0;
  StartTime = 0;
  StopTime = 0;
}

export class ChannelCounters {
  readonly dropped = new DropCounts();
  EventPutAttemptCount = 0;
  EventPutSuccessCount = 0;
  EventTakeAttemptCount = 0;
  EventTakeSuccessCount = 0;
  StartTime = 0;
  StopTime = 0;
}

export class SinkCounters {
  readonly dropped = new DropCounts();
  ConnectionCreatedCount = 0;
  ConnectionClosedCount = 0;
  ConnectionFailedCount = 0;
  BatchEmptyCount = 0;
  BatchUnderflowCount = 0;
  BatchCompleteCount = 0;
  EventDrainAttemptCount = 0;
  EventDrainSuccessCount = 0;
  EventWriteFail = 0;
  ChannelReadFail = 0;
  StartTime = 0;
  StopTime = 0;
}
