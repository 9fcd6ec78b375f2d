// Avro binary for the parts of Flume's RPC on the hot path or exposed to untrusted bytes: the AvroFlumeEvent array,
// call metadata, message names, Status, and the handshake records' decoding.
//
// Why by hand and not avsc: avsc's array and map readers trust the declared block counts (an array declaring 2^31
// items kept avsc 5.7.9 busy past a 20 s timeout in our check) and copy every `bytes` value; this reader bounds
// every count and length by the bytes actually left, and returns bodies as views into the pack (no copy). Speed is
// on par or better (bench/avro-codec.ts). tests/avro/codec.test.ts checks both directions against avsc.

import { Buffer } from "node:buffer";
import { emptyHeaders, setHeader, type Event } from "../core/event.ts";
import { AvroProtocolError } from "./errors.ts";
import { yieldToLoop } from "../util/yield.ts";

const encoder = new TextEncoder();

/** Flume's Status enum, in declaration order (the wire value is the index). */
export const STATUS = ["OK", "FAILED", "UNKNOWN"] as const;
export type Status = (typeof STATUS)[number];

/** A bounded cursor over one decoded pack. Every read checks the bytes left and throws AvroProtocolError. */
export class Reader {
  private text?: Buffer;
  /** The last non-empty header map and where its bytes are (see stringMap). */
  private lastMap?: Record<string, string>;
  private lastMapAt = 0;
  private lastMapLen = 0;
  constructor(
    readonly buf: Uint8Array,
    public pos = 0,
    readonly end = buf.byteLength,
  ) {}

  get left(): number {
    return this.end - this.pos;
  }

  /** Zig-zag varint long, as a safe JavaScript number (anything larger is refused). */
  long(): number {
    let n = 0;
    let mult = 1;
    for (let i = 0; i < 8; i++) {
      if (this.pos >= this.end) throw new AvroProtocolError("truncated varint");
      const b = this.buf[this.pos++]!;
      n += (b & 0x7f) * mult;
      if ((b & 0x80) === 0) return n % 2 === 0 ? n / 2 : -(n + 1) / 2;
      mult *= 128;
    }
    throw new AvroProtocolError("varint longer than 2^56");
  }

  /** A length or block count, never more items than bytes left (`minBytesEach` is at least 1 byte an item). */
  private count(what: string, minBytesEach: number): number {
    const n = this.long();
    if (Math.abs(n) * Math.max(1, minBytesEach) > this.left) throw new AvroProtocolError(`${what} declares ${n} but only ${this.left} bytes follow`);
    return n;
  }

  /**
   * The item count of the next array or map block (0: the end). A negative count is followed by the block's byte
   * size, which is read and checked too. Items that encode to no bytes (null, an empty record) still count one byte
   * each here: a declared count is never trusted past the bytes present.
   */
  block(what: string, minBytesEach: number): number {
    const n = this.count(what, minBytesEach);
    if (n >= 0) return n;
    const size = this.long();
    if (size < 0 || size > this.left) throw new AvroProtocolError(`${what} declares a block of ${size} bytes but only ${this.left} bytes follow`);
    return -n;
  }

  bytes(): Uint8Array {
    const n = this.count("bytes length", 1);
    if (n < 0) throw new AvroProtocolError(`negative length ${n}`);
    const v = this.buf.subarray(this.pos, this.pos + n);
    this.pos += n;
    return v;
  }

  string(): string {
    const n = this.count("string length", 1);
    if (n < 0) throw new AvroProtocolError(`negative length ${n}`);
    const at = this.pos;
    this.pos += n;
    // Buffer's native UTF-8 slice: several times faster than TextDecoder for the short strings headers are.
    return (this.text ??= Buffer.from(this.buf.buffer, this.buf.byteOffset, this.buf.byteLength)).toString("utf8", at, at + n);
  }

  fixed(n: number): Uint8Array {
    if (n > this.left) throw new AvroProtocolError(`truncated fixed(${n})`);
    const v = this.buf.subarray(this.pos, this.pos + n);
    this.pos += n;
    return v;
  }

  boolean(): boolean {
    if (this.pos >= this.end) throw new AvroProtocolError("truncated boolean");
    const b = this.buf[this.pos++]!;
    if (b > 1) throw new AvroProtocolError(`invalid boolean byte ${b}`);
    return b === 1;
  }

  /** Union branch index in [0, branches). */
  union(branches: number): number {
    const i = this.long();
    if (i < 0 || i >= branches) throw new AvroProtocolError(`union branch ${i} out of range`);
    return i;
  }

  /**
   * A map<string> (Flume's headers); a negative block count is followed by the block's byte size (skipped). Events
   * of one batch mostly carry the same headers: when the bytes here repeat the last map's bytes, decoding them would
   * give the same map from the same bytes, so that map (frozen, shared) is returned without a string decoded.
   */
  stringMap(): Record<string, string> {
    const start = this.pos;
    const len = this.lastMapLen;
    if (len > 0 && start + len <= this.end) {
      const b = this.buf;
      const at = this.lastMapAt;
      let k = 0;
      while (k < len && b[at + k] === b[start + k]) k++;
      if (k === len) {
        this.pos = start + len;
        return this.lastMap!;
      }
    }
    let out: Record<string, string> | undefined;
    for (;;) {
      let n = this.count("map block", 2);
      if (n === 0) break;
      if (n < 0) {
        n = -n;
        this.long();
      }
      out ??= {};
      for (let i = 0; i < n; i++) {
        const k = this.string();
        // A header named "__proto__" is an ordinary header (assignment would drop it): see setHeader.
        if (k === "__proto__") setHeader(out, k, this.string());
        else out[k] = this.string();
      }
    }
    // No headers (the common case on the hot path): one shared frozen map instead of an object per event;
    // writers copy a frozen map before they change it (core/event.ts withHeader).
    if (!out) return emptyHeaders();
    this.lastMap = Object.freeze(out) as Record<string, string>;
    this.lastMapAt = start;
    this.lastMapLen = this.pos - start;
    return this.lastMap;
  }

  /** A map<bytes> (call and handshake metadata). */
  bytesMap(): Record<string, Uint8Array> {
    // No prototype: a key such as "__proto__" or "constructor" is an ordinary entry, never an inherited one.
    const out: Record<string, Uint8Array> = Object.create(null);
    for (;;) {
      const n = this.block("map block", 2);
      if (n === 0) return out;
      for (let i = 0; i < n; i++) {
        const k = this.string();
        out[k] = this.bytes();
      }
    }
  }

  event(): Event {
    const headers = this.stringMap();
    return { headers, body: this.bytes() };
  }

  /**
   * events() without holding the event loop: a large call (maxFrameBytes allows 32 MiB) is read in slices of at most
   * `sliceMs`, yielding between them. The same bounds, the same errors.
   */
  async eventsSliced(sliceMs = 20): Promise<Event[]> {
    const out: Event[] = [];
    let until = performance.now() + sliceMs;
    for (;;) {
      const n = this.block("array block", 2);
      if (n === 0) return out;
      for (let i = 0; i < n; i++) {
        // The clock is read every 512 events only: it costs more than a small event.
        if ((out.length & 511) === 511 && performance.now() > until) {
          await yieldToLoop();
          until = performance.now() + sliceMs;
        }
        out.push(this.event());
      }
    }
  }

  /** array<AvroFlumeEvent>; every event needs at least 2 bytes, so a block count is bounded by the bytes left. */
  events(): Event[] {
    const out: Event[] = [];
    for (;;) {
      const n = this.block("array block", 2);
      if (n === 0) return out;
      for (let i = 0; i < n; i++) out.push(this.event());
    }
  }

  status(): Status {
    const i = this.long();
    const s = STATUS[i];
    if (s === undefined) throw new AvroProtocolError(`unknown Status index ${i}`);
    return s;
  }
}

/** A growable byte writer for small records (requests' heads, replies). */
export class Writer {
  buf: Uint8Array;
  pos = 0;
  constructor(size = 64) {
    this.buf = new Uint8Array(size);
  }
  private room(n: number): void {
    if (this.pos + n <= this.buf.byteLength) return;
    const next = new Uint8Array(Math.max(this.buf.byteLength * 2, this.pos + n));
    next.set(this.buf.subarray(0, this.pos));
    this.buf = next;
  }
  long(v: number): this {
    this.room(10);
    this.pos = writeLong(this.buf, this.pos, v);
    return this;
  }
  raw(b: Uint8Array): this {
    this.room(b.byteLength);
    this.buf.set(b, this.pos);
    this.pos += b.byteLength;
    return this;
  }
  bytes(b: Uint8Array): this {
    return this.long(b.byteLength).raw(b);
  }
  string(s: string): this {
    return this.bytes(encoder.encode(s));
  }
  byte(b: number): this {
    this.room(1);
    this.buf[this.pos++] = b;
    return this;
  }
  done(): Uint8Array {
    return this.buf.subarray(0, this.pos);
  }
}

/** Writes a zig-zag varint at `at`; returns the position after it. Safe for |v| < 2^52. */
export function writeLong(buf: Uint8Array, at: number, v: number): number {
  let n = v >= 0 ? v * 2 : -v * 2 - 1;
  while (n >= 0x80) {
    buf[at++] = (n % 0x80) | 0x80;
    n = Math.floor(n / 0x80);
  }
  buf[at++] = n;
  return at;
}

export function longSize(v: number): number {
  let n = v >= 0 ? v * 2 : -v * 2 - 1;
  let s = 1;
  while (n >= 0x80) {
    n = Math.floor(n / 0x80);
    s++;
  }
  return s;
}

/** Header keys and values repeat across events (host, topic…): their UTF-8 bytes are cached, up to a bound. */
const utf8Cache = new Map<string, Uint8Array>();
const UTF8_CACHE_ENTRIES = 4096;
const UTF8_CACHE_MAX_CHARS = 256;

function utf8(s: string): Uint8Array {
  let b = utf8Cache.get(s);
  if (b) return b;
  b = encoder.encode(s);
  if (s.length <= UTF8_CACHE_MAX_CHARS) {
    if (utf8Cache.size >= UTF8_CACHE_ENTRIES) utf8Cache.clear();
    utf8Cache.set(s, b);
  }
  return b;
}

/** Where encoders write: a flat buffer (ByteWriter) or a pack's length-prefixed pieces (framing.ts PieceWriter). */
export interface ByteSink {
  raw(b: Uint8Array): void;
  byte(b: number): void;
  long(v: number): void;
}

/** Writes into a buffer sized beforehand. */
export class ByteWriter implements ByteSink {
  constructor(
    readonly out: Uint8Array,
    public at = 0,
  ) {}
  raw(b: Uint8Array): void {
    this.out.set(b, this.at);
    this.at += b.byteLength;
  }
  byte(b: number): void {
    this.out[this.at++] = b;
  }
  long(v: number): void {
    this.at = writeLong(this.out, this.at, v);
  }
}

/**
 * A batch as AvroFlumeEvent records, sized before any byte is written, so the caller allocates its whole message
 * (pack, container) once and the records go straight into it. Header strings are encoded once each.
 */
export class EventRecords {
  /** Bytes of the records alone (an object container block's data). */
  readonly recordsSize: number;
  /** Bytes of array<AvroFlumeEvent> as one block (what Java writes): count, records, end. */
  readonly size: number;
  private readonly headerBytes: Uint8Array[] = [];

  constructor(readonly events: readonly Event[]) {
    let size = 0;
    for (let i = 0; i < events.length; i++) {
      const e = events[i]!;
      let hcount = 0;
      for (const k in e.headers) {
        const kb = utf8(k);
        const vb = utf8(e.headers[k]!);
        this.headerBytes.push(kb, vb);
        size += longSize(kb.byteLength) + kb.byteLength + longSize(vb.byteLength) + vb.byteLength;
        hcount++;
      }
      size += (hcount > 0 ? longSize(hcount) + 1 : 1) + longSize(e.body.byteLength) + e.body.byteLength;
    }
    this.recordsSize = size;
    this.size = (events.length > 0 ? longSize(events.length) : 0) + size + 1;
  }

  writeRecords(w: ByteSink): void {
    const events = this.events;
    let h = 0;
    for (let i = 0; i < events.length; i++) {
      const e = events[i]!;
      let hcount = 0;
      for (const _ in e.headers) hcount++;
      if (hcount > 0) {
        w.long(hcount);
        for (let j = 0; j < hcount * 2; j++) {
          const b = this.headerBytes[h++]!;
          w.long(b.byteLength);
          w.raw(b);
        }
      }
      w.byte(0);
      w.long(e.body.byteLength);
      w.raw(e.body);
    }
  }

  /** array<AvroFlumeEvent>: `size` bytes. */
  writeTo(w: ByteSink): void {
    if (this.events.length > 0) {
      w.long(this.events.length);
      this.writeRecords(w);
    }
    w.byte(0);
  }
}

/** Encodes array<AvroFlumeEvent> as one block into a buffer of its own. */
export function encodeEvents(events: readonly Event[]): Uint8Array {
  const records = new EventRecords(events);
  const w = new ByteWriter(new Uint8Array(records.size));
  records.writeTo(w);
  return w.out;
}

/** One AvroFlumeEvent (the `append` message's parameter). */
export function encodeEvent(e: Event): Uint8Array {
  // The array encoding of one event is count(1) + event + end: strip the first and last byte.
  const a = encodeEvents([e]);
  return a.subarray(1, a.byteLength - 1);
}
