// Avro's Netty framing (NettyTransportCodec's NettyDataPack), with every declared size checked before any byte is
// kept: avsc's own decoder trusts these headers (a length of -2^31 spun it, huge lengths exhausted memory).
//
//   pack   = int32 serial, int32 count (>= 1), count x { int32 length (>= 0), length bytes }     (big-endian)
//
// The buffers mean nothing on their own: the receiver concatenates them into one Avro stream (the pack payload).
// Limits (FrameLimits): buffer count, each buffer's length, and the pack's total including its headers.

import { Buffer } from "node:buffer";
import type { ByteSink } from "./codec.ts";
import { SluiceError } from "../core/errors.ts";
import { AvroProtocolError } from "./errors.ts";

export interface FrameLimits {
  /** Largest pack, headers included, in bytes. */
  maxPackBytes: number;
  /** Most buffers one pack may declare. */
  maxBuffers: number;
}

/** Java splits parameters into buffers of this size (ByteBufferOutputStream.BUFFER_SIZE); so do we. */
export const JAVA_BUFFER_BYTES = 8192;
/** A 64 MiB pack in Java's 8 KiB buffers is 8192 of them; allow for senders that split finer. */
export const DEFAULT_MAX_BUFFERS = 65_536;

export interface Pack {
  serial: number;
  /** The buffers concatenated (a view of a received chunk when the pack had one buffer that arrived whole). */
  payload: Uint8Array;
}

/**
 * Incremental pack decoder: push() received bytes (any split), get complete packs. Bytes held between calls are at
 * most one incomplete pack, which the limits bound. A violation throws AvroProtocolError; the decoder is then dead.
 */
export class FrameDecoder {
  private chunks: Uint8Array[] = [];
  private headAt = 0;
  private available = 0;
  // Current pack state.
  private serial = 0;
  private buffersLeft = -1;
  private bufferLen = -1;
  private packBytes = 0;
  private parts: Uint8Array[] = [];

  constructor(private readonly limits: FrameLimits) {}

  /** True while part of a pack has arrived and the rest has not. */
  get midPack(): boolean {
    return this.available > 0 || this.buffersLeft >= 0;
  }

  push(chunk: Uint8Array): Pack[] {
    if (chunk.byteLength > 0) {
      this.chunks.push(chunk);
      this.available += chunk.byteLength;
    }
    const out: Pack[] = [];
    for (;;) {
      if (this.buffersLeft < 0) {
        if (this.available < 8) break;
        this.serial = this.int32();
        const count = this.int32();
        if (count < 1) throw new AvroProtocolError(`pack ${this.serial} declares ${count} buffers (at least 1 required)`);
        if (count > this.limits.maxBuffers) throw new AvroProtocolError(`pack ${this.serial} declares ${count} buffers (limit ${this.limits.maxBuffers})`);
        this.buffersLeft = count;
        this.packBytes = 8;
        this.parts = [];
      }
      if (this.bufferLen < 0) {
        if (this.available < 4) break;
        const len = this.int32();
        if (len < 0) throw new AvroProtocolError(`pack ${this.serial} declares a buffer of negative length ${len}`);
        this.packBytes += 4 + len;
        if (this.packBytes > this.limits.maxPackBytes) {
          throw new AvroProtocolError(`pack ${this.serial} exceeds maxFrameBytes (${this.limits.maxPackBytes}): a buffer of ${len} bytes declared`);
        }
        this.bufferLen = len;
      }
      if (this.available < this.bufferLen) break;
      if (this.bufferLen > 0) this.parts.push(this.take(this.bufferLen));
      this.bufferLen = -1;
      if (--this.buffersLeft === 0) {
        this.buffersLeft = -1;
        out.push({ serial: this.serial, payload: concat(this.parts) });
        this.parts = [];
      }
    }
    return out;
  }

  private int32(): number {
    const c = this.chunks[0]!;
    let v: number;
    if (c.byteLength - this.headAt >= 4) {
      const at = this.headAt;
      v = ((c[at]! << 24) | (c[at + 1]! << 16) | (c[at + 2]! << 8) | c[at + 3]!) | 0;
      this.advance(4);
    } else {
      const b = this.take(4);
      v = ((b[0]! << 24) | (b[1]! << 16) | (b[2]! << 8) | b[3]!) | 0;
    }
    return v;
  }

  /** n bytes from the front: a view when they sit in one chunk, else a copy. */
  private take(n: number): Uint8Array {
    const c = this.chunks[0]!;
    if (c.byteLength - this.headAt >= n) {
      const v = c.subarray(this.headAt, this.headAt + n);
      this.advance(n);
      return v;
    }
    const out = new Uint8Array(n);
    let at = 0;
    while (at < n) {
      const h = this.chunks[0]!;
      const k = Math.min(n - at, h.byteLength - this.headAt);
      out.set(h.subarray(this.headAt, this.headAt + k), at);
      at += k;
      this.advance(k);
    }
    return out;
  }

  private advance(n: number): void {
    this.available -= n;
    this.headAt += n;
    if (this.headAt === this.chunks[0]!.byteLength) {
      this.chunks.shift();
      this.headAt = 0;
    }
  }
}

function concat(parts: Uint8Array[]): Uint8Array {
  if (parts.length === 1) return parts[0]!;
  let n = 0;
  for (const p of parts) n += p.byteLength;
  const out = new Uint8Array(n);
  let at = 0;
  for (const p of parts) {
    out.set(p, at);
    at += p.byteLength;
  }
  return out;
}

/**
 * Encodes one pack: `head` as the first buffer (may be empty: Java's reply after the handshake), then each of
 * `rest`, the last of which is cut into Java's 8 KiB buffers when `splitLast` (requests' parameters).
 */
export function encodePack(serial: number, buffers: readonly Uint8Array[], splitLast = false): Uint8Array {
  let total = 8;
  let count = 0;
  for (let i = 0; i < buffers.length; i++) {
    const b = buffers[i]!;
    const pieces = splitLast && i === buffers.length - 1 ? Math.max(1, Math.ceil(b.byteLength / JAVA_BUFFER_BYTES)) : 1;
    count += pieces;
    total += pieces * 4 + b.byteLength;
  }
  const out = new Uint8Array(total);
  const view = new DataView(out.buffer);
  view.setInt32(0, serial);
  view.setInt32(4, count);
  let at = 8;
  for (let i = 0; i < buffers.length; i++) {
    const b = buffers[i]!;
    const size = splitLast && i === buffers.length - 1 ? JAVA_BUFFER_BYTES : Math.max(1, b.byteLength);
    let off = 0;
    do {
      const k = Math.min(size, b.byteLength - off);
      view.setInt32(at, k);
      out.set(b.subarray(off, off + k), at + 4);
      at += 4 + k;
      off += k;
    } while (off < b.byteLength);
  }
  return out;
}

/** What a request pack carries after its head: a size known beforehand and a way to write that many bytes. */
export interface PackParams {
  readonly size: number;
  writeTo(w: ByteSink): void;
}

/**
 * Encodes a request pack: `head` as the first buffer, then `params` in Java's 8 KiB buffers, written straight into
 * the pack (the parameters are never encoded into a buffer of their own first); into `spare` when it is big enough.
 */
export function encodeRequestPack(serial: number, head: Uint8Array, params: PackParams, spare?: Buffer): Buffer {
  const pieces = Math.max(1, Math.ceil(params.size / JAVA_BUFFER_BYTES));
  const size = 8 + 4 + head.byteLength + pieces * 4 + params.size;
  // Not zeroed: every byte is written (PieceWriter.complete checks it). Its own ArrayBuffer, so the caller may keep
  // it whole as the next call's `spare`.
  const out = spare && spare.byteLength >= size ? spare.subarray(0, size) : Buffer.allocUnsafeSlow(size);
  out.writeInt32BE(serial, 0);
  out.writeInt32BE(1 + pieces, 4);
  out.writeInt32BE(head.byteLength, 8);
  out.set(head, 12);
  const w = new PieceWriter(out, 12 + head.byteLength, params.size);
  params.writeTo(w);
  if (!w.complete) throw new SluiceError("INTERNAL", `pack ${serial}: the parameters wrote a different size than declared (a bug)`, false);
  return out;
}

/** Writes `total` bytes into `out` from `at` as pieces of at most JAVA_BUFFER_BYTES, each after its int32 length. */
class PieceWriter implements ByteSink {
  private left = 0;
  private remaining: number;
  constructor(
    private readonly out: Uint8Array,
    private at: number,
    total: number,
  ) {
    this.remaining = total;
    if (total === 0) this.open();
  }

  get complete(): boolean {
    return this.remaining === 0 && this.left === 0 && this.at === this.out.byteLength;
  }

  private open(): void {
    const k = Math.min(JAVA_BUFFER_BYTES, this.remaining);
    const o = this.out;
    const at = this.at;
    o[at] = k >>> 24;
    o[at + 1] = (k >>> 16) & 0xff;
    o[at + 2] = (k >>> 8) & 0xff;
    o[at + 3] = k & 0xff;
    this.at = at + 4;
    this.left = k;
  }

  raw(b: Uint8Array): void {
    const n = b.byteLength;
    if (n <= this.left) {
      this.out.set(b, this.at);
      this.at += n;
      this.left -= n;
      this.remaining -= n;
      return;
    }
    let off = 0;
    while (off < n) {
      if (this.left === 0) this.open();
      const k = Math.min(this.left, n - off);
      this.out.set(b.subarray(off, off + k), this.at);
      this.at += k;
      off += k;
      this.left -= k;
      this.remaining -= k;
    }
  }

  byte(b: number): void {
    if (this.left === 0) this.open();
    this.out[this.at++] = b;
    this.left--;
    this.remaining--;
  }

  long(v: number): void {
    let n = v >= 0 ? v * 2 : -v * 2 - 1;
    while (n >= 0x80) {
      this.byte((n % 0x80) | 0x80);
      n = Math.floor(n / 0x80);
    }
    this.byte(n);
  }
}
