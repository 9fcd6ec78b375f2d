// The json and ndjson request bodies of the http sink, written straight from the event bytes into one buffer: the
// same bytes as TextEncoder(JSON.stringify([{headers, body: <body as UTF-8 text>}])) (or one object per line), without
// a string per event. Bodies are scanned once; runs that need no escaping (most log lines are one run) are copied
// whole; `"` `\` and control characters are escaped as JSON.stringify does (\b \t \n \f \r, else \u00xx); valid
// UTF-8 is copied as it is (U+2028/2029 included, which JSON.stringify leaves alone); each maximal invalid subpart
// becomes U+FFFD, as the runtime's UTF-8 decoder does. A header map is encoded once per distinct map (tests/sinks/
// json-body.test.ts checks all of it against the string encoder).

import { Buffer } from "node:buffer";
import type { Event } from "../../core/event.ts";

const encoder = new TextEncoder();

/** 1: the byte goes out as it is. 0: printable ASCII that must be escaped, control characters, and non-ASCII. */
const PLAIN = new Uint8Array(256);
for (let b = 0x20; b < 0x80; b++) PLAIN[b] = 1;
PLAIN[0x22] = 0;
PLAIN[0x5c] = 0;

const HEX = encoder.encode("0123456789abcdef");
const SHORT: Record<number, number> = { 0x08: 0x62, 0x09: 0x74, 0x0a: 0x6e, 0x0c: 0x66, 0x0d: 0x72, 0x22: 0x22, 0x5c: 0x5c };
const SHORT_ESCAPE = new Uint8Array(256);
for (const [b, c] of Object.entries(SHORT)) SHORT_ESCAPE[Number(b)] = c;

/** Copies up to this many bytes with a loop instead of set(). */
const SMALL_COPY = 48;
const EMPTY_HEAD = encoder.encode('{"headers":{},"body":"');
const TAIL = encoder.encode('"}');
const LINE_TAIL = encoder.encode('"}\n');

/** `{"headers":<map>,"body":"` of frozen (shared) header maps, kept as long as the map lives. */
const frozenHeads = new WeakMap<object, Uint8Array>();

function headOf(headers: Record<string, string>): Uint8Array {
  // for-in instead of Object.keys: no array for the common empty map.
  let empty = true;
  for (const _ in headers) {
    empty = false;
    break;
  }
  if (empty) return EMPTY_HEAD;
  const frozen = Object.isFrozen(headers);
  if (frozen) {
    const hit = frozenHeads.get(headers);
    if (hit) return hit;
  }
  const head = encoder.encode(`{"headers":${JSON.stringify(headers)},"body":"`);
  if (frozen) frozenHeads.set(headers, head);
  return head;
}

/** The head of an event whose map is not the previous event's map object: the previous head when the content is
 * the same (no allocation for the common empty map: sources that decode headers make one per event). */
function nextHead(h: Record<string, string>, last: Record<string, string> | undefined, lastHead: Uint8Array): Uint8Array {
  let empty = true;
  for (const _ in h) {
    empty = false;
    break;
  }
  if (empty) return EMPTY_HEAD;
  if (last && lastHead !== EMPTY_HEAD && sameMap(h, last)) return lastHead;
  return headOf(h);
}

/** Same keys in the same order (JSON.stringify's order) with the same values: the same JSON text. */
function sameMap(a: Record<string, string>, b: Record<string, string>): boolean {
  const ka = Object.keys(a);
  const kb = Object.keys(b);
  if (ka.length !== kb.length) return false;
  for (let i = 0; i < ka.length; i++) {
    const k = ka[i]!;
    if (k !== kb[i] || a[k] !== b[k]) return false;
  }
  return true;
}

/** Request buffers kept by one sink for its next requests: a take's body is written into one it no longer sends. */
export class BufferPool {
  private readonly free: Uint8Array[] = [];
  /** Buffers this pool allocated (give() takes back only those). */
  private readonly mine = new WeakSet<ArrayBufferLike>();

  constructor(
    private readonly keep: number,
    private readonly maxBytes = MAX_POOLED_BYTES,
  ) {}

  take(size: number): Uint8Array {
    for (let i = this.free.length - 1; i >= 0; i--) {
      const b = this.free[i]!;
      if (b.byteLength >= size) {
        this.free.splice(i, 1);
        return b;
      }
    }
    // Its own ArrayBuffer (never a slice of the runtime's shared pool), not zeroed; a little headroom so a take
    // slightly larger than the last reuses it.
    const b = Buffer.allocUnsafeSlow(size + (size >> 3));
    this.mine.add(b.buffer);
    return b;
  }

  /** Takes back the buffer behind `view` (a body encoded into it) once nothing reads the body any more. */
  give(view: Uint8Array): void {
    const ab = view.buffer;
    if (!this.mine.has(ab) || ab.byteLength > this.maxBytes || this.free.length >= this.keep) return;
    if (!this.free.some((b) => b.buffer === ab)) this.free.push(new Uint8Array(ab));
  }
}

/** Buffers larger than this are left to the collector rather than kept (a rare huge take). */
const MAX_POOLED_BYTES = 16 * 1024 * 1024;

/** A request body being written: one buffer, grown (rarely: it starts at the unescaped size) when escapes need room. */
class BodyWriter {
  buf: Uint8Array;
  pos = 0;
  /** A DataView of the bodies' buffer (bodies of one take are mostly views into a few read buffers). */
  private viewOf?: ArrayBufferLike;
  private view?: DataView;
  /** A DataView of `buf` (made again when buf is replaced). */
  private ownViewOf?: Uint8Array;
  private ownView?: DataView;
  constructor(
    size: number,
    private readonly pool?: BufferPool,
  ) {
    // Not zeroed: every byte up to pos is written before it is read (zeroing a 1 MiB request cost 2-3 % of the sink).
    this.buf = pool ? pool.take(size) : Buffer.allocUnsafe(size);
  }

  room(n: number): void {
    if (this.pos + n <= this.buf.byteLength) return;
    const size = Math.max(this.buf.byteLength * 2, this.pos + n + 1024);
    const next = this.pool ? this.pool.take(size) : Buffer.allocUnsafe(size);
    next.set(this.buf.subarray(0, this.pos));
    this.pool?.give(this.buf);
    this.buf = next;
  }

  raw(b: Uint8Array): void {
    const n = b.byteLength;
    this.room(n);
    // set() has a fixed cost that a loop beats for the few bytes of heads and tails (measured).
    if (n <= SMALL_COPY) {
      const buf = this.buf;
      let p = this.pos;
      for (let i = 0; i < n; i++) buf[p++] = b[i]!;
    } else this.buf.set(b, this.pos);
    this.pos += n;
  }

  byte(b: number): void {
    this.room(1);
    this.buf[this.pos++] = b;
  }

  /**
   * `src` as the inside of a JSON string. Most bodies need no escape: the body is copied whole, then the copy is
   * checked four bytes at a time (a DataView of our own buffer: no per-body view of the body's buffer); only a body
   * with something to escape or to check as UTF-8 takes escapedFrom() from its first such byte.
   */
  escaped(src: Uint8Array): void {
    const n = src.byteLength;
    this.room(n);
    const buf = this.buf;
    const start = this.pos;
    if (n <= SMALL_COPY) {
      for (let k = 0; k < n; k++) buf[start + k] = src[k]!;
    } else buf.set(src, start);
    if (this.ownViewOf !== buf) {
      this.ownViewOf = buf;
      this.ownView = new DataView(buf.buffer, buf.byteOffset, buf.byteLength);
    }
    const view = this.ownView!;
    const end = start + n;
    let i = start;
    while (i + 4 <= end) {
      const w = view.getInt32(i, true);
      const q = w ^ 0x22222222;
      const s = w ^ 0x5c5c5c5c;
      if (((w | ((w - 0x20202020) & ~w) | ((q - 0x01010101) & ~q) | ((s - 0x01010101) & ~s)) & 0x80808080) !== 0) break;
      i += 4;
    }
    while (i < end && PLAIN[buf[i]!] === 1) i++;
    this.pos = i;
    if (i < end) this.escapedFrom(src, i - start);
  }

  /** The rest of `src` from `from` (the bytes before it are written) as the inside of a JSON string. */
  private escapedFrom(src: Uint8Array, from: number): void {
    const end = src.byteLength;
    let run = from;
    let i = from;
    if (src.buffer !== this.viewOf) {
      this.viewOf = src.buffer;
      this.view = new DataView(src.buffer);
    }
    const view = this.view!;
    const base = src.byteOffset;
    while (i < end) {
      // Four bytes at a time while all are plain: no byte ≥ 0x80 or < 0x20, none is `"` or `\` (SWAR zero-byte
      // tests; 2-3× faster than a byte loop here).
      while (i + 4 <= end) {
        const w = view.getInt32(base + i, true);
        const q = w ^ 0x22222222;
        const s = w ^ 0x5c5c5c5c;
        if (((w | ((w - 0x20202020) & ~w) | ((q - 0x01010101) & ~q) | ((s - 0x01010101) & ~s)) & 0x80808080) !== 0) break;
        i += 4;
      }
      if (i >= end) break;
      const b = src[i]!;
      if (PLAIN[b] === 1) {
        i++;
        continue;
      }
      if (b >= 0x80) {
        const n = validSequence(src, i, end);
        if (n > 0) {
          i += n;
          continue;
        }
      }
      if (i > run) this.raw(src.subarray(run, i));
      if (b >= 0x80) {
        // U+FFFD for the maximal invalid subpart: the lead byte and the continuation bytes that were still valid.
        this.room(3);
        this.buf[this.pos++] = 0xef;
        this.buf[this.pos++] = 0xbf;
        this.buf[this.pos++] = 0xbd;
        i += invalidLength(src, i, end);
      } else {
        this.room(6);
        const short = SHORT_ESCAPE[b]!;
        this.buf[this.pos++] = 0x5c;
        if (short !== 0) this.buf[this.pos++] = short;
        else {
          this.buf[this.pos++] = 0x75;
          this.buf[this.pos++] = 0x30;
          this.buf[this.pos++] = 0x30;
          this.buf[this.pos++] = HEX[b >> 4]!;
          this.buf[this.pos++] = HEX[b & 15]!;
        }
        i++;
      }
      run = i;
    }
    if (end > run) this.raw(src.subarray(run, end));
  }

  done(): Uint8Array {
    return this.buf.subarray(0, this.pos);
  }
}

/** The second byte's range after a lead byte (WHATWG's UTF-8 decoder); the rest are always 80..BF. */
function secondOk(lead: number, b: number): boolean {
  if (lead === 0xe0) return b >= 0xa0 && b <= 0xbf;
  if (lead === 0xed) return b >= 0x80 && b <= 0x9f;
  if (lead === 0xf0) return b >= 0x90 && b <= 0xbf;
  if (lead === 0xf4) return b >= 0x80 && b <= 0x8f;
  return b >= 0x80 && b <= 0xbf;
}

/** Bytes a lead byte asks for in all (0: not a lead byte). */
function sequenceLength(lead: number): number {
  if (lead >= 0xc2 && lead <= 0xdf) return 2;
  if (lead >= 0xe0 && lead <= 0xef) return 3;
  if (lead >= 0xf0 && lead <= 0xf4) return 4;
  return 0;
}

/** Length of the valid UTF-8 sequence at `i` (a byte ≥ 0x80), or 0 when it is not one. */
function validSequence(src: Uint8Array, i: number, end: number): number {
  const lead = src[i]!;
  const n = sequenceLength(lead);
  if (n === 0 || i + n > end || !secondOk(lead, src[i + 1]!)) return 0;
  for (let k = 2; k < n; k++) {
    const c = src[i + k]!;
    if (c < 0x80 || c > 0xbf) return 0;
  }
  return n;
}

/** Bytes one U+FFFD stands for at `i`: the lead byte and the valid continuations after it (at least 1). */
function invalidLength(src: Uint8Array, i: number, end: number): number {
  const lead = src[i]!;
  const n = sequenceLength(lead);
  if (n === 0 || i + 1 >= end || !secondOk(lead, src[i + 1]!)) return 1;
  let k = 2;
  while (k < n && i + k < end) {
    const c = src[i + k]!;
    if (c < 0x80 || c > 0xbf) break;
    k++;
  }
  return k;
}

function sizeHint(events: readonly Event[]): number {
  let n = 16;
  for (let i = 0; i < events.length; i++) n += events[i]!.body.byteLength + 32;
  return n;
}

/** `[{"headers":{…},"body":"…"},…]` */
export function encodeJson(events: readonly Event[], pool?: BufferPool): Uint8Array {
  const w = new BodyWriter(sizeHint(events), pool);
  w.byte(0x5b);
  let lastMap: Record<string, string> | undefined;
  let lastHead: Uint8Array = EMPTY_HEAD;
  for (let i = 0; i < events.length; i++) {
    const e = events[i]!;
    if (i > 0) w.byte(0x2c);
    // Within one take a map cannot change, so consecutive events sharing one are encoded once even when not frozen;
    // so are consecutive copies with the same content (interceptors copy a map per event).
    if (e.headers !== lastMap) {
      lastHead = nextHead(e.headers, lastMap, lastHead);
      lastMap = e.headers;
    }
    w.raw(lastHead);
    w.escaped(e.body);
    w.raw(TAIL);
  }
  w.byte(0x5d);
  return w.done();
}

/** One `{"headers":{…},"body":"…"}` per line, each line ending in \n. */
export function encodeNdjson(events: readonly Event[], pool?: BufferPool): Uint8Array {
  if (events.length === 0) return new Uint8Array([0x0a]);
  const w = new BodyWriter(sizeHint(events), pool);
  let lastMap: Record<string, string> | undefined;
  let lastHead: Uint8Array = EMPTY_HEAD;
  for (let i = 0; i < events.length; i++) {
    const e = events[i]!;
    if (e.headers !== lastMap) {
      lastHead = nextHead(e.headers, lastMap, lastHead);
      lastMap = e.headers;
    }
    w.raw(lastHead);
    w.escaped(e.body);
    w.raw(LINE_TAIL);
  }
  return w.done();
}
