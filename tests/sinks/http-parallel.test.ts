import { describe, expect, test } from "bun:test";
import { DeliveryError } from "../../src/core/errors.ts";
import { makeEvent } from "../../src/core/event.ts";
import { SinkRunner, DefaultSinkProcessor } from "../../src/core/sink.ts";
import { MemoryChannel, memoryKeys } from "../../src/channels/memory.ts";
import { HttpSink, httpSinkKeys } from "../../src/sinks/http/index.ts";
import { configureLogging, getLogger } from "../../src/util/log.ts";
import type { Channel } from "../../src/core/channel.ts";
import { tempDir, waitFor } from "../helpers/index.ts";
import { openFile, openSpill } from "../channels/file-helpers.ts";
import { cfg, stopsAtFileEnd } from "../helpers/rig.ts";

configureLogging({ level: "error", write: () => {} });

const stops = stopsAtFileEnd();

/** A server that holds each request until `release()` (or answers at once when not holding), recording bodies. */
function server(statusFor: (n: number) => number) {
  let open = 0;
  let maxOpen = 0;
  let n = 0;
  const bodies: string[][] = [];
  const held: Array<() => void> = [];
  let holding = true;
  const srv = Bun.serve({
    port: 0,
    hostname: "127.0.0.1",
    async fetch(req) {
      const lines = (await req.text()).split("\n").filter(Boolean).map((l) => (JSON.parse(l) as { body: string }).body);
      const status = statusFor(n++);
      open++;
      maxOpen = Math.max(maxOpen, open);
      if (holding) await new Promise<void>((r) => held.push(r));
      open--;
      if (status < 300) bodies.push(lines);
      return new Response("x", { status });
    },
  });
  stops.push(() => srv.stop(true));
  return {
    url: `http://127.0.0.1:${srv.port}/`,
    bodies,
    get maxOpen() {
      return maxOpen;
    },
    get waiting() {
      return held.length;
    },
    release() {
      holding = false;
      for (const r of held.splice(0)) r();
    },
  };
}

type Kind = "memory" | "file" | "spillablememory (all spilled)";
const KINDS: Kind[] = ["memory", "file", "spillablememory (all spilled)"];

async function channel(kind: Kind): Promise<Channel> {
  if (kind === "memory") {
    const ch = new MemoryChannel("c1", cfg(memoryKeys, { capacity: 10_000, transactionCapacity: 1000 }));
    await ch.start();
    return ch;
  }
  const dir = await tempDir("sluice-http-parallel-");
  return kind === "file" ? openFile(dir, { transactionCapacity: 1000 }) : openSpill(dir, { memoryCapacity: 0, transactionCapacity: 1000 });
}

async function setup(events: number, props: Record<string, string | number>, kind: Kind = "memory") {
  const ch = await channel(kind);
  stops.push(() => ch.stop());
  const tx = ch.begin();
  tx.put(Array.from({ length: events }, (_, i) => makeEvent(`e${i}`)));
  await tx.commit();
  const sink = new HttpSink("k1", ch, cfg(httpSinkKeys, { format: "ndjson", ...props }), getLogger("test"));
  await sink.start();
  stops.push(() => sink.stop());
  return { ch, sink };
}

describe("http sink: parallelRequests", () => {
  for (const kind of KINDS) {
    test(`keeps that many takes on the wire at once and commits each after its own 2xx (${kind} channel)`, async () => {
      const srv = server(() => 200);
      const { ch, sink } = await setup(30, { endpoint: srv.url, batchSize: 10, parallelRequests: 3 }, kind);
      expect(await sink.process()).toBe("ready");
      expect(await sink.process()).toBe("ready");
      expect(await sink.process()).toBe("ready");
      await waitFor("three requests held by the server", () => srv.waiting === 3);
      expect(sink.deliveriesInFlight).toBe(3);
      // Taken but not committed: nothing is gone from the channel's accounting until the answers come.
      expect(ch.size()).toBe(0);
      srv.release();
      await sink.settle();
      expect(sink.deliveriesInFlight).toBe(0);
      expect(srv.maxOpen).toBe(3);
      expect(srv.bodies.flat().sort()).toEqual(Array.from({ length: 30 }, (_, i) => `e${i}`).sort());
      expect(sink.counters.EventDrainSuccessCount).toBe(30);
      expect(await sink.process()).toBe("empty");
    });

    test(`a failed request rolls back only its own take, and the next call reports the failure (${kind} channel)`, async () => {
      const srv = server((n) => (n === 0 ? 503 : 200));
      const { ch, sink } = await setup(20, { endpoint: srv.url, batchSize: 10, parallelRequests: 2 }, kind);
      expect(await sink.process()).toBe("ready");
      expect(await sink.process()).toBe("ready");
      await waitFor("two requests held", () => srv.waiting === 2);
      srv.release();
      await sink.settle();
      // The first take (e0..e9) came back; the second was committed.
      expect(ch.size()).toBe(10);
      expect(srv.bodies).toEqual([Array.from({ length: 10 }, (_, i) => `e${i + 10}`)]);
      const err = await sink.process().catch((e) => e);
      expect(err).toBeInstanceOf(DeliveryError);
      expect(String(err.message)).toContain("answered 503");
      expect(await sink.process()).toBe("ready");
      await sink.settle();
      expect(ch.size()).toBe(0);
      expect(srv.bodies.flat().sort()).toEqual(Array.from({ length: 20 }, (_, i) => `e${i}`).sort());
      // The rolled-back take went back to the head, in its order.
      expect(srv.bodies[1]).toEqual(Array.from({ length: 10 }, (_, i) => `e${i}`));
    });
  }

  test("the runner counts background deliveries as busy and its drain waits for them", async () => {
    const srv = server(() => 200);
    const { ch, sink } = await setup(10, { endpoint: srv.url, batchSize: 10, parallelRequests: 2 });
    const runner = new SinkRunner(new DefaultSinkProcessor(sink), getLogger("test"));
    runner.start();
    await waitFor("a request held", () => srv.waiting === 1);
    expect(runner.busy).toBe(true);
    const stopped = runner.stop(10_000);
    setTimeout(() => srv.release(), 50);
    await stopped;
    expect(runner.busy).toBe(false);
    expect(ch.size()).toBe(0);
    expect(sink.counters.EventDrainSuccessCount).toBe(10);
  });

  test("stop() aborts the takes on the wire and returns them to the channel before it resolves", async () => {
    const srv = server(() => 200);
    const { ch, sink } = await setup(20, { endpoint: srv.url, batchSize: 10, parallelRequests: 2 });
    expect(await sink.process()).toBe("ready");
    expect(await sink.process()).toBe("ready");
    await waitFor("two requests held", () => srv.waiting === 2);
    await sink.stop();
    expect(sink.deliveriesInFlight).toBe(0);
    expect(ch.size()).toBe(20);
    expect(sink.counters.EventDrainSuccessCount).toBe(0);
    srv.release();
  });
});
