// The avro source (Flume's AvroSource): serves Flume's AvroSourceProtocol so Flume agents and sluice avro sinks
// can forward to this agent. A call is answered OK only after its events are committed to the channels, FAILED
// when a channel is full (the client keeps the batch and retries). The server runs between start() and stop().

import type { ChannelProcessor } from "../core/channel-processor.ts";
import { defineType } from "../core/component-type.ts";
import { describeError, ValueError } from "../core/errors.ts";
import type { Event } from "../core/event.ts";
import type { Source } from "../core/source.ts";
import { key, type ConfigOf } from "../core/keys.ts";
import { SourceCounters } from "../core/counters.ts";
import type { Logger } from "../util/log.ts";
import type { Status } from "../avro/codec.ts";
import { DEFAULT_MAX_BUFFERS } from "../avro/framing.ts";
import { ipFilter, parseIpFilterRules } from "../avro/ip-filter.ts";
import { AvroRpcServer } from "../avro/server.ts";
import { checkExcludedProtocols, serverTls } from "../avro/tls.ts";

/** Flume's AvroSource compresses its replies at level 6 (not configurable there either). */
const SOURCE_DEFLATE_LEVEL = 6;

export const avroSourceKeys = {
  bind: key.string("address to listen on", { required: true }),
  port: key.int("port to listen on (0 = any free port)", { required: true, min: 0, max: 65535 }),
  threads: key.int("Flume's worker threads; accepted and ignored (one event loop serves every connection)", { default: 0, min: 0 }),
  "compression-type": key.enum("`deflate` to accept Flume's deflate stream (the sink must match)", ["none", "deflate"], { default: "none" }),
  ssl: key.bool("serve TLS (needs ssl-cert and ssl-key)", { default: false }),
  "ssl-cert": key.path("sluice: PEM file of the server certificate chain (Flume: keystore)", { use: "readableFile" }),
  "ssl-key": key.path("sluice: PEM file of the private key (Flume: keystore)", { use: "readableFile" }),
  "exclude-protocols": key.list("TLS versions not to accept, space-separated", { default: ["SSLv3"] }),
  ipFilter: key.bool("apply ipFilterRules to every new connection", { default: false }),
  ipFilterRules: key.string("comma-separated allow|deny:ip|name:pattern rules, first match wins, e.g. allow:ip:127.*,deny:ip:*"),
  maxFrameBytes: key.bytes("sluice: largest call (one pack, headers included) a client may send; larger closes the connection", { default: 32 * 1024 * 1024, min: 1024 }),
  maxConnections: key.int("sluice: connections served at once; more are closed on accept", { default: 1000, min: 1 }),
  readTimeout: key.duration("sluice: a call must arrive whole within this time once it started (slow or stalled clients are closed)", { default: 30_000, unit: "ms", min: 1 }),
  idleTimeout: key.duration("sluice: close a connection idle between calls for this long (0 = never, as Flume)", { default: 600_000, unit: "ms" }),
};
export type AvroSourceConfig = ConfigOf<typeof avroSourceKeys>;

export class AvroSource implements Source {
  readonly type = "avro";
  readonly counters = new SourceCounters();
  readonly server: AvroRpcServer;

  constructor(
    readonly name: string,
    private readonly cfg: AvroSourceConfig,
    private readonly processor: ChannelProcessor,
    private readonly log: Logger,
  ) {
    const rules = cfg.ipFilter ? parseIpFilterRules(cfg.ipFilterRules ?? "") : undefined;
    this.server = new AvroRpcServer({
      host: cfg.bind,
      port: cfg.port,
      limits: { maxPackBytes: cfg.maxFrameBytes, maxBuffers: DEFAULT_MAX_BUFFERS },
      deflateLevel: cfg["compression-type"] === "deflate" ? SOURCE_DEFLATE_LEVEL : undefined,
      tls: cfg.ssl ? serverTls({ cert: cfg["ssl-cert"]!, key: cfg["ssl-key"]!, exclude: cfg["exclude-protocols"] }) : undefined,
      maxConnections: cfg.maxConnections,
      readTimeoutMs: cfg.readTimeout,
      idleTimeoutMs: cfg.idleTimeout,
      allow: rules ? ipFilter(rules) : undefined,
      handler: { deliver: (events, message, peer) => this.deliver(events, message, peer) },
      log,
    });
    const server = this.server;
    Object.defineProperty(this.counters, "OpenConnectionCount", { enumerable: true, get: () => server.openConnections });
  }

  /** The port actually bound (differs from `port` when that was 0). */
  get port(): number {
    return this.server.port;
  }

  async start(): Promise<void> {
    const port = await this.server.start();
    this.counters.StartTime = Date.now();
    this.log.info(`avro source listening on ${this.cfg.bind}:${port}${this.cfg.ssl ? " (TLS)" : ""}${this.cfg["compression-type"] === "deflate" ? " (deflate)" : ""}`);
  }

  async stop(): Promise<void> {
    await this.server.stop();
    this.counters.StopTime = Date.now();
  }

  private async deliver(events: Event[], message: "append" | "appendBatch", peer: string): Promise<Status> {
    const c = this.counters;
    if (message === "append") c.AppendReceivedCount++;
    else c.AppendBatchReceivedCount++;
    c.EventReceivedCount += events.length;
    let outcome: string;
    try {
      outcome = await this.processor.putBatch(events);
    } catch (err) {
      c.ChannelWriteFail++;
      this.log.warn(`cannot put ${events.length} events from ${peer}: ${describeError(err)}; answered FAILED`);
      return "FAILED";
    }
    if (outcome !== "ok") {
      c.ChannelWriteFail++;
      return "FAILED";
    }
    if (message === "append") c.AppendAcceptedCount++;
    else c.AppendBatchAcceptedCount++;
    c.EventAcceptedCount += events.length;
    return "OK";
  }
}

export const avroSourceType = defineType({
  kind: "source",
  names: ["avro", "org.apache.flume.source.AvroSource"],
  keys: avroSourceKeys,
  check(cfg, report) {
    if (cfg.ssl) {
      if (!cfg["ssl-cert"]) report("ssl-cert", `required when ssl = true (a PEM certificate file)`);
      if (!cfg["ssl-key"]) report("ssl-key", `required when ssl = true (a PEM private key file)`);
      checkExcludedProtocols(cfg["exclude-protocols"], report);
    }
    if (cfg.ipFilter) {
      try {
        parseIpFilterRules(cfg.ipFilterRules ?? "");
      } catch (msg) {
        report("ipFilterRules", `${msg instanceof ValueError ? msg.detail : describeError(msg)} (ipFilter = true)`);
      }
    }
  },
  create: (cfg, ctx, deps) => new AvroSource(ctx.name, cfg, deps.processor, ctx.log),
});
