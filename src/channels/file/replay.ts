// Recovery of the file channel's queue at start: load the newest usable checkpoint (primary, then backup), then
// replay the WAL written after the position it covers. Without a usable checkpoint, every segment is replayed.
// Torn tails are truncated (with a warning naming segment and offset); corruption in the middle stops the start
// unless skipCorruptRecords. In read-only mode (`sluice status`) nothing is truncated, locked or written.

import { open, readdir, stat, truncate, unlink, type FileHandle } from "node:fs/promises";
import { join } from "node:path";
import { CorruptLogError } from "../../core/errors.ts";
import type { Logger } from "../../util/log.ts";
import { readCheckpoint, type Checkpoint, type WalPos } from "./checkpoint.ts";
import { RunQueue } from "./queue.ts";
import { checkSegmentHeader, looksLikeRecord, parseRecord, parseSegmentName, recordKey, RecordType, RECORD_HEADER_BYTES, SEGMENT_HEADER_BYTES, type RecordInfo, type Run } from "./segment.ts";
import { readFully } from "./wal.ts";

/** Replay reads segments in chunks this large (one read per chunk, records parsed in place). */
const SCAN_CHUNK_BYTES = 8 * 1024 * 1024;

export interface RecoverOptions {
  name: string;
  checkpointDir: string;
  backupCheckpointDir?: string;
  dataDirs: readonly string[];
  /** Largest plausible record: anything longer is garbage. */
  maxRecordBytes: number;
  skipCorruptRecords: boolean;
  readOnly: boolean;
  log: Logger;
}

export interface Recovered {
  queue: RunQueue;
  bytes: number;
  /** Existing segments: id → path and size after recovery. */
  segments: Map<number, { path: string; size: number }>;
  /** First id the writer may use. */
  nextSeg: number;
  checkpoint?: { source: "primary" | "backup"; writtenAt: number; pos: WalPos };
  /** The last committed cursor of each source: the checkpoint's, then each PUT record's after it, in WAL order. */
  cursors: Map<string, Uint8Array>;
  recordsReplayed: number;
  /** Problems met (torn tails, skipped corruption, unusable checkpoints), one line each. */
  notes: string[];
}

async function listSegments(dirs: readonly string[]): Promise<Map<number, { path: string; size: number }>> {
  const out = new Map<number, { path: string; size: number }>();
  for (const d of dirs) {
    let names: string[];
    try {
      names = await readdir(d);
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code === "ENOENT") continue;
      throw err;
    }
    for (const n of names) {
      const id = parseSegmentName(n);
      if (id === undefined) continue;
      const path = join(d, n);
      const prev = out.get(id);
      if (prev) throw new CorruptLogError(`segment ${id} exists twice (also ${prev.path}); was dataDirs reordered or two channels merged?`, path, 0);
      out.set(id, { path, size: (await stat(path)).size });
    }
  }
  return out;
}

async function loadCheckpoint(o: RecoverOptions, segments: Map<number, unknown>, notes: string[]): Promise<(Checkpoint & { source: "primary" | "backup" }) | undefined> {
  const candidates: Array<["primary" | "backup", string]> = [["primary", o.checkpointDir]];
  if (o.backupCheckpointDir) candidates.push(["backup", o.backupCheckpointDir]);
  for (const [source, dir] of candidates) {
    const c = await readCheckpoint(dir, (m) => notes.push(m));
    if (c === undefined) continue;
    let why = typeof c === "string" ? c : undefined;
    if (typeof c !== "string") {
      // A checkpoint must point into segments that still exist: an old backup may predate segment deletions.
      if (!segments.has(c.pos.seg)) why = `its WAL segment ${c.pos.seg} is missing`;
      const gone = c.runs.find((r) => !segments.has(r.seg));
      if (!why && gone) why = `it references deleted segment ${gone.seg}`;
      if (!why) return { ...c, source };
    }
    notes.push(`${source} checkpoint ${join(dir, "checkpoint")} is unusable (${why}); falling back`);
  }
  return undefined;
}

/** Resync reads a candidate record in full only up to this size (garbage often looks like a huge length). */
const RESYNC_MAX_RECORD_BYTES = 64 * 1024 * 1024;

/** Finds the next offset after `from` where a valid record starts, or undefined (read in chunks, bounded by size). */
async function findNextValid(fh: FileHandle, from: number, size: number, maxLen: number): Promise<number | undefined> {
  let at = from;
  while (at < size) {
    const n = Math.min(SCAN_CHUNK_BYTES, size - at);
    const buf = new Uint8Array(n);
    await readFully(fh, buf, at);
    for (let i = 0; i < n; i++) {
      if (!looksLikeRecord(buf, i)) continue;
      const p = parseRecord(buf, i, at + i, maxLen);
      if (p.kind === "ok") return at + i;
      if (p.kind === "short" && p.need > RECORD_HEADER_BYTES && p.need <= size - (at + i) && p.need <= RESYNC_MAX_RECORD_BYTES) {
        const big = new Uint8Array(p.need);
        await readFully(fh, big, at + i);
        if (parseRecord(big, 0, at + i, maxLen).kind === "ok") return at + i;
      }
    }
    at += n;
  }
  return undefined;
}

function concat(a: Uint8Array, b: Uint8Array): Uint8Array {
  const out = new Uint8Array(a.byteLength + b.byteLength);
  out.set(a, 0);
  out.set(b, a.byteLength);
  return out;
}

/**
 * Scans one segment from `from`, calling `onRecord` for each valid record. Returns the offset where valid data ends.
 * A bad record is a torn tail (last segment, nothing valid after it: truncated) or corruption (thrown, or skipped).
 */
async function scanSegment(id: number, path: string, size: number, from: number, last: boolean, o: RecoverOptions, notes: string[], onRecord: (r: RecordInfo) => void): Promise<number> {
  const fh = await open(path, "r");
  try {
    const head = new Uint8Array(SEGMENT_HEADER_BYTES);
    const got = await readFully(fh, head, 0);
    const bad = checkSegmentHeader(head.subarray(0, got), id);
    if (bad) {
      if (last && size <= SEGMENT_HEADER_BYTES) {
        // Created by a process that died before the header was durable: an empty segment, nothing to lose.
        notes.push(`segment ${path}: incomplete header of an empty segment (${bad}); ${o.readOnly ? "would be removed" : "removed"}`);
        if (!o.readOnly) await unlink(path);
        return -1;
      }
      throw new CorruptLogError(`unusable segment header: ${bad}`, path, 0);
    }
    let pos = Math.max(from, SEGMENT_HEADER_BYTES);
    let buf: Uint8Array = new Uint8Array(0);
    let bufStart = pos;
    // One chunk of read-ahead: the disk reads the next chunk while this one is checked and parsed.
    let ahead: { at: number; data: Promise<Uint8Array> } | undefined;
    const readAt = (at: number, n: number) => {
      const b = new Uint8Array(Math.max(0, Math.min(n, size - at)));
      return readFully(fh, b, at).then((got) => b.subarray(0, got));
    };
    while (pos < size) {
      const at = pos - bufStart;
      const p = parseRecord(buf, at, pos, o.maxRecordBytes);
      if (p.kind === "ok") {
        onRecord(p.info);
        pos += p.info.len;
        continue;
      }
      const bufEnd = bufStart + buf.byteLength;
      if (p.kind === "short" && bufEnd < size) {
        // Refill from the current record: the rest of this buffer, the next chunk, and more if the record is longer.
        const rest = buf.subarray(at);
        const chunk = ahead && ahead.at === bufEnd ? await ahead.data : await readAt(bufEnd, SCAN_CHUNK_BYTES);
        let next = rest.byteLength === 0 ? chunk : concat(rest, chunk);
        if (next.byteLength < p.need && pos + next.byteLength < size) next = concat(next, await readAt(pos + next.byteLength, p.need - next.byteLength));
        buf = next;
        bufStart = pos;
        ahead = { at: bufStart + buf.byteLength, data: readAt(bufStart + buf.byteLength, SCAN_CHUNK_BYTES) };
        continue;
      }
      const reason = p.kind === "bad" ? p.reason : `record of ${p.need} bytes runs past the end of the file (${size} bytes)`;
      const next = await findNextValid(fh, pos + 1, size, o.maxRecordBytes);
      if (next === undefined && last) {
        notes.push(`segment ${path}: torn record at offset ${pos} (${reason}): ${o.readOnly ? "the tail would be truncated" : "truncated"} (${size - pos} bytes; the last write of a crash, never acknowledged)`);
        if (!o.readOnly) await truncate(path, pos);
        return pos;
      }
      const lost = next === undefined ? `the rest of the segment (${size - pos} bytes)` : `${next - pos} bytes up to the next valid record at offset ${next}`;
      if (!o.skipCorruptRecords) {
        throw new CorruptLogError(
          `corrupt WAL record (${reason}) in the middle of the log; ${lost} would be lost, so channel ${o.name} refuses to start. ` +
            `Set skipCorruptRecords = true on the channel to skip it and lose those events`,
          path,
          pos,
        );
      }
      notes.push(`segment ${path}: SKIPPED corrupt record at offset ${pos} (${reason}); lost ${lost}`);
      if (next === undefined) return pos;
      pos = next;
      buf = new Uint8Array(0);
      bufStart = pos;
      ahead = undefined;
    }
    return pos;
  } finally {
    await fh.close();
  }
}

/** The events of one PUT record a TAKE record removed, with their body bytes; `hit` once found in the queue. */
interface Taken {
  start: number;
  end: number;
  bytes: number;
  hit: boolean;
}

/** Subtracts the taken ranges (sorted by start) of a run's record from the run; returns what is left. */
function subtract(r: Run, taken: Taken[], out: Run[]): void {
  let s = r.start;
  for (const t of taken) {
    if (t.end <= r.start || t.start >= r.end) continue;
    t.hit = true;
    if (t.start > s) out.push({ ...r, start: s, end: t.start });
    s = Math.max(s, t.end);
  }
  if (s < r.end) out.push(s === r.start ? r : { ...r, start: s });
}

export async function recover(o: RecoverOptions): Promise<Recovered> {
  const notes: string[] = [];
  const segments = await listSegments(o.dataDirs);
  const ckpt = await loadCheckpoint(o, segments, notes);
  const queue = new RunQueue();
  let bytes = 0;
  let from: WalPos = { seg: 0, off: 0 };
  let cursors = new Map<string, Uint8Array>();
  if (ckpt) {
    cursors = ckpt.cursors;
    for (const r of ckpt.runs) queue.push(r);
    bytes = ckpt.bytes;
    from = ckpt.pos;
  }
  const taken = new Map<number, Taken[]>();
  const ids = [...segments.keys()].sort((a, b) => a - b);
  let records = 0;
  // Each record's effect on the queue being rebuilt: puts join it, takes are collected and subtracted at the end.
  const onRecord = (id: number) => (r: RecordInfo) => {
    records++;
    if (r.type === RecordType.Take) {
      for (const t of r.runs!) {
        const k = recordKey(t.seg, t.off);
        let l = taken.get(k);
        if (!l) taken.set(k, (l = []));
        l.push({ start: t.start, end: t.end, bytes: t.bytes ?? 0, hit: false });
      }
      return;
    }
    for (const c of r.cursors ?? []) {
      // An empty cursor forgets its key (see SourceCursor).
      if (c.cursor.byteLength === 0) cursors.delete(c.source);
      else cursors.set(c.source, c.cursor);
    }
    const run: Run = { seg: id, off: r.off, len: r.len, start: 0, end: r.count, ts: r.ts };
    if (r.count === 0) return;
    if (r.type === RecordType.PutFront) queue.unshift(run);
    else queue.push(run);
    bytes += r.bytes;
  };
  for (let i = 0; i < ids.length; i++) {
    const id = ids[i]!;
    if (id < from.seg) continue;
    const s = segments.get(id)!;
    const end = await scanSegment(id, s.path, s.size, id === from.seg ? from.off : 0, i === ids.length - 1, o, notes, onRecord(id)).catch((err) => {
      // `sluice status` next to a running agent: a drained segment may be deleted between listing and reading.
      if (o.readOnly && (err as NodeJS.ErrnoException).code === "ENOENT") return -1;
      throw err;
    });
    if (end < 0) segments.delete(id);
    else s.size = end;
  }
  let result = queue;
  if (taken.size > 0) {
    for (const l of taken.values()) l.sort((a, b) => a.start - b.start);
    result = new RunQueue();
    const pieces: Run[] = [];
    for (const r of queue) {
      const t = taken.get(recordKey(r.seg, r.off));
      if (!t) {
        result.push(r);
        continue;
      }
      pieces.length = 0;
      subtract(r, t, pieces);
      for (const p of pieces) result.push(p);
    }
    // Only takes of events still queued count: a take may have been applied before the checkpoint was written
    // (take rounds apply without waiting for earlier put rounds' fsyncs, see wal.ts), then it is replayed in vain.
    for (const l of taken.values()) for (const t of l) if (t.hit) bytes -= t.bytes;
  }
  if (result.events === 0) bytes = 0;
  const maxId = ids.length > 0 ? ids[ids.length - 1]! : 0;
  return {
    queue: result,
    bytes: Math.max(0, bytes),
    segments,
    nextSeg: Math.max(maxId + 1, ckpt?.nextSeg ?? 1),
    checkpoint: ckpt ? { source: ckpt.source, writtenAt: ckpt.writtenAt, pos: ckpt.pos } : undefined,
    recordsReplayed: records,
    cursors,
    notes,
  };
}
