// The monitoring endpoint (`--metrics-port`, or Flume's -Dflume.monitoring.type=http): a hono app on the runtime's
// own server, bound to 127.0.0.1 unless --metrics-bind says otherwise.
//   GET /metrics             Flume's JSON: {"SOURCE.r1": {...}, "CHANNEL.c1": {...}, "SINK.k1": {...}}, string values
//   GET /metrics/prometheus  Prometheus text format (prom-client), the same counters plus process metrics
//   GET /health              200 {"status":"ok"} or 503 {"status":"unhealthy","reasons":[...]}
//   GET /metrics/files       sluice: bytes behind per tailed file [{"source","type","file","bytesBehind"}]
// Besides Flume's counters, /metrics carries sluice's gauges: OldestEventAgeMs for every channel (estimated from the
// counters, see ages.ts, where the channel has no gauge of its own), and per sink SinkState (ok | failing) with
// LastError, which `sluice top` shows.

import { Hono } from "hono";
import type { Agent } from "../core/agent.ts";
import { SluiceError, describeError } from "../core/errors.ts";
import { serve, type Server } from "../runtime.ts";
import { health } from "./health.ts";
import { PrometheusExporter } from "./prometheus.ts";
import { flumeJson, snapshot } from "./snapshot.ts";
import { fileLags } from "./inspect.ts";
import { AGE_SAMPLE_MS, ChannelAges } from "./ages.ts";

/** What the endpoint reads: the agent running now (it changes on reload) and the supervisor's state. */
export interface MetricsSource {
  readonly agentName: string;
  /** The agent's --state-dir, for the components' read-only inspect() (per-file lag). */
  readonly stateDir: string;
  current(): Agent | undefined;
  state(): string;
}

export interface MetricsServer {
  readonly port: number;
  readonly url: string;
  stop(): Promise<void>;
}

/** Flume's JSON plus sluice's gauges: the oldest event's age per channel, each sink's state and last error. */
function metricsJson(a: Agent, ages: ChannelAges): Record<string, Record<string, string>> {
  ages.sample(a);
  const json = flumeJson(snapshot(a));
  for (const name of a.channels.keys()) {
    const c = json[`CHANNEL.${name}`];
    // A channel that knows its oldest record's time (the file channel) says so itself; the others get the estimate.
    if (c && c.OldestEventAgeMs === undefined) c.OldestEventAgeMs = String(ages.oldestAgeMs(a, name));
  }
  for (const r of a.runners) {
    for (const sink of r.processor.sinks) {
      const k = json[`SINK.${sink.name}`];
      if (!k) continue;
      k.SinkState = r.failing ? "failing" : "ok";
      if (r.lastError) k.LastError = r.lastError;
    }
  }
  return json;
}

export function metricsApp(src: MetricsSource, prom: PrometheusExporter, ages = new ChannelAges()): Hono {
  const app = new Hono();
  app.get("/metrics", (c) => {
    const a = src.current();
    return c.json(a ? metricsJson(a, ages) : {});
  });
  app.get("/metrics/files", async (c) => {
    const a = src.current();
    return c.json(a ? await fileLags(a.spec, src.stateDir) : []);
  });
  app.get("/metrics/prometheus", async (c) => {
    const a = src.current();
    const text = await prom.render(src.agentName, a ? snapshot(a) : [], a ? await fileLags(a.spec, src.stateDir) : []);
    return c.body(text, 200, { "content-type": prom.contentType });
  });
  app.get("/health", (c) => {
    const h = health(src.current(), src.state());
    return c.json(h.ok ? { status: "ok", state: h.state } : { status: "unhealthy", state: h.state, reasons: h.reasons }, h.ok ? 200 : 503);
  });
  app.notFound((c) => c.text("not found: try /metrics, /metrics/prometheus or /health\n", 404));
  return app;
}

export async function startMetricsServer(src: MetricsSource, bind: string, port: number): Promise<MetricsServer> {
  const prom = await PrometheusExporter.create();
  const ages = new ChannelAges();
  const app = metricsApp(src, prom, ages);
  const sampler = setInterval(() => ages.sample(src.current()), AGE_SAMPLE_MS);
  sampler.unref?.();
  let server: Server;
  try {
    server = await serve((req) => app.fetch(req), { hostname: bind, port });
  } catch (err) {
    clearInterval(sampler);
    throw new SluiceError("IO", `metrics endpoint: cannot listen on ${bind}:${port} (--metrics-port/--metrics-bind): ${describeError(err)}`, false, { cause: err });
  }
  const host = bind.includes(":") ? `[${bind}]` : bind;
  return { port: server.port, url: `http://${host}:${server.port}`, stop: () => (clearInterval(sampler), server.stop()) };
}
