// The file channel's keys (Flume's names and defaults, sluice's additions marked) and its counters beyond Flume's
// channel counters; shared with the spillable channel, whose overflow part is a file channel.

import { ChannelCounters } from "../../core/counters.ts";
import { key, type ConfigOf } from "../../core/keys.ts";

/**
 * Default of cacheBytes: 8 MiB is ~25 put batches of 1000 × 200 B held as events, ample for a sink that keeps up (more would only
 * keep in memory a backlog the disk holds anyway). What the cache holds counts against the garbage collector's
 * headroom too: measured with bench/backlog.ts (4 M × 7 B queued), peak RSS 81 / 96 MiB at 0 / 16 MiB.
 */
const DEFAULT_CACHE_BYTES = 8 * 1024 * 1024;

export const fileChannelKeys = {
  checkpointDir: key.path("directory of the checkpoint (and its lock)", { use: "createdDir", defaultText: "`<state-dir>/<agent>/<channel>/checkpoint`" }),
  useDualCheckpoints: key.bool("also write each checkpoint to backupCheckpointDir", { default: false }),
  backupCheckpointDir: key.path("directory of the backup checkpoint", { use: "createdDir", defaultText: "`<state-dir>/<agent>/<channel>/checkpoint-backup` when useDualCheckpoints" }),
  dataDirs: key.paths("comma-separated directories of the WAL segments (segments alternate between them)", { use: "createdDir", separator: /\s*,\s*/, defaultText: "`<state-dir>/<agent>/<channel>/data`" }),
  capacity: key.int("maximum events held", { default: 1_000_000, min: 1 }),
  transactionCapacity: key.int("maximum events per put or take transaction", { default: 10_000, min: 1 }),
  checkpointInterval: key.duration("time between checkpoints", { default: 30_000, unit: "ms", min: 100 }),
  maxFileSize: key.bytes("size at which a WAL segment is closed and the next one started", { default: 2_146_435_071, min: 65_536 }),
  minimumRequiredSpace: key.bytes("free space below which puts are refused (DiskFullError)", { default: 524_288_000, min: 0 }),
  "keep-alive": key.duration("how long a put waits for room before the source is told the channel is full", { default: 3000, unit: "s" }),
  checkpointOnClose: key.bool("write a checkpoint on a clean stop (fast next start)", { default: true }),
  fsyncPerTransaction: key.bool("fsync before each commit returns (false: fsync every fsyncInterval; Acks wait for it)", { default: true }),
  fsyncInterval: key.duration("with fsyncPerTransaction = false, time between fsyncs", { default: 5000, unit: "s", min: 1 }),
  cacheBytes: key.bytes("sluice: memory for recently put records, counted in full (encoded size plus each held event object), so a sink that keeps up never reads the disk (0 = always read back)", { default: DEFAULT_CACHE_BYTES, min: 0 }),
  skipCorruptRecords: key.bool("sluice: start despite a corrupt record in the middle of the WAL, losing its events (logged as ERROR)", { default: false }),
};
export type FileChannelConfig = ConfigOf<typeof fileChannelKeys>;

export class FileChannelCounters extends ChannelCounters {
  CheckpointWriteErrorCount = 0;
  CheckpointBackupWriteErrorCount = 0;
  EventPutErrorCount = 0;
  EventTakeErrorCount = 0;
}
