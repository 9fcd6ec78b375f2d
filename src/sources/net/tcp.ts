// The TCP side shared by the line sources (netcat, syslogtcp, multiport_syslogtcp): listens on one or more ports,
// hands each connection's bytes to a per-connection decoder, and puts the decoded events into the channels in
// batches. A full channel pushes back: the connection is paused (the kernel buffers fill and the sender blocks) and
// the same batch is retried until it fits — nothing read is dropped for lack of room. Bounded: at most
// maxConnections open (more are closed on accept), each decoder holds at most one unfinished message, a client that
// does not read our replies is closed, and an idle connection can be closed after idleTimeout.

import net from "node:net";
import tls from "node:tls";
import type { ChannelProcessor } from "../../core/channel-processor.ts";
import { describeError, SluiceError } from "../../core/errors.ts";
import type { Event } from "../../core/event.ts";
import type { SourceCounters } from "../../core/counters.ts";
import type { Logger } from "../../util/log.ts";
import { key } from "../../core/keys.ts";
import { Signal } from "../../util/signal.ts";
import { putWhileFull } from "./put.ts";
import { RateLimitedWarn } from "./warn.ts";

/** The connection limits every TCP source has (netcat, syslogtcp, multiport_syslogtcp). */
export const tcpConnectionKeys = {
  maxConnections: key.int("sluice: connections open at once; more are closed on accept", { default: 1000, min: 1 }),
  idleTimeout: key.duration("sluice: close a connection that sent nothing for this long (0 = never, as Flume)", { default: 0, unit: "ms" }),
};

/** What a decoder sees of its connection. */
export interface TcpConnection {
  /** `ip:port` of the peer, for messages. */
  readonly peer: string;
  readonly remoteAddress: string;
  /** The port of ours the peer connected to (multiport's portHeader). */
  readonly localPort: number;
  /** Writes a reply (netcat's OK / FAILED). */
  write(text: string): void;
  /**
   * Closes the connection with one warning naming the peer, after `reply` (if any). Called while decoding, it waits
   * until the events decoded before are committed (and answered).
   */
  close(why: string, reply?: string): void;
}

export interface ConnectionDecoder {
  /** Awaited once before the first chunk is decoded (a reverse lookup of the peer for a header). */
  ready?: Promise<void>;
  /** Decodes received bytes into events (views of the chunk are fine); may close the connection on bad input. */
  data(chunk: Uint8Array): Event[];
  /** The peer closed its side: events for what is left unfinished (or none). */
  end(): Event[];
  /** `n` events of this connection were committed to the channels (netcat acknowledges them). */
  committed?(n: number): void;
}

export interface TcpServerOptions {
  /** The source's type, for the log line when it listens. */
  label: string;
  host: string;
  ports: readonly number[];
  maxConnections: number;
  /** Close a connection that sent nothing for this long (0 = never). */
  idleTimeoutMs: number;
  batchSize: number;
  processor: ChannelProcessor;
  counters: SourceCounters;
  log: Logger;
  open(conn: TcpConnection): ConnectionDecoder;
  /** Serve TLS with these settings (certificate, key, versions). */
  tls?: tls.TlsOptions;
}

/** A TLS handshake must finish within this time (a client that connects and says nothing holds no slot for long). */
const TLS_HANDSHAKE_TIMEOUT_MS = 10_000;

/** Replies queued to a peer that does not read them, before it is closed. */
const MAX_UNREAD_REPLY_BYTES = 1024 * 1024;
/** How long stop() lets a batch in progress reach the channel before connections are closed. */
const STOP_GRACE_MS = 3000;

class Conn implements TcpConnection {
  readonly peer: string;
  readonly remoteAddress: string;
  readonly localPort: number;
  decoder!: ConnectionDecoder;
  /** Chunks received while a batch was being put (only what arrived before the pause took effect). */
  readonly queue: Uint8Array[] = [];
  busy = false;
  closed = false;

  constructor(
    readonly socket: net.Socket,
    private readonly warn: (msg: string) => void,
  ) {
    this.remoteAddress = (socket.remoteAddress ?? "?").replace(/^::ffff:/, "");
    this.peer = `${this.remoteAddress}:${socket.remotePort ?? "?"}`;
    this.localPort = socket.localPort ?? 0;
  }

  write(text: string): void {
    if (this.closed) return;
    if (this.socket.writableLength > MAX_UNREAD_REPLY_BYTES) {
      this.close(`does not read its replies (${this.socket.writableLength} bytes queued)`);
      return;
    }
    this.socket.write(text);
  }

  /** A close asked for while busy, done once the batch in progress is delivered. */
  closing?: { why: string; reply?: string };

  close(why: string, reply?: string): void {
    if (this.closed) return;
    if (this.busy) {
      this.closing ??= { why, reply };
      return;
    }
    if (reply) this.socket.write(reply);
    this.closed = true;
    this.warn(`closed ${this.peer}: ${why}`);
    this.socket.end();
    // A peer that never reads would keep a half-closed socket open: destroy after a moment.
    setTimeout(() => this.socket.destroy(), 1000).unref?.();
  }
}

export class TcpSourceServer {
  private readonly servers: net.Server[] = [];
  private readonly conns = new Set<Conn>();
  private readonly sockets = new Set<net.Socket>();
  private stopping = false;
  private readonly wake = new Signal();
  private readonly idle = new Signal();
  private readonly warner: RateLimitedWarn;
  /** Connections refused by maxConnections. */
  refused = 0;
  ports: number[] = [];

  constructor(private readonly o: TcpServerOptions) {
    this.warner = new RateLimitedWarn(o.log);
  }

  get openConnections(): number {
    return this.conns.size;
  }

  async start(): Promise<number[]> {
    for (const port of this.o.ports) {
      const server = this.o.tls
        ? tls.createServer({ ...this.o.tls, allowHalfOpen: true, handshakeTimeout: TLS_HANDSHAKE_TIMEOUT_MS }, (s) => this.serve(s))
        : net.createServer({ allowHalfOpen: true }, (s) => this.serve(s));
      // Every accepted socket counts against maxConnections from the start, TLS handshakes in progress included.
      server.prependListener("connection", (raw: net.Socket) => this.admit(raw));
      if (this.o.tls) {
        server.on("tlsClientError", (err: Error, s: tls.TLSSocket) => this.warner.warn(`TLS handshake with ${s.remoteAddress}:${s.remotePort} failed: ${describeError(err)}`));
      }
      await new Promise<void>((resolve, reject) => {
        server.once("error", reject);
        server.listen(port, this.o.host, () => {
          server.off("error", reject);
          resolve();
        });
      }).catch(async (err) => {
        await this.shutdown();
        throw new SluiceError("IO", `cannot listen on ${this.o.host}:${port}: ${describeError(err)}`, false, { cause: err });
      });
      server.on("error", (err) => this.o.log.error(`listener on ${this.o.host}:${port}: ${describeError(err)}`));
      this.servers.push(server);
      this.ports.push((server.address() as net.AddressInfo).port);
    }
    this.o.counters.StartTime = Date.now();
    this.o.log.info(`${this.o.label} listening on ${this.o.host}:${this.ports.join(",")}${this.o.tls ? " (TLS)" : ""}`);
    return this.ports;
  }

  /** A raw accepted socket: refused at once past maxConnections or while stopping. */
  private admit(socket: net.Socket): void {
    socket.on("error", () => {});
    if (this.stopping) {
      socket.destroy();
      return;
    }
    if (this.sockets.size >= this.o.maxConnections) {
      this.refused++;
      this.warner.warn(`refused ${socket.remoteAddress}:${socket.remotePort}: maxConnections (${this.o.maxConnections}) connections already open`);
      socket.destroy();
      return;
    }
    this.sockets.add(socket);
    socket.once("close", () => this.sockets.delete(socket));
  }

  /** A connection ready for bytes (after its TLS handshake, with ssl). */
  private serve(socket: net.Socket): void {
    if (socket.destroyed || this.stopping) {
      socket.destroy();
      return;
    }
    socket.on("error", () => {});
    const c = new Conn(socket, (m) => this.warner.warn(m));
    c.decoder = this.o.open(c);
    this.conns.add(c);
    this.o.counters.OpenConnectionCount = this.conns.size;
    socket.setNoDelay(true);
    if (this.o.idleTimeoutMs > 0) {
      socket.setTimeout(this.o.idleTimeoutMs, () => {
        if (!c.busy) c.close(`idle for ${this.o.idleTimeoutMs} ms (idleTimeout)`);
      });
    }
    socket.on("data", (chunk: Uint8Array) => {
      if (c.closed) return;
      c.queue.push(chunk);
      if (!c.busy) void this.drain(c);
    });
    socket.once("end", () => {
      c.queue.push(END);
      if (!c.busy) void this.drain(c);
    });
    socket.once("close", () => {
      c.closed = true;
      this.conns.delete(c);
      this.o.counters.OpenConnectionCount = this.conns.size;
      this.idle.notify();
    });
  }

  /** Decodes and delivers the connection's chunks in order, the socket paused while a batch is in progress. */
  private async drain(c: Conn): Promise<void> {
    c.busy = true;
    try {
      if (c.decoder.ready) {
        c.socket.pause();
        await c.decoder.ready;
        c.decoder.ready = undefined;
      }
      while (c.queue.length > 0) {
        const chunk = c.queue.shift()!;
        let events: Event[];
        try {
          events = c.closed || c.closing ? [] : chunk === END ? c.decoder.end() : c.decoder.data(chunk);
        } catch (err) {
          this.o.counters.EventReadFail++;
          c.close(`cannot decode its input: ${describeError(err)}`);
          events = [];
        }
        if (events.length > 0) {
          c.socket.pause();
          await this.deliver(c, events);
        }
        // Half-open until here, so replies to the last lines still reach a peer that already sent its EOF.
        if (chunk === END) c.socket.end();
      }
    } finally {
      c.busy = false;
      if (c.closing) c.close(c.closing.why, c.closing.reply);
      if (!c.closed && !this.stopping) c.socket.resume();
      this.idle.notify();
    }
  }

  /** Puts the events in slices of batchSize; a full channel is retried with backoff until it takes them or stop(). */
  private async deliver(c: Conn, events: Event[]): Promise<void> {
    const cnt = this.o.counters;
    cnt.EventReceivedCount += events.length;
    for (let from = 0; from < events.length; from += this.o.batchSize) {
      const slice = events.slice(from, from + this.o.batchSize);
      let put: "stored" | "stopping";
      try {
        put = await putWhileFull(this.o.processor, slice, cnt, this.wake, () => this.stopping);
      } catch (err) {
        this.o.log.error(`cannot put ${events.length - from} events from ${c.peer}, closing it: ${describeError(err)}`);
        c.close("its events could not be stored");
        return;
      }
      if (put === "stopping") {
        this.o.log.warn(`stopping with the channel full: ${events.length - from} events read from ${c.peer} were not stored`);
        return;
      }
      c.decoder.committed?.(slice.length);
    }
  }

  async stop(): Promise<void> {
    await this.shutdown();
    this.o.counters.StopTime = Date.now();
  }

  private async shutdown(): Promise<void> {
    this.stopping = true;
    this.wake.notify();
    // close() stops accepting at once; its callback waits for the open connections, closed below.
    const closed = Promise.all(this.servers.splice(0).map((s) => new Promise<void>((r) => s.close(() => r()))));
    // Batches already read get a bounded chance to reach the channel; then every connection is closed.
    const deadline = Date.now() + STOP_GRACE_MS;
    while ([...this.conns].some((c) => c.busy) && Date.now() < deadline) await this.idle.wait(100);
    for (const s of this.sockets) s.destroy();
    await closed;
    this.warner.flush();
  }
}

const END = new Uint8Array(0);
