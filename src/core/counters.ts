// Per-component counters under Flume's names. Plain number fields: incremented per batch on the hot path,
// read by the metrics endpoint and `sluice status`.

export class SourceCounters {
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
  EventPutAttemptCount = 0;
  EventPutSuccessCount = 0;
  EventTakeAttemptCount = 0;
  EventTakeSuccessCount = 0;
  StartTime = 0;
  StopTime = 0;
}

export class SinkCounters {
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
