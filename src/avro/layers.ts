// How TLS and Flume's deflate stream stack on one connection, and the byte stream that lets TLS run *inside* the
// deflate stream.
//
// Flume 1.9 and older (Netty 3): TLS is the outer layer and the zlib stream runs inside it ("inside-tls").
// Flume 1.10 and later (Netty 4, FLUME-3363): AvroSource and NettyAvroRpcClient add the zlib codec with addFirst and
// the SslHandler with addLast, so the raw connection is one zlib stream per direction and the TLS records travel
// inside it ("outside-tls"). The avro sink picks one with `compression-layer`; the avro source tells them apart per
// connection from the first bytes a client sends (a TLS record starts 0x16 0x03, a zlib stream 0x78).

import { Buffer } from "node:buffer";
import type net from "node:net";
import { Duplex } from "node:stream";
import zlib from "node:zlib";
import { AvroProtocolError } from "./errors.ts";

/** Where the deflate stream sits relative to TLS when both are on. */
export const COMPRESSION_LAYERS = ["outside-tls", "inside-tls"] as const;
export type CompressionLayer = (typeof COMPRESSION_LAYERS)[number];

/**
 * The connection's inner byte stream when the zlib stream is the outer layer: reads are the inflated socket bytes,
 * writes are deflated and flushed (Z_SYNC_FLUSH) one by one, as Netty's JZlibEncoder does for each TLS record.
 * `head` is bytes already read from the socket (the source's sniffing). Without `level` it is a plain pass-through
 * that replays `head` (the source's TLS-outside case, where sniffing consumed the first bytes).
 */
export class LayerStream extends Duplex {
  private readonly deflate?: zlib.Deflate;
  private readonly inflate?: zlib.Inflate;
  private rawEnded = false;

  constructor(
    private readonly raw: net.Socket,
    level: number | undefined,
    head?: Uint8Array,
  ) {
    super();
    if (level !== undefined) {
      const deflate = (this.deflate = zlib.createDeflate({ level }));
      const inflate = (this.inflate = zlib.createInflate());
      deflate.on("data", (c: Uint8Array) => raw.write(c));
      deflate.on("error", (e) => this.destroy(e));
      inflate.on("data", (c: Uint8Array) => {
        if (!this.push(c)) inflate.pause();
      });
      inflate.on("drain", () => raw.resume());
      inflate.on("error", (e) => {
        // A peer that closes without finishing its zlib stream (no Z_FINISH) has still sent every flushed byte.
        if (this.rawEnded) this.push(null);
        else this.destroy(new AvroProtocolError(`bad deflate stream: ${e.message}`));
      });
      inflate.on("end", () => this.push(null));
    }
    raw.on("data", (c: Uint8Array) => this.fromSocket(c));
    raw.on("end", () => {
      this.rawEnded = true;
      if (this.inflate) this.inflate.end();
      else this.push(null);
    });
    raw.on("error", (e) => this.destroy(e));
    raw.on("close", () => this.destroy());
    if (head && head.byteLength > 0) this.fromSocket(head);
    // Sniffing paused the socket; with zlib, only the inflater's backpressure pauses it from here on.
    if (this.inflate) raw.resume();
  }

  private fromSocket(c: Uint8Array): void {
    if (this.destroyed) return;
    if (this.inflate) {
      if (!this.inflate.write(c)) this.raw.pause();
    } else if (!this.push(c)) {
      this.raw.pause();
    }
  }

  override _read(): void {
    if (this.inflate) this.inflate.resume();
    else this.raw.resume();
  }

  override _write(chunk: Uint8Array, _enc: BufferEncoding, cb: (err?: Error | null) => void): void {
    const d = this.deflate;
    if (!d) {
      this.raw.write(chunk, cb);
      return;
    }
    d.write(chunk);
    d.flush(zlib.constants.Z_SYNC_FLUSH, () => cb());
  }

  override _final(cb: (err?: Error | null) => void): void {
    const d = this.deflate;
    if (!d) {
      this.raw.end();
      cb();
      return;
    }
    // Z_FINISH ends our zlib stream, as Java's encoder does on close; then the TCP side.
    d.once("end", () => {
      this.raw.end();
      cb();
    });
    d.end();
  }

  override _destroy(err: Error | null, cb: (err?: Error | null) => void): void {
    this.deflate?.close();
    this.inflate?.close();
    // TLS over a JS stream closes when we do but may not pass the reason on: the TCP socket carries it to its
    // listeners (the connection's error handler, the handshake's).
    this.raw.destroy(err ?? undefined);
    cb(err);
  }
}

export type FirstBytes = "tls" | "zlib" | "other";

/** What a connection's first bytes are: a TLS handshake record (0x16 0x03), a zlib header (RFC 1950), or neither. */
export function classifyFirstBytes(head: Uint8Array): FirstBytes {
  if (head[0] === 0x16 && head[1] === 0x03) return "tls";
  // A zlib header: CM = 8 (deflate), a window of at most 32 KiB, and the check bits (CMF*256 + FLG) % 31 == 0.
  if (head[0] === 0x78 && head.byteLength >= 2 && ((head[0] << 8) | head[1]!) % 31 === 0) return "zlib";
  return "other";
}

/**
 * Reads a connection's first two bytes (or more: whatever its first chunks hold) and pauses it. Resolves undefined
 * when the peer closes or sends nothing within `timeoutMs`. The bytes read are the caller's to replay.
 */
export function sniff(raw: net.Socket, timeoutMs: number): Promise<Uint8Array | undefined> {
  return new Promise((resolve) => {
    const chunks: Uint8Array[] = [];
    let size = 0;
    const done = (head: Uint8Array | undefined) => {
      clearTimeout(timer);
      raw.off("data", onData);
      raw.off("close", onClose);
      raw.pause();
      resolve(head);
    };
    const onData = (c: Uint8Array) => {
      chunks.push(c);
      size += c.byteLength;
      if (size >= 2) done(chunks.length === 1 ? chunks[0]! : Buffer.concat(chunks));
    };
    const onClose = () => done(undefined);
    const timer = setTimeout(() => done(undefined), timeoutMs);
    raw.on("data", onData);
    raw.once("close", onClose);
  });
}

/** The first bytes as hex, for messages ("0x47 0x45" is someone speaking HTTP). */
export function hexHead(head: Uint8Array): string {
  return [...head.subarray(0, 4)].map((b) => `0x${b.toString(16).padStart(2, "0")}`).join(" ");
}

/** Why a connection to a source with ssl and deflate fits neither layering. */
export function describeMismatch(head: Uint8Array): string {
  return `first bytes ${hexHead(head)} are neither a TLS handshake (Flume 1.9's layering) nor a zlib stream (Flume 1.10+'s); ` +
    "this source has ssl = true and compression-type = deflate";
}
