import { describe, expect, test } from "bun:test";
import { MemoryChannel } from "../../src/channels/memory.ts";
import { ChannelFullError } from "../../src/core/errors.ts";
import { makeEvent } from "../../src/core/event.ts";
import { channelContract } from "./contract.ts";

channelContract("memory", async (o) =>
  new MemoryChannel("c1", { capacity: o.capacity, transactionCapacity: o.transactionCapacity, byteCapacity: undefined, byteCapacityBufferPercentage: 20, "keep-alive": o.keepAliveMs }),
);

describe("memory channel byte capacity", () => {
  test("refuses puts past byteCapacity less its buffer percentage", async () => {
    const ch = new MemoryChannel("c1", { capacity: 100, transactionCapacity: 100, byteCapacity: 1000, byteCapacityBufferPercentage: 20, "keep-alive": 10 });
    await ch.start();
    const big = (n: number) => Array.from({ length: n }, () => makeEvent(new Uint8Array(100)));
    let tx = ch.begin();
    tx.put(big(8));
    await tx.commit();
    tx = ch.begin();
    tx.put(big(1));
    await expect(tx.commit()).rejects.toBeInstanceOf(ChannelFullError);
    await tx.rollback();
    expect(ch.size()).toBe(8);
    expect(ch.byteSize()).toBe(800);
    await ch.stop();
  });
});
