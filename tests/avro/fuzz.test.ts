// Fuzz: thousands of mutated Netty packs (bounded in count and time) against one avro source. Afterwards the agent
// still answers a good client, every connection is gone, and what was committed is exactly what was acknowledged.

import { expect, test } from "bun:test";
import net from "node:net";
import zlib from "node:zlib";
import { AvroRpcClient } from "../../src/avro/client.ts";
import { makeEvent } from "../../src/core/event.ts";
import { onCleanup, waitFor } from "../helpers/index.ts";
import { configureLogging } from "../../src/util/log.ts";
import { avroSource, sourceOnly, startAgent } from "./helpers.ts";
import { REQ1, REQ2 } from "./reference.ts";

const CASES = 3000;
const CONCURRENCY = 50;
const TIME_BUDGET_MS = 30_000;

/** xorshift32: the same mutations on every run. */
function rng(seed: number) {
  let x = seed >>> 0 || 1;
  return (n: number) => {
    x ^= x << 13;
    x ^= x >>> 17;
    x ^= x << 5;
    return (x >>> 0) % n;
  };
}

function mutate(rand: (n: number) => number): Uint8Array {
  const base = rand(3) === 0 ? Uint8Array.from([...REQ1, ...REQ2]) : REQ1.slice();
  let b = base;
  const ops = 1 + rand(4);
  for (let k = 0; k < ops; k++) {
    switch (rand(6)) {
      case 0: // flip a byte
        b[rand(b.length)] = rand(256);
        break;
      case 1: // truncate
        b = b.slice(0, rand(b.length));
        break;
      case 2: { // an extreme int32 where a count or length sits
        const at = [4, 8, 60, 99 + 4, 99 + 8][rand(5)]!;
        if (at + 4 <= b.length) new DataView(b.buffer, b.byteOffset).setInt32(at, [0, -1, 0x7fffffff, -0x80000000, 65536, 3][rand(6)]!);
        break;
      }
      case 3: // insert random bytes
        { const at = rand(b.length + 1);
          b = Uint8Array.from([...b.subarray(0, at), ...Array.from({ length: 1 + rand(16) }, () => rand(256)), ...b.subarray(at)]); }
        break;
      case 4: // a varint turned huge (inside the parameters)
        if (b.length > 70) b.set([0xff, 0xff, 0xff, 0x7f], 64 + rand(Math.max(1, b.length - 70)));
        break;
      default: // pure noise
        b = Uint8Array.from({ length: 1 + rand(200) }, () => rand(256));
    }
  }
  return b;
}

/** Sends one mutated stream; half-closes our side (most cases) so the server can finish fast. */
function fire(port: number, bytes: Uint8Array, halfClose: boolean): Promise<void> {
  return new Promise((resolve) => {
    const s = net.connect(port, "127.0.0.1");
    const t = setTimeout(() => s.destroy(), 3000);
    s.on("error", () => {});
    s.on("close", () => {
      clearTimeout(t);
      resolve();
    });
    s.on("data", () => {});
    s.on("connect", () => {
      s.write(bytes);
      if (halfClose) s.end();
    });
  });
}

const syncDeflate = (b: Uint8Array) => new Uint8Array(zlib.deflateSync(b, { finishFlush: zlib.constants.Z_SYNC_FLUSH }));

for (const compression of ["none", "deflate"] as const) {
  test(`thousands of mutated packs (compression ${compression}) leave the avro source serving, with no connection left and no partial commit`, async () => {
    const agent = await startAgent(sourceOnly(["readTimeout = 300ms", "maxFrameBytes = 256k", `compression-type = ${compression}`], 100_000));
    const source = avroSource(agent);
    const port = source.port;
    const rand = rng(compression === "none" ? 0x5eed : 0xdef1a7e);
    const started = Date.now();
    let sent = 0;
    // Deflate: mutate either the packs before compressing (the framer behind inflate) or the compressed stream.
    const next = () => {
      if (compression === "none") return mutate(rand);
      if (rand(2) === 0) return syncDeflate(mutate(rand));
      const z = syncDeflate(REQ1);
      for (let k = 0; k <= rand(3); k++) z[rand(z.length)] = rand(256);
      return z;
    };
    const worker = async () => {
      while (sent < CASES && Date.now() - started < TIME_BUDGET_MS) {
        sent++;
        await fire(port, next(), rand(10) !== 0);
      }
    };
    await Promise.all(Array.from({ length: CONCURRENCY }, worker));
    expect(sent).toBeGreaterThanOrEqual(1000);
    const client = new AvroRpcClient({
      host: "127.0.0.1", port, connectTimeoutMs: 5000, requestTimeoutMs: 5000, limits: { maxPackBytes: 1 << 20, maxBuffers: 16 },
      deflateLevel: compression === "deflate" ? 6 : undefined,
    });
    onCleanup(() => client.close());
    expect(await client.appendBatch([makeEvent("still here")])).toBe("OK");
    client.close();
    await waitFor("every fuzz connection closed", () => source.server.openConnections === 0, 5000);
    // Every committed event was counted as accepted: no call was half put.
    expect(agent.channels.get("c1")!.size()).toBe(source.counters.EventAcceptedCount);
  });
}

test("a deflate stream that inflates past maxFrameBytes is cut off at the pack header, not buffered", async () => {
  const logged: string[] = [];
  configureLogging({ level: "warn", write: (l) => logged.push(l) });
  onCleanup(() => configureLogging({ level: "error", write: (l) => process.stderr.write(l + "\n") }));
  const agent = await startAgent(sourceOnly(["maxFrameBytes = 1m", "compression-type = deflate"]));
  // 64 MiB of zeros behind a header declaring them: ~64 KiB on the wire.
  const head = new Uint8Array(12);
  new DataView(head.buffer).setInt32(0, 1);
  new DataView(head.buffer).setInt32(4, 1);
  new DataView(head.buffer).setInt32(8, 64 << 20);
  const raw = new Uint8Array(12 + (64 << 20));
  raw.set(head);
  const bomb = syncDeflate(raw);
  expect(bomb.byteLength).toBeLessThan(200_000);
  await fire(avroSource(agent).port, bomb, false);
  await waitFor("the warning", () => logged.some((l) => l.includes("exceeds maxFrameBytes")));
  expect(agent.channels.get("c1")!.size()).toBe(0);
});

test("a small deflate burst holding 5000 pipelined calls is served in order, every call committed (reading pauses while calls queue)", async () => {
  const agent = await startAgent(sourceOnly(["compression-type = deflate"], 100_000));
  const source = avroSource(agent);
  // One connection: the handshake call, then 5000 more calls, all compressed into one small burst.
  const packs = [REQ1, ...Array.from({ length: 5000 }, (_, i) => {
    const p = REQ2.slice();
    new DataView(p.buffer).setInt32(0, i + 2);
    return p;
  })];
  const raw = new Uint8Array(packs.reduce((n, p) => n + p.byteLength, 0));
  let at = 0;
  for (const p of packs) (raw.set(p, at), (at += p.byteLength));
  const burst = syncDeflate(raw);
  expect(burst.byteLength).toBeLessThan(raw.byteLength / 20);
  const s = net.connect(source.port, "127.0.0.1");
  onCleanup(() => s.destroy());
  s.on("data", () => {});
  s.on("error", () => {});
  s.write(burst);
  await waitFor("every call committed in order", () => agent.channels.get("c1")!.size() === 2 * packs.length, 20_000);
  expect(source.counters.AppendBatchAcceptedCount).toBe(packs.length);
});
