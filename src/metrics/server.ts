// The monitoring endpoint (`--metrics-port`, or Flume's -Dflume.monitoring.type=http): a hono app on the runtime's
// own server, bound to 127.0.0.1 unless --metrics-bind says otherwise.
//   GET /metrics             Flume's JSON: {"SOURCE.r1": {...}, "CHANNEL.c1": {...}, "SINK.k1": {...}}, string values
//   GET /metrics/prometheus  Prometheus text format (prom-client), the same counters plus process metrics
//   GET /health              200 {"status":"ok"} or 503 {"status":"unhealthy","reasons":[...]}

import { Hono } from "hono";
import type { Agent } from "../core/agent.ts";
import { SluiceError, describeError } from "../core/errors.ts";
import { serve, type Server } from "../runtime.ts";
import { health } from "./health.ts";
import { PrometheusExporter } from "./prometheus.ts";
import { flumeJson, snapshot } from "./snapshot.ts";
import { fileLags } from "./inspect.ts";

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

export function metricsApp(src: MetricsSource, prom: PrometheusExporter): Hono {
  const app = new Hono();
  app.get("/metrics", (c) => {
    const a = src.current();
    return c.json(a ? flumeJson(snapshot(a)) : {});
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
  const app = metricsApp(src, prom);
  let server: Server;
  try {
    server = await serve((req) => app.fetch(req), { hostname: bind, port });
  } catch (err) {
    throw new SluiceError("IO", `metrics endpoint: cannot listen on ${bind}:${port} (--metrics-port/--metrics-bind): ${describeError(err)}`, false, { cause: err });
  }
  const host = bind.includes(":") ? `[${bind}]` : bind;
  return { port: server.port, url: `http://${host}:${server.port}`, stop: () => server.stop() };
}
