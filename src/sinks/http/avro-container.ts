// The Avro object container of Flume events that the http sink sends with `format = avro` and the http source reads.
// Layout (Avro 1.x spec, "Object Container Files"):
//   header: magic "Obj" 0x01 · metadata map<bytes> {"avro.schema": the AvroFlumeEvent schema JSON, "avro.codec":
//           "null" | "deflate"} · a 16-byte sync marker
//   blocks: event count (zig-zag varint long) · byte size of the block's data (long) · the events, each an
//           AvroFlumeEvent record {headers: map<string>, body: bytes} (deflate: raw RFC 1951 data) · the sync marker
// We write one block per request with codec "null" (HTTP gzip compresses the whole body instead); we read either codec.
// Readers check the sync marker after every block, the declared sizes against what is left, and the event count.

import { Buffer } from "node:buffer";
import { inflateRawSync } from "node:zlib";
import avro from "avsc";
import type { Event } from "../../core/event.ts";

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
const SYNC_SIZE = 16;
const eventType = avro.Type.forSchema(AVRO_FLUME_EVENT_SCHEMA as unknown as avro.Schema);
const headerType = avro.Type.forSchema({
  type: "record",
  name: "org.apache.avro.file.Header",
  fields: [
    { name: "magic", type: { type: "fixed", name: "Magic", size: 4 } },
    { name: "meta", type: { type: "map", values: "bytes" } },
    { name: "sync", type: { type: "fixed", name: "Sync", size: SYNC_SIZE } },
  ],
});
const longType = avro.Type.forSchema("long");
const SCHEMA_JSON = Buffer.from(JSON.stringify(AVRO_FLUME_EVENT_SCHEMA));

/** Encodes a batch as a container with one block. */
export function encodeAvroContainer(events: readonly Event[]): Uint8Array {
  const sync = Buffer.from(crypto.getRandomValues(new Uint8Array(SYNC_SIZE)));
  const header = headerType.toBuffer({ magic: MAGIC, meta: { "avro.schema": SCHEMA_JSON, "avro.codec": Buffer.from("null") }, sync });
  // Size the data buffer from the bodies and header texts (UTF-8 is at most 3 bytes per UTF-16 unit) plus varints.
  let estimate = 0;
  for (const e of events) {
    estimate += e.body.byteLength + 20;
    for (const k in e.headers) estimate += (k.length + e.headers[k]!.length) * 3 + 20;
  }
  // The estimate is an upper bound, so encoding never runs out of room; avsc would return a negative offset if it did.
  const data = Buffer.allocUnsafe(estimate);
  let pos = 0;
  for (const e of events) {
    const body = e.body instanceof Buffer ? e.body : Buffer.from(e.body.buffer, e.body.byteOffset, e.body.byteLength);
    pos = eventType.encode({ headers: e.headers, body }, data, pos);
    if (pos < 0) throw new Error("avro container: the size estimate was short (a bug)");
  }
  const count = longType.toBuffer(events.length);
  const size = longType.toBuffer(pos);
  return Buffer.concat([header, count, size, data.subarray(0, pos), sync]);
}

/** A malformed container: the message says what and where (byte offset); `tooLarge` when a size limit was hit. */
export class ContainerError extends Error {
  constructor(
    message: string,
    readonly tooLarge = false,
  ) {
    super(message);
  }
}

/**
 * Decodes a container into events; bodies are views into `bytes` (codec null) or into the inflated block.
 * `maxInflated` bounds the inflated size of deflate blocks in total (zip bombs).
 */
export function decodeAvroContainer(bytes: Uint8Array, maxInflated: number): Event[] {
  const buf = Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  if (buf.length < 4 || !buf.subarray(0, 4).equals(MAGIC)) throw new ContainerError("not an Avro object container (no Obj\\x01 magic)");
  let header: { meta: Record<string, Buffer>; sync: Buffer };
  let pos: number;
  try {
    const r = headerType.decode(buf, 0);
    if (r.offset < 0 || r.value === undefined) throw new Error("truncated");
    header = r.value as typeof header;
    pos = r.offset;
  } catch {
    throw new ContainerError("the container header is truncated or malformed");
  }
  const codec = header.meta["avro.codec"]?.toString() ?? "null";
  if (codec !== "null" && codec !== "deflate") throw new ContainerError(`unsupported codec "${codec}" (null or deflate)`);
  const schemaText = header.meta["avro.schema"]?.toString();
  if (!schemaText) throw new ContainerError("the container header has no avro.schema");
  let readerType: avro.Type;
  try {
    const writer = avro.Type.forSchema(JSON.parse(schemaText));
    readerType = writer.equals(eventType) ? eventType : (eventType.createResolver(writer) as unknown as avro.Type);
  } catch (err) {
    throw new ContainerError(`the container's schema is not a Flume event record {headers: map<string>, body: bytes}: ${(err as Error).message}`);
  }
  const resolver = readerType === eventType ? undefined : readerType;
  const events: Event[] = [];
  let inflated = 0;
  while (pos < buf.length) {
    const blockAt = pos;
    let c: { value: unknown; offset: number };
    let s: { value: unknown; offset: number };
    try {
      c = longType.decode(buf, pos);
      s = c.offset >= 0 ? longType.decode(buf, c.offset) : { value: -1, offset: -1 };
    } catch {
      // avsc throws on a varint past 2^53 ("potential precision loss").
      throw new ContainerError(`block at byte ${blockAt}: the block count or size is not a valid Avro long`);
    }
    const count = c.value as number;
    const size = s.value as number;
    if (c.offset < 0 || s.offset < 0 || count < 0 || size < 0 || s.offset + size + SYNC_SIZE > buf.length) {
      throw new ContainerError(`block at byte ${blockAt}: truncated or declares more bytes than the body holds`);
    }
    let data = buf.subarray(s.offset, s.offset + size);
    if (codec === "deflate") {
      try {
        data = inflateRawSync(data, { maxOutputLength: Math.max(1, maxInflated - inflated) });
      } catch (err) {
        if (err instanceof RangeError) throw new ContainerError(`block at byte ${blockAt}: inflates past the size limit (${maxInflated} bytes)`, true);
        throw new ContainerError(`block at byte ${blockAt}: bad deflate data`);
      }
      inflated += data.length;
    }
    if (!buf.subarray(s.offset + size, s.offset + size + SYNC_SIZE).equals(header.sync)) throw new ContainerError(`block at byte ${blockAt}: sync marker mismatch`);
    let at = 0;
    for (let i = 0; i < count; i++) {
      let r: { value: unknown; offset: number };
      try {
        r = resolver ? (eventType.decode as (b: Buffer, p: number, res: unknown) => { value: unknown; offset: number })(data, at, resolver) : eventType.decode(data, at);
      } catch {
        r = { value: undefined, offset: -1 };
      }
      if (r.offset < 0 || r.value === undefined) throw new ContainerError(`block at byte ${blockAt}: event ${i} is truncated or malformed`);
      const v = r.value as { headers: Record<string, string>; body: Buffer };
      events.push({ headers: v.headers, body: v.body });
      at = r.offset;
    }
    if (at !== data.length) throw new ContainerError(`block at byte ${blockAt}: ${data.length - at} bytes left after ${count} events`);
    pos = s.offset + size + SYNC_SIZE;
  }
  return events;
}
