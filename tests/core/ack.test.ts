import { describe, expect, test } from "bun:test";
import { AckTracker } from "../../src/core/ack.ts";

describe("acknowledgement tracker", () => {
  test("reports a batch safe only after its seal and every hold are released", () => {
    const safe: number[] = [];
    const t = new AckTracker<number>((c) => safe.push(c));
    const a = t.issue(10);
    a.hold(3);
    a.release(); // seal
    expect(safe).toEqual([]);
    a.release(2);
    expect(safe).toEqual([]);
    a.release(1);
    expect(safe).toEqual([10]);
    expect(t.inFlight).toBe(0);
  });

  test("advances only the contiguous safe watermark, in issue order", () => {
    const safe: number[] = [];
    const t = new AckTracker<number>((c) => safe.push(c));
    const a = t.issue(1);
    const b = t.issue(2);
    const c = t.issue(3);
    c.release();
    b.release();
    expect(safe).toEqual([]);
    a.release();
    expect(safe).toEqual([3]);
    expect(t.lastSafe).toBe(3);
  });

  test("a cancelled batch is forgotten and its late releases are ignored", () => {
    const safe: number[] = [];
    const t = new AckTracker<number>((c) => safe.push(c));
    const a = t.issue(1);
    a.release();
    const b = t.issue(2);
    b.hold(5);
    b.cancel();
    b.release(5);
    expect(safe).toEqual([1]);
    const retry = t.issue(2);
    retry.release();
    expect(safe).toEqual([1, 2]);
  });

  test("only the newest batch may be cancelled: a source retries before reading on", () => {
    const t = new AckTracker<number>(() => {});
    const a = t.issue(1);
    t.issue(2);
    expect(() => a.cancel()).toThrow(/out of order/);
  });

  test("whenIdle resolves true once everything issued is safe, false on timeout", async () => {
    const t = new AckTracker<number>(() => {});
    const a = t.issue(1);
    expect(await t.whenIdle(20)).toBe(false);
    const idle = t.whenIdle(2000);
    a.release();
    expect(await idle).toBe(true);
  });
});
