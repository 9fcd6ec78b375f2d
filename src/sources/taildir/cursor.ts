// The TAILDIR source's cursor: where each file stands after a batch, committed by a durable channel in the same write
// as the batch (core/channel.ts SourceCursor), so a restart after kill -9 resumes exactly after the last committed
// batch and re-sends nothing. The position file stays, as a cache of it (and the only record with a memory-held channel).
//
// A channel keeps only the last cursor of each source, so a cursor carries every file the source knows, not just the
// file of its batch: the batch's file at the end of the batch, the others at the end of their last batch (or where they
// resumed at start). Each file's entry is encoded once and patched in place (its offset) per batch; a cursor is one
// concatenation of the entries, never work per line.
//
// Format, version 1, little-endian:
//   0   1  version (1)
//   1   3  zero
//   4   4  count      u32  entries that follow
//   per entry (32 bytes + path):
//   0   8  dev        f64  st_dev (NaN: unknown, a Flume-written position record)
//   8   8  ino        f64  st_ino
//   16  8  pos        f64  offset just past the file's last line in a committed batch (the next read starts here)
//   24  4  fp         u32  CRC32C of the file's first `fplen` bytes (identity.ts)
//   28  2  fplen      u16  0..1024; 0xFFFF: no fingerprint known
//   30  2  pathLen    u16  length of `path`
//   32  n  path       UTF-8, the file's path when it was last put
// A cursor is at most 64 KiB: past that, the files put longest ago are left out (they resume from the position file:
// re-sends possible, never a loss). Entries of deleted files are left out.
//
// At start (resumeRecords): with several channels (a replicating selector), a file's resume point is the smallest
// offset any channel committed for it — safe for all; a file missing from one channel's cursor, or a cursor that does
// not decode, falls back to the position file. A cursor entry replaces the position record of the same identity
// (dev + inode) when its offset is larger, unless both fingerprints cover the same length and differ (the position
// file then describes a newer content of that inode); a cursor entry with no record is added (a lost or old position
// file). Identity and fingerprint are checked against the file as for any position record (discovery.ts).

import type { PositionRecord } from "./position-file.ts";
import type { TailFile } from "./reader.ts";
import { identityKey } from "./identity.ts";

export const CURSOR_VERSION = 1;
const HEADER_BYTES = 8;
const ENTRY_BYTES = 32;
const NO_FP = 0xffff;
/** Core/channel.ts: a cursor is at most 64 KiB. */
export const CURSOR_MAX_BYTES = 64 * 1024;
const MAX_PATH_BYTES = 4096;

const encoder = new TextEncoder();
const decoder = new TextDecoder();

interface Entry {
  bytes: Uint8Array;
  view: DataView;
  path: string;
  fp: number;
  fplen: number;
  /** The tracked file it was last put from (none for entries seeded at start). */
  tf?: TailFile;
}

function encodeEntry(r: { dev?: number; inode: number; pos: number; fp?: number; fplen?: number; file: string }): Entry {
  let path = encoder.encode(r.file);
  if (path.length > MAX_PATH_BYTES) path = path.subarray(0, 0); // never in practice; an empty path still resumes by identity
  const bytes = new Uint8Array(ENTRY_BYTES + path.length);
  const view = new DataView(bytes.buffer);
  view.setFloat64(0, r.dev ?? NaN, true);
  view.setFloat64(8, r.inode, true);
  view.setFloat64(16, r.pos, true);
  view.setUint32(24, (r.fp ?? 0) >>> 0, true);
  view.setUint16(28, r.fp === undefined ? NO_FP : (r.fplen ?? 0), true);
  view.setUint16(30, path.length, true);
  bytes.set(path, ENTRY_BYTES);
  return { bytes, view, path: r.file, fp: r.fp ?? 0, fplen: r.fp === undefined ? NO_FP : (r.fplen ?? 0) };
}

/** Keeps each file's committed position and builds the cursor of a batch. */
export class CursorBuilder {
  /** By identity, least recently put first. */
  private readonly entries = new Map<string, Entry>();

  /** At start: the positions the source resumes from (so a cursor before a file's first batch still names it). */
  seed(records: readonly PositionRecord[]): void {
    for (const r of records) {
      if (r.dev === undefined) continue; // a Flume record: identity without device, not carried
      this.entries.set(identityKey(r.dev, r.inode), encodeEntry(r));
    }
  }

  /** Forgets the files `records` (what the position file says: tracked and dormant files) no longer names. */
  retain(records: readonly PositionRecord[]): void {
    const keep = new Set(records.map((r) => (r.dev === undefined ? "" : identityKey(r.dev, r.inode))));
    for (const k of this.entries.keys()) if (!keep.has(k)) this.entries.delete(k);
  }

  /** The cursor after a batch of `tf` that ends at `end`: `tf` at `end`, every other file where its last batch left it. */
  after(tf: TailFile, end: number): Uint8Array {
    const key = identityKey(tf.dev, tf.ino);
    let e = this.entries.get(key);
    if (e && e.path === tf.path && e.fp === tf.fp.crc && e.fplen === tf.fp.len) {
      e.view.setFloat64(16, end, true);
      this.entries.delete(key); // re-inserted last: most recently put
    } else {
      this.entries.delete(key);
      e = encodeEntry({ dev: tf.dev, inode: tf.ino, pos: end, fp: tf.fp.crc, fplen: tf.fp.len, file: tf.path });
    }
    e.tf = tf;
    this.entries.set(key, e);
    let total = HEADER_BYTES;
    for (const [k, x] of this.entries) {
      if (x.tf?.deleted && x !== e) this.entries.delete(k);
      else total += x.bytes.length;
    }
    // Over the bound: the files put longest ago are left to the position file.
    for (const [k, x] of this.entries) {
      if (total <= CURSOR_MAX_BYTES || x === e) break;
      total -= x.bytes.length;
      this.entries.delete(k);
    }
    const out = new Uint8Array(total);
    const v = new DataView(out.buffer);
    v.setUint8(0, CURSOR_VERSION);
    v.setUint32(4, this.entries.size, true);
    let at = HEADER_BYTES;
    for (const x of this.entries.values()) {
      out.set(x.bytes, at);
      at += x.bytes.length;
    }
    return out;
  }
}

/** Decodes a cursor into position records; a string says why it is unusable. Bounded by the bytes present. */
export function decodeCursor(buf: Uint8Array): PositionRecord[] | string {
  if (buf.length < HEADER_BYTES) return `too short (${buf.length} bytes)`;
  const v = new DataView(buf.buffer, buf.byteOffset, buf.byteLength);
  const version = v.getUint8(0);
  if (version !== CURSOR_VERSION) return `unknown version ${version}`;
  const count = v.getUint32(4, true);
  if (count > (buf.length - HEADER_BYTES) / ENTRY_BYTES) return `declares ${count} entries in ${buf.length} bytes`;
  const out: PositionRecord[] = [];
  let at = HEADER_BYTES;
  for (let i = 0; i < count; i++) {
    if (at + ENTRY_BYTES > buf.length) return `entry ${i} is cut short at byte ${at}`;
    const dev = v.getFloat64(at, true);
    const inode = v.getFloat64(at + 8, true);
    const pos = v.getFloat64(at + 16, true);
    const fp = v.getUint32(at + 24, true);
    const fplen = v.getUint16(at + 28, true);
    const n = v.getUint16(at + 30, true);
    if (at + ENTRY_BYTES + n > buf.length) return `entry ${i}'s path runs past the end (byte ${at + ENTRY_BYTES})`;
    if (!Number.isInteger(inode) || inode < 0 || !Number.isInteger(pos) || pos < 0 || (fplen !== NO_FP && fplen > 1024)) return `entry ${i} is malformed (byte ${at})`;
    const file = decoder.decode(buf.subarray(at + ENTRY_BYTES, at + ENTRY_BYTES + n));
    const r: PositionRecord = { inode, pos, file };
    if (!Number.isNaN(dev)) r.dev = dev;
    if (fplen !== NO_FP) {
      r.fp = fp;
      r.fplen = fplen;
    }
    out.push(r);
    at += ENTRY_BYTES + n;
  }
  if (at !== buf.length) return `${buf.length - at} bytes after its last entry`;
  return out;
}

const sameIdentity = (a: PositionRecord, b: PositionRecord) => a.inode === b.inode && (a.dev === undefined || b.dev === undefined || a.dev === b.dev);

/**
 * The records to resume from: the position file's, moved forward by the channels' committed cursors (rules in the
 * header). `resumed` counts the files a cursor moved forward or added; `behind`, those whose record is ahead of the
 * cursor (not expected: a record only moves once its batch is committed; a file truncated and rewritten since).
 */
export function resumeRecords(saved: readonly PositionRecord[], cursors: readonly Uint8Array[], warn: (m: string) => void): { records: PositionRecord[]; resumed: number; behind: number } {
  const decoded: PositionRecord[][] = [];
  for (const [i, c] of cursors.entries()) {
    const d = decodeCursor(c);
    if (typeof d === "string") {
      warn(`the cursor committed in channel ${i + 1} of this source is unusable (${d}); resuming from the position file alone (lines since its last write are read again)`);
      return { records: [...saved], resumed: 0, behind: 0 };
    }
    decoded.push(d);
  }
  if (decoded.length === 0) return { records: [...saved], resumed: 0, behind: 0 };
  // Per file, the smallest offset of all channels; a file some channel does not name is left to the position file.
  const safe: PositionRecord[] = [];
  for (const e of decoded[0]!) {
    let min = e;
    let everywhere = true;
    for (const other of decoded.slice(1)) {
      const o = other.find((x) => sameIdentity(x, e));
      if (!o) {
        everywhere = false;
        break;
      }
      if (o.pos < min.pos) min = o;
    }
    if (everywhere) safe.push(min);
  }
  const records = [...saved];
  let resumed = 0;
  let behind = 0;
  for (const c of safe) {
    const i = records.findIndex((r) => sameIdentity(r, c));
    if (i < 0) {
      records.push(c);
      resumed++;
      continue;
    }
    const r = records[i]!;
    if (c.pos < r.pos) behind++;
    if (c.pos <= r.pos) continue;
    if (r.fp !== undefined && c.fp !== undefined && r.fplen === c.fplen && r.fp !== c.fp) continue;
    records[i] = c;
    resumed++;
  }
  return { records, resumed, behind };
}
