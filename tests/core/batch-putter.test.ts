import { describe, expect, test } from "bun:test";
import { AckTracker } from "../../src/core/ack.ts";
import { BatchPutter } from "../../src/core/batch-putter.ts";
import { ChannelProcessor, type Interceptor } from "../../src/core/channel-processor.ts";
import { SourceCounters } from "../../src/core/counters.ts";
import type { Event } from "../../src/core/event.ts";
import { MemoryChannel } from "../../src/channels/memory.ts";
import { ReplicatingSelector } from "../../src/selectors/replicating.ts";
import { getLogger } from "../../src/util/log.ts";

const log = { ...getLogger("test"), warn: () => {}, error: () => {} } as ReturnType<typeof getLogger>;
const events = (from: number, n: number): Event[] => Array.from({ length: n }, (_, i) => ({ headers: {}, body: new TextEncoder().encode(String(from + i)) }));
const text = (es: readonly Event[]) => es.map((e) => new TextDecoder().decode(e.body));

function setup(capacity: number, interceptors: Interceptor[] = []) {
  const ch = new MemoryChannel("c1", { capacity, transactionCapacity: 100, byteCapacity: 0, byteCapacityBufferPercentage: 20, "keep-alive": 0 });
  const counters = new SourceCounters();
  const putter = new BatchPutter(new ChannelProcessor(new ReplicatingSelector([ch]), interceptors, log), counters);
  return { ch, counters, putter };
}

async function drain(ch: MemoryChannel): Promise<string[]> {
  const tx = ch.begin();
  const got = await tx.take(100);
  await tx.commit();
  return text(got);
}

describe("batch putter", () => {
  test("a batch a full channel refuses is kept, counted and retried as is, with a fresh Ack, before anything new", async () => {
    const { ch, counters, putter } = setup(10);
    await ch.start();
    const safe: number[] = [];
    const tracker = new AckTracker<number>((c) => safe.push(c));
    let issued = 0;
    const issue = (end: number) => () => (issued++, tracker.issue(end));

    expect(await putter.put(events(0, 10), issue(10))).toBe("ready");
    const second = events(10, 5);
    expect(await putter.put(second, issue(15))).toBe("backoff");
    expect(counters).toMatchObject({ EventReceivedCount: 15, EventAcceptedCount: 10, AppendBatchReceivedCount: 2, AppendBatchAcceptedCount: 1, ChannelWriteFail: 1 });
    // Still full: the retry is refused again and the batch stays kept.
    expect(await putter.retry()).toBe("backoff");
    expect(counters.ChannelWriteFail).toBe(2);

    expect(await drain(ch)).toEqual(text(events(0, 10)));
    expect(safe).toEqual([10]);
    expect(await putter.retry()).toBe("ready");
    expect(issued).toBe(4);
    expect(putter.retry()).toBeUndefined();
    expect(await drain(ch)).toEqual(text(second));
    // The refused attempts' Acks were cancelled: only the accepted one counts, and it became safe in order.
    expect(safe).toEqual([10, 15]);
    expect(counters).toMatchObject({ EventAcceptedCount: 15, AppendBatchAcceptedCount: 2 });
    await ch.stop();
  });

  test("a put that throws keeps the batch: the retry puts the same events once", async () => {
    let calls = 0;
    const failSecond: Interceptor = {
      intercept(es) {
        if (++calls === 2) throw new Error("simulated I/O error");
        return es;
      },
    };
    const { ch, counters, putter } = setup(100, [failSecond]);
    await ch.start();
    expect(await putter.put(events(0, 3))).toBe("ready");
    await expect(putter.put(events(3, 3))).rejects.toThrow("simulated I/O error");
    expect(counters.EventAcceptedCount).toBe(3);
    expect(await putter.retry()).toBe("ready");
    expect(putter.retry()).toBeUndefined();
    expect(await drain(ch)).toEqual(["0", "1", "2", "3", "4", "5"]);
    await ch.stop();
  });
});
