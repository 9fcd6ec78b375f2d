// The spooldir tracker: where the file being ingested stands, so a restart resumes mid-file (only as far as its lines
// are safe), and the marks that set a file aside. This module alone reads and writes the tracker directory.
//
// Layout of trackerDir (default `<spoolDir>/.flumespool`, Flume's):
//   .sluice-main.meta        sluice's progress record (below), replaced atomically (temp → fsync → rename → fsync dir)
//   .flumespool-main.meta    Flume's progress record (an Avro container file). Read once at start when sluice's own
//                            record is absent, so a spool directory a Flume agent was ingesting resumes where it was;
//                            deleted once its content is carried into .sluice-main.meta
//   <rel path><fileSuffix>   trackingPolicy = tracker_dir: an empty file marking <rel path> as fully ingested (Flume's)
//   <rel path>.sluice-failed a file set aside (changed after pickup, name reused, undecodable): JSON {ino,size,mtimeMs,
//                            reason}; the file is skipped while it still has that inode. A mark that cannot be read
//                            (and has no usable temp) keeps its file set aside: delete the mark to read it again
//
// .sluice-main.meta, little-endian, one record:
//   0   4  magic "SLSP"
//   4   1  version (1)
//   5   3  zero
//   8   8  offset    u64  bytes of the file whose lines are safe (the next read starts here)
//   16  8  size      u64  the file's size when it was picked up
//   24  8  mtimeMs   f64  its modification time then
//   32  8  ino       u64  its inode then
//   40  4  pathLen   u32  length of `path`
//   44  n  path      UTF-8, relative to spoolDir
//   44+n 4 crc       u32  CRC32C of bytes [0, 44+n)
// Reading (readStateFile in util/atomic-file.ts): its temp `..sluice-main.meta.tmp` first, used only when it is
// complete, passes its magic, version and CRC, and is not older than the record itself (a crash between its write
// and the rename). A record that fails its magic, version or CRC without such a temp refuses start (TrackerFileError,
// naming both files): moving them aside is the recovery, after which the file in progress is read again from its
// start — duplicates, never a loss — but never silently.
//
// Flume's .flumespool-main.meta: Avro object container; header metadata "file" = absolute path of the target; records
// of schema {"type":"record","name":"TransferStateFileMeta","namespace":"org.apache.flume.serialization",
// "fields":[{"name":"offset","type":"long"}]}, appended after each commit; the last record is the position.

import { mkdir, readFile, rm, unlink, writeFile } from "node:fs/promises";
import { dirname, join } from "node:path";
import { Reader } from "../../avro/codec.ts";
import { CorruptLogError, describeError, SluiceError } from "../../core/errors.ts";
import { atomicWriteFile, describeUnusable, fsyncDir, readStateFile, tempPathFor } from "../../util/atomic-file.ts";
import { crc32c } from "../../util/crc.ts";

const MAGIC = 0x50534c53; // "SLSP" read as a little-endian u32
const VERSION = 1;
const HEADER_BYTES = 44;
export const META_NAME = ".sluice-main.meta";
export const FLUME_META_NAME = ".flumespool-main.meta";
const FAILED_SUFFIX = ".sluice-failed";

export interface Progress {
  /** Relative to spoolDir. */
  path: string;
  offset: number;
  size: number;
  mtimeMs: number;
  ino: number;
}

export interface FailedMark {
  ino: number;
  size: number;
  mtimeMs: number;
  reason: string;
}

const encoder = new TextEncoder();
const decoder = new TextDecoder();

export function encodeProgress(p: Progress): Uint8Array {
  const path = encoder.encode(p.path);
  const buf = new Uint8Array(HEADER_BYTES + path.length + 4);
  const v = new DataView(buf.buffer);
  v.setUint32(0, MAGIC, true);
  v.setUint8(4, VERSION);
  v.setBigUint64(8, BigInt(p.offset), true);
  v.setBigUint64(16, BigInt(p.size), true);
  v.setFloat64(24, p.mtimeMs, true);
  v.setBigUint64(32, BigInt(p.ino), true);
  v.setUint32(40, path.length, true);
  buf.set(path, HEADER_BYTES);
  v.setUint32(HEADER_BYTES + path.length, crc32c(buf.subarray(0, HEADER_BYTES + path.length)), true);
  return buf;
}

/** Decodes a meta record; a string says why it is unusable. */
export function decodeProgress(buf: Uint8Array): Progress | string {
  if (buf.length < HEADER_BYTES + 4) return `too short (${buf.length} bytes)`;
  const v = new DataView(buf.buffer, buf.byteOffset, buf.byteLength);
  if (v.getUint32(0, true) !== MAGIC) return "bad magic (not a sluice tracker file)";
  const version = v.getUint8(4);
  if (version !== VERSION) return `unknown version ${version}`;
  const n = v.getUint32(40, true);
  if (buf.length !== HEADER_BYTES + n + 4) return `length ${buf.length} does not match its path length ${n}`;
  if (v.getUint32(HEADER_BYTES + n, true) !== crc32c(buf.subarray(0, HEADER_BYTES + n))) return "CRC mismatch";
  return {
    offset: Number(v.getBigUint64(8, true)),
    size: Number(v.getBigUint64(16, true)),
    mtimeMs: v.getFloat64(24, true),
    ino: Number(v.getBigUint64(32, true)),
    path: decoder.decode(buf.subarray(HEADER_BYTES, HEADER_BYTES + n)),
  };
}

function decodeFailedMark(bytes: Uint8Array): FailedMark | string {
  try {
    const m = JSON.parse(decoder.decode(bytes)) as FailedMark;
    if (typeof m?.ino !== "number" || typeof m.size !== "number" || typeof m.mtimeMs !== "number") return "not a {ino, size, mtimeMs, reason} object";
    return m;
  } catch (err) {
    return `not valid JSON (${(err as Error).message})`;
  }
}

/** The progress record is unusable and its temp cannot stand in for it: start refuses, saying how to recover. */
export class TrackerFileError extends SluiceError {
  constructor(file: string, r: { problem: string; tempProblem?: string }) {
    const tmp = tempPathFor(file);
    super(
      "CORRUPT_LOG",
      `tracker file ${describeUnusable(file, r)}. To recover, move ${r.tempProblem ? "both" : "it"} aside (mv ${file} ${file}.bad${r.tempProblem ? `; mv ${tmp} ${tmp}.bad` : ""}): ` +
        "the file that was in progress is then read again from its start (duplicates, no loss)",
      false,
    );
  }
}

const AVRO_MAGIC = [0x4f, 0x62, 0x6a, 0x01]; // "Obj\x01"
const SYNC_BYTES = 16;

/**
 * Flume's .flumespool-main.meta (an Avro container of TransferStateFileMeta {offset: long}, codec null): its target
 * and last offset; undefined when it names no target. Read with the bounded Reader, never avsc: every declared count
 * and length is checked against the bytes present, so a damaged or hostile file is an error naming it and the byte
 * offset, read in time proportional to its size.
 */
export function decodeFlumeMeta(buf: Uint8Array, file: string): { target: string; offset: number } | undefined {
  const bad = (at: number, why: string) => new CorruptLogError(`not a readable Flume tracker file: ${why}`, file, at);
  if (buf.length < 4 || AVRO_MAGIC.some((b, i) => buf[i] !== b)) throw bad(0, "no Avro container magic");
  const r = new Reader(buf, 4);
  let meta: Record<string, Uint8Array>;
  let sync: Uint8Array;
  try {
    meta = r.bytesMap();
    sync = r.fixed(SYNC_BYTES);
  } catch (err) {
    throw bad(r.pos, `its header is truncated or malformed: ${describeError(err)}`);
  }
  const codec = meta["avro.codec"] ? decoder.decode(meta["avro.codec"]) : "null";
  if (codec !== "null") throw bad(r.pos, `codec "${codec}" (Flume writes null)`);
  let offset = 0;
  while (r.left > 0) {
    const at = r.pos;
    try {
      const count = r.long();
      const size = r.long();
      // Each record is one long of at least one byte: a count larger than the block's bytes is a lie.
      if (count < 0 || size < 0 || size + SYNC_BYTES > r.left || count > size) throw bad(at, `block declares ${count} records in ${size} bytes; ${r.left} bytes follow`);
      const block = new Reader(buf, r.pos, r.pos + size);
      for (let i = 0; i < count; i++) {
        offset = block.long();
        if (offset < 0) throw bad(at, `block: record ${i} has a negative offset ${offset}`);
      }
      if (block.left !== 0) throw bad(at, `block: ${block.left} bytes left after ${count} records`);
      r.pos += size;
      const mark = r.fixed(SYNC_BYTES);
      if (mark.some((b, i) => b !== sync[i])) throw bad(at, "block: sync marker mismatch");
    } catch (err) {
      // The Reader's own bounds errors (a long or fixed past the end) get the block's place too.
      if (err instanceof CorruptLogError) throw err;
      throw bad(at, `block: ${describeError(err)}`);
    }
  }
  const target = meta.file ? decoder.decode(meta.file) : "";
  return target ? { target, offset } : undefined;
}

export class Tracker {
  constructor(readonly dir: string) {}

  async init(): Promise<void> {
    await mkdir(this.dir, { recursive: true });
  }

  /**
   * The saved progress; undefined when there is none. Throws TrackerFileError when the record is corrupt and its
   * temp cannot stand in for it. `onNote` hears when the temp was used or ignored.
   */
  async load(onNote: (message: string) => void = () => {}): Promise<Progress | undefined> {
    const file = join(this.dir, META_NAME);
    const r = await readStateFile(file, decodeProgress);
    if (r.kind === "bad") throw new TrackerFileError(file, r);
    if (r.ignoredTemp) onNote(`tracker file ${file}: ${r.ignoredTemp}`);
    if (r.kind === "none") return undefined;
    if (r.from === "temp") onNote(`tracker file ${file}: using its complete temp file ${tempPathFor(file)} (a write was interrupted before its rename)`);
    return r.value;
  }

  /** `durable` adds the fsyncs (each file's completion and close; intermediate rewrites survive kill -9 without). */
  async save(p: Progress, durable: boolean): Promise<void> {
    await atomicWriteFile(join(this.dir, META_NAME), encodeProgress(p), { durable });
  }

  async clear(): Promise<void> {
    await unlink(join(this.dir, META_NAME)).catch(() => {});
  }

  /** Flume's meta, when a Flume agent left one: its target (absolute path) and last offset. */
  async loadFlume(): Promise<{ target: string; offset: number } | undefined> {
    const file = join(this.dir, FLUME_META_NAME);
    const buf = await readFile(file).catch(() => undefined);
    if (!buf) return undefined;
    return decodeFlumeMeta(new Uint8Array(buf), file);
  }

  async dropFlume(): Promise<void> {
    await rm(join(this.dir, FLUME_META_NAME), { force: true });
  }

  /** trackingPolicy = tracker_dir: marks `rel` as ingested. */
  async markCompleted(rel: string, suffix: string): Promise<void> {
    const p = join(this.dir, rel + suffix);
    await mkdir(dirname(p), { recursive: true });
    await writeFile(p, "");
    await fsyncDir(dirname(p));
  }

  completedMarker(rel: string, suffix: string): string {
    return join(this.dir, rel + suffix);
  }

  async markFailed(rel: string, m: FailedMark): Promise<void> {
    const p = join(this.dir, rel + FAILED_SUFFIX);
    await mkdir(dirname(p), { recursive: true });
    // Atomic: a torn mark would not parse, and the file would be ingested again.
    await atomicWriteFile(p, JSON.stringify(m) + "\n");
  }

  /**
   * The mark setting `rel` aside (read with the shared temp policy), or "unreadable" when it is corrupt: the file then
   * stays set aside — never read again silently — until the operator deletes the mark.
   */
  async failedMark(rel: string): Promise<FailedMark | "unreadable" | undefined> {
    const r = await readStateFile(join(this.dir, rel + FAILED_SUFFIX), decodeFailedMark).catch(() => undefined);
    if (!r || r.kind === "none") return undefined;
    return r.kind === "bad" ? "unreadable" : r.value;
  }
}
