// The file channel's checkpoint format: this file alone writes and reads it. A checkpoint is the channel's queue of
// pending event pointers (runs of PUT records, see segment.ts) at one WAL position, so a restart replays only the
// WAL written after that position.
//
// File `checkpoint` in checkpointDir (and, with useDualCheckpoints, a copy in backupCheckpointDir). Little-endian:
//   0  4  magic "SLCP"
//   4  2  format version: CHECKPOINT_VERSION = 2 is written; a reader reads versions 1 and 2 and treats any other
//         as unusable (it falls back)
//   6  2  flags, 0
//   8  4  WAL position covered: segment id (u32)
//   12 4  WAL position covered: offset in that segment (u32)
//   16 8  written at, epoch ms (f64)
//   24 8  body bytes of the pending events (f64)
//   32 4  next segment id to use (u32): ids are never reused, even after segments were deleted
//   36 4  run count R
//   40 …  R runs of 28 bytes, in queue order (head first): u32 segment, u32 record offset, u32 record length,
//         u32 first event index, u32 end index (exclusive), f64 record time (epoch ms)
//   version 2 only:
//   …  4  source cursors length K
//   …  K  the last committed cursor of each source, at the covered position: the layout of a PUT record's source
//         cursors (segment.ts), one per source
//   …  4  CRC32C of every byte before it
//
// The queue includes the events of take transactions still open when it was written (at the head, in WAL order):
// their TAKE record, if they commit, comes after the covered position and replay removes them; if the process dies
// first they are still pending, exactly as a rollback would leave them.
//
// Written atomically (temp file, fsync, rename, fsync dir) after the WAL is fsynced up to the covered position.
// Reading: its temp file stands in when complete, valid and not older (a crash between write and rename); a missing,
// truncated, corrupt or other-version primary without such a temp falls back to the backup, then to a full replay of
// the WAL — the WAL is the truth a checkpoint only summarises, so this loses nothing, and each step is logged naming
// both files.

import { join } from "node:path";
import { atomicWriteFile, readStateFile, tempPathFor } from "../../util/atomic-file.ts";
import { crc32c } from "../../util/crc.ts";
import type { SourceCursor } from "../../core/channel.ts";
import { SluiceError } from "../../core/errors.ts";
import { encodeCursorSection, parseCursorSection, type Run } from "./segment.ts";

export const CHECKPOINT_VERSION = 2;
export const CHECKPOINT_FILE = "checkpoint";
const MAGIC = 0x50434c53; // "SLCP" read as a little-endian u32
const FIXED_BYTES = 40;
const RUN_BYTES = 28;

export interface WalPos {
  seg: number;
  off: number;
}

export interface Checkpoint {
  pos: WalPos;
  writtenAt: number;
  bytes: number;
  nextSeg: number;
  runs: Run[];
  /** The last committed cursor of each source at `pos` (none in a version-1 checkpoint). */
  cursors: Map<string, Uint8Array>;
}

export function encodeCheckpoint(
  c: { pos: WalPos; writtenAt: number; bytes: number; nextSeg: number; cursors: ReadonlyMap<string, Uint8Array> },
  runs: Iterable<Run>,
  runCount: number,
): Uint8Array {
  const list: SourceCursor[] = [];
  for (const [source, cursor] of c.cursors) list.push({ source, cursor });
  const section = encodeCursorSection(list);
  const buf = new Uint8Array(FIXED_BYTES + runCount * RUN_BYTES + 4 + section.byteLength + 4);
  const v = new DataView(buf.buffer);
  v.setUint32(0, MAGIC, true);
  v.setUint16(4, CHECKPOINT_VERSION, true);
  v.setUint32(8, c.pos.seg, true);
  v.setUint32(12, c.pos.off, true);
  v.setFloat64(16, c.writtenAt, true);
  v.setFloat64(24, c.bytes, true);
  v.setUint32(32, c.nextSeg, true);
  v.setUint32(36, runCount, true);
  let at = FIXED_BYTES;
  let n = 0;
  for (const r of runs) {
    // The caller's count and its runs disagree: a bug in the writer, not a corrupt file (reading returns a reason).
    if (n++ === runCount) throw new SluiceError("INTERNAL", `checkpoint: more runs than the ${runCount} announced (a bug)`, false);
    v.setUint32(at, r.seg, true);
    v.setUint32(at + 4, r.off, true);
    v.setUint32(at + 8, r.len, true);
    v.setUint32(at + 12, r.start, true);
    v.setUint32(at + 16, r.end, true);
    v.setFloat64(at + 20, r.ts, true);
    at += RUN_BYTES;
  }
  if (n !== runCount) throw new SluiceError("INTERNAL", `checkpoint: ${n} runs, fewer than the ${runCount} announced (a bug)`, false);
  v.setUint32(at, section.byteLength, true);
  buf.set(section, at + 4);
  at += 4 + section.byteLength;
  v.setUint32(at, crc32c(buf.subarray(0, at)), true);
  return buf;
}

/** The checkpoint in `buf`, or the reason it is unusable. */
export function decodeCheckpoint(buf: Uint8Array): Checkpoint | string {
  if (buf.byteLength < FIXED_BYTES + 4) return `file is ${buf.byteLength} bytes, too short for a checkpoint`;
  const v = new DataView(buf.buffer, buf.byteOffset, buf.byteLength);
  if (v.getUint32(0, true) !== MAGIC) return "not a sluice checkpoint (bad magic)";
  const ver = v.getUint16(4, true);
  if (ver !== 1 && ver !== 2) return `checkpoint format version ${ver} is not supported (this sluice reads versions 1 and 2)`;
  const count = v.getUint32(36, true);
  const runsEnd = FIXED_BYTES + count * RUN_BYTES;
  let end = runsEnd;
  let cursors = new Map<string, Uint8Array>();
  if (ver === 2) {
    if (buf.byteLength < runsEnd + 8) return `file is ${buf.byteLength} bytes, too short for ${count} runs (truncated?)`;
    const k = v.getUint32(runsEnd, true);
    end = runsEnd + 4 + k;
    if (buf.byteLength !== end + 4) return `file is ${buf.byteLength} bytes, expected ${end + 4} for ${count} runs and ${k} bytes of cursors (truncated?)`;
    if (v.getUint32(end, true) !== crc32c(buf.subarray(0, end))) return "checksum mismatch";
    const list = parseCursorSection(buf.subarray(runsEnd + 4, end));
    if (typeof list === "string") return list;
    cursors = new Map(list.map((c) => [c.source, c.cursor]));
  } else {
    if (buf.byteLength !== end + 4) return `file is ${buf.byteLength} bytes, expected ${end + 4} for ${count} runs (truncated?)`;
    if (v.getUint32(end, true) !== crc32c(buf.subarray(0, end))) return "checksum mismatch";
  }
  const runs: Run[] = new Array(count);
  for (let i = 0, at = FIXED_BYTES; i < count; i++, at += RUN_BYTES) {
    runs[i] = {
      seg: v.getUint32(at, true),
      off: v.getUint32(at + 4, true),
      len: v.getUint32(at + 8, true),
      start: v.getUint32(at + 12, true),
      end: v.getUint32(at + 16, true),
      ts: v.getFloat64(at + 20, true),
    };
  }
  return {
    pos: { seg: v.getUint32(8, true), off: v.getUint32(12, true) },
    writtenAt: v.getFloat64(16, true),
    bytes: v.getFloat64(24, true),
    nextSeg: v.getUint32(32, true),
    runs,
    cursors,
  };
}

export async function writeCheckpoint(dir: string, bytes: Uint8Array): Promise<void> {
  await atomicWriteFile(join(dir, CHECKPOINT_FILE), bytes);
}

/**
 * Reads `dir/checkpoint` with the shared temp policy (readStateFile: its temp `.checkpoint.tmp` stands in only when
 * complete, valid and not older): the checkpoint, `undefined` when there is none, or the reason it is unusable
 * (naming the temp too). `onNote` hears when the temp was used or ignored.
 */
export async function readCheckpoint(dir: string, onNote: (message: string) => void = () => {}): Promise<Checkpoint | string | undefined> {
  const file = join(dir, CHECKPOINT_FILE);
  let r;
  try {
    r = await readStateFile(file, decodeCheckpoint);
  } catch (err) {
    return `cannot read: ${(err as Error).message}`;
  }
  if (r.kind === "bad") return r.tempProblem ? `${r.problem}; its temp file ${tempPathFor(file)} cannot stand in for it (${r.tempProblem})` : r.problem;
  if (r.ignoredTemp) onNote(`checkpoint ${file}: ${r.ignoredTemp}`);
  if (r.kind === "none") return undefined;
  if (r.from === "temp") onNote(`checkpoint ${file}: using its complete temp file ${tempPathFor(file)} (a write was interrupted before its rename)`);
  return r.value;
}

export function comparePos(a: WalPos, b: WalPos): number {
  return a.seg !== b.seg ? a.seg - b.seg : a.off - b.off;
}
