// The file channel's WAL segment format: this file alone writes and reads it. Records are self-delimiting and each
// carries its own CRC32C, so a reader can tell a torn tail (the last write of a crash) from damage in the middle.
//
// A segment is `log-<id>` (id in 10 decimal digits, unique and increasing for the channel's life) in
// dataDirs[id % dataDirs.length] when created (recovery finds segments in any data dir, so the list may be reordered
// or extended between runs): one segment is written at a time, so writes spread over the data dirs by segment and the
// WAL order is simply (segment id, offset). All integers are little-endian.
//
// Header, 16 bytes:
//   0  4  magic "SLWL"
//   4  2  format version: SEGMENT_VERSION = 3 is written; a reader reads versions 1, 2 and 3 and refuses any other
//         (version 1 segments hold version-1 records only; version 2 segments, version-2 records; version 3
//         segments, version-3 records)
//   6  2  flags, 0
//   8  4  segment id (u32)
//   12 4  CRC32C of bytes 0..11 (every version)
// Records, back to back from offset 16 (a record never spans two segments):
//   0  4  payload length L (u32)
//   4  4  checksum of the payload: CRC32C (Castagnoli) for record formats 0 and 2, CRC-32 (IEEE, zlib's) for
//         format 3 — the runtime's native zlib crc32 is ~40x faster than the WebAssembly CRC32C on this path
//   8  L  payload:
//     0  1  type: 1 PUT (events join the queue's tail), 2 PUT_FRONT (events join the queue's head: the spillable
//           channel moving its older memory part to disk at shutdown), 3 TAKE
//     1  1  record format: 0 = version 1 (that byte was reserved, 0), 2 = version 2, 3 = version 3
//           (RECORD_VERSION: the version-2 layout with a CRC-32 instead of a CRC32C); any other value is a bad record
//     2  2  0
//     4  8  transaction id (f64 holding an integer), for diagnostics
//     12 8  time written, epoch ms (f64)
//     PUT, PUT_FRONT:
//     20 4  event count N
//     24 8  total body bytes (f64)
//     version 1:
//     32 …  N events: u32 headers length H, u32 body length B, H bytes of headers (a UTF-8 JSON object; H = 0 for
//           none), B bytes of body
//     versions 2 and 3:
//     32 4  source cursors length K (0: none)
//     36 K  source cursors, back to back: u16 source name length S, S bytes of the name (UTF-8), u32 cursor length
//           C, C bytes of cursor (opaque to the channel: each source encodes its own). At most one per source: the
//           position that source reached with this batch, committed in the same record (see FileChannel.put)
//     36+K  N events, as in version 1
//     TAKE (every version alike):
//     20 4  run count R
//     24 8  total body bytes taken (f64)
//     32 …  R runs of 20 bytes: u32 segment id, u32 offset of the PUT record, u32 first event index, u32 end index
//           (exclusive) — the events of that PUT record this transaction took — and u32 their body bytes
//
// Transactions: a put transaction is ONE record written at commit, and a take transaction is one TAKE record written
// at commit. The record is the commit record: its CRC makes it all-or-nothing, so a separate "commit" marker would
// only cost a second write. Nothing of an uncommitted transaction is ever on disk.
//
// Recovery: a record whose length runs past the end of the file or whose CRC fails is a torn tail when no valid
// record follows it in the last segment (the crash interrupted the last write; the segment is truncated there).
// Anything else — a bad record with valid records after it, or in an older segment — is corruption in the middle,
// which the channel reports with segment and offset and refuses to start on (unless skipCorruptRecords).

import type { SourceCursor } from "../../core/channel.ts";
import { SluiceError } from "../../core/errors.ts";
import type { Event } from "../../core/event.ts";
import { crc32, crc32c } from "../../util/crc.ts";

export const SEGMENT_VERSION = 3;
/** Segment versions this reader accepts. */
const READABLE_SEGMENT_VERSIONS = [1, 2, 3];
/** The record format this writer produces (payload byte 1). Version-1 records carry 0 there. */
export const RECORD_VERSION = 3;
const RECORD_V1_MARK = 0;
/** Version-2 records: the layout of version 3, checksummed with CRC32C. */
const RECORD_V2 = 2;

/** The payload checksum of a record format (see the header): CRC32C up to version 2, CRC-32 from version 3. */
function recordCrc(format: number, payload: Uint8Array): number {
  return format === RECORD_VERSION ? crc32(payload) : crc32c(payload);
}
/**
 * Upper bound of a record's length when telling garbage from a record: a transaction bigger than maxFileSize still
 * gets a segment of its own, so only the offset limit applies.
 */
export const MAX_RECORD_BYTES = 0x7fff_ffff;
export const SEGMENT_HEADER_BYTES = 16;
export const RECORD_HEADER_BYTES = 8;
const PAYLOAD_FIXED_BYTES = 32;
/** Version 2 PUT records: the cursors length follows the fixed part. */
const PUT_V2_FIXED_BYTES = PAYLOAD_FIXED_BYTES + 4;
const TAKE_RUN_BYTES = 20;
const MAGIC = 0x4c574c53; // "SLWL" read as a little-endian u32

export const RecordType = { Put: 1, PutFront: 2, Take: 3 } as const;
export type RecordType = (typeof RecordType)[keyof typeof RecordType];

/** A slice [start, end) of the events of one PUT record: the unit of the channel's queue. */
export interface Run {
  seg: number;
  /** Offset of the PUT record in its segment. */
  off: number;
  /** Record length including its 8-byte header, so a reader fetches it in one read. */
  len: number;
  start: number;
  end: number;
  /** When the record was written (epoch ms), for OldestEventAgeMs. */
  ts: number;
  /** Body bytes of the run's events: known for runs parsed from TAKE records. */
  bytes?: number;
}

export function segmentName(id: number): string {
  return `log-${String(id).padStart(10, "0")}`;
}

const SEGMENT_NAME_RE = /^log-(\d{10})$/;

export function parseSegmentName(name: string): number | undefined {
  const m = SEGMENT_NAME_RE.exec(name);
  return m ? Number(m[1]) : undefined;
}

export function encodeSegmentHeader(id: number): Uint8Array {
  const b = new Uint8Array(SEGMENT_HEADER_BYTES);
  const v = new DataView(b.buffer);
  v.setUint32(0, MAGIC, true);
  v.setUint16(4, SEGMENT_VERSION, true);
  v.setUint16(6, 0, true);
  v.setUint32(8, id, true);
  v.setUint32(12, crc32c(b.subarray(0, 12)), true);
  return b;
}

/** Why a segment header is unusable, or undefined when it is a readable header for segment `id`. */
export function checkSegmentHeader(b: Uint8Array, id: number): string | undefined {
  if (b.byteLength < SEGMENT_HEADER_BYTES) return `header is ${b.byteLength} bytes, expected ${SEGMENT_HEADER_BYTES}`;
  const v = new DataView(b.buffer, b.byteOffset, SEGMENT_HEADER_BYTES);
  if (v.getUint32(0, true) !== MAGIC) return "not a sluice WAL segment (bad magic)";
  if (v.getUint32(12, true) !== crc32c(b.subarray(0, 12))) return "header checksum mismatch";
  const ver = v.getUint16(4, true);
  if (!READABLE_SEGMENT_VERSIONS.includes(ver)) return `segment format version ${ver} is not supported (this sluice reads versions ${READABLE_SEGMENT_VERSIONS.join(" and ")})`;
  const got = v.getUint32(8, true);
  if (got !== id) return `header names segment ${got}, file name says ${id}`;
  return undefined;
}

const encoder = new TextEncoder();
const decoder = new TextDecoder();
const NO_HEADERS = new Uint8Array(0);

/**
 * Encodes headers once per distinct header object: sources share one header map across a batch (or a file), so the
 * common case costs one identity comparison per event, not a JSON encoding.
 */
class HeaderEncoder {
  private last?: Record<string, string>;
  private lastBytes: Uint8Array = NO_HEADERS;
  encode(h: Record<string, string>): Uint8Array {
    if (h === this.last) return this.lastBytes;
    let empty = true;
    for (const _ in h) {
      empty = false;
      break;
    }
    this.last = h;
    this.lastBytes = empty ? NO_HEADERS : encoder.encode(JSON.stringify(h));
    return this.lastBytes;
  }
}

function finishRecord(rec: Uint8Array, v: DataView): Uint8Array {
  v.setUint32(0, rec.byteLength - RECORD_HEADER_BYTES, true);
  v.setUint32(4, crc32(rec.subarray(RECORD_HEADER_BYTES)), true);
  return rec;
}

function writeFixed(v: DataView, type: RecordType, txid: number, ts: number, count: number, bytes: number): void {
  const p = RECORD_HEADER_BYTES;
  v.setUint8(p, type);
  // Explicitly: a record may be encoded into a reused buffer.
  v.setUint8(p + 1, RECORD_VERSION);
  v.setUint16(p + 2, 0, true);
  v.setFloat64(p + 4, txid, true);
  v.setFloat64(p + 12, ts, true);
  v.setUint32(p + 20, count, true);
  v.setFloat64(p + 24, bytes, true);
}

/**
 * One PUT (or PUT_FRONT) record holding `batches` in order, with its length and CRC: ready to append. `alloc` gives
 * the record's bytes (every one of them is written here, so a reused buffer will do).
 */
export function encodePut(
  type: typeof RecordType.Put | typeof RecordType.PutFront,
  txid: number,
  ts: number,
  batches: readonly (readonly Event[])[],
  alloc: (size: number) => Uint8Array = (size) => new Uint8Array(size),
  cursors: readonly SourceCursor[] = [],
): { rec: Uint8Array; count: number; bytes: number } {
  const he = new HeaderEncoder();
  let count = 0;
  let bytes = 0;
  const section = cursors.length > 0 ? encodeCursorSection(cursors) : NO_HEADERS;
  const cursorBytes = section.byteLength;
  let size = RECORD_HEADER_BYTES + PUT_V2_FIXED_BYTES + cursorBytes;
  for (const batch of batches) {
    for (let i = 0; i < batch.length; i++) {
      const e = batch[i]!;
      size += 8 + he.encode(e.headers).byteLength + e.body.byteLength;
      bytes += e.body.byteLength;
    }
    count += batch.length;
  }
  const rec = alloc(size);
  const v = new DataView(rec.buffer, rec.byteOffset, rec.byteLength);
  writeFixed(v, type, txid, ts, count, bytes);
  v.setUint32(RECORD_HEADER_BYTES + PAYLOAD_FIXED_BYTES, cursorBytes, true);
  let at = RECORD_HEADER_BYTES + PUT_V2_FIXED_BYTES;
  rec.set(section, at);
  at += cursorBytes;
  for (const batch of batches) {
    for (let i = 0; i < batch.length; i++) {
      const e = batch[i]!;
      const h = he.encode(e.headers);
      v.setUint32(at, h.byteLength, true);
      v.setUint32(at + 4, e.body.byteLength, true);
      at += 8;
      if (h.byteLength > 0) {
        rec.set(h, at);
        at += h.byteLength;
      }
      rec.set(e.body, at);
      at += e.body.byteLength;
    }
  }
  return { rec: finishRecord(rec, v), count, bytes };
}

/** A TAKE record for `runs`; `runBytes[i]` is the body bytes of runs[i]'s events. */
export function encodeTake(txid: number, ts: number, runs: readonly Run[], runBytes: readonly number[]): Uint8Array {
  const rec = new Uint8Array(RECORD_HEADER_BYTES + PAYLOAD_FIXED_BYTES + runs.length * TAKE_RUN_BYTES);
  const v = new DataView(rec.buffer);
  let total = 0;
  for (let i = 0; i < runs.length; i++) total += runBytes[i] ?? 0;
  writeFixed(v, RecordType.Take, txid, ts, runs.length, total);
  let at = RECORD_HEADER_BYTES + PAYLOAD_FIXED_BYTES;
  for (let i = 0; i < runs.length; i++) {
    const r = runs[i]!;
    v.setUint32(at, r.seg, true);
    v.setUint32(at + 4, r.off, true);
    v.setUint32(at + 8, r.start, true);
    v.setUint32(at + 12, r.end, true);
    v.setUint32(at + 16, runBytes[i] ?? 0, true);
    at += TAKE_RUN_BYTES;
  }
  return finishRecord(rec, v);
}

/** A record's identity within the channel (segment id and offset in one number): the key of the record cache. */
export function recordKey(seg: number, off: number): number {
  return seg * 0x1_0000_0000 + off;
}

/**
 * A cheap filter when resyncing after damage, before checking a candidate's CRC: a known type byte, a known record
 * format and two zero bytes at the start of the payload. True when the buffer ends too soon to tell (parseRecord
 * then decides).
 */
export function looksLikeRecord(buf: Uint8Array, i: number): boolean {
  const p = i + RECORD_HEADER_BYTES;
  if (p + 4 > buf.byteLength) return true;
  const t = buf[p]!;
  const f = buf[p + 1]!;
  return t >= RecordType.Put && t <= RecordType.Take && (f === RECORD_V1_MARK || f === RECORD_V2 || f === RECORD_VERSION) && buf[p + 2] === 0 && buf[p + 3] === 0;
}

/** Largest source name and cursor a record carries (a cursor is a file identity and offset: tiny). */
export const MAX_SOURCE_NAME_BYTES = 0xffff;
export const MAX_CURSOR_BYTES = 64 * 1024;

/** What a scan learns from a record without decoding its events. */
export interface RecordInfo {
  type: RecordType;
  /** Offset of the record (its 8-byte header) in the segment, and its full length. */
  off: number;
  len: number;
  ts: number;
  /** PUT: events; TAKE: runs. */
  count: number;
  bytes: number;
  /** TAKE only: the runs taken (seg/off/start/end; len and ts are 0). */
  runs?: Run[];
  /** PUT only: where its first event starts, from the record's start (header included). */
  eventsAt?: number;
  /** PUT only (versions 2 and 3): the source cursors committed with it, when any (copies). */
  cursors?: SourceCursor[];
}

export type ParseOutcome =
  | { kind: "ok"; info: RecordInfo }
  /** Not enough bytes in `buf` for the whole record: `need` is its full length when known. */
  | { kind: "short"; need: number }
  | { kind: "bad"; reason: string };

/** Checks and parses the record at buf[at]; `off` is its offset in the segment (for the returned info). */
export function parseRecord(buf: Uint8Array, at: number, off: number, maxLen: number): ParseOutcome {
  if (buf.byteLength - at < RECORD_HEADER_BYTES) return { kind: "short", need: RECORD_HEADER_BYTES };
  const v = new DataView(buf.buffer, buf.byteOffset + at);
  const plen = v.getUint32(0, true);
  if (plen < PAYLOAD_FIXED_BYTES || plen > maxLen) return { kind: "bad", reason: `implausible record length ${plen}` };
  const len = RECORD_HEADER_BYTES + plen;
  if (buf.byteLength - at < len) return { kind: "short", need: len };
  const payload = buf.subarray(at + RECORD_HEADER_BYTES, at + len);
  // The format byte picks the checksum; a damaged format byte fails one check or the other.
  const format = v.getUint8(9);
  if (recordCrc(format, payload) !== v.getUint32(4, true)) return { kind: "bad", reason: "record checksum mismatch" };
  const type = v.getUint8(8) as RecordType;
  if (format !== RECORD_V1_MARK && format !== RECORD_V2 && format !== RECORD_VERSION) return { kind: "bad", reason: `unknown record format ${format}` };
  const ts = v.getFloat64(20, true);
  const count = v.getUint32(28, true);
  const bytes = v.getFloat64(32, true);
  if (type === RecordType.Put || type === RecordType.PutFront) {
    if (format === RECORD_V1_MARK) return { kind: "ok", info: { type, off, len, ts, count, bytes, eventsAt: RECORD_HEADER_BYTES + PAYLOAD_FIXED_BYTES } };
    if (plen < PUT_V2_FIXED_BYTES) return { kind: "bad", reason: `implausible record length ${plen}` };
    const k = v.getUint32(RECORD_HEADER_BYTES + PAYLOAD_FIXED_BYTES, true);
    if (k > plen - PUT_V2_FIXED_BYTES) return { kind: "bad", reason: `source cursors (${k} bytes) run past the record` };
    const eventsAt = RECORD_HEADER_BYTES + PUT_V2_FIXED_BYTES + k;
    if (k === 0) return { kind: "ok", info: { type, off, len, ts, count, bytes, eventsAt } };
    const cursors = parseCursorSection(buf.subarray(at + RECORD_HEADER_BYTES + PUT_V2_FIXED_BYTES, at + eventsAt));
    if (typeof cursors === "string") return { kind: "bad", reason: cursors };
    return { kind: "ok", info: { type, off, len, ts, count, bytes, eventsAt, cursors } };
  }
  if (type !== RecordType.Take) return { kind: "bad", reason: `unknown record type ${type}` };
  if (PAYLOAD_FIXED_BYTES + count * TAKE_RUN_BYTES !== plen) return { kind: "bad", reason: "TAKE record length does not match its run count" };
  const runs: Run[] = new Array(count);
  let p = RECORD_HEADER_BYTES + PAYLOAD_FIXED_BYTES;
  for (let i = 0; i < count; i++, p += TAKE_RUN_BYTES) {
    runs[i] = { seg: v.getUint32(p, true), off: v.getUint32(p + 4, true), len: 0, start: v.getUint32(p + 8, true), end: v.getUint32(p + 12, true), ts: 0, bytes: v.getUint32(p + 16, true) };
  }
  return { kind: "ok", info: { type, off, len, ts, count, bytes, runs } };
}

/**
 * A source cursors section (layout above; the checkpoint uses it too). Names and cursors longer than
 * MAX_SOURCE_NAME_BYTES / MAX_CURSOR_BYTES are refused here, where they are put, not when read back.
 */
export function encodeCursorSection(cursors: readonly SourceCursor[]): Uint8Array {
  const names = cursors.map((c) => encoder.encode(c.source));
  let size = 0;
  for (let i = 0; i < cursors.length; i++) {
    // A source's bug, not bad input: the put fails (the source keeps its batch) and says whose cursor it was.
    if (names[i]!.byteLength > MAX_SOURCE_NAME_BYTES) throw new SluiceError("INTERNAL", `source cursor key of ${names[i]!.byteLength} bytes is longer than ${MAX_SOURCE_NAME_BYTES}`, false);
    if (cursors[i]!.cursor.byteLength > MAX_CURSOR_BYTES) throw new SluiceError("INTERNAL", `cursor of source ${cursors[i]!.source} is ${cursors[i]!.cursor.byteLength} bytes, longer than ${MAX_CURSOR_BYTES}`, false);
    size += 2 + names[i]!.byteLength + 4 + cursors[i]!.cursor.byteLength;
  }
  const b = new Uint8Array(size);
  const v = new DataView(b.buffer);
  let at = 0;
  for (let i = 0; i < cursors.length; i++) {
    const name = names[i]!;
    const c = cursors[i]!.cursor;
    v.setUint16(at, name.byteLength, true);
    b.set(name, at + 2);
    at += 2 + name.byteLength;
    v.setUint32(at, c.byteLength, true);
    b.set(c, at + 4);
    at += 4 + c.byteLength;
  }
  return b;
}

/** A source cursors section, bounded by the bytes present; cursors are copies. */
export function parseCursorSection(b: Uint8Array): SourceCursor[] | string {
  const v = new DataView(b.buffer, b.byteOffset, b.byteLength);
  const out: SourceCursor[] = [];
  let at = 0;
  while (at < b.byteLength) {
    if (at + 2 > b.byteLength) return "source cursor runs past its section";
    const s = v.getUint16(at, true);
    if (at + 2 + s + 4 > b.byteLength) return "source cursor runs past its section";
    const source = decoder.decode(b.subarray(at + 2, at + 2 + s));
    at += 2 + s;
    const c = v.getUint32(at, true);
    if (at + 4 + c > b.byteLength) return "source cursor runs past its section";
    out.push({ source, cursor: b.slice(at + 4, at + 4 + c) });
    at += 4 + c;
  }
  return out;
}

/** Whether buf[a, a+n) and buf[b, b+n) hold the same bytes (header texts are short: a plain loop). */
function sameBytes(buf: Uint8Array, a: number, b: number, n: number): boolean {
  if (a < 0) return false;
  for (let i = 0; i < n; i++) if (buf[a + i] !== buf[b + i]) return false;
  return true;
}

/**
 * Checks a whole PUT record read back from disk (header, CRC, type); its event count and the position of its first
 * event (for decodePutRange), or why it is unusable.
 */
export function checkPutRecord(rec: Uint8Array): { count: number; first: EventPos } | string {
  const p = parseRecord(rec, 0, 0, rec.byteLength);
  if (p.kind !== "ok") return p.kind === "bad" ? p.reason : "record is shorter than its length field";
  if (p.info.type === RecordType.Take) return "expected a PUT record, found a TAKE record";
  return { count: p.info.count, first: { index: 0, at: p.info.eventsAt! } };
}

/** Where event `index` of a PUT record starts (`at`, a byte offset in the record): lets decoding resume there. */
export interface EventPos {
  index: number;
  at: number;
}

/**
 * Decodes events [start, end) of a checked PUT record (see checkPutRecord) into `out`; bodies are views into `rec`
 * and each event gets its own headers object. `from` is any position at or before `start` (the first event's at worst): the
 * events before `start` are only skipped. Returns the cursor after `end`, or why the record is damaged.
 */
export function decodePutRange(rec: Uint8Array, start: number, end: number, from: EventPos, out: Event[]): EventPos | string {
  const v = new DataView(rec.buffer, rec.byteOffset, rec.byteLength);
  let at = from.at;
  let i = from.index;
  for (; i < start; i++) {
    if (at + 8 > rec.byteLength) return `event ${i} runs past the record`;
    at += 8 + v.getUint32(at, true) + v.getUint32(at + 4, true);
  }
  let lastAt = -1;
  let lastLen = 0;
  let lastHeaders: Record<string, string> = {};
  for (; i < end; i++) {
    if (at + 8 > rec.byteLength) return `event ${i} runs past the record`;
    const h = v.getUint32(at, true);
    const b = v.getUint32(at + 4, true);
    at += 8;
    if (at + h + b > rec.byteLength) return `event ${i} runs past the record`;
    let headers: Record<string, string> = {};
    if (h > 0) {
      // Consecutive events usually carry the same headers: compare the bytes with the last event's, decode and parse
      // only when they differ, and give each event its own copy.
      if (h !== lastLen || !sameBytes(rec, lastAt, at, h)) {
        lastHeaders = JSON.parse(decoder.decode(rec.subarray(at, at + h))) as Record<string, string>;
        lastAt = at;
        lastLen = h;
      }
      headers = { ...lastHeaders };
    }
    at += h;
    out.push({ headers, body: rec.subarray(at, at + b) });
    at += b;
  }
  return { index: i, at };
}
