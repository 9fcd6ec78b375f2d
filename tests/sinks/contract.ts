// The shared sink contract, as tests/channels/contract.ts is for channels: every sink commits a take only after its
// events were delivered, and a failed delivery rolls the take back so nothing is lost or delivered twice. A sink joins
// with one line in contract.test.ts: sinkContract("name", harness), the harness starting a real destination.

import { describe, expect, test } from "bun:test";
import { join } from "node:path";
import { buildAgentSpec } from "../../src/config/load.ts";
import { Agent } from "../../src/core/agent.ts";
import type { Channel } from "../../src/core/channel.ts";
import { makeEvent } from "../../src/core/event.ts";
import { onCleanup, tempDir } from "../helpers/index.ts";

/** Event i of the contract has the body `event i`. */
export const bodyOf = (i: number) => `event ${i}`;

export interface Destination {
  /** Keys of `a1.sinks.k1.` (without the prefix, type first) sending here in takes of `batch` events. */
  keys: string[];
  /** Bodies the destination holds so far, in arrival order; absent when it keeps nothing to look at (null). */
  delivered?(): Promise<string[]>;
  /** Makes every delivery fail until heal(); both absent when a delivery cannot fail (null, logger). */
  break?(): Promise<void>;
  heal?(): Promise<void>;
  /** Undoes what open() changed outside `dir` (the logger's capture). */
  close?(): Promise<void> | void;
}

export interface SinkHarness {
  /** Whether the destination can be made to fail (break/heal): not for null and logger, which cannot fail. */
  canFail: boolean;
  /** Deliveries may overlap (the http sink's parallelRequests), so a retried take may land after later ones: then
   * every event must arrive exactly once, in any order. */
  unordered?: boolean;
  /** Starts a destination (files in `dir`, a server…), cleaned up after the run. */
  open(dir: string, batch: number): Promise<Destination>;
}

/** Every wait below is bounded by less than this, so a failing sink fails an assertion, not the timeout. */
const TEST_MS = 30_000;

async function startAgent(sinkKeys: string[], stateDir: string): Promise<Agent> {
  const lines = [
    // The source makes nothing: the tests put into c1 themselves, so they know exactly what the sink was given.
    "a1.sources = r1", "a1.channels = c1", "a1.sinks = k1",
    "a1.sources.r1.type = seq", "a1.sources.r1.totalEvents = 0", "a1.sources.r1.channels = c1",
    "a1.channels.c1.type = memory", "a1.channels.c1.capacity = 1000", "a1.channels.c1.transactionCapacity = 100",
    ...sinkKeys.map((k) => `a1.sinks.k1.${k}`), "a1.sinks.k1.channel = c1",
  ];
  const built = buildAgentSpec(lines.join("\n") + "\n", "contract.conf", "a1");
  if (!built.spec) throw new Error(built.problems.map((p) => `${p.key ?? ""}: ${p.message}`).join("\n"));
  const agent = await Agent.build(built.spec, { stateDir });
  await agent.start();
  onCleanup(() => agent.stop(0));
  return agent;
}

async function put(ch: Channel, from: number, n: number): Promise<void> {
  for (let i = from; i < from + n; i += 10) {
    const tx = ch.begin();
    tx.put(Array.from({ length: Math.min(10, from + n - i) }, (_, k) => makeEvent(bodyOf(i + k), { i: String(i + k) })));
    await tx.commit();
  }
}

/**
 * Polls until `done()`, checking on every round that the channel never counted a take as committed (successful)
 * before the destination held its events: the committed count is read first, then what was delivered.
 */
async function watchDelivery(ch: Channel, d: Destination, done: () => boolean | Promise<boolean>, timeoutMs = 15_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!(await done())) {
    if (Date.now() > deadline) throw new Error(`not delivered within ${timeoutMs} ms (taken and committed: ${ch.counters.EventTakeSuccessCount})`);
    const committed = ch.counters.EventTakeSuccessCount;
    if (d.delivered) expect((await d.delivered()).length).toBeGreaterThanOrEqual(committed);
    await Bun.sleep(2);
  }
}

export function sinkContract(name: string, h: SinkHarness): void {
  const batch = 10;
  const expected = (from: number, to: number) => Array.from({ length: to - from }, (_, i) => bodyOf(from + i));
  const arrival = (got: string[]) => (h.unordered ? [...got].sort() : got);
  const inOrder = (want: string[]) => (h.unordered ? [...want].sort() : want);

  describe(`${name} sink contract`, () => {
    test(`delivers every event once${h.unordered ? "" : ", in order,"} and commits each take only after its delivery`, async () => {
      const dir = await tempDir();
      const d = await h.open(dir, batch);
      try {
        const agent = await startAgent(d.keys, join(dir, "state"));
        const ch = agent.channels.get("c1")!;
        const sink = agent.sinks.get("k1")!;
        await put(ch, 0, 200);
        await watchDelivery(ch, d, () => ch.counters.EventTakeSuccessCount === 200);
        expect(ch.size()).toBe(0);
        expect(sink.counters.EventDrainSuccessCount).toBe(200);
        if (d.delivered) expect(arrival(await d.delivered())).toEqual(inOrder(expected(0, 200)));
        await agent.stop(0);
      } finally {
        await d.close?.();
      }
    }, TEST_MS);

    if (h.canFail) {
      test("a failed delivery rolls its take back: nothing is committed while it fails, nothing lost or repeated after", async () => {
        const dir = await tempDir();
        const d = await h.open(dir, batch);
        const agent = await startAgent(d.keys, join(dir, "state"));
        const ch = agent.channels.get("c1")!;
        const sink = agent.sinks.get("k1")!;
        await put(ch, 0, 20);
        await watchDelivery(ch, d, () => ch.counters.EventTakeSuccessCount === 20);
        await d.break!();
        await put(ch, 20, 50);
        const deadline = Date.now() + 15_000;
        const failures = () => sink.counters.EventWriteFail / batch + sink.counters.ConnectionFailedCount;
        while (failures() < 2 && Date.now() < deadline) await Bun.sleep(10);
        expect(failures()).toBeGreaterThanOrEqual(2);
        // Every failed take went back: nothing more was committed, and the channel still holds all 50.
        expect(ch.counters.EventTakeSuccessCount).toBe(20);
        expect(ch.size() + batch).toBeGreaterThanOrEqual(50);
        await d.heal!();
        await watchDelivery(ch, d, () => ch.counters.EventTakeSuccessCount === 70);
        expect(ch.size()).toBe(0);
        if (d.delivered) expect(arrival(await d.delivered())).toEqual(inOrder(expected(0, 70)));
        await agent.stop(0);
        await d.close?.();
      }, TEST_MS);
    }
  });
}
