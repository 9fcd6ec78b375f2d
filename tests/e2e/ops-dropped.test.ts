// Events dropped on purpose are counted per component and reason, not only logged: a regex_filter interceptor's
// drops under its source, an http sink's `rollback.CODE = false` drops under the sink — in Flume's JSON at /metrics
// and in the Prometheus text (a total and a split by reason), and in `sluice status`.

import { describe, expect, test } from "bun:test";
import { join } from "node:path";
import parsePrometheusTextFormat from "parse-prometheus-text-format";
import { freePort, onCleanup, runSluice, spawnSluice, tempDir, waitFor, writeConfig } from "../helpers/index.ts";
import { getJson } from "./ops-helpers.ts";

describe("events dropped on purpose", () => {
  test("regex_filter and an http sink's rollback.404 = false count EventsDropped per component and reason", async () => {
    const dir = await tempDir();
    let posted = 0;
    const refusing = Bun.serve({ port: 0, hostname: "127.0.0.1", fetch: async (req) => ((posted += 1), await req.arrayBuffer(), new Response("gone", { status: 404 })) });
    onCleanup(() => refusing.stop(true));
    const conf = await writeConfig(dir, [
      "a1.sources = r1", "a1.channels = c1", "a1.sinks = k1",
      // Bodies "0".."99": the 11 starting with 1 are filtered out, the other 89 are refused by the endpoint.
      "a1.sources.r1.type = seq", "a1.sources.r1.totalEvents = 100", "a1.sources.r1.batchSize = 10", "a1.sources.r1.channels = c1",
      "a1.sources.r1.interceptors = i1", "a1.sources.r1.interceptors.i1.type = regex_filter",
      "a1.sources.r1.interceptors.i1.regex = ^1", "a1.sources.r1.interceptors.i1.excludeEvents = true",
      "a1.channels.c1.type = memory",
      "a1.sinks.k1.type = http", `a1.sinks.k1.endpoint = http://127.0.0.1:${refusing.port}/`, "a1.sinks.k1.channel = c1",
      "a1.sinks.k1.rollback.404 = false", "a1.sinks.k1.backoff.404 = false",
    ]);
    const port = await freePort();
    const agent = spawnSluice(["agent", "-f", conf, "--state-dir", join(dir, "state"), "--metrics-port", String(port)]);
    const base = `http://127.0.0.1:${port}`;
    const m = await waitFor("every event dropped and counted", async () => {
      const r = await getJson(`${base}/metrics`).catch(() => undefined);
      return r?.body["SINK.k1"]?.EventsDropped === "89" ? r.body : undefined;
    }, 20_000, 50);
    expect(m["SOURCE.r1"].EventsDropped).toBe("11");
    expect(m["SOURCE.r1"]["EventsDropped.regex_filter i1"]).toBe("11");
    expect(m["SINK.k1"]["EventsDropped.status 404 with rollback false"]).toBe("89");
    expect(m["CHANNEL.c1"].EventsDropped).toBe("0");
    expect(posted).toBeGreaterThan(0);

    const text = await (await fetch(`${base}/metrics/prometheus`)).text();
    const families = parsePrometheusTextFormat(text) as Array<{ name: string; type: string; metrics: Array<{ value: string; labels: Record<string, string> }> }>;
    const family = (name: string) => families.find((f) => f.name === name);
    expect(family("sluice_source_events_dropped_total")?.type).toBe("COUNTER");
    expect(family("sluice_source_events_dropped_total")?.metrics.find((x) => x.labels.name === "r1")?.value).toBe("11");
    const byReason = family("sluice_sink_events_dropped_by_reason_total")?.metrics.find((x) => x.labels.name === "k1");
    expect(byReason?.labels.reason).toBe("status 404 with rollback false");
    expect(byReason?.value).toBe("89");

    // `sluice status` shows them too, from the file the agent keeps (written within a second of a change).
    const st = await waitFor("status to show the drops", async () => {
      const r = await runSluice(["status", "-f", conf, "--state-dir", join(dir, "state"), "--json"]);
      const rep = JSON.parse(r.stdout);
      return rep.dropped?.components?.["SINK.k1"]?.["status 404 with rollback false"] === 89 ? rep : undefined;
    }, 10_000, 200);
    expect(st.dropped.pid).toBe(agent.proc.pid);
    expect(st.dropped.components["SOURCE.r1"]).toEqual({ "regex_filter i1": 11 });
    const statusText = (await runSluice(["status", "-f", conf, "--state-dir", join(dir, "state")])).stdout;
    expect(statusText).toContain("events dropped on purpose (EventsDropped)");
    expect(statusText).toContain("the running agent");
    expect(statusText).toMatch(/SOURCE\.r1\s+regex_filter i1\s+11/);
    agent.kill("SIGTERM");
    expect(await agent.exited).toBe(0);
  }, 40_000);
});
