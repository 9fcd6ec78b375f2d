// One Avro RPC connection's byte pipe: a TCP or TLS socket, optionally Flume's deflate stream, and the pack framer.
// Used by both the client (sink) and the server (source).
//
// compression-type = deflate (Flume's JZlibEncoder/JZlibDecoder): each direction of the connection is ONE zlib
// stream (RFC 1950), and every pack is followed by Z_SYNC_FLUSH so the peer can decode it at once. Inflated bytes go
// through the same FrameDecoder, so the per-pack caps bound a "zip bomb" too. `deflateLevel` here is compression
// inside TLS (Flume 1.9's order) or without TLS; Flume 1.10+'s order (TLS inside the zlib stream) is built below
// this class, by layers.ts, and this class then sees plain packs.

import type { Socket } from "node:net";
import type { Duplex } from "node:stream";
import zlib from "node:zlib";
import { FrameDecoder, type FrameLimits, type Pack } from "./framing.ts";
import { AvroProtocolError } from "./errors.ts";

export interface PackConnectionOptions {
  limits: FrameLimits;
  /** zlib level for Flume's deflate stream, or undefined for none. */
  deflateLevel?: number;
  onPacks(packs: Pack[]): void;
  /** A protocol or stream error; the connection is already being destroyed. */
  onError(err: Error): void;
  onClose(): void;
}

export class PackConnection {
  private readonly decoder: FrameDecoder;
  private readonly deflate?: zlib.Deflate;
  private readonly inflate?: zlib.Inflate;
  private closed = false;
  /** When the last complete pack arrived (or the connection opened): the idle check uses it. */
  lastPackAt = Date.now();
  /** When the pack being received started (0 when none is partly here): the slow-client check uses it. */
  packStartedAt = 0;

  /**
   * `socket` carries the packs: the TCP socket itself, a TLS socket over it, or a TLS socket over layers.ts's zlib
   * stream; `raw` is the TCP socket under it when that differs (closed with it, so nothing below outlives it).
   */
  constructor(
    readonly socket: Duplex,
    private readonly o: PackConnectionOptions,
    private readonly raw?: Socket,
  ) {
    this.decoder = new FrameDecoder(o.limits);
    if (o.deflateLevel !== undefined) {
      this.deflate = zlib.createDeflate({ level: o.deflateLevel });
      this.deflate.on("data", (c: Uint8Array) => {
        if (!this.closed) socket.write(c);
      });
      this.deflate.on("error", (e) => this.fail(e));
      this.inflate = zlib.createInflate();
      this.inflate.on("data", (c: Uint8Array) => this.feed(c));
      this.inflate.on("error", (e) => this.fail(new AvroProtocolError(`bad deflate stream: ${e.message}`)));
      // Bytes after the end of the zlib stream are dropped, as Java's decoder does.
      this.inflate.on("end", () => {});
    }
    socket.on("data", (c: Uint8Array) => {
      if (this.inflate) this.inflate.write(c);
      else this.feed(c);
    });
    socket.on("error", (e) => this.fail(e));
    socket.on("close", () => this.finish());
    // A TLS socket over a JS stream (layers.ts) closes when the TCP socket does, but may not pass on why.
    if (raw && raw !== socket) raw.on("error", (e) => this.fail(e));
    socket.on("end", () => {
      // The peer finished its side; we have nothing more to say once our replies are out.
      if (!this.closed) socket.end();
    });
  }

  private feed(chunk: Uint8Array): void {
    if (this.closed) return;
    const wasMid = this.decoder.midPack;
    let packs: Pack[];
    try {
      packs = this.decoder.push(chunk);
    } catch (err) {
      this.fail(err as Error);
      return;
    }
    const now = Date.now();
    if (!this.decoder.midPack) this.packStartedAt = 0;
    else if (!wasMid || packs.length > 0) this.packStartedAt = now;
    if (packs.length > 0) {
      this.lastPackAt = now;
      this.o.onPacks(packs);
    }
  }

  get isClosed(): boolean {
    return this.closed;
  }

  send(pack: Uint8Array): void {
    if (this.closed) return;
    if (this.deflate) {
      this.deflate.write(pack);
      this.deflate.flush(zlib.constants.Z_SYNC_FLUSH);
    } else {
      this.socket.write(pack);
    }
  }

  /** Stops reading: the socket, and the inflater's output (a small compressed chunk can hold many packs). */
  pause(): void {
    this.socket.pause();
    this.inflate?.pause();
  }

  resume(): void {
    this.socket.resume();
    this.inflate?.resume();
  }

  private fail(err: Error): void {
    if (this.closed) return;
    this.o.onError(err);
    this.destroy();
  }

  /**
   * Closes after what was sent reaches the socket (the peer gets its last reply, then EOF); no more packs are read.
   * With deflate, the stream is finished first (Z_FINISH), as Java's encoder does on close.
   */
  end(): void {
    if (this.closed) return;
    this.pause();
    if (this.deflate) {
      this.deflate.once("end", () => this.socket.end());
      this.deflate.end();
    } else {
      this.socket.end();
    }
  }

  /** Closes at once (the peer sees a reset or EOF). */
  destroy(): void {
    if (this.closed) return;
    this.socket.destroy();
    this.finish();
  }

  private finish(): void {
    if (this.closed) return;
    this.closed = true;
    this.deflate?.close();
    this.inflate?.close();
    this.socket.destroy();
    this.raw?.destroy();
    this.o.onClose();
  }
}
