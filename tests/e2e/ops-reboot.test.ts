// Offline resume, as on an edge box after a reboot with the network down: the agent is stopped, the logs rotate twice,
// the agent starts while its HTTP destination is unreachable, then the destination comes back: every line arrives.
// Also: a SIGTERM drain with a spillable channel holding events in memory loses nothing and ends within its timeout.

import { describe, expect, test } from "bun:test";
import { mkdir, rename } from "node:fs/promises";
import { join } from "node:path";
import parsePrometheusTextFormat from "parse-prometheus-text-format";
import { freePort, spawnSluice, tempDir, waitFor, writeConfig } from "../helpers/index.ts";
import { expectedLines, getJson, logFile, stateArgs, tailConfig, writeLines } from "./ops-helpers.ts";

/** An HTTP destination on 127.0.0.1 that collects the bodies of the http sink's JSON batches. */
function receiver(port: number, got: Set<string>) {
  return Bun.serve({
    port,
    hostname: "127.0.0.1",
    async fetch(req) {
      const batch = (await req.json()) as Array<{ body: string }>;
      for (const e of batch) got.add(e.body);
      return new Response("ok");
    },
  });
}

function httpSinkConfig(logs: string, port: number, channel: string[]): string[] {
  return tailConfig({ logs, out: "unused", channel }).filter((l) => !l.startsWith("a1.sinks.k1.")).concat([
    "a1.sinks.k1.type = http",
    "a1.sinks.k1.channel = c1",
    `a1.sinks.k1.endpoint = http://127.0.0.1:${port}/ingest`,
    "a1.sinks.k1.batchSize = 100",
    "a1.sinks.k1.connectTimeout = 500",
    "a1.sinks.k1.requestTimeout = 2000",
    "a1.sinks.k1.maxBackoff = 500",
  ]);
}

/** logrotate's default scheme: app.log.1 → app.log.2, app.log → app.log.1, then a new app.log. */
async function rotate(logs: string): Promise<void> {
  await rename(logFile(logs, ".1"), logFile(logs, ".2")).catch(() => {});
  await rename(logFile(logs), logFile(logs, ".1"));
}

describe("offline resume", () => {
  test("stopped, logs rotated twice, started with the sink unreachable, then the sink returns: every line arrives", async () => {
    const dir = await tempDir();
    const logs = join(dir, "logs");
    await mkdir(logs);
    const state = join(dir, "state");
    const port = await freePort();
    const metricsPort = await freePort();
    const conf = await writeConfig(dir, httpSinkConfig(logs, port, ["a1.channels.c1.type = file", "a1.channels.c1.minimumRequiredSpace = 0"]));
    const got = new Set<string>();
    let server = receiver(port, got);

    const first = spawnSluice(stateArgs(conf, state));
    await writeLines(logFile(logs), 0, 200);
    await waitFor("the first 200 lines", () => got.size >= 200, 20_000, 50);
    first.kill("SIGTERM");
    expect(await first.exited).toBe(0);

    // While it is down: more lines, two rotations, and the network goes away.
    await writeLines(logFile(logs), 200, 300);
    await rotate(logs);
    await writeLines(logFile(logs), 300, 400);
    await rotate(logs);
    await writeLines(logFile(logs), 400, 500);
    server.stop(true);

    const second = spawnSluice([...stateArgs(conf, state), "--metrics-port", String(metricsPort)]);
    await waitFor("the sink-down warning", () => second.stderr().includes("sink k1 is failing"), 20_000, 50);
    const health = await waitFor("/health 503", async () => {
      const h = await getJson(`http://127.0.0.1:${metricsPort}/health`).catch(() => undefined);
      return h?.status === 503 ? h : undefined;
    });
    expect(health.body.reasons.join(" ")).toContain("sink k1");
    // Everything read is safe on disk in the file channel meanwhile.
    await waitFor("all 300 new lines in the channel", async () => Number((await getJson(`http://127.0.0.1:${metricsPort}/metrics`)).body["CHANNEL.c1"].ChannelSize) === 300, 20_000, 100);

    server = receiver(port, got);
    await waitFor("all 500 lines", () => got.size >= 500, 60_000, 100);
    for (const l of expectedLines(0, 500)) expect(got.has(l)).toBe(true);
    await waitFor("the recovery line", () => second.stderr().includes("sink k1 recovered"));
    // One line when it went down, one when it came back: not a line per retry.
    expect(second.stderr().match(/sink k1 is failing/g)?.length).toBe(1);
    expect(second.stderr().match(/sink k1 recovered/g)?.length).toBe(1);
    expect((await getJson(`http://127.0.0.1:${metricsPort}/health`)).status).toBe(200);
    // Bytes behind EOF per tailed file: every file caught up once its position is written.
    const lags = await waitFor("per-file lag 0 for the three files", async () => {
      const text = await (await fetch(`http://127.0.0.1:${metricsPort}/metrics/prometheus`)).text();
      const fam = parsePrometheusTextFormat(text).find((f) => f.name === "sluice_source_file_bytes_behind");
      const rows = fam?.metrics ?? [];
      return rows.length === 3 && rows.every((m) => m.value === "0") ? rows : undefined;
    });
    expect(lags.map((m) => m.labels!.file).sort()).toEqual([logFile(logs), logFile(logs, ".1"), logFile(logs, ".2")]);
    second.kill("SIGTERM");
    expect(await second.exited).toBe(0);
    server.stop(true);
  }, 120_000);

  test("SIGTERM with a spillable channel holding events in memory loses nothing and exits within the drain timeout", async () => {
    const dir = await tempDir();
    const logs = join(dir, "logs");
    await mkdir(logs);
    const state = join(dir, "state");
    const port = await freePort();
    const metricsPort = await freePort();
    const spill = ["a1.channels.c1.type = SPILLABLEMEMORY", "a1.channels.c1.memoryCapacity = 100000", "a1.channels.c1.minimumRequiredSpace = 0"];
    const conf = await writeConfig(dir, httpSinkConfig(logs, port, spill));
    await writeLines(logFile(logs), 0, 2000);
    // No destination yet: the events wait in the channel's memory part.
    const agent = spawnSluice([...stateArgs(conf, state), "--metrics-port", String(metricsPort), "--drain-timeout", "1s"]);
    await waitFor("2000 events in the channel", async () => {
      const m = await getJson(`http://127.0.0.1:${metricsPort}/metrics`).catch(() => undefined);
      return Number(m?.body["CHANNEL.c1"]?.ChannelSize) === 2000;
    }, 20_000, 100);
    const t0 = Date.now();
    agent.kill("SIGTERM");
    expect(await agent.exited).toBe(0);
    // 1 s of drain, then the memory part goes to disk; generous margin for a loaded machine.
    expect(Date.now() - t0).toBeLessThan(8_000);

    const got = new Set<string>();
    const server = receiver(port, got);
    const again = spawnSluice(stateArgs(conf, state));
    await waitFor("all 2000 lines", () => got.size >= 2000, 30_000, 100);
    for (const l of expectedLines(0, 2000)) expect(got.has(l)).toBe(true);
    again.kill("SIGTERM");
    expect(await again.exited).toBe(0);
    server.stop(true);
  }, 60_000);

  test("a second SIGTERM exits at once, releases the lock, and still loses nothing", async () => {
    const dir = await tempDir();
    const logs = join(dir, "logs");
    await mkdir(logs);
    const state = join(dir, "state");
    const port = await freePort();
    const memory = ["a1.channels.c1.type = memory", "a1.channels.c1.capacity = 10000", "a1.channels.c1.transactionCapacity = 1000"];
    const conf = await writeConfig(dir, [...httpSinkConfig(logs, port, memory).filter((l) => !l.includes("requestTimeout")), "a1.sinks.k1.requestTimeout = 60000"]);
    await writeLines(logFile(logs), 0, 1000);
    // A destination that accepts batches and never answers: the drain after the first SIGTERM hangs on it.
    let hung = 0;
    const hanging = Bun.serve({ port, hostname: "127.0.0.1", fetch: () => (hung++, new Promise<Response>(() => {})) });
    const agent = spawnSluice([...stateArgs(conf, state), "--drain-timeout", "60s"]);
    await waitFor("a batch in flight", () => hung > 0, 20_000, 50);
    agent.kill("SIGTERM");
    await waitFor("the first signal's log line", () => agent.stderr().includes("SIGTERM received"));
    const t0 = Date.now();
    agent.kill("SIGTERM");
    expect(await agent.exited).toBe(1);
    expect(Date.now() - t0).toBeLessThan(5_000);
    expect(agent.stderr()).toContain("received again: exiting now");
    hanging.stop(true);

    const got = new Set<string>();
    const server = receiver(port, got);
    const again = spawnSluice(stateArgs(conf, state));
    await waitFor("all 1000 lines", () => got.size >= 1000, 30_000, 100);
    for (const l of expectedLines(0, 1000)) expect(got.has(l)).toBe(true);
    // The exiting process removed its lock: nothing stale to take over.
    expect(again.stderr()).not.toContain("took over the stale lock");
    again.kill("SIGTERM");
    expect(await again.exited).toBe(0);
    server.stop(true);
  }, 60_000);
});
