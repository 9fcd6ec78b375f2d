// ssl + deflate in both of Flume's layerings: Flume 1.9's (the zlib stream inside TLS) and Flume 1.10+'s (TLS inside
// the zlib stream), with python3-avro peers built either way (tests/avro/flume_peer.py --layer) and between sluice
// agents. The source serves both on one port; the sink speaks the one its compression-layer names.

import { describe, expect, test } from "bun:test";
import net from "node:net";
import { buildAgentSpec } from "../../src/config/load.ts";
import type { AvroSink } from "../../src/sinks/avro.ts";
import { configureLogging } from "../../src/util/log.ts";
import { waitFor } from "../helpers/index.ts";
import { avroSource, drain, selfSigned, sourceOnly, spawnPeer, startAgent, text } from "./helpers.ts";

const logged: string[] = [];
configureLogging({ level: "warn", write: (l) => logged.push(l) });

const LAYERS = ["outside-tls", "inside-tls"] as const;

/** seq → memory → avro sink over TLS + deflate to 127.0.0.1:port, with `layer` (undefined: the default). */
function edge(port: number, ca: string, total: number, layer?: string): string[] {
  return [
    "a1.sources = s1", "a1.channels = c1", "a1.sinks = k1",
    "a1.sources.s1.type = seq", `a1.sources.s1.totalEvents = ${total}`, "a1.sources.s1.batchSize = 100", "a1.sources.s1.channels = c1",
    "a1.channels.c1.type = memory", "a1.channels.c1.capacity = 1000",
    "a1.sinks.k1.type = avro", "a1.sinks.k1.hostname = 127.0.0.1", `a1.sinks.k1.port = ${port}`, "a1.sinks.k1.channel = c1",
    "a1.sinks.k1.connect-timeout = 3s", "a1.sinks.k1.compression-type = deflate", "a1.sinks.k1.ssl = true", `a1.sinks.k1.truststore = ${ca}`,
    ...(layer ? [`a1.sinks.k1.compression-layer = ${layer}`] : []),
  ];
}

const secureSource = (cert: string, key: string) =>
  sourceOnly(["ssl = true", `ssl-cert = ${cert}`, `ssl-key = ${key}`, "compression-type = deflate"]);

const received = (peer: ReturnType<typeof spawnPeer>) =>
  peer.lines().filter((l) => l.startsWith("{\"headers\"")).map((l) => JSON.parse(l).body as string);

describe("ssl with deflate, both layerings", () => {
  for (const layer of LAYERS) {
    test(`a python3-avro client layered ${layer} delivers to the avro source, answered OK`, async () => {
      const { cert, key } = await selfSigned();
      const agent = await startAgent(secureSource(cert, key));
      const py = spawnPeer(["client", String(avroSource(agent).port), "--deflate", "--ssl", cert, "--layer", layer, "--batches", "3", "--size", "5"]);
      expect(await py.finished).toBe(0);
      expect(py.stderr()).toBe("");
      expect(py.lines().map((l) => JSON.parse(l).status)).toEqual(["OK", "OK", "OK", "OK"]);
      const events = await drain(agent.channels.get("c1")!);
      expect(events.map(text)).toEqual(Array.from({ length: 16 }, (_, i) => `py-${i}`));
      expect(events[3]!.headers).toEqual({ py: "yes", n: "3" });
    });

    test(`the avro sink with compression-layer = ${layer} delivers every event to a python3-avro server layered the same way`, async () => {
      const { cert, key } = await selfSigned();
      const peer = spawnPeer(["server", "--deflate", "--ssl", `${cert},${key}`, "--layer", layer]);
      await startAgent(edge(await peer.port(), cert, 250, layer));
      const bodies = await waitFor("250 events at the python server", () => {
        const got = received(peer);
        return got.length >= 250 ? got : undefined;
      }, 20_000);
      expect(bodies).toEqual(Array.from({ length: 250 }, (_, i) => String(i)));
    });
  }

  test("the sink's default is Flume 1.10+'s layering: a python3-avro server layered outside-tls gets the events", async () => {
    const { cert, key } = await selfSigned();
    const peer = spawnPeer(["server", "--deflate", "--ssl", `${cert},${key}`, "--layer", "outside-tls"]);
    await startAgent(edge(await peer.port(), cert, 100));
    const bodies = await waitFor("100 events", () => (received(peer).length >= 100 ? received(peer) : undefined), 20_000);
    expect(bodies).toEqual(Array.from({ length: 100 }, (_, i) => String(i)));
  });

  test("a sink layered inside-tls cannot deliver to a server layered outside-tls (Flume 1.9 against 1.11): nothing arrives, the sink counts failures", async () => {
    const { cert, key } = await selfSigned();
    const peer = spawnPeer(["server", "--deflate", "--ssl", `${cert},${key}`, "--layer", "outside-tls"]);
    const agent = await startAgent(edge(await peer.port(), cert, 100, "inside-tls"));
    const sink = agent.sinks.get("k1") as AvroSink;
    await waitFor("a failed connection", () => sink.counters.ConnectionFailedCount > 0, 15_000);
    expect(received(peer)).toEqual([]);
    expect(agent.runners[0]!.lastError ?? "").toContain("Flume 1.10+ sources need compression-layer = outside-tls, Flume 1.9 ones inside-tls; this sink uses inside-tls");
  });

  test("one source port takes sinks of both layerings at once", async () => {
    const { cert, key } = await selfSigned();
    const agg = await startAgent(secureSource(cert, key));
    const port = avroSource(agg).port;
    await startAgent(edge(port, cert, 300, "outside-tls"));
    await startAgent(edge(port, cert, 300, "inside-tls"));
    const ch = agg.channels.get("c1")!;
    await waitFor("600 events from two sinks", () => ch.size() >= 600, 20_000);
    const bodies = (await drain(ch)).map(text).sort((a, b) => Number(a) - Number(b));
    expect(bodies).toEqual(Array.from({ length: 300 }, (_, i) => [String(i), String(i)]).flat());
  });

  const send = (port: number, bytes: Uint8Array | string) =>
    new Promise<string>((resolve) => {
      const s = net.connect(port, "127.0.0.1", () => s.write(bytes));
      const timer = setTimeout(() => resolve("still open"), 5000);
      s.on("data", () => {});
      s.on("error", () => {});
      s.on("close", () => {
        clearTimeout(timer);
        resolve("closed");
      });
    });

  test("a connection that starts with neither a TLS record nor a zlib header is closed at once, with a warning naming its first bytes", async () => {
    const { cert, key } = await selfSigned();
    const agg = await startAgent(secureSource(cert, key));
    logged.length = 0;
    expect(await send(avroSource(agg).port, "GET / HTTP/1.1\r\n\r\n")).toBe("closed");
    expect(agg.channels.get("c1")!.size()).toBe(0);
    await waitFor("the warning", () => logged.find((l) => l.includes("first bytes 0x47 0x45 0x54 0x20 are neither a TLS handshake")));
  });

  test("a zlib header followed by bytes that do not inflate is closed with one warning naming the peer and the deflate error", async () => {
    const { cert, key } = await selfSigned();
    const agg = await startAgent(secureSource(cert, key));
    logged.length = 0;
    expect(await send(avroSource(agg).port, new Uint8Array([0x78, 0x9c, 1, 2, 3, 4, 5, 6, 7, 8]))).toBe("closed");
    const w = await waitFor("the warning", () => logged.find((l) => /TLS handshake with 127\.0\.0\.1:\d+ failed: bad deflate stream/.test(l)));
    expect(w).toBeDefined();
    expect(logged.filter((l) => l.includes("TLS handshake with")).length).toBe(1);
  });

  test("compression-layer = inside-tls without both ssl and deflate is a warning that it does nothing", () => {
    const lines = edge(4545, "/tmp/ca.pem", 1, "inside-tls").filter((l) => !l.includes("compression-type"));
    const { problems, warnings } = buildAgentSpec(lines.join("\n"), "t.conf", "a1");
    expect(problems).toEqual([]);
    expect(warnings.join("\n")).toContain("a1.sinks.k1.compression-layer: inside-tls has no effect unless ssl = true and compression-type = deflate");
  });
});
