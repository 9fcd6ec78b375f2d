// The server side of Flume's Avro RPC (what AvroSource's NettyServer + Responder do): per connection, a handshake
// until one matches, then calls; one call at a time per connection, replies in order. Bounded everywhere: pack caps
// (framing.ts), at most `maxConnections` open, a call that does not arrive whole within `readTimeoutMs` closes its
// connection (slow or stalled senders), so does a connection idle between calls for `idleTimeoutMs`, and a
// connection whose calls pile up is paused rather than buffered. With ssl and deflate, each connection may use
// Flume 1.9's layering or Flume 1.10+'s (layers.ts), told apart by its first bytes.

import net from "node:net";
import type { Duplex } from "node:stream";
import tls from "node:tls";
import type { Event } from "../core/event.ts";
import { describeError } from "../core/errors.ts";
import type { Logger } from "../util/log.ts";
import { Signal } from "../util/signal.ts";
import { Reader, STATUS, Writer, type Status } from "./codec.ts";
import { AvroProtocolError } from "./errors.ts";
import { encodePack, type FrameLimits, type Pack } from "./framing.ts";
import {
  ALT_PROTOCOL_HASH_HEX, encodeHandshakeResponse, hex, isCompatibleProtocol, PROTOCOL_HASH, readHandshakeRequest, sameHash,
} from "./protocol.ts";
import { classifyFirstBytes, describeMismatch, LayerStream, sniff } from "./layers.ts";
import { PackConnection } from "./transport.ts";

export interface ServerHandler {
  /** Puts the events into the channels; resolves OK only after the commit, FAILED when they could not be taken. */
  deliver(events: Event[], message: "append" | "appendBatch", peer: string): Promise<Status>;
}

export interface ServerOptions {
  host: string;
  port: number;
  limits: FrameLimits;
  /** zlib level of our direction when compression-type = deflate; undefined for none. */
  deflateLevel?: number;
  /** Certificate and key (PEM) and versions, for ssl = true. */
  tls?: tls.TlsOptions;
  maxConnections: number;
  /** Time a started call has to arrive whole. */
  readTimeoutMs: number;
  /** Time a connection may sit between calls (0 = no limit). */
  idleTimeoutMs: number;
  /** ipFilter: whether a peer address may connect. */
  allow?: (ip: string) => boolean | Promise<boolean>;
  handler: ServerHandler;
  log: Logger;
}

const EMPTY: Uint8Array = new Uint8Array(0);
const META_EMPTY = new Uint8Array([0]);
const STATUS_REPLY = STATUS.map((_, i) => new Uint8Array([0, i * 2]));
/** Calls queued on one connection before we stop reading it (Flume's clients send one at a time). */
const MAX_QUEUED_CALLS = 4;
/** Protocols learned from clients (by hash) that we keep; a bound so clients cannot grow it. */
const MAX_LEARNED_HASHES = 64;
/** At most this many "closed a connection" warnings per second; the rest are counted and summarised. */
const WARN_PER_SECOND = 10;
const TCP_KEEPALIVE_MS = 60_000;
/** How long stop() lets calls in progress finish before closing their connections. */
const STOP_GRACE_MS = 3000;

export class AvroRpcServer {
  private server?: net.Server;
  private readonly conns = new Set<ServerConnection>();
  private readonly knownHashes = new Set<string>([hex(PROTOCOL_HASH), ALT_PROTOCOL_HASH_HEX]);
  private sweeper?: ReturnType<typeof setInterval>;
  /** Every accepted TCP socket, served or not yet (in screening, in a TLS handshake): stop() closes them all. */
  private readonly sockets = new Set<net.Socket>();
  private secureContext?: tls.SecureContext;
  /** Notified whenever a connection finishes a call, so stop() waits without polling. */
  private readonly callDone = new Signal();
  private warnWindow = 0;
  private warnCount = 0;
  private suppressed = 0;
  /** Connections refused (maxConnections or ipFilter), for tests and status. */
  refused = 0;
  port = 0;

  constructor(readonly o: ServerOptions) {}

  get openConnections(): number {
    return this.conns.size;
  }

  async start(): Promise<number> {
    if (this.o.tls) this.secureContext = tls.createSecureContext(this.o.tls);
    const server = net.createServer((s) => void this.accept(s));
    server.on("connection", (raw: net.Socket) => {
      this.sockets.add(raw);
      raw.once("close", () => this.sockets.delete(raw));
    });
    await new Promise<void>((resolve, reject) => {
      server.once("error", reject);
      server.listen(this.o.port, this.o.host, () => {
        server.off("error", reject);
        resolve();
      });
    });
    server.on("error", (err) => this.o.log.error(`avro server on ${this.o.host}:${this.o.port}: ${describeError(err)}`));
    this.server = server;
    this.port = (server.address() as net.AddressInfo).port;
    const shortest = Math.min(this.o.readTimeoutMs, this.o.idleTimeoutMs > 0 ? this.o.idleTimeoutMs : Infinity);
    const every = Math.max(50, Math.min(1000, Math.floor(shortest / 4)));
    this.sweeper = setInterval(() => this.sweep(), every);
    return this.port;
  }

  private refuse(socket: net.Socket, why: string): void {
    this.refused++;
    this.warn(`refused ${peerOf(socket)}: ${why}`);
    socket.destroy();
  }

  private get full(): boolean {
    return this.conns.size >= this.o.maxConnections;
  }

  /** ipFilterRules (and maxConnections early, to spare the lookup); a refused socket is destroyed here. */
  private async screen(socket: net.Socket): Promise<boolean> {
    if (this.full) {
      this.refuse(socket, `maxConnections (${this.o.maxConnections}) connections already open`);
      return false;
    }
    if (this.o.allow) {
      const ok = await Promise.resolve(this.o.allow(normalizeIp(socket.remoteAddress ?? ""))).catch(() => false);
      if (!ok) {
        this.refuse(socket, "denied by ipFilterRules");
        return false;
      }
    }
    return !socket.destroyed;
  }

  /**
   * As in Flume (ipFilter first in the Netty pipeline), screening comes before any TLS handshake. With ssl and
   * deflate both on, the first bytes say which layering the client speaks (layers.ts); either is served.
   */
  private async accept(raw: net.Socket): Promise<void> {
    if (!(await this.screen(raw))) return;
    const peer = peerOf(raw);
    const ctx = this.secureContext;
    if (!ctx) return this.serve(raw, raw, this.o.deflateLevel);
    if (this.o.deflateLevel === undefined) return this.secure(raw, raw, undefined);
    const head = await sniff(raw, this.o.readTimeoutMs);
    if (head === undefined) {
      if (!raw.destroyed) this.warn(`closed avro connection from ${peer}: nothing sent within readTimeout (${this.o.readTimeoutMs} ms)`);
      raw.destroy();
      return;
    }
    const kind = classifyFirstBytes(head);
    if (kind === "other") {
      this.warn(`closed avro connection from ${peer}: ${describeMismatch(head)}`);
      raw.destroy();
      return;
    }
    this.o.log.debug(`${peer}: ${kind === "zlib" ? "TLS inside the deflate stream (Flume 1.10+)" : "deflate inside TLS (Flume 1.9)"}`);
    // Outside TLS: the zlib stream is below TLS and the packs come out plain; inside: TLS, then deflate as usual.
    if (kind === "zlib") this.secure(raw, new LayerStream(raw, this.o.deflateLevel, head), undefined);
    else this.secure(raw, new LayerStream(raw, undefined, head), this.o.deflateLevel);
  }

  /** A TLS server handshake over `under` (the TCP socket or a layer over it), bounded by readTimeout. */
  private secure(raw: net.Socket, under: Duplex, deflateLevel: number | undefined): void {
    const s = new tls.TLSSocket(under as net.Socket, { isServer: true, secureContext: this.secureContext });
    const peer = peerOf(raw);
    const timer = setTimeout(() => {
      this.warn(`closed avro connection from ${peer}: TLS handshake not done within readTimeout (${this.o.readTimeoutMs} ms)`);
      s.destroy();
      raw.destroy();
    }, this.o.readTimeoutMs);
    let reported = false;
    const failed = (err: Error) => {
      clearTimeout(timer);
      if (reported) return;
      reported = true;
      this.warn(`TLS handshake with ${peer} failed: ${describeError(err)}`);
      s.destroy();
      raw.destroy();
    };
    s.once("error", failed);
    if (under !== raw) raw.once("error", failed);
    s.once("close", () => clearTimeout(timer));
    s.once("secure", () => {
      clearTimeout(timer);
      s.off("error", failed);
      raw.off("error", failed);
      this.serve(raw, s, deflateLevel);
    });
  }

  /** `raw` is the TCP socket, `stream` what carries the packs (raw itself, or TLS over it or over a zlib layer). */
  private serve(raw: net.Socket, stream: Duplex, deflateLevel: number | undefined): void {
    // Screening or a TLS handshake may finish after stop() began: such a connection is not served.
    if (!this.server) {
      stream.destroy();
      raw.destroy();
      return;
    }
    // Many peers may pass screening at once (an ipFilter lookup, TLS handshakes): the bound holds here, where it counts.
    if (this.full) {
      stream.destroy();
      this.refuse(raw, `maxConnections (${this.o.maxConnections}) connections already open`);
      return;
    }
    raw.setNoDelay(true);
    // Finds peers that vanished without a FIN, even with idleTimeout = 0.
    raw.setKeepAlive(true, TCP_KEEPALIVE_MS);
    this.conns.add(new ServerConnection(this, raw, stream, deflateLevel, peerOf(raw)));
  }

  /** @internal */
  dropped(c: ServerConnection): void {
    this.conns.delete(c);
  }

  /** @internal A client's hash is known, or its protocol (sent after a NONE) is Flume's: then we can serve it. */
  knows(clientHash: Uint8Array, clientProtocol: string | null): boolean {
    const key = hex(clientHash);
    if (this.knownHashes.has(key)) return true;
    if (clientProtocol === null) return false;
    if (!isCompatibleProtocol(clientProtocol)) return false;
    if (this.knownHashes.size < MAX_LEARNED_HASHES) this.knownHashes.add(key);
    return true;
  }

  /** @internal One line per closed connection, rate-limited so a flood of bad clients cannot flood the log. */
  warn(msg: string): void {
    const now = Math.floor(Date.now() / 1000);
    if (now !== this.warnWindow) {
      if (this.suppressed > 0) this.o.log.warn(`${this.suppressed} more avro connection warnings suppressed`);
      this.warnWindow = now;
      this.warnCount = 0;
      this.suppressed = 0;
    }
    if (this.warnCount++ < WARN_PER_SECOND) this.o.log.warn(msg);
    else this.suppressed++;
  }

  private sweep(): void {
    const now = Date.now();
    const idle = this.o.idleTimeoutMs;
    for (const c of this.conns) {
      if (c.busy) continue;
      const started = c.packStartedAt;
      if (started > 0 && now - started > this.o.readTimeoutMs) {
        this.warn(`closed avro connection from ${c.peer}: a call did not arrive whole within readTimeout (${this.o.readTimeoutMs} ms)`);
        c.destroy();
      } else if (started === 0 && idle > 0 && now - c.lastActive() > idle) {
        this.o.log.debug(`closing ${c.peer}: no call within idleTimeout (${idle} ms)`);
        c.destroy();
      }
    }
  }

  async stop(): Promise<void> {
    if (this.sweeper) clearInterval(this.sweeper);
    const server = this.server;
    this.server = undefined;
    const closed = server ? new Promise<void>((r) => server.close(() => r())) : Promise.resolve();
    // Calls in progress may finish (their batch is being committed) for up to the grace period; no new call starts.
    const deadline = Date.now() + STOP_GRACE_MS;
    for (const c of this.conns) if (!c.busy) c.destroy();
    const busy = () => [...this.conns].some((c) => c.busy);
    while (busy() && Date.now() < deadline) await this.callDone.wait(deadline - Date.now());
    // Connections that answered their last call are ending: let those replies out, within the same grace.
    const closing = [...this.sockets].map((raw) => new Promise<void>((r) => (raw.destroyed ? r() : raw.once("close", () => r()))));
    const left = Math.max(0, deadline - Date.now());
    let timer: ReturnType<typeof setTimeout> | undefined;
    await Promise.race([Promise.all(closing), new Promise<void>((r) => (timer = setTimeout(r, Math.min(left, 500))))]);
    clearTimeout(timer);
    for (const c of [...this.conns]) c.destroy();
    for (const raw of [...this.sockets]) raw.destroy();
    await closed;
  }

  /** @internal */
  get stopping(): boolean {
    return this.server === undefined;
  }

  /** @internal */
  finishedCall(): void {
    this.callDone.notify();
  }
}

class ServerConnection {
  private readonly conn: PackConnection;
  private handshaken = false;
  private readonly queue: Pack[] = [];
  busy = false;
  private lastReplyAt = Date.now();

  constructor(
    private readonly server: AvroRpcServer,
    raw: net.Socket,
    stream: Duplex,
    deflateLevel: number | undefined,
    readonly peer: string,
  ) {
    const o = server.o;
    this.conn = new PackConnection(stream, {
      limits: o.limits,
      deflateLevel,
      onPacks: (packs) => {
        this.queue.push(...packs);
        if (this.queue.length > MAX_QUEUED_CALLS) this.conn.pause();
        if (!this.busy) void this.drain();
      },
      onError: (err) => this.server.warn(`closed avro connection from ${peer}: ${describeError(err)}`),
      onClose: () => this.server.dropped(this),
    }, raw);
  }

  get packStartedAt(): number {
    return this.conn.packStartedAt;
  }

  lastActive(): number {
    return Math.max(this.conn.lastPackAt, this.lastReplyAt);
  }

  destroy(): void {
    this.conn.destroy();
  }

  private async drain(): Promise<void> {
    this.busy = true;
    try {
      while (this.queue.length > 0 && !this.conn.isClosed) {
        const pack = this.queue.shift()!;
        const connected = this.handshaken;
        let reply: Uint8Array;
        try {
          reply = await this.handle(pack);
        } catch (err) {
          const again = connected && pack.payload.byteLength >= 16 && this.server.knows(pack.payload.subarray(0, 16), null);
          const hint = again ? " (a handshake sent again on a connected connection; Java answers it with an error too)" : "";
          this.server.warn(`closed avro connection from ${this.peer}: malformed call ${pack.serial}: ${describeError(err)}${hint}`);
          this.conn.destroy();
          return;
        }
        this.conn.send(reply);
        this.lastReplyAt = Date.now();
        // Stopping: the answered call was the last one this connection gets (its reply still goes out).
        if (this.server.stopping) {
          this.conn.end();
          return;
        }
        if (this.queue.length <= 1) this.conn.resume();
      }
    } finally {
      this.busy = false;
      this.server.finishedCall();
    }
  }

  private async handle(pack: Pack): Promise<Uint8Array> {
    const r = new Reader(pack.payload);
    let hs: Uint8Array = EMPTY;
    if (!this.handshaken) {
      const req = readHandshakeRequest(r);
      const known = this.server.knows(req.clientHash, req.clientProtocol);
      if (!known && req.clientProtocol !== null) this.server.warn(`${this.peer} sent a protocol that is not Flume's AvroSourceProtocol`);
      const match = !known ? "NONE" : sameHash(req.serverHash, PROTOCOL_HASH) ? "BOTH" : "CLIENT";
      hs = encodeHandshakeResponse(match);
      // Java answers NONE with the handshake alone and does not run the call; the client resends it.
      if (match === "NONE") return encodePack(pack.serial, [hs]);
      this.handshaken = true;
    }
    r.bytesMap();
    const name = r.string();
    if (name === "") return encodePack(pack.serial, [hs]);
    let events: Event[];
    if (name === "appendBatch") events = await r.eventsSliced();
    else if (name === "append") events = [r.event()];
    else return encodePack(pack.serial, [hs, META_EMPTY, errorReply(`org.apache.avro.AvroRuntimeException: No such remote message: ${name}`)]);
    if (r.left !== 0) throw new AvroProtocolError(`${r.left} unexpected bytes after the ${name} parameters`);
    const status = await this.server.o.handler.deliver(events, name, this.peer);
    return encodePack(pack.serial, [hs, META_EMPTY, STATUS_REPLY[STATUS.indexOf(status)]!]);
  }
}

function errorReply(message: string): Uint8Array {
  return new Writer(message.length + 8).byte(1).long(0).string(message).done();
}

function peerOf(s: net.Socket): string {
  const a = normalizeIp(s.remoteAddress ?? "?");
  return a.includes(":") ? `[${a}]:${s.remotePort}` : `${a}:${s.remotePort}`;
}

/** `::ffff:127.0.0.1` → `127.0.0.1`, so IPv4 rules match dual-stack sockets. */
export function normalizeIp(ip: string): string {
  return ip.startsWith("::ffff:") && ip.includes(".") ? ip.slice(7) : ip;
}
