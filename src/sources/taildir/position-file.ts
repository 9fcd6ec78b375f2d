// The TAILDIR position file: where each tailed file was read to, as far as its lines are safe. This module alone
// reads and writes it.
//
// Format: Flume's, so a Flume-written file is read as is. UTF-8 JSON, an array of one object per tracked file:
//
//   [
//   {"inode":1835011,"pos":4096,"file":"/var/log/app.log","sluice":1,"dev":2049,"fp":"9a0c33e1","fplen":1024,"crc":3735928559}
//   ]
//
//   inode  number   the file's inode (Flume's key)
//   pos    number   byte offset just past the last safe line (the next read starts here)
//   file   string   absolute path the file had when last seen
//   -- sluice's fields (Flume's reader does not know them; sluice writes them after Flume's three) --
//   sluice number   format version, currently 1. Its presence is the "magic" that marks a record as sluice's; a record
//                   without it is Flume's: inode + pos + file only, no fingerprint, no CRC.
//   dev    number   device id (st_dev): inode numbers are only unique per device
//   fp     string   CRC32C (8 hex digits) of the file's first `fplen` bytes: the fingerprint that tells a new file
//                   from an old one when an inode number is reused after rotation
//   fplen  number   how many leading bytes `fp` covers (0..1024; less while the file is shorter)
//   crc    number   CRC32C of the UTF-8 text `inode \t pos \t file \t dev \t fp \t fplen` (decimal numbers): a torn
//                   or hand-damaged record is detected, never trusted
//
// Writing: the whole array is rewritten with atomicWriteFile (temp `.name.tmp` → rename). Between writePosInterval
// ticks the write skips fsync (a kill -9 keeps what the page cache holds); every writePosInterval and on close it
// fsyncs the file and its directory, so a power cut costs at most writePosInterval of re-sent lines, never a loss:
// the file never names an offset beyond what is safe.
// Reading (readStateFile in util/atomic-file.ts): the temp file first — a crash between its write and the rename
// leaves the newest complete state there; it is used only when it parses, every CRC matches and it is not older
// than the file — then the file itself. A missing file means "no positions". A corrupt file (bad JSON, a field of
// the wrong type, a CRC mismatch) without a usable temp is an error naming both files and the record; recovery:
// move them aside — sluice then starts every file from its beginning (or its end with skipToEnd). Never silently.

import { SluiceError } from "../../core/errors.ts";
import { atomicWriteFile, readStateFile, tempPathFor } from "../../util/atomic-file.ts";
import { crc32c } from "../../util/crc.ts";

export const POSITION_FORMAT_VERSION = 1;

export interface PositionRecord {
  inode: number;
  pos: number;
  file: string;
  /** Undefined for a Flume-written record. */
  dev?: number;
  fp?: number;
  fplen?: number;
}

export class PositionFileError extends SluiceError {
  constructor(
    readonly file: string,
    readonly detail: string,
    /** Why the temp file could not stand in, when the file was read for start-up. */
    tempProblem?: string,
  ) {
    const tmp = tempPathFor(file);
    super(
      "CORRUPT_LOG",
      `position file ${file} is corrupt: ${detail}` +
        (tempProblem ? `; its temp file ${tmp} cannot stand in for it (${tempProblem})` : "") +
        `. To recover, move ${tempProblem ? "both" : "it"} aside (mv ${file} ${file}.bad${tempProblem ? `; mv ${tmp} ${tmp}.bad` : ""}): the source then ` +
        `reads every tailed file from its start (duplicates, no loss), or from its end with skipToEnd = true`,
      false,
    );
  }
}

const encoder = new TextEncoder();

function recordCrc(r: Required<PositionRecord>): number {
  return crc32c(encoder.encode(`${r.inode}\t${r.pos}\t${r.file}\t${r.dev}\t${hex(r.fp)}\t${r.fplen}`));
}

function hex(n: number): string {
  return (n >>> 0).toString(16).padStart(8, "0");
}

/** The JSON text for `records` (one record per line, Flume's field order first). */
export function formatPositions(records: readonly PositionRecord[]): string {
  const lines = records.map((r) => {
    const base = `{"inode":${r.inode},"pos":${r.pos},"file":${JSON.stringify(r.file)}`;
    if (r.dev === undefined || r.fp === undefined || r.fplen === undefined) return base + "}";
    const full = r as Required<PositionRecord>;
    return `${base},"sluice":${POSITION_FORMAT_VERSION},"dev":${r.dev},"fp":"${hex(r.fp)}","fplen":${r.fplen},"crc":${recordCrc(full)}}`;
  });
  return `[\n${lines.join(",\n")}\n]\n`;
}

/** Parses a position file's text; throws PositionFileError naming `file` and the bad record. */
export function parsePositions(text: string, file: string): PositionRecord[] {
  if (text.trim() === "") return [];
  let data: unknown;
  try {
    data = JSON.parse(text);
  } catch (err) {
    throw new PositionFileError(file, `not valid JSON (${(err as Error).message})`);
  }
  if (!Array.isArray(data)) throw new PositionFileError(file, "expected a JSON array of {inode, pos, file} objects");
  const out: PositionRecord[] = [];
  data.forEach((raw, i) => {
    const where = `record ${i + 1}`;
    if (typeof raw !== "object" || raw === null) throw new PositionFileError(file, `${where} is not an object`);
    const o = raw as Record<string, unknown>;
    const num = (k: string) => {
      const v = o[k];
      if (typeof v !== "number" || !Number.isSafeInteger(v) || v < 0) throw new PositionFileError(file, `${where}: "${k}" must be a non-negative whole number, got ${JSON.stringify(v)}`);
      return v;
    };
    const inode = num("inode");
    const pos = num("pos");
    if (typeof o.file !== "string" || o.file === "") throw new PositionFileError(file, `${where}: "file" must be a path, got ${JSON.stringify(o.file)}`);
    if (o.sluice === undefined) {
      out.push({ inode, pos, file: o.file });
      return;
    }
    const version = num("sluice");
    if (version > POSITION_FORMAT_VERSION) throw new PositionFileError(file, `${where} has format version ${version}; this sluice reads up to ${POSITION_FORMAT_VERSION}`);
    if (typeof o.fp !== "string" || !/^[0-9a-f]{8}$/.test(o.fp)) throw new PositionFileError(file, `${where}: "fp" must be 8 hex digits`);
    const r: Required<PositionRecord> = { inode, pos, file: o.file, dev: num("dev"), fp: parseInt(o.fp, 16), fplen: num("fplen") };
    if (num("crc") !== recordCrc(r)) throw new PositionFileError(file, `${where} (${r.file}) fails its CRC check`);
    out.push(r);
  });
  return out;
}

/**
 * Reads the positions with readStateFile's temp policy (see the header); a missing file gives []. `onNote` hears
 * when the temp file was used or ignored.
 */
export async function readPositions(file: string, onNote: (message: string) => void = () => {}): Promise<PositionRecord[]> {
  const text = new TextDecoder();
  let r;
  try {
    r = await readStateFile(file, (bytes) => {
      try {
        return parsePositions(text.decode(bytes), file);
      } catch (err) {
        return err instanceof PositionFileError ? err.detail : (err as Error).message;
      }
    });
  } catch (err) {
    throw new SluiceError("IO", `cannot read position file ${file}: ${(err as Error).message}`, false, { cause: err });
  }
  if (r.kind === "bad") throw new PositionFileError(file, r.problem, r.tempProblem);
  if (r.ignoredTemp) onNote(`position file ${file}: ${r.ignoredTemp}`);
  if (r.kind === "none") return [];
  if (r.from === "temp") onNote(`position file ${file}: using its complete temp file ${tempPathFor(file)} (a write was interrupted before its rename)`);
  return r.value;
}

/** Replaces the position file atomically; `durable` adds the fsyncs (see the header for the cadence). */
export async function writePositions(file: string, records: readonly PositionRecord[], durable: boolean): Promise<void> {
  await atomicWriteFile(file, formatPositions(records), { durable });
}

/**
 * Coalesces position rewrites: at most one (non-fsynced) rewrite per this many ms while acks arrive. Small, because
 * it bounds what a kill -9 re-sends (≈ this many ms of lines, plus batches in flight); 50 rewrites/s cost little.
 */
const POSITION_COALESCE_MS = 20;

/**
 * The write cadence of one position file: `changed()` schedules a coalesced rewrite without fsync (a kill -9 keeps
 * it); every `intervalMs` a rewrite that was not fsynced is redone durably; `flush(true)` on close. Writes are
 * serialised, and a failed write is retried by the next one (positions stay in memory meanwhile).
 */
export class PositionWriter {
  private timer?: ReturnType<typeof setTimeout>;
  private interval?: ReturnType<typeof setInterval>;
  private writing: Promise<void> = Promise.resolve();
  private dirty = false;
  private undurable = false;
  private open = false;

  constructor(
    readonly file: string,
    private readonly intervalMs: number,
    private readonly records: () => PositionRecord[],
    private readonly onError: (message: string) => void,
  ) {}

  start(): void {
    this.open = true;
    this.interval = setInterval(() => {
      if (this.undurable) void this.flush(true);
    }, this.intervalMs);
  }

  /** No more scheduled writes; flush() still works (close() calls it). */
  stop(): void {
    this.open = false;
    clearInterval(this.interval);
    clearTimeout(this.timer);
    this.timer = undefined;
  }

  changed(): void {
    this.dirty = true;
    if (this.timer || !this.open) return;
    this.timer = setTimeout(() => {
      this.timer = undefined;
      void this.flush(false);
    }, POSITION_COALESCE_MS);
  }

  flush(durable: boolean): Promise<void> {
    this.writing = this.writing.then(async () => {
      if (!this.dirty && !(durable && this.undurable)) return;
      this.dirty = false;
      try {
        await writePositions(this.file, this.records(), durable);
        this.undurable = !durable;
      } catch (err) {
        this.dirty = true;
        this.onError(`cannot write position file ${this.file}: ${(err as Error).message} (positions are kept in memory and written again)`);
      }
    });
    return this.writing;
  }
}
