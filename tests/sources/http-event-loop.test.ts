// The http source under a storm of hostile and maximum-size requests of every kind, sent by a process of its own
// (tests/sources/http-storm-sender.ts): the event loop keeps turning, good requests are answered promptly, and the
// agent keeps delivering. (The timing bounds here are generous, for a shared machine; bench/http-source-lag.ts
// measures the real figures.)

import { describe, expect, test } from "bun:test";
import { join } from "node:path";
import { buildAgentSpec } from "../../src/config/load.ts";
import { Agent } from "../../src/core/agent.ts";
import type { HttpSource } from "../../src/sources/http/index.ts";
import { BUN, onCleanup, tempDir } from "../helpers/index.ts";

const MAX = 1024 * 1024;

describe("http source under a storm", () => {
  test("with 20 hostile and 20 maximum-size requests of each kind in flight, good requests are answered and delivery goes on", async () => {
    const dir = await tempDir("sluice-storm-");
    const conf = [
      "a.sources = r1", "a.channels = c1", "a.sinks = k1",
      "a.sources.r1.type = http", "a.sources.r1.bind = 127.0.0.1", "a.sources.r1.port = 0", "a.sources.r1.channels = c1",
      `a.sources.r1.maxBodyBytes = ${MAX}`, "a.sources.r1.maxConcurrentRequests = 1000",
      "a.channels.c1.type = memory", "a.channels.c1.capacity = 1000000", "a.channels.c1.transactionCapacity = 100000",
      "a.sinks.k1.type = null", "a.sinks.k1.batchSize = 1000", "a.sinks.k1.channel = c1",
    ].join("\n");
    const built = buildAgentSpec(conf, "storm.conf", "a");
    const agent = await Agent.build(built.spec!, { stateDir: dir });
    await agent.start();
    onCleanup(() => agent.stop(5000));
    const source = agent.sources.get("r1")!.source as HttpSource;
    const url = `http://127.0.0.1:${source.port}/`;
    const drained = () => agent.sinks.get("k1")!.counters.EventDrainSuccessCount;

    const sender = Bun.spawn([BUN, join(import.meta.dir, "http-storm-sender.ts"), url, String(MAX)], { stdout: "pipe", stderr: "inherit" });
    onCleanup(() => sender.kill(9));
    const storm = new Response(sender.stdout).text();
    // The sender builds its bodies first: wait until its requests are arriving.
    const t00 = performance.now();
    while (source.counters.OpenConnectionCount < 20 && performance.now() - t00 < 20_000) await Bun.sleep(5);

    // Event-loop lag, measured directly: the largest gap between ticks of a 5 ms timer.
    let maxGap = 0;
    let last = performance.now();
    const tick = setInterval(() => {
      const now = performance.now();
      maxGap = Math.max(maxGap, now - last);
      if (now - last > 40) console.error("GAP", (now - last).toFixed(0), "ending", now.toFixed(0));
      last = now;
    }, 5);
    // While the storm is in flight: good requests, answered, and the sink delivering.
    const before = drained();
    let goodMs = 0;
    for (let i = 0; i < 5; i++) {
      const t0 = performance.now();
      const good = await fetch(url, { method: "POST", headers: { "Content-Type": "application/json" }, body: '[{"body":"good"}]' });
      goodMs = Math.max(goodMs, performance.now() - t0);
      expect(good.status).toBe(200);
      await Bun.sleep(50);
    }
    const results = JSON.parse(await storm) as Array<[string, number, number, boolean]>;
    clearInterval(tick);
    expect(drained()).toBeGreaterThan(before);
    // Every maximum-size request was taken whole, every hostile one refused with a message naming what is wrong.
    expect(results).toHaveLength(200);
    for (const [what, status, replyLength, maxSize] of results) {
      if (maxSize) expect({ what, status }).toEqual({ what, status: 200 });
      else expect({ what, refused: status >= 400 && status < 500 && replyLength > 5 }).toEqual({ what, refused: true });
    }
    // Generous for a machine shared by many test runs: a trusted count held the loop for 8.7 s per request.
    expect(goodMs).toBeLessThan(2000);
    expect(maxGap).toBeLessThan(1500);
    console.log(`storm: slowest good request ${goodMs.toFixed(0)} ms, largest event-loop gap ${maxGap.toFixed(0)} ms`);
  }, 60_000);
});
