// Headers named like Object's own members (`__proto__`, `constructor`) are ordinary headers end to end: through the
// http source's JSON, an interceptor, the file channel, Avro RPC between two agents, a multiplexing selector and the
// file_roll sink's HEADER_AND_TEXT serializer.

import { describe, expect, test } from "bun:test";
import { join } from "node:path";
import { freePort, readAllLines, spawnSluice, tempDir, waitFor, writeConfig } from "../helpers/index.ts";

describe("headers named __proto__ and constructor", () => {
  test("arrive as ordinary headers after http → static interceptor → file channel → avro → multiplexing → file_roll", async () => {
    const dir = await tempDir("sluice-proto-");
    const [httpPort, avroPort] = [await freePort(), await freePort()];
    const out = join(dir, "out");
    const agg = await writeConfig(dir, [
      "agg.sources = r1", "agg.channels = c1 c2", "agg.sinks = k1 k2",
      "agg.sources.r1.type = avro", "agg.sources.r1.bind = 127.0.0.1", `agg.sources.r1.port = ${avroPort}`, "agg.sources.r1.channels = c1 c2",
      "agg.sources.r1.selector.type = multiplexing", "agg.sources.r1.selector.header = constructor",
      "agg.sources.r1.selector.mapping.set = c1", "agg.sources.r1.selector.default = c2",
      "agg.channels.c1.type = memory", "agg.channels.c2.type = memory",
      "agg.sinks.k1.type = file_roll", `agg.sinks.k1.sink.directory = ${out}`, "agg.sinks.k1.sink.rollInterval = 0",
      "agg.sinks.k1.sink.serializer = HEADER_AND_TEXT", "agg.sinks.k1.channel = c1",
      "agg.sinks.k2.type = null", "agg.sinks.k2.channel = c2",
    ], "agg.conf");
    const edge = await writeConfig(dir, [
      "edge.sources = s1", "edge.channels = c1", "edge.sinks = k1",
      "edge.sources.s1.type = http", "edge.sources.s1.bind = 127.0.0.1", `edge.sources.s1.port = ${httpPort}`, "edge.sources.s1.channels = c1",
      "edge.sources.s1.interceptors = i1", "edge.sources.s1.interceptors.i1.type = static",
      "edge.sources.s1.interceptors.i1.key = constructor", "edge.sources.s1.interceptors.i1.value = set",
      "edge.channels.c1.type = file", `edge.channels.c1.checkpointDir = ${dir}/edge/checkpoint`, `edge.channels.c1.dataDirs = ${dir}/edge/data`,
      "edge.channels.c1.minimumRequiredSpace = 0",
      "edge.sinks.k1.type = avro", "edge.sinks.k1.hostname = 127.0.0.1", `edge.sinks.k1.port = ${avroPort}`, "edge.sinks.k1.channel = c1",
    ], "edge.conf");
    const run = (conf: string, name: string) => spawnSluice(["agent", "-f", conf, "-n", name, "--state-dir", join(dir, "state")]);
    const a = run(agg, "agg");
    const e = run(edge, "edge");
    await waitFor("both agents started", () => a.stderr().includes("agent agg started") && e.stderr().includes("agent edge started"), 15_000);
    const res = await fetch(`http://127.0.0.1:${httpPort}/`, {
      method: "POST",
      headers: { "Content-Type": "application/json" },
      body: '[{"headers":{"__proto__":"p1","toString":"t1"},"body":"one"}]',
    });
    expect(res.status).toBe(200);
    const lines = await waitFor("the event delivered", async () => {
      const l = await readAllLines(out).catch(() => [] as string[]);
      return l.length > 0 ? l : undefined;
    }, 15_000, 50);
    expect(lines).toEqual(["{__proto__=p1, toString=t1, constructor=set} one"]);
    a.kill("SIGTERM");
    e.kill("SIGTERM");
    expect(await a.exited).toBe(0);
    expect(await e.exited).toBe(0);
  }, 40_000);
});
