// When the file channel writes its checkpoint (checkpoint.ts owns the format) and what follows from one: the
// segments before the covered WAL position that nothing points into any more are deleted.

import { unlink } from "node:fs/promises";
import { describeError } from "../../core/errors.ts";
import type { Logger } from "../../util/log.ts";
import type { Backlog } from "./backlog.ts";
import { comparePos, encodeCheckpoint, writeCheckpoint, type WalPos } from "./checkpoint.ts";
import type { FileChannelDirs } from "./dirs.ts";
import type { FileChannelCounters } from "./keys.ts";
import type { Wal } from "./wal.ts";

export class Checkpointer {
  private running?: Promise<void>;
  private last?: { pos: WalPos; at: number };
  /** Size of the last checkpoint written: puts keep twice that free so the next one can always be written. */
  lastBytes = 0;

  constructor(
    private readonly name: string,
    private readonly dirs: FileChannelDirs,
    private readonly wal: Wal,
    private readonly backlog: Backlog,
    /** Existing segments: found by recovery, and each one the WAL creates. */
    private readonly segments: Set<number>,
    private readonly counters: FileChannelCounters,
    private readonly log: Logger,
  ) {}

  /** Milliseconds since the last checkpoint was written, if any. */
  ageMs(): number | undefined {
    return this.last ? Date.now() - this.last.at : undefined;
  }

  /** Lets a running checkpoint finish (its failure is already logged). */
  async settle(): Promise<void> {
    await this.running?.catch(() => {});
  }

  /**
   * Writes a checkpoint of the backlog at the WAL position applied so far, then deletes segments nothing points into
   * any more. Skipped when nothing was logged since the last one (unless forced).
   */
  checkpoint(force: boolean): Promise<void> {
    if (this.running) return this.running;
    const wal = this.wal;
    const pos = { ...wal.appliedPos };
    if (!force && this.last && comparePos(pos, this.last.pos) === 0) return Promise.resolve();
    // The snapshot is taken synchronously, so it matches `pos` exactly.
    const snap = this.backlog.snapshot();
    const buf = encodeCheckpoint({ pos, writtenAt: Date.now(), bytes: this.backlog.bytes, nextSeg: wal.activeSegment + 1, cursors: this.backlog.cursors }, snap.runs, snap.count);
    this.lastBytes = buf.byteLength;
    this.running = (async () => {
      try {
        await wal.sync();
        await writeCheckpoint(this.dirs.checkpointDir, buf);
      } catch (err) {
        this.counters.CheckpointWriteErrorCount++;
        this.log.error(`channel ${this.name}: cannot write checkpoint in ${this.dirs.checkpointDir}: ${describeError(err)} (the WAL still has everything; restart replays more)`);
        throw err;
      }
      if (this.dirs.backupCheckpointDir) {
        await writeCheckpoint(this.dirs.backupCheckpointDir, buf).catch((err) => {
          this.counters.CheckpointBackupWriteErrorCount++;
          this.log.warn(`channel ${this.name}: cannot write backup checkpoint in ${this.dirs.backupCheckpointDir}: ${describeError(err)}`);
        });
      }
      this.last = { pos, at: Date.now() };
      await this.deleteDrained(pos.seg);
    })().finally(() => (this.running = undefined));
    return this.running;
  }

  /** Deletes segments before the checkpointed position that no queued or in-flight event points into. */
  private async deleteDrained(before: number): Promise<void> {
    for (const id of [...this.segments].sort((a, b) => a - b)) {
      if (id >= before || id === this.wal.activeSegment || this.backlog.live(id)) continue;
      const path = this.wal.segmentPath(id);
      this.segments.delete(id);
      await this.wal.forget(id);
      await unlink(path).catch((err) => this.log.warn(`channel ${this.name}: cannot delete drained segment ${path}: ${describeError(err)}`));
      this.log.debug(`channel ${this.name}: deleted drained segment ${path}`);
    }
  }
}
