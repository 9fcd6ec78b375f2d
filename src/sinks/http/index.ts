// The http sink: takes a batch, POSTs it to `endpoint` (json | ndjson | avro, optionally gzipped) and commits the
// take only after a 2xx. Other statuses follow Flume's HttpSink code keys (default: roll back and back off, so
// 408/429/5xx and unexpected 4xx are retried, never dropped); network errors and timeouts roll back.

import { readFileSync } from "node:fs";
import { promisify } from "node:util";
import { gzip } from "node:zlib";
import type { Channel } from "../../core/channel.ts";
import { defineType } from "../../core/component-type.ts";
import { DeliveryError, describeError } from "../../core/errors.ts";
import type { Event } from "../../core/event.ts";
import { takeAndDeliver, type Refusal, type Sink, type SinkStatus } from "../../core/sink.ts";
import { key, type ConfigOf } from "../../core/keys.ts";
import { SinkCounters } from "../../core/counters.ts";
import { fetchTrusting } from "../../runtime.ts";
import type { Logger } from "../../util/log.ts";
import { CONTENT_TYPES, encoderFor, eventSize } from "./formats.ts";
import { BufferPool } from "./json-body.ts";
import { checkPolicyKeys, StatusPolicies } from "./policy.ts";

const gzipAsync = promisify(gzip) as (data: Uint8Array, opts: { level: number }) => Promise<Uint8Array>;

export const httpSinkKeys = {
  endpoint: key.string("URL the batches are POSTed to (http:// or https://)", { required: true }),
  connectTimeout: key.duration("time allowed to connect; fetch has no separate connect phase, so it is added to requestTimeout", { default: 5000, unit: "ms" }),
  requestTimeout: key.duration("time allowed for the request and its answer", { default: 5000, unit: "ms" }),
  contentTypeHeader: key.string("Content-Type of requests", { defaultText: "from format: application/json, application/x-ndjson, avro/binary" }),
  acceptHeader: key.string("Accept header of requests", { default: "text/plain" }),
  defaultBackoff: key.bool("back off after a status no backoff.CODE key names", { default: true }),
  defaultRollback: key.bool("roll the batch back (retry it) after a non-2xx status no rollback.CODE key names", { default: true }),
  defaultIncrementMetrics: key.bool("count events as drained after a non-2xx status no incrementMetrics.CODE key names", { default: false }),
  backoff: key.prefixed("`backoff.CODE` (CODE = 503 or 5XX): back off after that status"),
  rollback: key.prefixed("`rollback.CODE`: roll back after that status (false commits: the events are dropped, with a warning)"),
  incrementMetrics: key.prefixed("`incrementMetrics.CODE`: count the events as drained after that status"),
  batchSize: key.int("sluice: most events per take (one take may be sent as several requests, see batchBytes)", { default: 100, min: 1 }),
  batchBytes: key.bytes("sluice: most event bytes (bodies and header texts) per request", { default: 4 * 1024 * 1024, min: 1 }),
  format: key.enum("sluice: request body format", ["json", "ndjson", "avro"], { default: "json" }),
  compression: key.enum("sluice: gzip the request body (Content-Encoding: gzip)", ["none", "gzip"], { default: "none" }),
  "compression-level": key.int("sluice: gzip level", { default: 6, min: 1, max: 9 }),
  headers: key.prefixed("sluice: `headers.<Name> = value` adds a request header (e.g. headers.Authorization = Bearer …)"),
  truststore: key.path("sluice: PEM file of CA certificates trusted for an https endpoint (in addition to the system's)", { use: "readableFile" }),
  parallelRequests: key.int("sluice: takes delivered at the same time, each in its own transaction (committed after its own 2xx, rolled back alone on a failure); above 1, a take retried after a failure can arrive after later ones", { default: 1, min: 1, max: 64 }),
  maxBackoff: key.duration("sluice: cap of the exponential retry backoff (full jitter) after failures", { default: 30_000, unit: "ms", min: 10 }),
};
export type HttpSinkConfig = ConfigOf<typeof httpSinkKeys>;

export class HttpSink implements Sink {
  readonly type = "http";
  readonly counters = new SinkCounters();
  readonly maxBackoffMs: number;
  private readonly encodeRaw: (events: readonly Event[]) => Uint8Array;
  private readonly pool: BufferPool;
  private readonly gzipLevel?: number;
  private readonly requestHeaders: Record<string, string>;
  private readonly policies: StatusPolicies;
  private readonly fetch: typeof fetch;
  private readonly timeoutMs: number;
  private stopping?: AbortController;
  /** Deliveries running after process() returned (parallelRequests > 1); each promise settles, never rejects. */
  private readonly running = new Set<Promise<void>>();
  /** The first failure of a delivery that ran in the background, thrown by the next process() call. */
  private failure?: unknown;

  constructor(
    readonly name: string,
    readonly channel: Channel,
    private readonly cfg: HttpSinkConfig,
    private readonly log: Logger,
  ) {
    this.maxBackoffMs = cfg.maxBackoff;
    const gzip = cfg.compression === "gzip";
    // One request buffer per request on the wire (and one being written) is reused instead of allocated per take.
    this.pool = new BufferPool(cfg.parallelRequests + 1);
    this.encodeRaw = encoderFor(cfg.format, this.pool);
    this.gzipLevel = gzip ? cfg["compression-level"] : undefined;
    this.requestHeaders = {
      "Content-Type": cfg.contentTypeHeader ?? CONTENT_TYPES[cfg.format],
      Accept: cfg.acceptHeader,
      ...(gzip ? { "Content-Encoding": "gzip" } : {}),
    };
    for (const [k, v] of Object.entries(cfg.headers)) this.requestHeaders[k] = v.value;
    this.policies = new StatusPolicies(cfg);
    this.fetch = fetchTrusting(cfg.truststore ? readFileSync(cfg.truststore, "utf8") : undefined);
    this.timeoutMs = cfg.connectTimeout + cfg.requestTimeout;
  }

  async start(): Promise<void> {
    this.stopping = new AbortController();
    this.counters.StartTime = Date.now();
  }

  async stop(): Promise<void> {
    this.stopping?.abort();
    // Aborted requests fail at once: their takes are rolled back before the channel stops.
    await this.settle();
    this.counters.StopTime = Date.now();
  }

  /** Splits a take into requests of at most batchBytes event bytes (a single larger event goes alone). */
  private chunks(events: Event[]): Event[][] {
    const limit = this.cfg.batchBytes;
    const out: Event[][] = [];
    let start = 0;
    let bytes = 0;
    for (let i = 0; i < events.length; i++) {
      const n = eventSize(events[i]!);
      if (i > start && bytes + n > limit) {
        out.push(events.slice(start, i));
        start = i;
        bytes = 0;
      }
      bytes += n;
    }
    if (start === 0) return [events];
    out.push(events.slice(start));
    return out;
  }

  get deliveriesInFlight(): number {
    return this.running.size;
  }

  async settle(): Promise<void> {
    while (this.running.size > 0) await Promise.all(this.running);
  }

  process(): Promise<SinkStatus> {
    if (this.cfg.parallelRequests === 1) return takeAndDeliver(this.channel, this.cfg.batchSize, this.counters, (events) => this.deliver(events));
    return this.processOverlapped();
  }

  /**
   * Starts a take and returns once its delivery is under way, keeping up to parallelRequests of them running, so
   * the next take's request is on the wire while earlier answers are awaited. A failure in the background is thrown
   * by the next call (the runner then backs off); its take was already rolled back by takeAndDeliver.
   */
  private async processOverlapped(): Promise<SinkStatus> {
    this.throwFailure();
    while (this.running.size >= this.cfg.parallelRequests) await Promise.race(this.running);
    this.throwFailure();
    let started!: (v: "started") => void;
    const took = new Promise<"started">((r) => (started = r));
    const run = takeAndDeliver(this.channel, this.cfg.batchSize, this.counters, (events) => {
      started("started");
      return this.deliver(events);
    });
    const first = await Promise.race([run, took]);
    if (first !== "started") return first;
    const p: Promise<void> = run.then(
      () => {},
      (err) => {
        this.failure ??= err;
      },
    ).finally(() => this.running.delete(p));
    this.running.add(p);
    return "ready";
  }

  private throwFailure(): void {
    const err = this.failure;
    if (err === undefined) return;
    this.failure = undefined;
    throw err;
  }

  private async deliver(events: Event[]): Promise<Refusal | void> {
    let refused: { status: number; text: string; retryAfterMs?: number } | undefined;
    // Every request of the take must succeed before the commit; a retry re-sends the earlier ones (at-least-once).
    for (const chunk of this.chunks(events)) {
      refused = await this.post(chunk);
      if (refused) break;
    }
    if (!refused) return;
    const p = this.policies.for(refused.status);
    const what = `http sink ${this.name}: ${this.cfg.endpoint} answered ${refused.status}${refused.text ? ` (${refused.text})` : ""}`;
    if (!p.rollback) {
      this.log.warn(`${what}; dropped ${events.length} events because rollback.${refused.status} (or its class, or defaultRollback) is false`);
      this.counters.dropped.add(`status ${refused.status} with rollback false`, events.length);
    }
    const why = p.rollback ? `${what}; the batch of ${events.length} events will be retried` : `${what}; backing off`;
    return { rollback: p.rollback, countAsDrained: p.incrementMetrics, error: p.backoff ? new DeliveryError(why, { retryAfterMs: refused.retryAfterMs }) : undefined };
  }

  /** Sends one request; resolves undefined on 2xx, the status otherwise; throws on network errors and timeouts. */
  private async post(events: Event[]): Promise<{ status: number; text: string; retryAfterMs?: number } | undefined> {
    const raw = this.encodeRaw(events);
    if (this.gzipLevel === undefined) {
      try {
        return await this.send(raw);
      } finally {
        // The runtime has done with the body once the exchange is over (Bun copies it when fetch() is called).
        this.pool.give(raw);
      }
    }
    // gzip runs on zlib's thread pool: a 4 MiB body compresses without holding the event loop (and the sources).
    const body = await gzipAsync(raw, { level: this.gzipLevel });
    this.pool.give(raw);
    return this.send(body);
  }

  private async send(body: Uint8Array): Promise<{ status: number; text: string; retryAfterMs?: number } | undefined> {
    const signals = [AbortSignal.timeout(this.timeoutMs)];
    if (this.stopping) signals.push(this.stopping.signal);
    let res: Response;
    try {
      res = await this.fetch(this.cfg.endpoint, { method: "POST", headers: this.requestHeaders, body: body as Uint8Array<ArrayBuffer> /* Deno's BodyInit wants an ArrayBuffer-backed view */, signal: AbortSignal.any(signals) });
    } catch (err) {
      this.counters.ConnectionFailedCount++;
      const name = (err as Error)?.name;
      // Runtimes wrap the useful part ("connection refused", "invalid peer certificate") in the cause.
      const cause = (err as Error)?.cause;
      const detail = cause && !describeError(err).includes(describeError(cause)) ? `: ${describeError(cause)}` : "";
      const why = name === "TimeoutError" ? `no answer within ${this.timeoutMs} ms` : name === "AbortError" ? "the sink is stopping" : describeError(err) + detail;
      throw new DeliveryError(`http sink ${this.name}: POST ${this.cfg.endpoint} failed: ${why}`, { cause: err });
    }
    if (res.status >= 200 && res.status < 300) {
      // Drained (for keep-alive), never decoded: a success says nothing we need.
      await res.arrayBuffer().catch(() => {});
      return undefined;
    }
    let text = "";
    try {
      text = (await res.text()).slice(0, 200).trim();
    } catch {
      // The answer's body is only for the message; a broken one changes nothing.
    }
    return { status: res.status, text, retryAfterMs: parseRetryAfter(res.headers.get("retry-after")) };
  }
}

/** `Retry-After` as delay-seconds or an HTTP date, in ms from now; undefined when absent or unreadable. */
export function parseRetryAfter(value: string | null, now = Date.now()): number | undefined {
  if (!value) return undefined;
  const v = value.trim();
  if (/^\d+$/.test(v)) return Number(v) * 1000;
  const at = Date.parse(v);
  return Number.isFinite(at) ? Math.max(0, at - now) : undefined;
}

export const httpSinkType = defineType({
  kind: "sink",
  names: ["http", "org.apache.flume.sink.http.HttpSink"],
  keys: httpSinkKeys,
  check(cfg, report) {
    let url: URL | undefined;
    try {
      url = new URL(cfg.endpoint);
    } catch {
      report("endpoint", `"${cfg.endpoint}" is not a URL (e.g. http://127.0.0.1:8080/)`);
    }
    if (url && url.protocol !== "http:" && url.protocol !== "https:") report("endpoint", `"${cfg.endpoint}": only http:// and https:// endpoints are supported`);
    if (cfg.truststore && url?.protocol === "http:") report("truststore", `truststore is set but endpoint "${cfg.endpoint}" is not https://`);
    for (const [k, msg] of checkPolicyKeys(cfg)) report(k, msg);
  },
  create: (cfg, ctx, deps) => new HttpSink(ctx.name, deps.channel, cfg, ctx.log),
});
