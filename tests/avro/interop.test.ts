// Interop with Apache's own Avro (Debian's python3-avro Requestor and Responder, Netty framing added by
// tests/avro/flume_peer.py), both directions, plain and deflate. python3-avro hashes the protocol differently
// from Java, so these calls also exercise the NONE → resend-with-protocol → CLIENT handshake.

import { describe, expect, test } from "bun:test";
import type { AvroSink } from "../../src/sinks/avro.ts";
import { waitFor } from "../helpers/index.ts";
import { avroSource, drain, PYTHON, sourceOnly, spawnPeer, startAgent, text } from "./helpers.ts";

const hasPythonAvro = Bun.spawnSync([PYTHON, "-c", "import avro.ipc"]).exitCode === 0;
if (!hasPythonAvro) console.warn("python3-avro is missing (apt-get install python3-avro, or make test): the interop tests will fail");

for (const compression of ["none", "deflate"] as const) {
  describe(`interop with python3-avro, compression ${compression}`, () => {
    test("a real Avro Requestor delivers appendBatch and append calls to the avro source, answered OK", async () => {
      const agent = await startAgent(sourceOnly([`compression-type = ${compression}`]));
      const port = avroSource(agent).port;
      // Async spawn: the source runs in this process and must keep answering.
      const py = spawnPeer(["client", String(port), "--batches", "3", "--size", "5", ...(compression === "deflate" ? ["--deflate"] : [])]);
      expect(await py.finished).toBe(0);
      expect(py.stderr()).toBe("");
      const replies = py.lines().map((l) => JSON.parse(l));
      expect(replies.map((r) => r.status)).toEqual(["OK", "OK", "OK", "OK"]);
      const events = await drain(agent.channels.get("c1")!);
      expect(events.map(text)).toEqual(Array.from({ length: 16 }, (_, i) => `py-${i}`));
      expect(events[7]!.headers).toEqual({ py: "yes", n: "7" });
      const c = avroSource(agent).counters;
      expect([c.AppendBatchAcceptedCount, c.AppendAcceptedCount, c.EventAcceptedCount]).toEqual([3, 1, 16]);
    });

    test("the avro sink delivers every event to a real Avro Responder", async () => {
      const peer = spawnPeer(["server", ...(compression === "deflate" ? ["--deflate"] : [])]);
      const port = await peer.port();
      await startAgent(edge(port, compression, 250));
      const bodies = await waitFor("250 events at the python responder", () => {
        const ev = peer.lines().filter((l) => l.startsWith("{\"headers\"")).map((l) => JSON.parse(l).body as string);
        return ev.length >= 250 ? ev : undefined;
      }, 20_000);
      expect(bodies).toEqual(Array.from({ length: 250 }, (_, i) => String(i)));
    });
  });
}

test("a FAILED answer rolls the batch back and the sink resends it on a new connection with a new handshake", async () => {
  const peer = spawnPeer(["server", "--fail", "2"]);
  const port = await peer.port();
  const agent = await startAgent(edge(port, "none", 100));
  const bodies = await waitFor("100 events after two FAILED answers", () => {
    const ev = peer.lines().filter((l) => l.startsWith("{\"headers\"")).map((l) => JSON.parse(l).body as string);
    return ev.length >= 100 ? ev : undefined;
  }, 20_000);
  expect(bodies).toEqual(Array.from({ length: 100 }, (_, i) => String(i)));
  expect(peer.lines().filter((l) => l.startsWith("{\"connection\"")).length).toBe(3);
  const sink = agent.sinks.get("k1") as AvroSink;
  expect(sink.counters.ConnectionCreatedCount).toBe(3);
  expect(sink.counters.EventWriteFail).toBe(200);
});

/** seq (totalEvents, batch 100) → memory → avro sink to 127.0.0.1:port. */
function edge(port: number, compression: string, total: number): string[] {
  return [
    "a1.sources = s1", "a1.channels = c1", "a1.sinks = k1",
    "a1.sources.s1.type = seq", `a1.sources.s1.totalEvents = ${total}`, "a1.sources.s1.batchSize = 100", "a1.sources.s1.channels = c1",
    "a1.channels.c1.type = memory", "a1.channels.c1.capacity = 1000",
    "a1.sinks.k1.type = avro", "a1.sinks.k1.hostname = 127.0.0.1", `a1.sinks.k1.port = ${port}`, `a1.sinks.k1.compression-type = ${compression}`,
    "a1.sinks.k1.channel = c1",
  ];
}
