import { describe, expect, test } from "bun:test";
import { buildAgentSpec } from "../../src/config/load.ts";
import { Agent } from "../../src/core/agent.ts";
import { parseRetryAfter } from "../../src/sinks/http/index.ts";
import { StatusPolicies } from "../../src/sinks/http/policy.ts";
import { configureLogging } from "../../src/util/log.ts";
import { onCleanup, tempDir, waitFor } from "../helpers/index.ts";

configureLogging({ level: "error" });

describe("http sink and Retry-After", () => {
  test("parses delay-seconds and HTTP dates, and ignores what it cannot read", () => {
    const now = Date.parse("2026-11-24T00:00:00Z");
    expect(parseRetryAfter("3", now)).toBe(3000);
    expect(parseRetryAfter("Tue, 24 Nov 2026 00:00:05 GMT", now)).toBe(5000);
    expect(parseRetryAfter("Mon, 23 Nov 2026 00:00:00 GMT", now)).toBe(0);
    expect(parseRetryAfter("soon", now)).toBeUndefined();
    expect(parseRetryAfter(null, now)).toBeUndefined();
  });

  for (const group of [false, true]) {
  test(`after a 503 with Retry-After: 2 the runner waits at least two seconds before sending the batch again${group ? ", also inside a sink group" : ""}`, async () => {
    const arrivals: number[] = [];
    const server = Bun.serve({
      port: 0,
      hostname: "127.0.0.1",
      fetch: async (req) => {
        await req.arrayBuffer();
        arrivals.push(Date.now());
        return arrivals.length === 1 ? new Response("busy", { status: 503, headers: { "Retry-After": "2" } }) : new Response("ok");
      },
    });
    onCleanup(() => server.stop(true));
    const dir = await tempDir();
    const { spec, problems } = buildAgentSpec(
      [
        "a1.sources = r1", "a1.channels = c1", "a1.sinks = k1",
        "a1.sources.r1.type = seq", "a1.sources.r1.totalEvents = 10", "a1.sources.r1.batchSize = 10", "a1.sources.r1.channels = c1",
        "a1.channels.c1.type = memory",
        "a1.sinks.k1.type = http", "a1.sinks.k1.channel = c1", `a1.sinks.k1.endpoint = http://127.0.0.1:${server.port}/`,
        "a1.sinks.k1.batchSize = 10", "a1.sinks.k1.format = ndjson",
        ...(group ? ["a1.sinkgroups = g1", "a1.sinkgroups.g1.sinks = k1", "a1.sinkgroups.g1.processor.type = failover"] : []),
      ].join("\n"),
      "retry.conf",
    );
    expect(problems).toEqual([]);
    const agent = await Agent.build(spec!, { stateDir: dir });
    await agent.start();
    await waitFor("the batch to be accepted", () => agent.sinks.get("k1")!.counters.EventDrainSuccessCount === 10, 10_000);
    await agent.stop(1000);
    expect(arrivals.length).toBe(2);
    expect(arrivals[1]! - arrivals[0]!).toBeGreaterThanOrEqual(1950);
  });
  }
});

describe("http sink status policy", () => {
  test("code keys match a status class in any case (5xx, 5Xx, 5XX) and an exact code wins", () => {
    const raw = (value: string) => ({ value, line: 1 });
    const p = new StatusPolicies({
      defaultBackoff: true,
      defaultRollback: true,
      defaultIncrementMetrics: false,
      backoff: {},
      rollback: { "5Xx": raw("false"), "503": raw("true") },
      incrementMetrics: { "4xx": raw("true") },
    });
    expect(p.for(500).rollback).toBe(false);
    expect(p.for(503).rollback).toBe(true);
    expect(p.for(404).incrementMetrics).toBe(true);
    expect(p.for(404).rollback).toBe(true);
  });
});
