import { describe, expect, test } from "bun:test";
import { join } from "node:path";
import { channelContract } from "./contract.ts";
import { drain, events, log, names, openSpill, put, spillConfig } from "./file-helpers.ts";
import { tempDir } from "../helpers/index.ts";
import { SpillableChannel } from "../../src/channels/spillable.ts";
import { AckTracker } from "../../src/core/ack.ts";
import { lookupType } from "../../src/registry.ts";

channelContract("spillablememory (memory part only)", async (o) => {
  const dir = await tempDir("sluice-spill-");
  return new SpillableChannel("s1", spillConfig(dir, { memoryCapacity: o.capacity, overflowCapacity: 0, transactionCapacity: o.transactionCapacity, "keep-alive": o.keepAliveMs }), dir, log);
});

channelContract("spillablememory (overflow part only)", async (o) => {
  const dir = await tempDir("sluice-spill-");
  return new SpillableChannel("s1", spillConfig(dir, { memoryCapacity: 0, overflowCapacity: o.capacity, transactionCapacity: o.transactionCapacity, "keep-alive": o.keepAliveMs }), dir, log);
});

describe("spillablememory channel", () => {
  test("is registered as spillablememory, dual and Flume's class name", () => {
    for (const n of ["spillablememory", "SPILLABLEMEMORY", "dual", "org.apache.flume.channel.SpillableMemoryChannel"]) {
      const t = lookupType("channel", n);
      expect(t.ok && t.canonical).toBe("spillablememory");
    }
  });

  test("serves from memory below the threshold, spills past it, and takes stay strictly FIFO across both parts", async () => {
    const dir = await tempDir();
    const ch = await openSpill(dir, { memoryCapacity: 20, overflowTimeout: 0 });
    for (let i = 0; i < 100; i += 10) await put(ch, events(i, 10));
    expect(ch.gauges().MemoryChannelSize).toBe(20);
    expect(ch.gauges().OverflowChannelSize).toBe(80);
    // Interleave: take some, put more (they must queue behind the overflow), repeat.
    const got: string[] = [];
    let next = 100;
    for (let round = 0; round < 30; round++) {
      got.push(...(await drain(ch, 7, 7)));
      await put(ch, events(next, 5));
      next += 5;
    }
    got.push(...(await drain(ch, 9)));
    expect(got).toEqual(names(0, next));
    expect(ch.gauges().OverflowActive).toBe(0);
    // Drained: new puts are served from memory again.
    await put(ch, events(next, 3));
    expect(ch.gauges().MemoryChannelSize).toBe(3);
    await ch.stop();
  });

  test("memory-held batches become safe when taken; spilled batches are safe at commit", async () => {
    const dir = await tempDir();
    const ch = await openSpill(dir, { memoryCapacity: 10, overflowTimeout: 0 });
    const safe: number[] = [];
    const tracker = new AckTracker<number>((c) => safe.push(c));
    const a1 = tracker.issue(1);
    await put(ch, events(0, 10), a1);
    a1.release();
    const a2 = tracker.issue(2);
    await put(ch, events(10, 10), a2);
    a2.release();
    expect(ch.gauges().OverflowChannelSize).toBe(10);
    expect(safe).toEqual([]); // batch 1 still in memory, so the watermark waits
    await drain(ch, 10, 10);
    expect(safe).toEqual([2]);
    await ch.stop();
  });

  test("stop moves the memory part to the head of the overflow durably, releases its Acks, and a restart keeps order", async () => {
    const dir = await tempDir();
    const ch = await openSpill(dir, { memoryCapacity: 20, overflowTimeout: 0 });
    const safe: number[] = [];
    const tracker = new AckTracker<number>((c) => safe.push(c));
    for (let i = 0; i < 50; i += 10) {
      const a = tracker.issue(i);
      await put(ch, events(i, 10), a);
      a.release();
    }
    expect(safe).toEqual([]);
    await ch.stop();
    expect(safe.at(-1)).toBe(40);
    const back = await openSpill(dir, { memoryCapacity: 20, overflowTimeout: 0 });
    expect(back.size()).toBe(50);
    await put(back, events(50, 5)); // queues behind the recovered backlog
    expect(await drain(back, 8)).toEqual(names(0, 55));
    await back.stop();
  });

  test("a batch larger than memoryCapacity spills at once instead of waiting overflowTimeout", async () => {
    const dir = await tempDir();
    const ch = await openSpill(dir, { memoryCapacity: 5, overflowTimeout: 10_000 });
    const t0 = Date.now();
    await put(ch, events(0, 8));
    expect(Date.now() - t0).toBeLessThan(2000);
    expect(ch.gauges().OverflowChannelSize).toBe(8);
    expect(await drain(ch)).toEqual(names(0, 8));
    await ch.stop();
  });

  test("with overflowCapacity 0 a full memory refuses the put after keep-alive", async () => {
    const dir = await tempDir();
    const ch = await openSpill(join(dir, "m"), { memoryCapacity: 5, overflowCapacity: 0, transactionCapacity: 5, "keep-alive": 20 });
    await put(ch, events(0, 5));
    await expect(put(ch, events(5, 1))).rejects.toThrow(/full/);
    await ch.stop();
  });
});
