// Turns a spooled file's bytes into event bodies: LINE (one event per line, Flume's LineDeserializer), BLOB (the
// whole file, or maxBlobLength pieces of it, Flume's BlobDeserializer) and AVRO (one event per record of an Avro
// container file, Flume's AvroEventDeserializer; in avro-deserializer.ts). Charset handling is decided once, at
// construction: UTF-8 input is validated a chunk at a time and passed through as bytes; other charsets are
// transcoded to UTF-8 line by line.

import { isUtf8 } from "node:buffer";
import { ValueError } from "../../core/errors.ts";
import { concat, LineSplitter } from "../../util/lines.ts";
import { AvroDeserializer, type AvroSchemaType } from "./avro-deserializer.ts";

export type DecodeErrorPolicy = "FAIL" | "REPLACE" | "IGNORE";
/** `headers`, when given, are the event's whole header set (the file's headers included), shared by many events. */
export type Emit = (body: Uint8Array, start: number, end: number, truncated: boolean, headers?: Record<string, string>) => void;

export interface Deserializer {
  /** Feeds the next chunk of the file (AVRO works through it in slices, yielding between them). */
  push(chunk: Uint8Array, emit: Emit): void | Promise<void>;
  /** At the end of the file: what is held (a last line without newline, the blob). */
  end(emit: Emit): void | Promise<void>;
  /** Set when the input cannot be decoded (decodeErrorPolicy = FAIL, a malformed container): nothing at or after `offset` was emitted. */
  readonly failure?: { offset: number; message: string };
  /** Where reading must begin when resuming at a saved offset (AVRO re-reads the header from 0); default: that offset. */
  readonly readFrom?: number;
}

/** The names Flume accepts for `deserializer`: its aliases and its builder classes (case-insensitive). */
const DESERIALIZER_NAMES: Record<string, "LINE" | "BLOB" | "AVRO"> = {
  line: "LINE",
  "org.apache.flume.serialization.linedeserializer$builder": "LINE",
  blob: "BLOB",
  "org.apache.flume.sink.solr.morphline.blobdeserializer$builder": "BLOB",
  avro: "AVRO",
  "org.apache.flume.serialization.avroeventdeserializer$builder": "AVRO",
};

/** `LINE`, `BLOB`, `AVRO` or one of Flume's builder class names for them; a message for anything else. */
export function parseDeserializerName(raw: string): "LINE" | "BLOB" | "AVRO" {
  const hit = DESERIALIZER_NAMES[raw.trim().toLowerCase()];
  if (hit) return hit;
  throw new ValueError(`expected LINE, BLOB or AVRO (or Flume's class names for them, e.g. org.apache.flume.sink.solr.morphline.BlobDeserializer$Builder), got "${raw}"${
    raw.includes(".") ? " (a third-party deserializer class: sluice cannot load Java classes)" : ""
  }`);
}

export interface DeserializerSettings {
  deserializer: "LINE" | "BLOB" | "AVRO";
  maxLineLength: number;
  maxBlobLength: number;
  inputCharset: string;
  decodeErrorPolicy: DecodeErrorPolicy;
  avroSchemaType: AvroSchemaType;
}

/** The deserializer for one file, resuming at `start`; `headers` are the file's own (fileHeader, basenameHeader). */
export function createDeserializer(s: DeserializerSettings, start: number, headers: Record<string, string>): Deserializer {
  switch (s.deserializer) {
    case "BLOB":
      return new BlobDeserializer(s.maxBlobLength, start);
    case "AVRO":
      return new AvroDeserializer(start, headers, s.avroSchemaType);
    default:
      return new LineDeserializer(s.maxLineLength, s.inputCharset, s.decodeErrorPolicy, s.inputCharset, start);
  }
}

/** Charsets LINE can split on `\n` bytes: ASCII-compatible ones. UTF-16/32 would need another splitter. */
export function checkLineCharset(label: string): string | undefined {
  let enc: string;
  try {
    enc = new TextDecoder(label as "utf-8").encoding;
  } catch {
    return `unknown charset "${label}"`;
  }
  if (enc.startsWith("utf-16") || enc.startsWith("utf-32")) return `charset "${label}" is not supported by the LINE deserializer (lines are split on the byte \\n); convert the files to UTF-8`;
  return undefined;
}

const REPLACEMENT = /\uFFFD/g;
const encoder = new TextEncoder();

export class LineDeserializer implements Deserializer {
  failure?: { offset: number; message: string };
  private readonly splitter: LineSplitter;
  private readonly utf8: boolean;
  /** A character cut by the previous chunk's end (UTF-8 check only). */
  private carry: Uint8Array = new Uint8Array(0);
  private readonly fatal: TextDecoder;
  private readonly lenient: TextDecoder;
  /** The current chunk (or the carry from the previous one) failed validation: check each line. */
  private dirty = false;

  constructor(
    maxLineLength: number,
    charset: string,
    private readonly policy: DecodeErrorPolicy,
    private readonly label: string,
    startOffset: number,
  ) {
    this.splitter = new LineSplitter({ maxLineLength, overlong: "truncate" }, startOffset);
    this.fatal = new TextDecoder(charset as "utf-8", { fatal: true });
    this.lenient = new TextDecoder(charset as "utf-8");
    this.utf8 = this.fatal.encoding === "utf-8";
  }

  push(chunk: Uint8Array, emit: Emit): void {
    if (this.failure) return;
    // Lines carried over from a dirty chunk end in this one: they are checked too.
    const wasDirty = this.dirty;
    if (this.utf8) this.dirty = !this.validUtf8(chunk);
    const check = !this.utf8 || wasDirty || this.dirty;
    // Clean UTF-8 passes through as bytes; only a truncated line may end inside a character and is trimmed back.
    this.splitter.push(chunk, check ? (l, s, e, t) => this.convert(l, s, e, t, emit) : (l, s, e, t) => emit(t ? trimPartialUtf8(l) : l, s, e, t));
  }

  /**
   * Checks a chunk without building a string: the complete characters with isUtf8, and a character cut by the chunk's
   * end (up to 3 bytes) together with the head of the next chunk.
   */
  private validUtf8(chunk: Uint8Array): boolean {
    let from = 0;
    let ok = true;
    if (this.carry.length > 0) {
      const lead = this.carry[0]!;
      const need = (lead >= 0xf0 ? 4 : lead >= 0xe0 ? 3 : 2) - this.carry.length;
      const joined = new Uint8Array(this.carry.length + Math.min(need, chunk.length));
      joined.set(this.carry);
      joined.set(chunk.subarray(0, need), this.carry.length);
      ok = isUtf8(joined);
      from = Math.min(need, chunk.length);
    }
    const rest = chunk.subarray(from);
    const whole = trimPartialUtf8(rest);
    this.carry = rest.slice(whole.length);
    return isUtf8(whole) && ok;
  }

  end(emit: Emit): void {
    if (this.failure) return;
    const p = this.splitter.takePartial();
    if (p) this.convert(p.line, p.start, p.end, p.truncated, emit);
  }

  private convert(line: Uint8Array, start: number, end: number, truncated: boolean, emit: Emit): void {
    if (this.failure) return;
    // maxLineLength counts bytes, so a truncation may cut the last character in two: that is not a decode error.
    if (truncated && this.utf8) line = trimPartialUtf8(line);
    let text: string;
    try {
      // Streaming mode holds back (drops) an incomplete last character of a truncated line in any charset; the
      // decoder is a throwaway then, so what it held back never reaches the next line.
      text = truncated ? new TextDecoder(this.fatal.encoding as "utf-8", { fatal: true }).decode(line, { stream: true }) : this.fatal.decode(line);
      if (this.utf8) return emit(line, start, end, truncated);
    } catch {
      if (this.policy === "FAIL") {
        this.failure = { offset: start, message: `bytes that are not valid ${this.label} in the line at offset ${start} (decodeErrorPolicy = FAIL)` };
        return;
      }
      text = truncated ? new TextDecoder(this.lenient.encoding as "utf-8").decode(line, { stream: true }) : this.lenient.decode(line);
      if (this.policy === "IGNORE") text = text.replace(REPLACEMENT, "");
    }
    emit(encoder.encode(text), start, end, truncated);
  }
}

/** `line` without a trailing incomplete UTF-8 sequence (a byte-count truncation can cut a character in two). */
export function trimPartialUtf8(line: Uint8Array): Uint8Array {
  let i = line.length - 1;
  let cont = 0;
  while (i >= 0 && cont < 3 && (line[i]! & 0xc0) === 0x80) {
    i--;
    cont++;
  }
  if (i < 0) return line;
  const lead = line[i]!;
  const need = lead >= 0xf0 ? 4 : lead >= 0xe0 ? 3 : lead >= 0xc0 ? 2 : 1;
  return need > cont + 1 ? line.subarray(0, i) : line;
}

export class BlobDeserializer implements Deserializer {
  private parts: Uint8Array[] = [];
  private held = 0;
  private start: number;

  constructor(
    private readonly maxBlobLength: number,
    startOffset: number,
  ) {
    this.start = startOffset;
  }

  push(chunk: Uint8Array, emit: Emit): void {
    let at = 0;
    while (at < chunk.length) {
      const take = Math.min(chunk.length - at, this.maxBlobLength - this.held);
      this.parts.push(chunk.subarray(at, at + take));
      this.held += take;
      at += take;
      if (this.held === this.maxBlobLength) this.flush(emit);
    }
  }

  end(emit: Emit): void {
    if (this.held > 0) this.flush(emit);
  }

  private flush(emit: Emit): void {
    const body = concat(this.parts, this.held);
    const start = this.start;
    this.start += this.held;
    this.parts = [];
    this.held = 0;
    emit(body, start, this.start, false);
  }
}
