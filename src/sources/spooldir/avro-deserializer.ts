// spooldir `deserializer = AVRO` (Flume's AvroEventDeserializer): each record of an Avro object container file
// becomes one event whose body is the record's Avro binary encoding under the file's writer schema, with the schema
// named in a header — `flume.avro.schema.hash` (hex of its CRC-64-AVRO fingerprint, schemaType = HASH) or
// `flume.avro.schema.literal` (its JSON, schemaType = LITERAL).
//
// Untrusted files: the header is read by container.ts's bounded reader, and each record is walked by
// schema-reader.ts's (every count and length bounded by the bytes present, nesting bounded); a block may not be larger
// than MAX_BLOCK_BYTES, compressed or inflated. Deflate blocks inflate off the event loop, and the records are walked
// in slices of at most SLICE_MS, yielding between them.
//
// Offsets: an event's resume point is the start of its block, except the block's last record, whose resume point is
// the block's end; so resuming re-reads at most one block (Flume re-reads from the previous sync marker too). Resuming
// reads the header again from offset 0 and skips whole blocks before the saved offset without decoding them.

import { Buffer } from "node:buffer";
import { promisify } from "node:util";
import { inflateRaw } from "node:zlib";
import avro from "avsc";
import { Reader } from "../../avro/codec.ts";
import { ContainerError, readContainerHeader, SYNC_SIZE, type ContainerHeader } from "../../avro/container.ts";
import { AvroProtocolError } from "../../avro/errors.ts";
import { schemaHashHex } from "../../avro/fingerprint.ts";
import { compileReader, minBytes, type ReadFn } from "../../avro/schema-reader.ts";
import { concat } from "../../util/lines.ts";
import { yieldToLoop } from "../../util/yield.ts";

export type AvroSchemaType = "HASH" | "LITERAL";
type Emit = (body: Uint8Array, start: number, end: number, truncated: boolean, headers?: Record<string, string>) => void;

export const AVRO_SCHEMA_HASH_HEADER = "flume.avro.schema.hash";
export const AVRO_SCHEMA_LITERAL_HEADER = "flume.avro.schema.literal";
/** Largest block, compressed or inflated: Flume writes ~2 MB blocks (syncIntervalBytes); far more is not a log file. */
export const MAX_BLOCK_BYTES = 64 * 1024 * 1024;
/** Largest container header (the schema is in it). */
export const MAX_HEADER_BYTES = 4 * 1024 * 1024;
/** Longest stretch of record walking between yields to the event loop. */
const SLICE_MS = 20;
/** Records walked between clock reads. */
const CLOCK_EVERY = 256;

const inflateRawAsync = promisify(inflateRaw);

interface Schema {
  head: ContainerHeader;
  read: ReadFn;
  /** Fewest bytes a record takes (at least 1, so a declared count is bounded by the block's bytes). */
  min: number;
  headers: Record<string, string>;
}

export class AvroDeserializer {
  failure?: { offset: number; message: string };
  readonly readFrom = 0;
  /** Bytes received and not consumed, from file offset `at`. */
  private parts: Uint8Array[] = [];
  private held = 0;
  private at = 0;
  /** Bytes needed (from `at`) before the next attempt can succeed. */
  private need = 4;
  private schema?: Schema;
  private sliceStart = 0;

  constructor(
    private readonly resumeAt: number,
    private readonly fileHeaders: Record<string, string>,
    private readonly schemaType: AvroSchemaType,
  ) {}

  async push(chunk: Uint8Array, emit: Emit): Promise<void> {
    if (this.failure || chunk.byteLength === 0) return;
    this.parts.push(chunk);
    this.held += chunk.byteLength;
    this.sliceStart = performance.now();
    while (!this.failure && this.held >= this.need) {
      const buf = this.flatten();
      if (!this.schema) {
        if (!this.readHeader(buf)) return;
        continue;
      }
      if (!(await this.readBlock(buf, emit))) return;
    }
  }

  end(_emit: Emit): void {
    if (this.failure) return;
    if (!this.schema) this.fail(0, this.held === 0 ? "the file is empty, not an Avro container" : "the file ends inside its Avro container header");
    else if (this.held > 0) this.fail(this.at, `the file ends inside the block at offset ${this.at} (${this.held} bytes of it)`);
  }

  private fail(offset: number, message: string): void {
    this.failure = { offset, message: `Avro container: ${message}` };
    this.parts = [];
    this.held = 0;
  }

  /** The unconsumed bytes as one buffer (copied once per block that spans reads). */
  private flatten(): Uint8Array {
    if (this.parts.length > 1) this.parts = [concat(this.parts, this.held)];
    return this.parts[0]!;
  }

  private consume(buf: Uint8Array, n: number): void {
    this.at += n;
    this.held -= n;
    this.parts = this.held > 0 ? [buf.subarray(n)] : [];
  }

  private readHeader(buf: Uint8Array): boolean {
    let head: ContainerHeader;
    try {
      head = readContainerHeader(buf);
    } catch (err) {
      if (err instanceof ContainerError && err.incomplete && buf.byteLength < MAX_HEADER_BYTES) {
        this.need = buf.byteLength + 1;
        return false;
      }
      this.fail(0, err instanceof ContainerError && err.incomplete ? `its header is larger than ${MAX_HEADER_BYTES} bytes` : (err as Error).message);
      return false;
    }
    let type: avro.Type;
    let read: ReadFn;
    try {
      type = avro.Type.forSchema(JSON.parse(head.schemaText));
      read = compileReader(type);
    } catch (err) {
      this.fail(0, `its avro.schema is not a usable Avro schema: ${(err as Error).message}`);
      return false;
    }
    const extra: Record<string, string> = this.schemaType === "HASH" ? { [AVRO_SCHEMA_HASH_HEADER]: schemaHashHex(type) } : { [AVRO_SCHEMA_LITERAL_HEADER]: head.schemaText };
    this.schema = { head, read, min: Math.max(1, minBytes(type)), headers: Object.freeze({ ...this.fileHeaders, ...extra }) };
    this.consume(buf, head.end);
    this.need = 1;
    return true;
  }

  /** One block, if it is all here; false when more bytes are needed (or it failed). */
  private async readBlock(buf: Uint8Array, emit: Emit): Promise<boolean> {
    const s = this.schema!;
    const blockAt = this.at;
    const r = new Reader(buf);
    let count: number;
    let size: number;
    try {
      count = r.long();
      size = r.long();
    } catch {
      // A varint cut by the end of what we hold; ten bytes hold any long.
      if (buf.byteLength < 20) {
        this.need = buf.byteLength + 1;
        return false;
      }
      this.fail(blockAt, `the block at offset ${blockAt} does not start with a valid count and size`);
      return false;
    }
    if (count < 0 || size < 0 || size > MAX_BLOCK_BYTES) {
      this.fail(blockAt, `the block at offset ${blockAt} declares ${count} records in ${size} bytes (at most ${MAX_BLOCK_BYTES} bytes)`);
      return false;
    }
    const total = r.pos + size + SYNC_SIZE;
    if (buf.byteLength < total) {
      this.need = total;
      return false;
    }
    const sync = buf.subarray(r.pos + size, total);
    if (Buffer.compare(sync, s.head.sync) !== 0) {
      this.fail(blockAt, `the block at offset ${blockAt} does not end with the file's sync marker`);
      return false;
    }
    let data = buf.subarray(r.pos, r.pos + size);
    this.consume(buf, total);
    this.need = 1;
    const blockEnd = this.at;
    // Resuming: blocks before the saved offset were delivered already.
    if (blockAt < this.resumeAt) return true;
    if (s.head.codec === "deflate") {
      try {
        data = await inflateRawAsync(data, { maxOutputLength: MAX_BLOCK_BYTES });
      } catch (err) {
        this.fail(blockAt, err instanceof RangeError ? `the block at offset ${blockAt} inflates past ${MAX_BLOCK_BYTES} bytes` : `the block at offset ${blockAt} is not valid deflate data`);
        return false;
      }
    }
    if (count * s.min > data.byteLength) {
      this.fail(blockAt, `the block at offset ${blockAt} declares ${count} records but holds only ${data.byteLength} bytes`);
      return false;
    }
    const rec = new Reader(data);
    for (let i = 0; i < count; i++) {
      const from = rec.pos;
      try {
        s.read(rec);
      } catch (err) {
        if (!(err instanceof AvroProtocolError)) throw err;
        this.fail(blockAt, `record ${i} of the block at offset ${blockAt} is malformed (${err.message})`);
        return false;
      }
      emit(data.subarray(from, rec.pos), blockAt, i === count - 1 ? blockEnd : blockAt, false, s.headers);
      if (i % CLOCK_EVERY === CLOCK_EVERY - 1 && performance.now() - this.sliceStart > SLICE_MS) {
        await yieldToLoop();
        this.sliceStart = performance.now();
      }
    }
    if (rec.left !== 0) {
      this.fail(blockAt, `the block at offset ${blockAt} has ${rec.left} bytes after its ${count} records`);
      return false;
    }
    if (performance.now() - this.sliceStart > SLICE_MS) {
      await yieldToLoop();
      this.sliceStart = performance.now();
    }
    return true;
  }
}
