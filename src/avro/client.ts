// The client side of Flume's Avro RPC (what NettyAvroRpcClient does): one connection, one call at a time, Java's
// exact bytes (serials from 1, handshake with meta {} on the first call of a connection only).

import { Buffer } from "node:buffer";
import net from "node:net";
import type { Duplex } from "node:stream";
import tls from "node:tls";
import type { Event } from "../core/event.ts";
import { DeliveryError, describeError } from "../core/errors.ts";
import { encodeEvent, EventRecords, Reader, Writer, type Status } from "./codec.ts";
import { AvroProtocolError } from "./errors.ts";
import { encodeRequestPack, type FrameLimits, type Pack, type PackParams } from "./framing.ts";
import { encodeHandshakeRequest, PROTOCOL_HASH, readHandshakeResponse } from "./protocol.ts";
import { LayerStream, type CompressionLayer } from "./layers.ts";
import { PackConnection } from "./transport.ts";

export interface ClientOptions {
  host: string;
  port: number;
  connectTimeoutMs: number;
  requestTimeoutMs: number;
  /** zlib level for compression-type = deflate; undefined for none. */
  deflateLevel?: number;
  /** TLS options (CA, rejectUnauthorized, versions); undefined for plain TCP. */
  tls?: tls.ConnectionOptions;
  /** With both TLS and deflate: the zlib stream outside TLS (Flume 1.10+) or inside it (Flume 1.9). */
  compressionLayer?: CompressionLayer;
  limits: FrameLimits;
}

const EMPTY: Uint8Array = new Uint8Array(0);
/** A request buffer larger than this (a rare huge batch) is not kept for the next call. */
const MAX_SPARE_BYTES = 16 * 1024 * 1024;

interface PendingCall {
  serial: number;
  resolve(p: Pack): void;
  reject(e: Error): void;
}

export class AvroRpcClient {
  readonly peer: string;
  private conn?: PackConnection;
  private handshaken = false;
  private serial = 0;
  private pending?: PendingCall;
  /** Java caches the server's hash per address; until told otherwise it guesses its own. */
  private serverHash: Uint8Array = PROTOCOL_HASH;
  /** When the current connection was opened (reset-connection-interval). */
  openedAt = 0;

  constructor(private readonly o: ClientOptions) {
    this.peer = `${o.host}:${o.port}`;
  }

  get isOpen(): boolean {
    return this.conn !== undefined && !this.conn.isClosed;
  }

  /** Opens the connection if there is none; resolves once TCP (and TLS) is up. The handshake rides on the first call. */
  async connect(): Promise<void> {
    if (this.isOpen) return;
    const { socket, raw, outerDeflate } = await openSocket(this.o, this.peer);
    raw.setNoDelay(true);
    this.handshaken = false;
    this.serial = 0;
    this.openedAt = Date.now();
    this.conn = new PackConnection(socket, {
      limits: this.o.limits,
      deflateLevel: outerDeflate ? undefined : this.o.deflateLevel,
      onPacks: (packs) => {
        for (const p of packs) {
          const call = this.pending;
          if (!call || call.serial !== p.serial) {
            this.failPending(new AvroProtocolError(`reply with unexpected serial ${p.serial} from ${this.peer}`));
            this.close();
            return;
          }
          this.pending = undefined;
          call.resolve(p);
        }
      },
      onError: (err) => this.failPending(new DeliveryError(`avro connection to ${this.peer} failed: ${describeError(err)}`, { cause: err })),
      onClose: () => this.failPending(new DeliveryError(`avro connection to ${this.peer} closed by the peer`)),
    }, raw);
  }

  /** The last answered request's buffer, reused for the next one. */
  private spare?: Buffer;

  appendBatch(events: readonly Event[]): Promise<Status> {
    // The events are encoded straight into the request pack, in Java's 8 KiB buffers: one copy of the bodies.
    return this.call("appendBatch", new EventRecords(events));
  }

  append(event: Event): Promise<Status> {
    const b = encodeEvent(event);
    return this.call("append", { size: b.byteLength, writeTo: (w) => w.raw(b) });
  }

  /** Drops the connection; the next call opens a new one with a new handshake (Flume does the same after a failure). */
  close(): void {
    const c = this.conn;
    this.conn = undefined;
    c?.destroy();
  }

  private async call(name: string, params: PackParams): Promise<Status> {
    await this.connect();
    let withProtocol = false;
    for (let attempt = 0; attempt < 2; attempt++) {
      const hs = this.handshaken ? EMPTY : encodeHandshakeRequest(this.serverHash, withProtocol);
      const head = new Writer(hs.byteLength + 16).raw(hs).byte(0).string(name).done();
      const serial = ++this.serial;
      const pack = encodeRequestPack(serial, head, params, this.spare);
      this.spare = undefined;
      const reply = await this.roundTrip(serial, pack);
      // Answered: the peer has read the whole pack, so its buffer is free for the next call (a failed call's buffer
      // may still sit in a socket queue and is left to the collector).
      if (pack.buffer.byteLength <= MAX_SPARE_BYTES) this.spare = Buffer.from(pack.buffer);
      const r = new Reader(reply.payload);
      if (!this.handshaken) {
        const res = readHandshakeResponse(r);
        if (res.serverHash) this.serverHash = new Uint8Array(res.serverHash);
        if (res.match === "NONE") {
          // The server did not know our hash: send the same call again with our protocol text.
          withProtocol = true;
          continue;
        }
        this.handshaken = true;
      }
      r.bytesMap();
      if (r.boolean()) {
        r.union(1);
        throw new DeliveryError(`avro peer ${this.peer} answered ${name} with an error: ${r.string()}`);
      }
      return r.status();
    }
    throw new AvroProtocolError(`avro peer ${this.peer} refused the handshake even with our protocol sent (not a Flume AvroSourceProtocol server?)`);
  }

  private roundTrip(serial: number, bytes: Uint8Array): Promise<Pack> {
    const conn = this.conn;
    if (!conn || conn.isClosed) return Promise.reject(new DeliveryError(`avro connection to ${this.peer} is closed`));
    return new Promise<Pack>((resolve, reject) => {
      const timer = setTimeout(() => {
        this.failPending(new DeliveryError(`avro peer ${this.peer} did not answer within request-timeout (${this.o.requestTimeoutMs} ms)`));
        this.close();
      }, this.o.requestTimeoutMs);
      this.pending = {
        serial,
        resolve: (p) => {
          clearTimeout(timer);
          resolve(p);
        },
        reject: (e) => {
          clearTimeout(timer);
          reject(e);
        },
      };
      conn.send(bytes);
    });
  }

  private failPending(err: Error): void {
    const p = this.pending;
    this.pending = undefined;
    p?.reject(err);
  }
}

interface Opened {
  /** What carries the packs. */
  socket: Duplex;
  /** The TCP socket under it. */
  raw: net.Socket;
  /** The deflate stream is already below `socket` (Flume 1.10+'s layering). */
  outerDeflate: boolean;
}

/** TCP, then TLS over it or over the zlib stream (layers.ts); connect-timeout bounds the whole of it. */
function openSocket(o: ClientOptions, peer: string): Promise<Opened> {
  const outerDeflate = o.tls !== undefined && o.deflateLevel !== undefined && (o.compressionLayer ?? "outside-tls") === "outside-tls";
  return new Promise((resolve, reject) => {
    const raw = net.connect({ host: o.host, port: o.port });
    let top: Duplex = raw;
    // Failing once TCP is up, with ssl and deflate both on: most likely the peer stacks them the other way.
    let tcpUp = false;
    const hint = () =>
      tcpUp && o.tls && o.deflateLevel !== undefined
        ? ` (with ssl and deflate, Flume 1.10+ sources need compression-layer = outside-tls, Flume 1.9 ones inside-tls; this sink uses ${outerDeflate ? "outside-tls" : "inside-tls"})`
        : "";
    const timer = setTimeout(() => {
      top.destroy();
      raw.destroy();
      reject(new DeliveryError(`cannot connect to avro peer ${peer} within connect-timeout (${o.connectTimeoutMs} ms)${hint()}`));
    }, o.connectTimeoutMs);
    const failed = (err: Error) => {
      clearTimeout(timer);
      top.destroy();
      raw.destroy();
      reject(new DeliveryError(`cannot connect to avro peer ${peer}: ${describeError(err)}${hint()}`, { cause: err }));
    };
    const ready = () => {
      clearTimeout(timer);
      top.removeListener("error", failed);
      raw.removeListener("error", failed);
      resolve({ socket: top, raw, outerDeflate });
    };
    raw.once("error", failed);
    raw.once("connect", () => {
      tcpUp = true;
      if (!o.tls) return ready();
      const under: Duplex = outerDeflate ? new LayerStream(raw, o.deflateLevel) : raw;
      const secure = tls.connect({ socket: under, servername: net.isIP(o.host) ? undefined : o.host, ...o.tls });
      top = secure;
      secure.once("error", failed);
      secure.once("secureConnect", ready);
    });
  });
}
