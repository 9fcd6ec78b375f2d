// The Avro object container of Flume events that the http sink sends with `format = avro` and the http source reads.
// Layout (Avro 1.x spec, "Object Container Files"):
//   header: magic "Obj" 0x01 · metadata map<bytes> {"avro.schema": the AvroFlumeEvent schema JSON, "avro.codec":
//           "null" | "deflate"} · a 16-byte sync marker
//   blocks: event count (zig-zag varint long) · byte size of the block's data (long) · the events, each an
//           AvroFlumeEvent record {headers: map<string>, body: bytes} (deflate: raw RFC 1951 data) · the sync marker
// We write one block per request with codec "null" (HTTP gzip compresses the whole body instead); we read either codec.
// Reading trusts nothing the bytes declare: the header and every event are read with codec.ts's bounded Reader
// (avsc's decoders trust declared counts, so a few hundred bytes could hold the event loop for seconds); a writer
// schema other than AvroFlumeEvent itself is read with schema-reader.ts. Every block's count is checked against
// its size, its size against what is left, and its sync marker.

import { Buffer } from "node:buffer";
import { deflateRaw, inflateRaw, inflateRawSync } from "node:zlib";
import { promisify } from "node:util";
import avro from "avsc";
import type { Event } from "../core/event.ts";
import { ByteWriter, EventRecords, longSize, Reader } from "./codec.ts";
import { AvroProtocolError } from "./errors.ts";
import { compileReader, minBytes } from "./schema-reader.ts";
import { yieldToLoop } from "../util/yield.ts";

export const AVRO_FLUME_EVENT_SCHEMA = {
  type: "record",
  name: "AvroFlumeEvent",
  namespace: "org.apache.flume.source.avro",
  fields: [
    { name: "headers", type: { type: "map", values: "string" } },
    { name: "body", type: "bytes" },
  ],
} as const;

const MAGIC = Buffer.from([0x4f, 0x62, 0x6a, 0x01]);
export const SYNC_SIZE = 16;
export type ContainerCodec = "null" | "deflate";
const eventType = avro.Type.forSchema(AVRO_FLUME_EVENT_SCHEMA as unknown as avro.Schema);
// Only for writing: reading goes through the bounded Reader.
const headerType = avro.Type.forSchema({
  type: "record",
  name: "org.apache.avro.file.Header",
  fields: [
    { name: "magic", type: { type: "fixed", name: "Magic", size: 4 } },
    { name: "meta", type: { type: "map", values: "bytes" } },
    { name: "sync", type: { type: "fixed", name: "Sync", size: SYNC_SIZE } },
  ],
});
const decoder = new TextDecoder();
const encoder = new TextEncoder();
const SCHEMA_JSON = Buffer.from(JSON.stringify(AVRO_FLUME_EVENT_SCHEMA));
const CODEC_NULL = Buffer.from("null");

/** Encodes a batch as a container with one block, written once into one buffer (codec.ts writes the records). */
export function encodeAvroContainer(events: readonly Event[]): Uint8Array {
  const sync = crypto.getRandomValues(new Uint8Array(SYNC_SIZE));
  const header = headerType.toBuffer({ magic: MAGIC, meta: { "avro.schema": SCHEMA_JSON, "avro.codec": CODEC_NULL }, sync: Buffer.from(sync) });
  const records = new EventRecords(events);
  const size = header.byteLength + longSize(events.length) + longSize(records.recordsSize) + records.recordsSize + SYNC_SIZE;
  const w = new ByteWriter(new Uint8Array(size));
  w.raw(header);
  w.long(events.length);
  w.long(records.recordsSize);
  records.writeRecords(w);
  w.raw(sync);
  return w.out;
}

/** A malformed container: the message says what and where (byte offset); `tooLarge` when a size limit was hit. */
export class ContainerError extends Error {
  constructor(
    message: string,
    readonly tooLarge = false,
    /** Truncated: more bytes might complete what was read (only the header reader says so). */
    readonly incomplete = false,
  ) {
    super(message);
  }
}

type EventRead = { read: (r: Reader) => Event; minBytes: number };

/** The fast path: the writer schema is AvroFlumeEvent itself (what Flume and sluice write). */
const FLUME_EVENT_READ: EventRead = { read: (r) => r.event(), minBytes: 2 };

/**
 * How records of the writer schema become events, by Avro's resolution rules for the AvroFlumeEvent reader: fields
 * matched by name (extra writer fields are skipped), and string and bytes promote to each other.
 */
function eventRead(schemaText: string): EventRead {
  let writer: avro.Type;
  try {
    writer = avro.Type.forSchema(JSON.parse(schemaText));
  } catch (err) {
    throw new ContainerError(`the container's avro.schema is not a valid Avro schema: ${(err as Error).message}`);
  }
  if (writer.equals(eventType)) return FLUME_EVENT_READ;
  const fields = (writer as { fields?: Array<{ name: string; type: avro.Type }> }).fields;
  const not = (why: string) => new ContainerError(`the container's schema is not a Flume event record {headers: map<string>, body: bytes}: ${why}`);
  if (writer.typeName !== "record" || !fields) throw not(`it is ${writer.typeName === "record" ? "a record" : `of type ${writer.typeName}`}`);
  const headers = fields.find((f) => f.name === "headers")?.type as (avro.Type & { valuesType?: avro.Type }) | undefined;
  const body = fields.find((f) => f.name === "body")?.type;
  if (!headers || headers.typeName !== "map" || !["string", "bytes"].includes(headers.valuesType!.typeName)) throw not("no field headers of type map<string>");
  if (!body || !["string", "bytes"].includes(body.typeName)) throw not("no field body of type bytes");
  const record = compileReader(writer);
  const bytesValues = headers.valuesType!.typeName === "bytes";
  const stringBody = body.typeName === "string";
  return {
    minBytes: Math.max(1, minBytes(writer)),
    read(r) {
      const v = record(r) as { headers: Record<string, string | Uint8Array>; body: string | Uint8Array };
      if (bytesValues) for (const k in v.headers) v.headers[k] = decoder.decode(v.headers[k] as Uint8Array);
      return { headers: v.headers as Record<string, string>, body: stringBody ? encoder.encode(v.body as string) : (v.body as Uint8Array) };
    },
  };
}

export interface ContainerHeader {
  /** The writer schema's JSON text. */
  schemaText: string;
  codec: ContainerCodec;
  sync: Uint8Array;
  /** Offset of the first block. */
  end: number;
}

/**
 * Reads a container's header from the start of `buf` (bounded by the bytes present). Throws ContainerError; with
 * `incomplete` set when more bytes could still make it whole (a reader of a file in pieces reads on then).
 */
export function readContainerHeader(buf: Uint8Array): ContainerHeader {
  if (buf.byteLength >= 4 && !Buffer.from(buf.buffer, buf.byteOffset, 4).equals(MAGIC)) {
    throw new ContainerError("not an Avro object container (no Obj\\x01 magic)");
  }
  if (buf.byteLength < 4) throw new ContainerError("not an Avro object container (shorter than its magic)", false, true);
  const r = new Reader(buf, 4);
  let meta: Record<string, Uint8Array>;
  let sync: Uint8Array;
  try {
    meta = r.bytesMap();
    sync = r.fixed(SYNC_SIZE);
  } catch (err) {
    throw new ContainerError(`the container header is truncated or malformed: ${(err as Error).message}`, false, true);
  }
  const codecBytes = meta["avro.codec"];
  const codec = codecBytes ? decoder.decode(codecBytes) : "null";
  if (codec !== "null" && codec !== "deflate") throw new ContainerError(`unsupported codec "${codec}" (null or deflate)`);
  const schemaBytes = meta["avro.schema"];
  if (!schemaBytes || schemaBytes.byteLength === 0) throw new ContainerError("the container header has no avro.schema");
  return { schemaText: decoder.decode(schemaBytes), codec, sync, end: r.pos };
}

/** A container's header: magic, {avro.schema, avro.codec}, sync marker. */
export function encodeContainerHeader(schemaText: string, codec: ContainerCodec, sync: Uint8Array): Uint8Array {
  return headerType.toBuffer({ magic: MAGIC, meta: { "avro.schema": Buffer.from(schemaText), "avro.codec": Buffer.from(codec) }, sync: Buffer.from(sync) });
}

/** One block: count, size, the (already compressed) data, the sync marker. */
export function encodeBlock(count: number, data: Uint8Array, sync: Uint8Array): Uint8Array[] {
  const head = new ByteWriter(new Uint8Array(longSize(count) + longSize(data.byteLength)));
  head.long(count);
  head.long(data.byteLength);
  return [head.out, data, sync];
}

/**
 * The schema of Flume's FlumeEventAvroEventSerializer (file_roll `sink.serializer = avro_event`) exactly as Java's
 * Schema.toString() renders it into the container header. Its records encode like AvroFlumeEvent's.
 */
export const FLUME_EVENT_SCHEMA_TEXT =
  '{"type":"record","name":"Event","fields":[{"name":"headers","type":{"type":"map","values":"string"}},{"name":"body","type":"bytes"}]}';

const deflateRawAsync = promisify(deflateRaw);

/**
 * Encodes events as Event records in blocks of about `syncIntervalBytes` each (a block closes once it reached the
 * interval, as Avro-Java's DataFileWriter does; the estimate counts UTF-16 units of header text, which only moves a
 * boundary), compressing each block off the event loop with deflate. Returns the blocks' bytes, sync markers included.
 */
export async function encodeEventBlocks(events: readonly Event[], sync: Uint8Array, syncIntervalBytes: number, codec: ContainerCodec, level = 6): Promise<Uint8Array[]> {
  const out: Uint8Array[] = [];
  let from = 0;
  let estimate = 0;
  for (let i = 0; i < events.length; i++) {
    const e = events[i]!;
    estimate += e.body.byteLength + 2;
    for (const k in e.headers) estimate += k.length + e.headers[k]!.length + 2;
    if (estimate >= syncIntervalBytes || i === events.length - 1) {
      const n = i + 1 - from;
      // The block holds the records alone (no array count or end).
      const records = new EventRecords(events.slice(from, i + 1));
      const w = new ByteWriter(new Uint8Array(records.recordsSize));
      records.writeRecords(w);
      let data: Uint8Array = w.out;
      if (codec === "deflate") data = await deflateRawAsync(data, { level });
      out.push(...encodeBlock(n, data, sync));
      from = i + 1;
      estimate = 0;
    }
  }
  return out;
}

/** A fresh random sync marker. */
export function newSync(): Uint8Array {
  return crypto.getRandomValues(new Uint8Array(SYNC_SIZE));
}

/** One container being decoded: the cursor over its bytes, its header, how records become events, the events so far. */
interface Decoding {
  buf: Buffer;
  r: Reader;
  head: ContainerHeader;
  read: (r: Reader) => Event;
  eventMin: number;
  events: Event[];
  inflated: number;
  maxInflated: number;
}

interface Block {
  at: number;
  count: number;
  /** The block's bytes as stored (deflated with codec deflate). */
  data: Uint8Array;
}

function startDecoding(bytes: Uint8Array, maxInflated: number): Decoding {
  const buf = Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  const head = readContainerHeader(buf);
  const { read, minBytes: eventMin } = eventRead(head.schemaText);
  return { buf, r: new Reader(buf, head.end), head, read, eventMin, events: [], inflated: 0, maxInflated };
}

/** The next block, its count and size checked against the bytes present and its sync marker matched. */
function takeBlock(d: Decoding): Block {
  const r = d.r;
  const at = r.pos;
  let count: number;
  let size: number;
  try {
    count = r.long();
    size = r.long();
  } catch {
    throw new ContainerError(`block at byte ${at}: the block count or size is not a valid Avro long`);
  }
  if (count < 0 || size < 0 || size + SYNC_SIZE > r.left) {
    throw new ContainerError(`block at byte ${at}: truncated or declares more bytes than the body holds`);
  }
  const data = d.buf.subarray(r.pos, r.pos + size);
  r.pos += size;
  if (Buffer.compare(r.fixed(SYNC_SIZE), d.head.sync) !== 0) throw new ContainerError(`block at byte ${at}: sync marker mismatch`);
  // Stored bytes bound the count already (an event takes at least one byte even deflated); checked again inflated.
  if (d.head.codec === "null" && count * d.eventMin > size) throw new ContainerError(`block at byte ${at}: declares ${count} events but holds only ${size} bytes`);
  return { at, count, data };
}

function inflateFailed(d: Decoding, b: Block, err: unknown): ContainerError {
  if (err instanceof RangeError) return new ContainerError(`block at byte ${b.at}: inflates past the size limit (${d.maxInflated} bytes)`, true);
  return new ContainerError(`block at byte ${b.at}: bad deflate data`);
}

/** The reader over a block's (inflated) bytes, its count checked against them. */
function blockReader(d: Decoding, b: Block, data: Uint8Array): Reader {
  d.inflated += d.head.codec === "deflate" ? data.byteLength : 0;
  if (b.count * d.eventMin > data.byteLength) {
    throw new ContainerError(`block at byte ${b.at}: declares ${b.count} events but holds only ${data.byteLength} bytes`);
  }
  return new Reader(data);
}

/** Reads records `from`.. of a block into d.events, until its count or `until` (performance.now()); the next index. */
function readRecords(d: Decoding, b: Block, block: Reader, from: number, until: number): number {
  let i = from;
  for (; i < b.count; i++) {
    // The clock is read every 512 records only: it costs more than a small record.
    if ((i & 511) === 511 && performance.now() > until) return i;
    try {
      d.events.push(d.read(block));
    } catch (err) {
      if (!(err instanceof AvroProtocolError)) throw err;
      throw new ContainerError(`block at byte ${b.at}: event ${i} is truncated or malformed (${err.message})`);
    }
  }
  if (block.left !== 0) throw new ContainerError(`block at byte ${b.at}: ${block.left} bytes left after ${b.count} events`);
  return i;
}

/**
 * Decodes a container into events; bodies are views into `bytes` (codec null) or into the inflated block.
 * `maxInflated` bounds the inflated size of deflate blocks in total (zip bombs). Synchronous: for small inputs and
 * tests; a request path uses decodeAvroContainerSliced.
 */
export function decodeAvroContainer(bytes: Uint8Array, maxInflated: number): Event[] {
  const d = startDecoding(bytes, maxInflated);
  while (d.r.left > 0) {
    const b = takeBlock(d);
    let data = b.data;
    if (d.head.codec === "deflate") {
      try {
        data = inflateRawSync(data, { maxOutputLength: Math.max(1, maxInflated - d.inflated) });
      } catch (err) {
        throw inflateFailed(d, b, err);
      }
    }
    readRecords(d, b, blockReader(d, b, data), 0, Infinity);
  }
  return d.events;
}

const inflateRawAsync = promisify(inflateRaw);

/**
 * decodeAvroContainer for untrusted request bodies, without holding the event loop: deflate blocks inflate on zlib's
 * thread pool, and records are read in slices of at most `sliceMs`, yielding between them (a 16 MiB container of
 * small events held the loop for ~70 ms in one piece).
 */
export async function decodeAvroContainerSliced(bytes: Uint8Array, maxInflated: number, sliceMs = 20): Promise<Event[]> {
  const d = startDecoding(bytes, maxInflated);
  let until = performance.now() + sliceMs;
  while (d.r.left > 0) {
    const b = takeBlock(d);
    let data = b.data;
    if (d.head.codec === "deflate") {
      try {
        data = await inflateRawAsync(data, { maxOutputLength: Math.max(1, maxInflated - d.inflated) });
      } catch (err) {
        throw inflateFailed(d, b, err);
      }
    }
    const block = blockReader(d, b, data);
    for (let i = 0; i < b.count || i === 0; ) {
      i = readRecords(d, b, block, i, until);
      if (i >= b.count) break;
      await yieldToLoop();
      until = performance.now() + sliceMs;
    }
    if (performance.now() > until) {
      await yieldToLoop();
      until = performance.now() + sliceMs;
    }
  }
  return d.events;
}
