// The shared source contract, as tests/channels/contract.ts is for channels: every source honours a full channel (it
// pushes back and loses nothing) and acknowledges only what is safe. A source joins with one line in
// contract.test.ts: sourceContract("name", harness), the harness saying how to configure it and how to feed it.
//
// What "acknowledges only what is safe" means depends on how the source gets its input:
//   - rereads (TAILDIR, spooldir): it saves positions only up to the batches a sink's take committed, so after a stop
//     with events still in a memory channel, the next agent reads exactly those again;
//   - replies (http, avro): the client's success answer means the events are in the channel; a refused request put
//     nothing, so the client's retry duplicates nothing;
//   - streams (syslogtcp, multiport_syslogtcp, netcat): a full channel pauses the connection (netcat's OK comes once
//     the line is committed), so only the full-channel test applies;
//   - generates (seq, exec): no input to acknowledge; only the full-channel test applies.

import { describe, expect, test } from "bun:test";
import { join } from "node:path";
import { buildAgentSpec } from "../../src/config/load.ts";
import { Agent } from "../../src/core/agent.ts";
import type { Channel } from "../../src/core/channel.ts";
import type { Event } from "../../src/core/event.ts";
import { freePort, onCleanup, tempDir, waitFor } from "../helpers/index.ts";

/** Events the contract feeds are numbered; a source's event i has the body `event i` (seq: `i`). */
export const bodyOf = (i: number) => `event ${i}`;

export type SourceHarness = {
  /** The body the source makes of event i, when it is not `event i` (seq: `i`; syslog keeps the tag: `app: event i`). */
  body?(i: number): string;
} & (
  | {
      kind: "generates";
      /** Keys of `a1.sources.r1.` (without the prefix) making exactly `total` events `0` … `total-1` in batches of `batch`. */
      keys(total: number, batch: number): string[];
    }
  | {
      kind: "rereads";
      /** Keys of `a1.sources.r1.` reading from `dir`, in batches of `batch`. */
      keys(dir: string, batch: number): string[];
      /** Adds events `from` … `from+n-1` to the input in `dir` (appended lines, a new spool file…). */
      write(dir: string, from: number, n: number): Promise<void>;
    }
  | {
      kind: "replies";
      /** Keys of `a1.sources.r1.` listening on 127.0.0.1:`port`. */
      keys(port: number): string[];
      /** Sends events `from` … `from+n-1` as one request; true when the source answered success. */
      send(port: number, from: number, n: number): Promise<boolean>;
    }
  | {
      kind: "streams";
      /** Keys of `a1.sources.r1.` listening on 127.0.0.1:`port`. */
      keys(port: number): string[];
      /** Writes events `from` … `from+n-1` down one connection (no answers: a full channel pauses the sender). */
      write(port: number, from: number, n: number): Promise<void>;
    }
);

/** Every wait below is bounded by less than this, so a failing source fails an assertion, not the timeout. */
const TEST_MS = 30_000;

const text = (e: Event) => new TextDecoder().decode(e.body);

async function startAgent(sourceKeys: string[], capacity: number, stateDir: string): Promise<Agent> {
  const lines = [
    "a1.sources = r1", "a1.channels = c1",
    ...sourceKeys.map((k) => `a1.sources.r1.${k}`), "a1.sources.r1.channels = c1",
    // keep-alive 0: a put that finds no room is refused at once, so the tests see the push-back quickly.
    "a1.channels.c1.type = memory", `a1.channels.c1.capacity = ${capacity}`, `a1.channels.c1.transactionCapacity = ${Math.min(100, capacity)}`, "a1.channels.c1.keep-alive = 0",
  ];
  const built = buildAgentSpec(lines.join("\n") + "\n", "contract.conf", "a1");
  if (!built.spec) throw new Error(built.problems.map((p) => `${p.key ?? ""}: ${p.message}`).join("\n"));
  const agent = await Agent.build(built.spec, { stateDir });
  await agent.start();
  onCleanup(() => agent.stop(0));
  return agent;
}

/** Takes (and commits) up to `max` events now. */
async function take(ch: Channel, max: number): Promise<string[]> {
  const tx = ch.begin();
  const got = await tx.take(max);
  await tx.commit();
  return got.map(text);
}

/** Drains until `n` events came, taking in tens; bounded by `timeoutMs`. */
async function drainUntil(ch: Channel, n: number, timeoutMs = 15_000): Promise<string[]> {
  const out: string[] = [];
  const deadline = Date.now() + timeoutMs;
  while (out.length < n && Date.now() < deadline) {
    const got = await take(ch, 10);
    out.push(...got);
    if (got.length === 0) await ch.waitForEvents(50);
  }
  return out;
}

/** Sends `from … from+n-1` until the source takes them, a bounded number of times. */
async function sendUntilAccepted(h: Extract<SourceHarness, { kind: "replies" }>, port: number, from: number, n: number): Promise<void> {
  for (let attempt = 0; attempt < 300; attempt++) {
    if (await h.send(port, from, n)) return;
    await Bun.sleep(20);
  }
  throw new Error(`events ${from}…${from + n - 1} were refused 300 times`);
}

export function sourceContract(name: string, h: SourceHarness): void {
  const total = 100;
  const batch = 10;
  const capacity = 20;
  const body = h.body ?? (h.kind === "generates" ? String : bodyOf);
  const expected = (from: number, to: number) => Array.from({ length: to - from }, (_, i) => body(from + i));

  describe(`${name} source contract`, () => {
    test("a full channel pushes back: the source waits, and every event arrives once, in order", async () => {
      const dir = await tempDir();
      const port = h.kind === "replies" || h.kind === "streams" ? await freePort() : 0;
      const keys = h.kind === "generates" ? h.keys(total, batch) : h.kind === "rereads" ? h.keys(dir, batch) : h.keys(port);
      const agent = await startAgent(keys, capacity, join(dir, "state"));
      const ch = agent.channels.get("c1")!;
      const src = agent.sources.get("r1")!.source;
      let feeding: Promise<void> = Promise.resolve();
      if (h.kind === "rereads") await h.write(dir, 0, total);
      if (h.kind === "streams") feeding = h.write(port, 0, total);
      if (h.kind === "replies") {
        feeding = (async () => {
          for (let i = 0; i < total; i += batch) await sendUntilAccepted(h, port, i, batch);
        })();
      }
      // Nothing drains yet: the channel fills to its capacity and the source is refused, more than once.
      await waitFor("the channel to fill and refuse the source", () => ch.size() === capacity && src.counters.ChannelWriteFail >= 2, 15_000, 5);
      expect(ch.size()).toBe(capacity);
      const got = await drainUntil(ch, total);
      await feeding;
      expect(got).toEqual(expected(0, total));
      // Nothing more comes: no batch was put twice.
      await Bun.sleep(100);
      expect(await take(ch, 10)).toEqual([]);
      expect(src.counters.EventAcceptedCount).toBe(total);
    }, TEST_MS);

    if (h.kind === "rereads") {
      test("saves positions only up to what a sink's take committed: the next agent reads the rest again, and only the rest", async () => {
        const dir = await tempDir();
        const stateDir = join(dir, "state");
        const first = await startAgent(h.keys(dir, batch), 1000, stateDir);
        await h.write(dir, 0, total);
        const ch1 = first.channels.get("c1")!;
        await waitFor("every event in the channel", () => ch1.size() === total, 15_000, 5);
        const committed = [...(await take(ch1, 10)), ...(await take(ch1, 10)), ...(await take(ch1, 10))];
        expect(committed).toEqual(expected(0, 30));
        // The other 70 are in memory only: the stop loses them, so the source must not count them as done.
        await first.stop(0);
        const second = await startAgent(h.keys(dir, batch), 1000, stateDir);
        const ch2 = second.channels.get("c1")!;
        expect(await drainUntil(ch2, total - 30)).toEqual(expected(30, total));
        await Bun.sleep(200);
        expect(await take(ch2, 10)).toEqual([]);
      }, TEST_MS);
    }

    if (h.kind === "replies") {
      test("answers success only once the events are in the channel; a refused request put nothing", async () => {
        const dir = await tempDir();
        const port = await freePort();
        const agent = await startAgent(h.keys(port), capacity, join(dir, "state"));
        const ch = agent.channels.get("c1")!;
        expect(await h.send(port, 0, batch)).toBe(true);
        expect(ch.size()).toBe(batch);
        expect(await h.send(port, batch, batch)).toBe(true);
        expect(ch.size()).toBe(2 * batch);
        expect(await h.send(port, 2 * batch, batch)).toBe(false);
        expect(ch.size()).toBe(2 * batch);
        expect(await take(ch, batch)).toEqual(expected(0, batch));
        expect(await h.send(port, 2 * batch, batch)).toBe(true);
        expect(await drainUntil(ch, 2 * batch)).toEqual(expected(batch, 3 * batch));
      }, TEST_MS);
    }
  });
}
