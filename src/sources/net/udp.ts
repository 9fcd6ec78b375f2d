// The UDP side shared by netcatudp and syslogudp: one event per datagram, put into the channels in batches. UDP
// cannot push back on a sender, so while a channel is full datagrams wait in a bounded queue (the batch is retried);
// what arrives beyond it is dropped and counted (EventsDropped, reason "channel full") with a rate-limited warning.
// The kernel's own receive buffer drops silently beyond its size; those losses are invisible to any UDP receiver.

import dgram from "node:dgram";
import { isIP } from "node:net";
import type { ChannelProcessor } from "../../core/channel-processor.ts";
import { describeError, SluiceError } from "../../core/errors.ts";
import type { Event } from "../../core/event.ts";
import type { Logger } from "../../util/log.ts";
import { Signal } from "../../util/signal.ts";
import type { SourceCounters } from "../../core/counters.ts";
import { key, type ConfigOf } from "../../core/keys.ts";
import { putWhileFull } from "./put.ts";
import { RateLimitedWarn } from "./warn.ts";

/** The keys of the queue and socket every UDP source has (netcatudp, syslogudp). */
export const udpQueueKeys = {
  batchSize: key.int("sluice: datagrams per channel transaction (at most)", { default: 100, min: 1 }),
  maxQueued: key.int("sluice: datagrams held while a channel is full; beyond, they are dropped and counted (EventsDropped)", { default: 10_000, min: 1 }),
  receiveBufferBytes: key.bytes("sluice: the socket's kernel receive buffer (SO_RCVBUF, capped by net.core.rmem_max; 0 = the kernel's default): room for bursts", { default: 4 * 1024 * 1024 }),
};
export type UdpQueueSettings = ConfigOf<typeof udpQueueKeys>;

/** The udpQueueKeys of a source's configuration. */
export function udpQueueOf(cfg: UdpQueueSettings): UdpQueueSettings {
  return { batchSize: cfg.batchSize, maxQueued: cfg.maxQueued, receiveBufferBytes: cfg.receiveBufferBytes };
}

export interface Datagram {
  bytes: Uint8Array;
  /** Sender address and port. */
  address: string;
  port: number;
}

export interface UdpServerOptions extends UdpQueueSettings {
  /** The source's type, for the log line when it listens. */
  label: string;
  host: string;
  port: number;
  processor: ChannelProcessor;
  counters: SourceCounters;
  log: Logger;
  /** The event for one datagram. */
  toEvent(d: Datagram): Event;
}

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
      throw new SluiceError("IO", `cannot listen on udp ${this.o.host}:${this.o.port}: ${describeError(err)}`, false, { cause: err });
    });
    socket.on("error", (err) => this.o.log.error(`udp ${this.o.host}:${this.port}: ${describeError(err)}`));
    socket.on("message", (msg: Uint8Array, rinfo: dgram.RemoteInfo) => this.receive(msg, rinfo));
    this.socket = socket;
    this.port = socket.address().port;
    this.o.counters.StartTime = Date.now();
    this.o.log.info(`${this.o.label} listening on udp ${this.o.host}:${this.port}`);
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
        let put: "stored" | "stopping" | "error";
        try {
          put = await putWhileFull(this.o.processor, slice, c, this.wake, () => this.stopping);
        } catch (err) {
          c.dropped.add("channel error", slice.length);
          this.o.log.error(`dropped ${slice.length} datagrams: ${describeError(err)}`);
          put = "error";
        }
        if (put === "stopping") {
          c.dropped.add("stopping", this.queue.length);
          this.o.log.warn(`stopping with the channel full: ${this.queue.length} datagrams dropped`);
          this.queue = [];
          return;
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
    this.o.counters.StopTime = Date.now();
  }
}
