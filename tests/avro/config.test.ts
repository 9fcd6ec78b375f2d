// Config errors of the avro sink and source: every problem reported at load, with the key and its value.

import { expect, test } from "bun:test";
import { buildAgentSpec } from "../../src/config/load.ts";
import { Agent } from "../../src/core/agent.ts";
import { tempDir } from "../helpers/index.ts";

const base = [
  "a1.sources = r1", "a1.channels = c1", "a1.sinks = k1",
  "a1.sources.r1.type = org.apache.flume.source.AvroSource", "a1.sources.r1.bind = 127.0.0.1", "a1.sources.r1.port = 0", "a1.sources.r1.channels = c1",
  // Room for the batch-size 500 below: a take larger than transactionCapacity is refused at load.
  "a1.channels.c1.type = memory", "a1.channels.c1.capacity = 1000", "a1.channels.c1.transactionCapacity = 1000",
  "a1.sinks.k1.type = org.apache.flume.sink.AvroSink", "a1.sinks.k1.hostname = 127.0.0.1", "a1.sinks.k1.port = 4545", "a1.sinks.k1.channel = c1",
];
const problems = (extra: string[]) => buildAgentSpec([...base, ...extra].join("\n"), "t.conf", "a1").problems.map((p) => `${p.key}: ${p.message}`);

test("Flume's class names and keys load without problems", () => {
  expect(problems(["a1.sinks.k1.batch-size = 500", "a1.sinks.k1.compression-type = deflate", "a1.sinks.k1.request-timeout = 5000"])).toEqual([]);
});

test("cross-field rules name the keys: ssl without certificate, bad ipFilterRules, every TLS version excluded", () => {
  const p = problems([
    "a1.sources.r1.ssl = true", "a1.sources.r1.ipFilter = true", "a1.sources.r1.ipFilterRules = allow:ipx:10.*",
    "a1.sinks.k1.ssl = true", "a1.sinks.k1.exclude-protocols = TLSv1.2 TLSv1.3",
  ]);
  expect(p).toContainEqual("a1.sources.r1.ssl-cert: required when ssl = true (a PEM certificate file)");
  expect(p).toContainEqual("a1.sources.r1.ssl-key: required when ssl = true (a PEM private key file)");
  expect(p.some((x) => x.startsWith("a1.sources.r1.ipFilterRules: rule \"allow:ipx:10.*\""))).toBe(true);
  expect(p.some((x) => x.startsWith("a1.sinks.k1.exclude-protocols: "))).toBe(true);
});

test("bad values name the key: a port out of range, an unknown compression type", () => {
  const p = problems(["a1.sinks.k1.port = 70000", "a1.sources.r1.compression-type = gzip"]);
  expect(p).toContainEqual("a1.sinks.k1.port: must be at most 65535, got 70000");
  expect(p).toContainEqual("a1.sources.r1.compression-type: expected one of none, deflate, got \"gzip\"");
});

test("an unreadable certificate file fails the build with the key and the path", async () => {
  const spec = buildAgentSpec([...base, "a1.sources.r1.ssl = true", "a1.sources.r1.ssl-cert = /nonexistent/cert.pem", "a1.sources.r1.ssl-key = /nonexistent/key.pem"].join("\n"), "t.conf", "a1").spec!;
  await expect(Agent.build(spec, { stateDir: await tempDir() })).rejects.toThrow(/ssl-cert = \/nonexistent\/cert\.pem: cannot read/);
});
