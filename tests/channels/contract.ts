// The shared channel contract: every Channel implementation (memory, file, spillable) runs these tests.
// Usage: channelContract("memory", async (opts) => new MemoryChannel(...)) from the implementation's test file.

import { describe, expect, test } from "bun:test";
import { AckTracker } from "../../src/core/ack.ts";
import type { Channel } from "../../src/core/channel.ts";
import { ChannelFullError, TransactionCapacityError } from "../../src/core/errors.ts";
import { makeEvent, type Event } from "../../src/core/event.ts";

export interface ContractOptions {
  capacity: number;
  transactionCapacity: number;
  /** How long a put waits for room (ms): keep small in tests. */
  keepAliveMs: number;
}

const dec = new TextDecoder();
const body = (e: Event) => dec.decode(e.body);
const events = (from: number, n: number) => Array.from({ length: n }, (_, i) => makeEvent(`e${from + i}`, { i: String(from + i) }));

async function put(ch: Channel, batch: Event[], ack?: import("../../src/core/ack.ts").Ack) {
  const tx = ch.begin();
  tx.put(batch, ack);
  await tx.commit();
}

async function takeAll(ch: Channel, max: number): Promise<Event[]> {
  const tx = ch.begin();
  const got = await tx.take(max);
  await tx.commit();
  return got;
}

export function channelContract(name: string, make: (o: ContractOptions) => Promise<Channel>): void {
  const opts: ContractOptions = { capacity: 50, transactionCapacity: 10, keepAliveMs: 50 };
  const open = async (o: Partial<ContractOptions> = {}) => {
    const ch = await make({ ...opts, ...o });
    await ch.start();
    return ch;
  };

  describe(`${name} channel contract`, () => {
    test("delivers committed puts in order with headers and bodies intact", async () => {
      const ch = await open();
      await put(ch, events(0, 5));
      await put(ch, events(5, 5));
      expect(ch.size()).toBe(10);
      const got = [...(await takeAll(ch, 10))];
      expect(got.map(body)).toEqual(events(0, 10).map(body));
      expect(got[3]!.headers).toEqual({ i: "3" });
      expect(ch.size()).toBe(0);
      await ch.stop();
    });

    test("a rolled-back put leaves nothing behind", async () => {
      const ch = await open();
      const tx = ch.begin();
      tx.put(events(0, 3));
      await tx.rollback();
      expect(ch.size()).toBe(0);
      expect(await takeAll(ch, 10)).toEqual([]);
      await ch.stop();
    });

    test("a rolled-back take returns the events to the head in their order", async () => {
      const ch = await open();
      await put(ch, events(0, 6));
      const tx = ch.begin();
      expect((await tx.take(4)).map(body)).toEqual(["e0", "e1", "e2", "e3"]);
      await tx.rollback();
      expect((await takeAll(ch, 10)).map(body)).toEqual(["e0", "e1", "e2", "e3", "e4", "e5"]);
      await ch.stop();
    });

    test("more puts than transactionCapacity in one transaction is a clear error", async () => {
      const ch = await open();
      const tx = ch.begin();
      expect(() => tx.put(events(0, opts.transactionCapacity + 1))).toThrow(TransactionCapacityError);
      await tx.rollback();
      await ch.stop();
    });

    test("a full channel refuses a commit with ChannelFullError after keep-alive and keeps what it had", async () => {
      const ch = await open({ capacity: 10, transactionCapacity: 10 });
      await put(ch, events(0, 10));
      const tx = ch.begin();
      tx.put(events(10, 1));
      const t0 = Date.now();
      await expect(tx.commit()).rejects.toBeInstanceOf(ChannelFullError);
      expect(Date.now() - t0).toBeGreaterThanOrEqual(opts.keepAliveMs - 5);
      await tx.rollback();
      expect(ch.size()).toBe(10);
      expect((await takeAll(ch, 10)).map(body)).toEqual(events(0, 10).map(body));
      await ch.stop();
    });

    test("a put waiting for room succeeds when a take frees it within keep-alive", async () => {
      const ch = await open({ capacity: 10, transactionCapacity: 10, keepAliveMs: 2000 });
      await put(ch, events(0, 10));
      const tx = ch.begin();
      tx.put(events(10, 2));
      const pending = tx.commit();
      await Bun.sleep(20);
      await takeAll(ch, 5);
      await pending;
      expect(ch.size()).toBe(7);
      await ch.stop();
    });

    test("concurrent commits never take the channel past its capacity", async () => {
      const ch = await open({ capacity: 10, transactionCapacity: 10 });
      const commits = [0, 1].map((k) => {
        const tx = ch.begin();
        tx.put(events(k * 10, 10));
        return tx.commit().then(() => "ok", (e) => (e instanceof ChannelFullError ? "full" : String(e)));
      });
      expect((await Promise.all(commits)).sort()).toEqual(["full", "ok"]);
      expect(ch.size()).toBe(10);
      await ch.stop();
    });

    test("events held by an open take still count against capacity", async () => {
      const ch = await open({ capacity: 10, transactionCapacity: 10 });
      await put(ch, events(0, 10));
      const taking = ch.begin();
      expect(await taking.take(10)).toHaveLength(10);
      const tx = ch.begin();
      tx.put(events(10, 10));
      await expect(tx.commit()).rejects.toBeInstanceOf(ChannelFullError);
      await taking.rollback();
      expect(ch.size()).toBe(10);
      await ch.stop();
    });

    test("waitForEvents resolves promptly when a put commits", async () => {
      const ch = await open();
      const t0 = Date.now();
      const waiting = ch.waitForEvents(5000);
      await put(ch, events(0, 1));
      await waiting;
      expect(Date.now() - t0).toBeLessThan(1000);
      await ch.stop();
    });

    test("a batch's Ack becomes safe once its events are durably committed or delivered", async () => {
      const ch = await open();
      const safe: number[] = [];
      const tracker = new AckTracker<number>((c) => safe.push(c));
      const ack = tracker.issue(5);
      await put(ch, events(0, 5), ack);
      ack.release(); // the channel processor's seal
      if (!ch.durable) {
        expect(safe).toEqual([]);
        const tx = ch.begin();
        await tx.take(3);
        await tx.commit();
        expect(safe).toEqual([]);
        await takeAll(ch, 10);
      }
      expect(safe).toEqual([5]);
      await ch.stop();
    });
  });
}
