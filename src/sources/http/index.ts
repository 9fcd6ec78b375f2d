// The http source (Flume's HTTPSource) on hono and the runtime's own server. A POST's events go into the channels
// as one batch; the answer is 200 only after the channels committed, 503 (Retry-After) when one is full, and a
// 4xx naming what is wrong otherwise — so nothing of a bad request is ever committed. Bounds on body size, inflated
// size, body read time and concurrent requests keep memory bounded whatever clients do.

import { createHash, timingSafeEqual } from "node:crypto";
import { readFileSync } from "node:fs";
import { Hono } from "hono";
import type { ChannelProcessor } from "../../core/channel-processor.ts";
import { defineType } from "../../core/component-type.ts";
import { describeError, TransactionCapacityError } from "../../core/errors.ts";
import type { Source } from "../../core/source.ts";
import { key, type ConfigOf } from "../../core/keys.ts";
import { SourceCounters } from "../../core/counters.ts";
import { serve, type Server } from "../../runtime.ts";
import type { Logger } from "../../util/log.ts";
import { readBody } from "./body.ts";
import { blobHandler, jsonHandler, type Handler } from "./handlers.ts";
import { yieldToLoop } from "../../util/yield.ts";

/** Seconds a client is told to wait after a 503 (channel full, too many requests). */
const RETRY_AFTER_S = 1;
/**
 * A body at least this large waits for one turn of the event loop before it is decoded: requests that arrive together
 * are otherwise decoded back to back in one turn (each briefly, but 20 × 1 MiB held timers and other sources ~150 ms).
 */
const YIELD_BEFORE_DECODE_BYTES = 64 * 1024;

const HANDLERS = ["JSON", "BLOB"] as const;
const HANDLER_NAMES: Record<string, (typeof HANDLERS)[number]> = {
  json: "JSON",
  "org.apache.flume.source.http.jsonhandler": "JSON",
  blob: "BLOB",
  "org.apache.flume.sink.solr.morphline.blobhandler": "BLOB",
};

export const httpSourceKeys = {
  port: key.int("TCP port (0 = any free port)", { required: true, min: 0, max: 65535 }),
  bind: key.string("address to listen on (Flume: 0.0.0.0; sluice: loopback unless you ask)", { default: "127.0.0.1" }),
  handler: key.string("`JSON` (org.apache.flume.source.http.JSONHandler; also NDJSON and Avro container bodies) or `BLOB` (org.apache.flume.sink.solr.morphline.BlobHandler)", { default: "JSON" }),
  "handler.maxBlobLength": key.bytes("BLOB: largest body accepted", { default: 100_000_000 }),
  maxBodyBytes: key.bytes("sluice: largest request body, on the wire and after gzip inflation (413 beyond)", { default: 16 * 1024 * 1024, min: 1 }),
  "auth.token": key.string("sluice: require `Authorization: Bearer <token>` (401 otherwise)"),
  ssl: key.bool("serve HTTPS with ssl-cert and ssl-key", { default: false, aliases: ["enableSSL"] }),
  "ssl-cert": key.path("sluice: PEM certificate chain file (Flume: keystore)", { use: "readableFile" }),
  "ssl-key": key.path("sluice: PEM private key file", { use: "readableFile" }),
  maxConcurrentRequests: key.int("sluice: requests handled at once; more get 503 with Retry-After", { default: 64, min: 1 }),
  readTimeout: key.duration("sluice: time allowed to receive a whole body (408 beyond)", { default: 30_000, unit: "ms", min: 1 }),
  idleTimeout: key.duration("sluice: an idle keep-alive connection is closed after this long (Bun)", { default: 10_000, unit: "ms", min: 1000 }),
};
export type HttpSourceConfig = ConfigOf<typeof httpSourceKeys>;

function tokenDigest(s: string): Buffer {
  return createHash("sha256").update(s).digest();
}

export class HttpSource implements Source {
  readonly type = "http";
  readonly counters = new SourceCounters();
  private server?: Server;
  private inflight = 0;
  private readonly handler: Handler;
  private readonly tokenHash?: Buffer;
  private readonly app = new Hono<{ Bindings: { remoteAddress: string } }>();

  constructor(
    readonly name: string,
    private readonly cfg: HttpSourceConfig,
    private readonly processor: ChannelProcessor,
    private readonly log: Logger,
  ) {
    this.handler = HANDLER_NAMES[cfg.handler.trim().toLowerCase()] === "BLOB" ? blobHandler(cfg["handler.maxBlobLength"]) : jsonHandler;
    if (cfg["auth.token"]) this.tokenHash = tokenDigest(cfg["auth.token"]);
    this.app.post("*", (c) => this.handle(c.req.raw, c.env?.remoteAddress ?? "?"));
    this.app.all("*", (c) => c.text("use POST\n", 405, { Allow: "POST" }));
    // Anything a handler did not expect: one line naming the peer, a 500 the client retries, no stack trace.
    this.app.onError((err, c) => {
      this.counters.GenericProcessingFail++;
      const peer = c.env?.remoteAddress ?? "?";
      this.log.warn(`500 to ${peer}: ${describeError(err)}`);
      this.log.debug(String(err.stack));
      return c.text(`internal error: ${describeError(err)}\n`, 500);
    });
  }

  /** The port actually listened on (when `port = 0`). */
  get port(): number {
    return this.server?.port ?? this.cfg.port;
  }

  async start(): Promise<void> {
    const tls = this.cfg.ssl ? { cert: readFileSync(this.cfg["ssl-cert"]!, "utf8"), key: readFileSync(this.cfg["ssl-key"]!, "utf8") } : undefined;
    this.server = await serve((req, info) => this.app.fetch(req, info), {
      port: this.cfg.port,
      hostname: this.cfg.bind,
      tls,
      // Our own reader answers 413 with a message; the server's cap (a bare 413) is only the backstop above it.
      maxRequestBodySize: this.cfg.maxBodyBytes * 4,
      idleTimeoutSec: Math.ceil(this.cfg.idleTimeout / 1000),
    });
    this.counters.StartTime = Date.now();
    this.log.info(`listening on ${tls ? "https" : "http"}://${this.cfg.bind}:${this.server.port}`);
  }

  async stop(): Promise<void> {
    const s = this.server;
    this.server = undefined;
    await s?.stop();
    this.counters.StopTime = Date.now();
  }

  private authorized(req: Request): boolean {
    if (!this.tokenHash) return true;
    const m = /^Bearer\s+(.+)$/i.exec(req.headers.get("authorization") ?? "");
    // Comparing digests keeps the comparison constant-time whatever the presented token's length.
    return m !== null && timingSafeEqual(tokenDigest(m[1]!.trim()), this.tokenHash);
  }

  private async handle(req: Request, peer: string): Promise<Response> {
    if (!this.authorized(req)) {
      this.log.debug(`401 to ${peer}: missing or wrong bearer token`);
      return reply(401, "missing or wrong bearer token (Authorization: Bearer …)", { "WWW-Authenticate": "Bearer", Connection: "close" });
    }
    if (this.inflight >= this.cfg.maxConcurrentRequests) {
      return reply(503, `too many concurrent requests (maxConcurrentRequests ${this.cfg.maxConcurrentRequests}); retry`, { "Retry-After": String(RETRY_AFTER_S) });
    }
    this.inflight++;
    this.counters.OpenConnectionCount = this.inflight;
    try {
      return await this.accept(req, peer);
    } finally {
      this.inflight--;
      this.counters.OpenConnectionCount = this.inflight;
    }
  }

  private async accept(req: Request, peer: string): Promise<Response> {
    const body = await readBody(req, this.cfg.maxBodyBytes, this.cfg.readTimeout);
    if (!body.ok) {
      this.counters.EventReadFail++;
      this.log.debug(`${body.status} to ${peer}: ${body.message}`);
      return reply(body.status, body.message, { Connection: "close" });
    }
    if (body.bytes.byteLength >= YIELD_BEFORE_DECODE_BYTES) await yieldToLoop();
    const decoded = await this.handler(body.bytes, req, this.cfg.maxBodyBytes);
    if (!decoded.ok) {
      this.counters.EventReadFail++;
      this.log.debug(`${decoded.status} to ${peer}: ${decoded.message}`);
      return reply(decoded.status, decoded.message);
    }
    const events = decoded.events;
    this.counters.AppendBatchReceivedCount++;
    this.counters.EventReceivedCount += events.length;
    if (events.length === 0) return reply(200, "ok: 0 events");
    let outcome;
    try {
      outcome = await this.processor.putBatch(events);
    } catch (err) {
      this.counters.ChannelWriteFail++;
      if (err instanceof TransactionCapacityError) return reply(413, describeError(err));
      this.log.warn(`cannot put ${events.length} events from ${peer}: ${describeError(err)}`);
      return reply(500, `cannot store the events: ${describeError(err)}`);
    }
    if (outcome === "full") {
      this.counters.ChannelWriteFail++;
      return reply(503, "channel full; retry later", { "Retry-After": String(RETRY_AFTER_S) });
    }
    this.counters.AppendBatchAcceptedCount++;
    this.counters.EventAcceptedCount += events.length;
    return reply(200, `ok: ${events.length} events`);
  }
}

function reply(status: number, message: string, headers: Record<string, string> = {}): Response {
  return new Response(message + "\n", { status, headers: { "Content-Type": "text/plain; charset=UTF-8", ...headers } });
}

export const httpSourceType = defineType({
  kind: "source",
  names: ["http", "org.apache.flume.source.http.HTTPSource"],
  keys: httpSourceKeys,
  check(cfg, report) {
    if (!HANDLER_NAMES[cfg.handler.trim().toLowerCase()]) report("handler", `unknown handler "${cfg.handler}" (JSON, BLOB, or their Flume class names)`);
    if (cfg.ssl && (!cfg["ssl-cert"] || !cfg["ssl-key"])) report("ssl", "ssl = true needs ssl-cert and ssl-key (PEM files)");
    if (cfg["auth.token"] !== undefined && cfg["auth.token"].trim() === "") report("auth.token", "is empty: set a token or remove the key");
  },
  create: (cfg, ctx, deps) => new HttpSource(ctx.name, cfg, deps.processor, ctx.log),
});
