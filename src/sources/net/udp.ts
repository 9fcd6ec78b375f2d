// The UDP side shared by netcatudp and syslogudp: one event per datagram, put into the channels in batches. UDP
// cannot push back on a sender, so while a channel is full datagrams wait in a bounded queue (the batch is retried);
// what arrives beyond it is dropped and counted (EventsDropped, reason "channel full") with a rate-limited warning.
// The kernel's own receive buffer drops silently beyond its size; those losses are invisible to any UDP receiver.

import dgram from "node:dgram";
import { isIP } from "node:net";
import type { ChannelProcessor } from "../../core/channel-processor.ts";
import { describeError } from "../../core/errors.ts";
import type { Event } from "../../core/event.ts";
import type { Logger } from "../../util/log.ts";
import { Signal } from "../../util/signal.ts";
import type { SourceCounters } from "../../core/counters.ts";
import { RateLimitedWarn } from "./warn.ts";

export interface Datagram {
  bytes: Uint8Array;
  /** Sender address and port. */
  address: string;
  port: number;
}

export interface UdpServerOptions {
  host: string;
  port: number;
  batchSize: number;
  /** Datagrams held while a batch waits for room; beyond, they are dropped and counted. */
  maxQueued: number;
  processor: ChannelProcessor;
  counters: SourceCounters;
  log: Logger;
  /** The event for one datagram. */
  toEvent(d: Datagram): Event;
  /** SO_RCVBUF asked of the kernel (it caps it at net.core.rmem_max); 0 keeps the kernel's default. */
  receiveBufferBytes: number;
}

const FULL_BACKOFF_MIN_MS = 50;
const FULL_BACKOFF_MAX_MS = 1000;
/** How long stop() lets a batch in progress reach the channel. */
const STOP_GRACE_MS = 3000;

export class UdpSourceServer {
  private socket?: dgram.Socket;
  private queue: Event[] = [];
  private flushing = false;
  private stopping = false;
  private readonly wake = new Signal();
  private readonly done = new Signal();
  private readonly warner: RateLimitedWarn;
  port = 0;

  constructor(private readonly o: UdpServerOptions) {
    this.warner = new RateLimitedWarn(o.log);
  }

  async start(): Promise<number> {
    const type = isIP(this.o.host) === 6 ? "udp6" : "udp4";
    const socket = dgram.createSocket(this.o.receiveBufferBytes > 0 ? { type, recvBufferSize: this.o.receiveBufferBytes } : { type });
    await new Promise<void>((resolve, reject) => {
      socket.once("error", reject);
      socket.bind(this.o.port, this.o.host, () => {
        socket.off("error", reject);
        resolve();
      });
    }).catch((err) => {
      socket.close();
      throw new Error(`cannot listen on udp ${this.o.host}:${this.o.port}: ${describeError(err)}`);
    });
    socket.on("error", (err) => this.o.log.error(`udp ${this.o.host}:${this.port}: ${describeError(err)}`));
    socket.on("message", (msg: Uint8Array, rinfo: dgram.RemoteInfo) => this.receive(msg, rinfo));
    this.socket = socket;
    this.port = socket.address().port;
    return this.port;
  }

  private receive(msg: Uint8Array, rinfo: dgram.RemoteInfo): void {
    const c = this.o.counters;
    c.EventReceivedCount++;
    if (this.stopping || this.queue.length >= this.o.maxQueued) {
      c.dropped.add(this.stopping ? "stopping" : "channel full (maxQueued)", 1);
      const why = this.stopping ? "the source is stopping" : `channel full: maxQueued (${this.o.maxQueued}) datagrams already wait for room`;
      this.warner.warn(`dropped a datagram from ${rinfo.address}:${rinfo.port}: ${why}`);
      return;
    }
    let e: Event;
    try {
      e = this.o.toEvent({ bytes: msg, address: rinfo.address, port: rinfo.port });
    } catch (err) {
      c.EventReadFail++;
      this.warner.warn(`cannot decode a datagram from ${rinfo.address}:${rinfo.port}: ${describeError(err)}`);
      return;
    }
    this.queue.push(e);
    if (!this.flushing) {
      this.flushing = true;
      // Datagrams arriving in the same turn of the event loop go into one batch.
      setImmediate(() => void this.flush());
    }
  }

  private async flush(): Promise<void> {
    const c = this.o.counters;
    try {
      while (this.queue.length > 0) {
        const slice = this.queue.slice(0, this.o.batchSize);
        c.AppendBatchReceivedCount++;
        let backoff = FULL_BACKOFF_MIN_MS;
        for (;;) {
          let outcome: string;
          try {
            outcome = await this.o.processor.putBatch(slice);
          } catch (err) {
            c.ChannelWriteFail++;
            c.dropped.add("channel error", slice.length);
            this.o.log.error(`dropped ${slice.length} datagrams: ${describeError(err)}`);
            outcome = "dropped";
          }
          if (outcome === "ok") {
            c.AppendBatchAcceptedCount++;
            c.EventAcceptedCount += slice.length;
          }
          if (outcome !== "full") break;
          c.ChannelWriteFail++;
          if (this.stopping) {
            c.dropped.add("stopping", this.queue.length);
            this.o.log.warn(`stopping with the channel full: ${this.queue.length} datagrams dropped`);
            this.queue = [];
            return;
          }
          await this.wake.wait(backoff);
          backoff = Math.min(backoff * 2, FULL_BACKOFF_MAX_MS);
        }
        this.queue.splice(0, slice.length);
      }
    } finally {
      this.flushing = false;
      this.done.notify();
    }
  }

  async stop(): Promise<void> {
    this.stopping = true;
    const s = this.socket;
    this.socket = undefined;
    if (s) await new Promise<void>((r) => s.close(() => r()));
    this.wake.notify();
    const deadline = Date.now() + STOP_GRACE_MS;
    while (this.flushing && Date.now() < deadline) await this.done.wait(100);
    this.warner.flush();
  }
}
