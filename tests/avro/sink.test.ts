// The avro sink's side of the acknowledgement: a take commits only after the peer answered OK; silence, a dropped
// connection or an error rolls it back and nothing is lost. Also reset-connection-interval and sink groups.

import { describe, expect, test } from "bun:test";
import net from "node:net";
import type { AvroSink } from "../../src/sinks/avro.ts";
import { freePort, onCleanup, waitFor } from "../helpers/index.ts";
import { avroSource, drain, sourceOnly, startAgent, text } from "./helpers.ts";

function edge(port: number, total: number, extra: string[] = []): string[] {
  return [
    "a1.sources = s1", "a1.channels = c1", "a1.sinks = k1",
    "a1.sources.s1.type = seq", `a1.sources.s1.totalEvents = ${total}`, "a1.sources.s1.batchSize = 50", "a1.sources.s1.channels = c1",
    "a1.channels.c1.type = memory", "a1.channels.c1.capacity = 10000",
    "a1.sinks.k1.type = avro", "a1.sinks.k1.hostname = 127.0.0.1", `a1.sinks.k1.port = ${port}`, "a1.sinks.k1.channel = c1",
    "a1.sinks.k1.request-timeout = 300ms", "a1.sinks.k1.connect-timeout = 500ms", "a1.sinks.k1.batch-size = 50",
    ...extra.map((l) => `a1.sinks.k1.${l}`),
  ];
}

/** A TCP server that misbehaves on every connection; closed after the test file. */
async function badPeer(port: number, onData: (s: net.Socket) => void): Promise<net.Server> {
  const sockets = new Set<net.Socket>();
  const server = net.createServer((s) => {
    sockets.add(s);
    s.on("error", () => {});
    s.on("data", () => onData(s));
  });
  await new Promise<void>((r) => server.listen(port, "127.0.0.1", r));
  const close = () => new Promise<void>((r) => {
    for (const s of sockets) s.destroy();
    server.close(() => r());
  });
  onCleanup(close);
  return Object.assign(server, { closeAll: close });
}

describe("avro sink acknowledgement", () => {
  const misbehaviours: Array<[string, (s: net.Socket) => void]> = [
    ["never answers (request-timeout)", () => {}],
    ["closes the connection mid-call", (s) => s.destroy()],
    ["answers with garbage", (s) => s.write(new Uint8Array([0, 0, 0, 9, 0, 0, 0, 1, 0, 0, 0, 1, 7]))],
  ];
  for (const [what, onData] of misbehaviours) {
    test(`a peer that ${what}: every take rolls back, and a real source later receives every event`, async () => {
      const port = await freePort();
      const peer = (await badPeer(port, onData)) as net.Server & { closeAll(): Promise<void> };
      const agent = await startAgent(edge(port, 100));
      const sink = agent.sinks.get("k1") as AvroSink;
      await waitFor("two failed deliveries", () => sink.counters.EventWriteFail >= 100, 10_000);
      expect(sink.counters.EventDrainSuccessCount).toBe(0);
      expect(sink.counters.ConnectionClosedCount).toBeGreaterThanOrEqual(1);
      await peer.closeAll();
      const agg = await startAgent(sourceOnly().map((l) => l.replace("port = 0", `port = ${port}`)));
      const ch = agg.channels.get("c1")!;
      await waitFor("100 events at the real source", () => ch.size() >= 100, 15_000);
      expect((await drain(ch)).map(text)).toEqual(Array.from({ length: 100 }, (_, i) => String(i)));
      expect(agent.channels.get("c1")!.size()).toBe(0);
    });
  }

  test("a refused connection counts ConnectionFailedCount and names the peer", async () => {
    const port = await freePort();
    const agent = await startAgent(edge(port, 10));
    const sink = agent.sinks.get("k1") as AvroSink;
    await waitFor("a failed connection", () => sink.counters.ConnectionFailedCount > 0);
    expect(agent.runners[0]!.lastError).toContain(`127.0.0.1:${port}`);
    expect(agent.channels.get("c1")!.size()).toBe(10);
  });
});

test("reset-connection-interval opens a new connection (and handshake) after the interval", async () => {
  const agg = await startAgent(sourceOnly());
  const agent = await startAgent([
    ...edge(avroSource(agg).port, 100_000, ["reset-connection-interval = 100ms"]).filter((l) => !l.includes("batchSize")),
    "a1.sources.s1.batchSize = 1",
  ]);
  const sink = agent.sinks.get("k1") as AvroSink;
  await waitFor("three connections", () => sink.counters.ConnectionCreatedCount >= 3, 10_000);
  expect(sink.counters.ConnectionFailedCount).toBe(0);
  await agent.stop(0);
});

test("two avro sinks in a failover group: the preferred aggregator is down, the other gets every event", async () => {
  const down = await freePort();
  const agg = await startAgent(sourceOnly());
  const up = avroSource(agg).port;
  await startAgent([
    "a1.sources = s1", "a1.channels = c1", "a1.sinks = k1 k2", "a1.sinkgroups = g1",
    "a1.sources.s1.type = seq", "a1.sources.s1.totalEvents = 500", "a1.sources.s1.batchSize = 50", "a1.sources.s1.channels = c1",
    "a1.channels.c1.type = memory", "a1.channels.c1.capacity = 1000",
    ...[["k1", down], ["k2", up]].flatMap(([k, p]) => [
      `a1.sinks.${k}.type = avro`, `a1.sinks.${k}.hostname = 127.0.0.1`, `a1.sinks.${k}.port = ${p}`, `a1.sinks.${k}.channel = c1`,
      `a1.sinks.${k}.connect-timeout = 300ms`,
    ]),
    "a1.sinkgroups.g1.sinks = k1 k2", "a1.sinkgroups.g1.processor.type = failover",
    "a1.sinkgroups.g1.processor.priority.k1 = 10", "a1.sinkgroups.g1.processor.priority.k2 = 5",
  ]);
  const ch = agg.channels.get("c1")!;
  await waitFor("500 events at the live aggregator", () => ch.size() >= 500, 15_000);
  expect(new Set((await drain(ch)).map(text)).size).toBe(500);
});
