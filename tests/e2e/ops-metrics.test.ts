// The monitoring endpoint of a real spawned agent: Flume's JSON counters match what was sent, the Prometheus text
// parses with a Prometheus text-format parser, and /health follows the sink's state.

import { describe, expect, test } from "bun:test";
import { rm, writeFile } from "node:fs/promises";
import { join } from "node:path";
import parsePrometheusTextFormat from "parse-prometheus-text-format";
import { freePort, spawnSluice, tempDir, waitFor, writeConfig } from "../helpers/index.ts";
import { getJson } from "./ops-helpers.ts";

const N = 2500;

const seqConfig = (out: string, total = N) => [
  "a1.sources = r1",
  "a1.channels = c1",
  "a1.sinks = k1",
  "a1.sources.r1.type = seq",
  `a1.sources.r1.totalEvents = ${total}`,
  "a1.sources.r1.batchSize = 100",
  "a1.sources.r1.channels = c1",
  "a1.channels.c1.type = memory",
  "a1.channels.c1.capacity = 10000",
  "a1.channels.c1.transactionCapacity = 1000",
  "a1.sinks.k1.type = file_roll",
  "a1.sinks.k1.channel = c1",
  `a1.sinks.k1.sink.directory = ${out}`,
  "a1.sinks.k1.sink.rollInterval = 0",
];

async function start(lines: (out: string) => string[], extra: string[] = [], portArgs?: (port: number) => string[]) {
  const dir = await tempDir();
  const out = join(dir, "out");
  const conf = await writeConfig(dir, lines(out));
  const port = await freePort();
  const agent = spawnSluice(["agent", "-f", conf, "--state-dir", join(dir, "state"), ...(portArgs ? portArgs(port) : ["--metrics-port", String(port)]), ...extra]);
  const base = `http://127.0.0.1:${port}`;
  await waitFor("the metrics endpoint", () => fetch(`${base}/health`).then(() => true, () => false), 15_000, 50);
  return { dir, out, conf, agent, base };
}

describe("metrics endpoint", () => {
  test("/metrics has Flume's JSON shape, string values, and counters that match what was sent", async () => {
    const s = await start((out) => seqConfig(out));
    const m = await waitFor("every event drained", async () => {
      const { body } = await getJson(`${s.base}/metrics`);
      return body["SINK.k1"]?.EventDrainSuccessCount === String(N) ? body : undefined;
    });
    expect(Object.keys(m).sort()).toEqual(["CHANNEL.c1", "SINK.k1", "SOURCE.r1"]);
    expect(m["SOURCE.r1"].EventReceivedCount).toBe(String(N));
    expect(m["SOURCE.r1"].EventAcceptedCount).toBe(String(N));
    expect(m["SOURCE.r1"].Type).toBe("SOURCE");
    expect(m["CHANNEL.c1"].EventPutSuccessCount).toBe(String(N));
    expect(m["CHANNEL.c1"].EventTakeSuccessCount).toBe(String(N));
    expect(m["CHANNEL.c1"].ChannelSize).toBe("0");
    expect(m["CHANNEL.c1"].ChannelCapacity).toBe("10000");
    expect(m["CHANNEL.c1"].ChannelFillPercentage).toBe("0");
    expect(m["SINK.k1"].ConnectionFailedCount).toBe("0");
    expect(m["SINK.k1"].Type).toBe("SINK");
    for (const comp of Object.values(m) as Record<string, unknown>[]) for (const v of Object.values(comp)) expect(typeof v).toBe("string");
    s.agent.kill("SIGTERM");
    expect(await s.agent.exited).toBe(0);
  });

  test("/metrics/prometheus parses as Prometheus text with the same counters and process metrics", async () => {
    const s = await start((out) => seqConfig(out));
    await waitFor("every event drained", async () => (await getJson(`${s.base}/metrics`)).body["SINK.k1"]?.EventDrainSuccessCount === String(N));
    const res = await fetch(`${s.base}/metrics/prometheus`);
    expect(res.status).toBe(200);
    expect(res.headers.get("content-type")).toContain("text/plain");
    const families = parsePrometheusTextFormat(await res.text());
    const byName = new Map(families.map((f) => [f.name, f]));
    const drained = byName.get("sluice_sink_event_drain_success_total")!;
    expect(drained.type).toBe("COUNTER");
    expect(drained.metrics).toEqual([{ value: String(N), labels: { agent: "a1", name: "k1", type: "file_roll" } }]);
    expect(byName.get("sluice_source_event_received_total")!.metrics[0]!.value).toBe(String(N));
    const size = byName.get("sluice_channel_size")!;
    expect(size.type).toBe("GAUGE");
    expect(size.metrics[0]!.value).toBe("0");
    expect(byName.has("process_resident_memory_bytes")).toBe(true);
    expect(byName.has("process_cpu_seconds_total")).toBe(true);
    s.agent.kill("SIGTERM");
    expect(await s.agent.exited).toBe(0);
  });

  test("/health is 503 naming the sink while it is down, and 200 once it recovers", async () => {
    const dir = await tempDir();
    const out = join(dir, "blocked");
    // file_roll cannot create its directory while a plain file sits at that path.
    await writeFile(out, "in the way\n");
    const conf = await writeConfig(dir, seqConfig(out, 100));
    const port = await freePort();
    const agent = spawnSluice(["agent", "-f", conf, "--state-dir", join(dir, "state"), "--metrics-port", String(port)]);
    const base = `http://127.0.0.1:${port}`;
    const down = await waitFor("/health 503", async () => {
      const r = await fetch(`${base}/health`).catch(() => undefined);
      return r?.status === 503 ? ((await r.json()) as { status: string; reasons: string[] }) : undefined;
    }, 15_000, 50);
    expect(down.status).toBe("unhealthy");
    expect(down.reasons.join(" ")).toContain("sink k1 is failing");
    expect(down.reasons.join(" ")).toContain(out);
    const failed = (await getJson(`${base}/metrics`)).body["SINK.k1"];
    expect(Number(failed.ConnectionFailedCount)).toBeGreaterThan(0);

    await rm(out);
    // The runner backs off up to 30 s between attempts; the first retries come within a few seconds.
    const up = await waitFor("/health 200", async () => {
      const r = await fetch(`${base}/health`);
      return r.status === 200 ? ((await r.json()) as { status: string }) : undefined;
    }, 40_000, 100);
    expect(up.status).toBe("ok");
    await waitFor("the recovery log line", () => agent.stderr().includes("sink k1 recovered"));
    expect(agent.stderr().match(/is failing, will retry/g)?.length).toBe(1);
    agent.kill("SIGTERM");
    expect(await agent.exited).toBe(0);
  });

  test("Flume's -Dflume.monitoring.type=http -Dflume.monitoring.port=N spelling serves the same endpoint", async () => {
    const s = await start((out) => seqConfig(out, 10), [], (port) => ["-Dflume.monitoring.type=http", `-Dflume.monitoring.port=${port}`]);
    expect((await fetch(`${s.base}/metrics`)).status).toBe(200);
    expect(s.agent.stderr()).toContain("metrics on http://127.0.0.1:");
    s.agent.kill("SIGTERM");
    expect(await s.agent.exited).toBe(0);
  });

  test("a metrics port already in use is a clear error at start, not a half-started agent", async () => {
    const dir = await tempDir();
    const conf = await writeConfig(dir, seqConfig(join(dir, "out"), 10));
    const port = await freePort();
    const blocker = Bun.serve({ port, hostname: "127.0.0.1", fetch: () => new Response("x") });
    try {
      const a = spawnSluice(["agent", "-f", conf, "--state-dir", join(dir, "state"), "--metrics-port", String(port)]);
      expect(await a.exited).toBe(1);
      expect(a.stderr()).toContain(`127.0.0.1:${port}`);
      expect(a.stderr()).not.toContain("    at ");
    } finally {
      blocker.stop(true);
    }
  });
});
