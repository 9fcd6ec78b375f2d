import { describe, expect, test } from "bun:test";
import { parseKeys, type KeySpec, type ConfigOf } from "../../src/core/keys.ts";
import { buildAgentSpec } from "../../src/config/load.ts";
import { MemoryChannel, memoryKeys } from "../../src/channels/memory.ts";
import { DeliveryError } from "../../src/core/errors.ts";
import { makeEvent } from "../../src/core/event.ts";
import { takeAndDeliver, type Sink, type SinkStatus } from "../../src/core/sink.ts";
import { SinkCounters } from "../../src/core/counters.ts";
import { FailoverSinkProcessor, failoverKeys } from "../../src/sinkgroups/failover.ts";
import { LoadBalanceSinkProcessor, loadBalanceKeys } from "../../src/sinkgroups/load-balance.ts";
import { configureLogging, getLogger } from "../../src/util/log.ts";

configureLogging({ level: "error" });

function cfg<S extends KeySpec>(spec: S, props: Record<string, string>): ConfigOf<S> {
  const map = new Map(Object.entries(props).map(([k, v]) => [k, { value: v, line: 1 }]));
  return parseKeys(spec, { kind: "p", name: "g1", prefix: "", file: "t", props: map }, []).config;
}

/** A real sink over a memory channel whose destination can be switched off: delivery then throws and rolls back. */
class SwitchableSink implements Sink {
  readonly type = "test";
  readonly counters = new SinkCounters();
  up = true;
  delivered: string[] = [];
  constructor(readonly name: string, readonly channel: MemoryChannel) {}
  async start() {}
  async stop() {}
  process(): Promise<SinkStatus> {
    return takeAndDeliver(this.channel, 10, this.counters, (events) => {
      if (!this.up) throw new DeliveryError(`${this.name} is down`);
      for (const e of events) this.delivered.push(new TextDecoder().decode(e.body));
    });
  }
}

async function channel(n: number): Promise<MemoryChannel> {
  const ch = new MemoryChannel("c1", cfg(memoryKeys, { capacity: "10000", transactionCapacity: "1000" }));
  await ch.start();
  const tx = ch.begin();
  tx.put(Array.from({ length: n }, (_, i) => makeEvent(String(i))));
  await tx.commit();
  return ch;
}

describe("failover", () => {
  test("sends to the highest priority, fails over, and returns to it once its penalty expires", async () => {
    const ch = await channel(60);
    const [k1, k2] = [new SwitchableSink("k1", ch), new SwitchableSink("k2", ch)];
    let now = 1_000_000;
    const p = new FailoverSinkProcessor("g1", [k1, k2], cfg(failoverKeys, { "priority.k1": "5", "priority.k2": "10", maxpenalty: "4000" }), getLogger("t"), () => now);
    expect(await p.process()).toBe("ready");
    expect(k2.delivered.length).toBe(10);
    k2.up = false;
    expect(await p.process()).toBe("ready"); // k2 fails, k1 takes the same batch
    expect(k1.delivered).toEqual(["10", "11", "12", "13", "14", "15", "16", "17", "18", "19"]);
    k2.up = true;
    expect(await p.process()).toBe("ready"); // k2 still penalized (1 s)
    expect(k1.delivered.length).toBe(20);
    now += 1001;
    expect(await p.process()).toBe("ready"); // penalty over: back to k2
    expect(k2.delivered.length).toBe(20);
    expect(k1.delivered.length + k2.delivered.length).toBe(40);
  });

  test("throws naming the group when every sink fails, and caps the penalty at maxpenalty", async () => {
    const ch = await channel(10);
    const [k1, k2] = [new SwitchableSink("k1", ch), new SwitchableSink("k2", ch)];
    k1.up = k2.up = false;
    let now = 0;
    const p = new FailoverSinkProcessor("g1", [k1, k2], cfg(failoverKeys, { maxpenalty: "2500" }), getLogger("t"), () => now);
    for (let i = 0; i < 4; i++) {
      await expect(p.process()).rejects.toThrow(/group g1/);
      now += 2500; // the penalty never exceeds maxpenalty
    }
    expect(ch.size()).toBe(10);
  });

  test("check() names a priority key for a sink outside the group", () => {
    const { problems } = buildAgentSpec(
      [
        "a1.sources = r1", "a1.channels = c1", "a1.sinks = k1 k2", "a1.sinkgroups = g1",
        "a1.sources.r1.type = seq", "a1.sources.r1.channels = c1", "a1.channels.c1.type = memory",
        "a1.sinks.k1.type = null", "a1.sinks.k1.channel = c1", "a1.sinks.k2.type = null", "a1.sinks.k2.channel = c1",
        "a1.sinkgroups.g1.sinks = k1 k2", "a1.sinkgroups.g1.processor.type = failover",
        "a1.sinkgroups.g1.processor.priority.k1 = 10", "a1.sinkgroups.g1.processor.priority.k3 = 5",
      ].join("\n"),
      "t.conf",
    );
    expect(problems.map((p) => `${p.where}: ${p.key}: ${p.message}`)).toEqual([`t.conf:15: a1.sinkgroups.g1.processor.priority.k3: "k3" is not a sink of this group (k1 k2)`]);
  });
});

describe("load_balance", () => {
  test("round-robins batches over the sinks", async () => {
    const ch = await channel(40);
    const sinks = [new SwitchableSink("k1", ch), new SwitchableSink("k2", ch)];
    const p = new LoadBalanceSinkProcessor("g1", sinks, cfg(loadBalanceKeys, {}), getLogger("t"));
    for (let i = 0; i < 4; i++) expect(await p.process()).toBe("ready");
    expect(sinks.map((s) => s.delivered.length)).toEqual([20, 20]);
  });

  test("skips a failing sink, blacklists it with backoff, and uses it again after selector.maxTimeOut", async () => {
    const ch = await channel(100);
    const [k1, k2] = [new SwitchableSink("k1", ch), new SwitchableSink("k2", ch)];
    let now = 0;
    const p = new LoadBalanceSinkProcessor("g1", [k1, k2], cfg(loadBalanceKeys, { backoff: "true", selector: "round_robin", "selector.maxTimeOut": "1500" }), getLogger("t"), () => now);
    k1.up = false;
    for (let i = 0; i < 4; i++) expect(await p.process()).toBe("ready");
    expect(k2.delivered.length).toBe(40);
    expect(k1.counters.EventWriteFail).toBe(10); // tried once, then blacklisted
    k1.up = true;
    now += 1500;
    for (let i = 0; i < 4; i++) expect(await p.process()).toBe("ready");
    expect(k1.delivered.length).toBe(20);
  });

  test("random selection still delivers every batch once", async () => {
    const ch = await channel(50);
    const sinks = [new SwitchableSink("k1", ch), new SwitchableSink("k2", ch), new SwitchableSink("k3", ch)];
    const p = new LoadBalanceSinkProcessor("g1", sinks, cfg(loadBalanceKeys, { selector: "random" }), getLogger("t"));
    for (let i = 0; i < 5; i++) expect(await p.process()).toBe("ready");
    expect(sinks.flatMap((s) => s.delivered).map(Number).sort((a, b) => a - b)).toEqual(Array.from({ length: 50 }, (_, i) => i));
  });
});
