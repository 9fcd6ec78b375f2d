// The avro sink (Flume's AvroSink): takes a batch, sends it as one `appendBatch` call to a Flume or sluice avro
// source, and commits the take only after the peer answered OK. FAILED, UNKNOWN, an error or a timeout rolls the
// batch back and drops the connection; the next attempt opens a new one with a new handshake, as Flume does.

import type { Channel } from "../core/channel.ts";
import { defineType } from "../core/component-type.ts";
import { DeliveryError, describeError } from "../core/errors.ts";
import { takeAndDeliver, type Sink, type SinkStatus } from "../core/sink.ts";
import { key, type ConfigOf } from "../core/keys.ts";
import { SinkCounters } from "../core/counters.ts";
import type { Logger } from "../util/log.ts";
import { AvroRpcClient } from "../avro/client.ts";
import { DEFAULT_MAX_BUFFERS } from "../avro/framing.ts";
import { COMPRESSION_LAYERS } from "../avro/layers.ts";
import { checkExcludedProtocols, clientTls } from "../avro/tls.ts";

/** Replies are a few bytes; anything bigger is not Flume talking. */
const MAX_REPLY_BYTES = 1024 * 1024;

export const avroSinkKeys = {
  hostname: key.string("host of the avro source to send to", { required: true }),
  port: key.int("its port", { required: true, min: 1, max: 65535 }),
  "batch-size": key.int("events per take and per appendBatch call", { default: 100, min: 1, aliases: ["batchSize"] }),
  "connect-timeout": key.duration("how long to wait for the connection (and TLS) to be up", { default: 20_000, unit: "ms", min: 1 }),
  "request-timeout": key.duration("how long to wait for the answer to a call", { default: 20_000, unit: "ms", min: 1 }),
  "reset-connection-interval": key.duration("reconnect this often, so a load balancer in front of several sources spreads the load (0 = never)", { default: 0, unit: "s" }),
  "compression-type": key.enum("`deflate`: one zlib stream per direction, flushed after every call (the source must match)", ["none", "deflate"], { default: "none" }),
  "compression-level": key.int("zlib level for deflate", { default: 6, min: 0, max: 9 }),
  "compression-layer": key.enum(
    "sluice: with ssl and deflate both on, where the zlib stream sits: `outside-tls` carries the TLS records in the zlib stream (Flume 1.10, 1.11), `inside-tls` runs it inside TLS (Flume 1.9 and older). A sluice source takes either",
    COMPRESSION_LAYERS,
    { default: "outside-tls" },
  ),
  ssl: key.bool("connect with TLS", { default: false }),
  "trust-all-certs": key.bool("accept any server certificate (testing only)", { default: false }),
  truststore: key.path("sluice: PEM file of the CA certificates to trust (default: the system's)", { use: "readableFile" }),
  "exclude-protocols": key.list("TLS versions not to use, space-separated", { default: ["SSLv3"] }),
  maxIoWorkers: key.int("Flume's Netty worker threads; accepted and ignored (one event loop)", { default: 0, min: 0 }),
};
export type AvroSinkConfig = ConfigOf<typeof avroSinkKeys>;

export class AvroSink implements Sink {
  readonly type = "avro";
  readonly counters = new SinkCounters();
  readonly client: AvroRpcClient;
  /** A connection we opened and have not counted as closed yet (the peer may have closed it meanwhile). */
  private open = false;

  constructor(
    readonly name: string,
    readonly channel: Channel,
    private readonly cfg: AvroSinkConfig,
    private readonly log: Logger,
  ) {
    this.client = new AvroRpcClient({
      host: cfg.hostname,
      port: cfg.port,
      connectTimeoutMs: cfg["connect-timeout"],
      requestTimeoutMs: cfg["request-timeout"],
      deflateLevel: cfg["compression-type"] === "deflate" ? cfg["compression-level"] : undefined,
      compressionLayer: cfg["compression-layer"],
      tls: cfg.ssl ? clientTls({ trustAll: cfg["trust-all-certs"], truststore: cfg.truststore, exclude: cfg["exclude-protocols"] }) : undefined,
      limits: { maxPackBytes: MAX_REPLY_BYTES, maxBuffers: DEFAULT_MAX_BUFFERS },
    });
  }

  async start(): Promise<void> {
    this.counters.StartTime = Date.now();
  }

  async stop(): Promise<void> {
    this.drop();
    this.counters.StopTime = Date.now();
  }

  private drop(): void {
    this.client.close();
    if (!this.open) return;
    this.open = false;
    this.counters.ConnectionClosedCount++;
  }

  process(): Promise<SinkStatus> {
    return takeAndDeliver(this.channel, this.cfg["batch-size"], this.counters, async (events) => {
      const reset = this.cfg["reset-connection-interval"];
      if (reset > 0 && this.client.isOpen && Date.now() - this.client.openedAt >= reset) {
        this.log.debug(`resetting the connection to ${this.client.peer} (reset-connection-interval)`);
        this.drop();
      }
      if (!this.client.isOpen) {
        this.drop();
        try {
          await this.client.connect();
        } catch (err) {
          this.counters.ConnectionFailedCount++;
          throw err;
        }
        this.open = true;
        this.counters.ConnectionCreatedCount++;
      }
      let status: string;
      try {
        status = await this.client.appendBatch(events);
      } catch (err) {
        this.drop();
        throw err instanceof DeliveryError ? err : new DeliveryError(`avro sink ${this.name}: ${this.client.peer}: ${describeError(err)}`, { cause: err });
      }
      if (status !== "OK") {
        this.drop();
        throw new DeliveryError(`avro sink ${this.name}: ${this.client.peer} answered ${status} to a batch of ${events.length} events`);
      }
    });
  }
}

export const avroSinkType = defineType({
  kind: "sink",
  names: ["avro", "org.apache.flume.sink.AvroSink"],
  keys: avroSinkKeys,
  check(cfg, report, ctx) {
    if (cfg.ssl) {
      checkExcludedProtocols(cfg["exclude-protocols"], report);
    }
    if (cfg["compression-layer"] === "inside-tls" && !(cfg.ssl && cfg["compression-type"] === "deflate")) {
      ctx.warn?.("compression-layer", "inside-tls has no effect unless ssl = true and compression-type = deflate (it orders those two layers)");
    }
  },
  create: (cfg, ctx, deps) => new AvroSink(ctx.name, deps.channel, cfg, ctx.log),
});
