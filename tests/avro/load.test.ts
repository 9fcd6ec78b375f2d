// Load on a real agent process: 200 concurrent avro clients and 200 concurrent http clients at once, plus slow
// clients on both that dribble a byte at a time. The sources keep serving the others, close the dribblers
// (readTimeout on both), and the agent's memory stays bounded.

import { expect, test } from "bun:test";
import { readFileSync } from "node:fs";
import net from "node:net";
import { join } from "node:path";
import { AvroRpcClient } from "../../src/avro/client.ts";
import { makeEvent } from "../../src/core/event.ts";
import { freePort, onCleanup, spawnSluice, tempDir, waitFor, writeConfig } from "../helpers/index.ts";
import { REQ1 } from "./reference.ts";

const CLIENTS = 200;
const CALLS = 5;
const BATCH = 100;
const SLOW = 5;
/** Generous: the agent's resident memory after the run, well under what unbounded buffering would take. */
const MAX_RSS_BYTES = 400 * 1024 * 1024;

function rss(pid: number): number {
  const m = /VmRSS:\s+(\d+) kB/.exec(readFileSync(`/proc/${pid}/status`, "utf8"));
  return m ? Number(m[1]) * 1024 : 0;
}

test("200 avro and 200 http clients at once, with dribbling ones on both: every call answered, dribblers closed, memory bounded", async () => {
  const dir = await tempDir();
  const port = await freePort();
  const httpPort = await freePort();
  const conf = await writeConfig(dir, [
    "a1.sources = r1 h1", "a1.channels = c1", "a1.sinks = k1",
    "a1.sources.h1.type = http", "a1.sources.h1.bind = 127.0.0.1", `a1.sources.h1.port = ${httpPort}`, "a1.sources.h1.channels = c1",
    "a1.sources.h1.readTimeout = 2s", "a1.sources.h1.maxBodyBytes = 1m",
    "a1.sources.r1.type = avro", "a1.sources.r1.bind = 127.0.0.1", `a1.sources.r1.port = ${port}`, "a1.sources.r1.channels = c1",
    "a1.sources.r1.maxConnections = 300", "a1.sources.r1.readTimeout = 2s", "a1.sources.r1.maxFrameBytes = 1m",
    "a1.channels.c1.type = memory", "a1.channels.c1.capacity = 200000", "a1.channels.c1.transactionCapacity = 1000",
    "a1.sinks.k1.type = null", "a1.sinks.k1.batchSize = 1000", "a1.sinks.k1.channel = c1",
  ]);
  const agent = spawnSluice(["agent", "-f", conf, "-n", "a1", "--state-dir", join(dir, "state")]);
  await waitFor("the avro source listening", () => agent.stderr().includes("avro source listening"), 15_000);

  // Dribblers: a byte every 200 ms of a valid call; they never complete one within readTimeout.
  const dribblers = Array.from({ length: SLOW }, () => {
    const s = net.connect(port, "127.0.0.1");
    const st = { closed: false, sent: 0 };
    s.on("error", () => {});
    s.on("close", () => (st.closed = true));
    const t = setInterval(() => !st.closed && st.sent < REQ1.byteLength && s.write(REQ1.subarray(st.sent, ++st.sent)), 200);
    onCleanup(() => (clearInterval(t), s.destroy()));
    return st;
  });

  const httpDribblers = Array.from({ length: SLOW }, () => {
    const s = net.connect(httpPort, "127.0.0.1");
    const st = { closed: false };
    const head = new TextEncoder().encode("POST / HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Type: application/json\r\nContent-Length: 1000\r\n\r\n[");
    s.on("error", () => {});
    s.on("close", () => (st.closed = true));
    s.on("connect", () => s.write(head));
    const t = setInterval(() => !st.closed && s.write(" "), 200);
    onCleanup(() => (clearInterval(t), s.destroy()));
    return st;
  });

  const body = new Uint8Array(200).fill(0x61);
  const json = JSON.stringify(Array.from({ length: BATCH }, () => ({ headers: { via: "http" }, body: "a".repeat(200) })));
  const httpStatuses: number[] = [];
  const httpLoad = Promise.all(Array.from({ length: CLIENTS }, async () => {
    for (let k = 0; k < CALLS; k++) {
      // 503 means "busy, retry" (maxConcurrentRequests or a full channel): what a well-behaved client does.
      for (let attempt = 0; ; attempt++) {
        const res = await fetch(`http://127.0.0.1:${httpPort}/`, { method: "POST", body: json, headers: { "Content-Type": "application/json" } });
        await res.arrayBuffer();
        if (res.status !== 503 || attempt >= 20) {
          httpStatuses.push(res.status);
          break;
        }
        await Bun.sleep(100);
      }
    }
  }));
  const statuses: string[] = [];
  await Promise.all(Array.from({ length: CLIENTS }, async (_, c) => {
    const client = new AvroRpcClient({ host: "127.0.0.1", port, connectTimeoutMs: 10_000, requestTimeoutMs: 20_000, limits: { maxPackBytes: 1 << 20, maxBuffers: 16 } });
    onCleanup(() => client.close());
    for (let k = 0; k < CALLS; k++) {
      statuses.push(await client.appendBatch(Array.from({ length: BATCH }, () => makeEvent(body, { client: String(c) }))));
    }
    client.close();
  }));
  await httpLoad;
  expect(statuses.length).toBe(CLIENTS * CALLS);
  expect(statuses.every((s) => s === "OK")).toBe(true);
  expect(httpStatuses.length).toBe(CLIENTS * CALLS);
  expect(httpStatuses.every((s) => s === 200)).toBe(true);

  await waitFor("every avro dribbler closed by readTimeout", () => dribblers.every((d) => d.closed), 10_000);
  await waitFor("every http dribbler closed by readTimeout", () => httpDribblers.every((d) => d.closed), 10_000);
  const used = rss(agent.proc.pid);
  console.log(`agent RSS after ${2 * CLIENTS * CALLS * BATCH} events from ${2 * CLIENTS} clients: ${Math.round(used / 1024 / 1024)} MiB`);
  expect(used).toBeLessThan(MAX_RSS_BYTES);

  const after = new AvroRpcClient({ host: "127.0.0.1", port, connectTimeoutMs: 5000, requestTimeoutMs: 5000, limits: { maxPackBytes: 1 << 20, maxBuffers: 16 } });
  onCleanup(() => after.close());
  expect(await after.appendBatch([makeEvent("after the storm")])).toBe("OK");
  after.close();
  agent.kill("SIGTERM");
  expect(await agent.exited).toBe(0);
}, 60_000);
