// TLS between the avro sink and the avro source: PEM trust store on the sink, PEM certificate and key on the
// source; an untrusted certificate is refused with a clear error and nothing is delivered.

import { describe, expect, test } from "bun:test";
import { readFileSync } from "node:fs";
import tls from "node:tls";
import type { AvroSink } from "../../src/sinks/avro.ts";
import { waitFor } from "../helpers/index.ts";
import { avroSource, drain, selfSigned, sourceOnly, startAgent, text } from "./helpers.ts";

function edge(port: number, tlsLines: string[], compression = "none"): string[] {
  return [
    "a1.sources = s1", "a1.channels = c1", "a1.sinks = k1",
    "a1.sources.s1.type = seq", "a1.sources.s1.totalEvents = 300", "a1.sources.s1.batchSize = 100", "a1.sources.s1.channels = c1",
    "a1.channels.c1.type = memory", "a1.channels.c1.capacity = 1000",
    "a1.sinks.k1.type = avro", "a1.sinks.k1.hostname = 127.0.0.1", `a1.sinks.k1.port = ${port}`, "a1.sinks.k1.channel = c1",
    "a1.sinks.k1.connect-timeout = 2s", `a1.sinks.k1.compression-type = ${compression}`,
    ...tlsLines.map((l) => `a1.sinks.k1.${l}`),
  ];
}

describe("avro over TLS", () => {
  for (const compression of ["none", "deflate"]) {
    test(`delivers every event when the sink trusts the source's certificate (compression ${compression})`, async () => {
      const { cert, key } = await selfSigned();
      const agg = await startAgent(sourceOnly(["ssl = true", `ssl-cert = ${cert}`, `ssl-key = ${key}`, `compression-type = ${compression}`]));
      await startAgent(edge(avroSource(agg).port, ["ssl = true", `truststore = ${cert}`], compression));
      const ch = agg.channels.get("c1")!;
      await waitFor("300 events over TLS", () => ch.size() >= 300, 15_000);
      expect((await drain(ch)).map(text)).toEqual(Array.from({ length: 300 }, (_, i) => String(i)));
    });
  }

  test("refuses an untrusted certificate: the sink fails with the peer named and delivers nothing", async () => {
    const { cert, key } = await selfSigned();
    const agg = await startAgent(sourceOnly(["ssl = true", `ssl-cert = ${cert}`, `ssl-key = ${key}`]));
    const port = avroSource(agg).port;
    const edgeAgent = await startAgent(edge(port, ["ssl = true"]));
    const sink = edgeAgent.sinks.get("k1") as AvroSink;
    await waitFor("a failed connection", () => sink.counters.ConnectionFailedCount > 0, 10_000);
    expect(edgeAgent.runners[0]!.lastError ?? "").toContain(`127.0.0.1:${port}`);
    expect(agg.channels.get("c1")!.size()).toBe(0);
  });

  test("ipFilterRules refuse a peer before the TLS handshake", async () => {
    const { cert, key } = await selfSigned();
    const agg = await startAgent(sourceOnly(["ssl = true", `ssl-cert = ${cert}`, `ssl-key = ${key}`, "ipFilter = true", "ipFilterRules = deny:ip:127.*"]));
    const outcome = await new Promise<string>((resolve) => {
      const s = tls.connect({ host: "127.0.0.1", port: avroSource(agg).port, ca: readFileSync(cert) }, () => resolve("secure"));
      s.on("error", () => resolve("refused"));
      s.on("close", () => resolve("refused"));
    });
    expect(outcome).toBe("refused");
    expect(avroSource(agg).server.refused).toBe(1);
  });
});
