// `sluice status` for a file channel: a read-only recovery (nothing locked, truncated or written) that reports the
// backlog, the WAL on disk and the checkpoint's age, whether or not an agent is running.

import type { ComponentContext } from "../../core/component.ts";
import type { InspectReport } from "../../core/component-type.ts";
import { initCrc32c } from "../../util/crc.ts";
import type { FileChannelDirs } from "./dirs.ts";
import type { FileChannelConfig } from "./keys.ts";
import { MAX_RECORD_BYTES } from "./segment.ts";
import { dirLockHolder } from "./lock.ts";
import { recover } from "./replay.ts";

export async function inspectFileChannel(dirs: FileChannelDirs, cfg: FileChannelConfig, ctx: ComponentContext): Promise<InspectReport> {
  await initCrc32c();
  const r = await recover({
    name: ctx.name,
    ...dirs,
    maxRecordBytes: MAX_RECORD_BYTES,
    skipCorruptRecords: true,
    readOnly: true,
    log: ctx.log,
  });
  let walBytes = 0;
  const items: InspectReport["items"] = [];
  for (const [id, s] of [...r.segments].sort((a, b) => a[0] - b[0])) {
    walBytes += s.size;
    items.push({ segment: id, file: s.path, bytes: s.size });
  }
  const head = r.queue.peek();
  const holder = await dirLockHolder(dirs.checkpointDir);
  // A running agent may be writing the last record right now: that is not a torn tail.
  const notes = holder ? r.notes.filter((n) => !n.includes("torn record")) : r.notes;
  return {
    summary: {
      events: r.queue.events,
      bytes: r.bytes,
      segments: r.segments.size,
      walBytes,
      checkpoint: r.checkpoint?.source ?? "none",
      checkpointAgeMs: r.checkpoint ? Math.max(0, Date.now() - r.checkpoint.writtenAt) : null,
      oldestEventAgeMs: head ? Math.max(0, Date.now() - head.ts) : null,
      recordsAfterCheckpoint: r.recordsReplayed,
      sourceCursors: r.cursors.size,
      checkpointDir: dirs.checkpointDir,
      dataDirs: dirs.dataDirs.join(","),
      lockedByPid: holder ?? null,
      problems: notes.length > 0 ? notes.join("; ") : null,
    },
    items,
  };
}
