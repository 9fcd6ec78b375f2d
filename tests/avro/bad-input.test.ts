// Bad input at the avro source: every malformed call closes its connection with one log line naming the peer,
// commits nothing, and leaves the agent serving good clients. Also the source's own refusals: FAILED when the
// channel is full, maxConnections, readTimeout for dribbling clients, idleTimeout for idle ones, ipFilter.

import { afterAll, describe, expect, test } from "bun:test";
import net from "node:net";
import { AvroRpcClient } from "../../src/avro/client.ts";
import { encodePack } from "../../src/avro/framing.ts";
import { makeEvent } from "../../src/core/event.ts";
import { configureLogging } from "../../src/util/log.ts";
import { onCleanup, waitFor } from "../helpers/index.ts";
import { avroSource, drain, sourceOnly, startAgent } from "./helpers.ts";
import { REQ1, REQ2, RES2 } from "./reference.ts";

const logged: string[] = [];
configureLogging({ level: "warn", write: (l) => logged.push(l) });
afterAll(() => configureLogging({ level: "error", write: (l) => process.stderr.write(l + "\n") }));

const good = (port: number) => {
  const c = new AvroRpcClient({ host: "127.0.0.1", port, connectTimeoutMs: 5000, requestTimeoutMs: 5000, limits: { maxPackBytes: 1 << 20, maxBuffers: 16 } });
  onCleanup(() => c.close());
  return c;
};

/** Sends bytes on a fresh connection; resolves with what came back once the server closed it (or after `ms`). */
function exchange(port: number, bytes: Uint8Array[], ms = 5000): Promise<{ reply: Buffer; closed: boolean }> {
  return new Promise((resolve) => {
    const s = net.connect(port, "127.0.0.1");
    const got: Buffer[] = [];
    const done = (closed: boolean) => {
      clearTimeout(t);
      s.destroy();
      resolve({ reply: Buffer.concat(got), closed });
    };
    const t = setTimeout(() => done(false), ms);
    s.on("data", (c: Buffer) => got.push(c));
    s.on("error", () => {});
    s.on("close", () => done(true));
    s.on("connect", () => {
      for (const b of bytes) s.write(b);
    });
  });
}

const int32s = (...v: number[]) => {
  const b = new Uint8Array(v.length * 4);
  v.forEach((x, i) => new DataView(b.buffer).setInt32(i * 4, x));
  return b;
};

describe("malformed calls", () => {
  const cases: Array<[string, Uint8Array[]]> = [
    ["a huge declared buffer length", [int32s(1, 1, 0x7fffffff)]],
    ["a negative buffer length", [int32s(1, 1, -2147483648)]],
    ["a pack declaring zero buffers", [int32s(1, 0)]],
    ["a pack declaring two billion buffers", [int32s(1, 2_000_000_000)]],
    ["a handshake with a wrong hash and garbage after it", [encodePack(1, [new Uint8Array(40).fill(0x41)])]],
    ["random bytes", [Uint8Array.from({ length: 4096 }, (_, i) => (i * 7919 + 13) & 0xff)]],
    ["an event array declaring more events than bytes", [encodePack(1, [REQ1.subarray(12, 60), Uint8Array.of(0xfe, 0xff, 0xff, 0x7f, 0)])]],
    ["a valid handshake sent twice on one connection", [REQ1, REQ1]],
    ["a call with bytes left after its parameters", [encodePack(1, [REQ1.subarray(12, 60), REQ1.subarray(64), Uint8Array.of(7)])]],
  ];
  for (const [what, bytes] of cases) {
    test(`${what}: connection closed, one warning naming the peer, nothing committed, good clients still served`, async () => {
      const agent = await startAgent(sourceOnly(["maxFrameBytes = 1m"]));
      const port = avroSource(agent).port;
      logged.length = 0;
      const { closed, reply } = await exchange(port, bytes);
      expect(closed).toBe(true);
      // A valid first call may be answered before the bad second one closes the connection.
      if (what.startsWith("a valid handshake")) expect(reply.byteLength).toBe(27);
      const ch = agent.channels.get("c1")!;
      const committed = what.startsWith("a valid handshake") ? 2 : 0;
      expect(ch.size()).toBe(committed);
      await waitFor("the warning", () => logged.some((l) => /closed avro connection from 127\.0\.0\.1:\d+/.test(l)));
      expect(logged.filter((l) => l.includes("closed avro connection")).length).toBe(1);
      expect(logged.some((l) => l.includes("a handshake sent again"))).toBe(what.startsWith("a valid handshake"));
      expect(await good(port).appendBatch([makeEvent("ok")])).toBe("OK");
      expect(ch.size()).toBe(committed + 1);
    });
  }

  test("a truncated pack commits nothing and the half-sent connection is closed after readTimeout", async () => {
    const agent = await startAgent(sourceOnly(["readTimeout = 300ms"]));
    const port = avroSource(agent).port;
    const { closed } = await exchange(port, [REQ1.subarray(0, 70)], 5000);
    expect(closed).toBe(true);
    expect(agent.channels.get("c1")!.size()).toBe(0);
    expect(await good(port).appendBatch([makeEvent("ok")])).toBe("OK");
  });

  test("an unknown message gets Java's error reply and the connection stays usable", async () => {
    const agent = await startAgent(sourceOnly());
    const port = avroSource(agent).port;
    const s = net.connect(port, "127.0.0.1");
    onCleanup(() => s.destroy());
    const chunks: Buffer[] = [];
    s.on("data", (c: Buffer) => chunks.push(c));
    // Handshake + call meta, then the name "nosuch" instead of "appendBatch".
    const head = Uint8Array.from([...REQ1.subarray(12, 12 + 35), 0, 12, ...new TextEncoder().encode("nosuch")]);
    s.write(encodePack(1, [head]));
    await waitFor("the error reply", () => Buffer.concat(chunks).includes("No such remote message: nosuch"));
    s.write(REQ2);
    await waitFor("the next call committed", () => agent.channels.get("c1")!.size() === 2);
    await waitFor("its OK reply", () => Buffer.concat(chunks).subarray(-RES2.byteLength).equals(Buffer.from(RES2)));
  });
});

describe("source refusals", () => {
  test("answers FAILED when the channel is full and OK again once there is room", async () => {
    const agent = await startAgent(sourceOnly([], 10).map((l) => l.replace("transactionCapacity = 1000", "transactionCapacity = 10")).concat(["a1.channels.c1.keep-alive = 50ms"]));
    const c = good(avroSource(agent).port);
    const batch = () => Array.from({ length: 6 }, (_, i) => makeEvent(`e${i}`));
    expect(await c.appendBatch(batch())).toBe("OK");
    expect(await c.appendBatch(batch())).toBe("FAILED");
    expect(avroSource(agent).counters.ChannelWriteFail).toBe(1);
    await drain(agent.channels.get("c1")!);
    expect(await c.appendBatch(batch())).toBe("OK");
  });

  test("closes connections beyond maxConnections at once and serves the others", async () => {
    const agent = await startAgent(sourceOnly(["maxConnections = 3"]));
    const port = avroSource(agent).port;
    const clients = [good(port), good(port), good(port)];
    for (const c of clients) expect(await c.appendBatch([makeEvent("x")])).toBe("OK");
    const { closed } = await exchange(port, [], 3000);
    expect(closed).toBe(true);
    expect(avroSource(agent).server.refused).toBe(1);
    expect(avroSource(agent).counters.OpenConnectionCount).toBe(3);
    expect(await clients[0]!.appendBatch([makeEvent("y")])).toBe("OK");
  });

  test("closes a client that dribbles a byte at a time after readTimeout while others are served", async () => {
    const agent = await startAgent(sourceOnly(["readTimeout = 500ms"]));
    const port = avroSource(agent).port;
    const s = net.connect(port, "127.0.0.1");
    onCleanup(() => s.destroy());
    let closed = false;
    s.on("close", () => (closed = true));
    s.on("error", () => {});
    let i = 0;
    const drip = setInterval(() => i < REQ1.byteLength && !closed && s.write(REQ1.subarray(i, ++i)), 50);
    onCleanup(() => clearInterval(drip));
    expect(await good(port).appendBatch([makeEvent("meanwhile")])).toBe("OK");
    await waitFor("the dribbler closed", () => closed, 5000);
    clearInterval(drip);
    expect(i).toBeLessThan(REQ1.byteLength);
    expect(agent.channels.get("c1")!.size()).toBe(1);
  });

  test("closes a connection idle between calls after idleTimeout; the client reconnects on its next call", async () => {
    const agent = await startAgent(sourceOnly(["idleTimeout = 300ms"]));
    const source = avroSource(agent);
    const c = good(source.port);
    expect(await c.appendBatch([makeEvent("one")])).toBe("OK");
    await waitFor("the idle connection closed", () => source.server.openConnections === 0 && !c.isOpen, 5000);
    expect(await c.appendBatch([makeEvent("two")])).toBe("OK");
    expect(agent.channels.get("c1")!.size()).toBe(2);
  });

  test("ipFilterRules: a denied peer is closed on connect, an allowed one is served", async () => {
    const denied = await startAgent(sourceOnly(["ipFilter = true", "ipFilterRules = allow:ip:10.*,deny:ip:*"]));
    expect((await exchange(avroSource(denied).port, [REQ1])).reply.byteLength).toBe(0);
    expect(denied.channels.get("c1")!.size()).toBe(0);
    const allowed = await startAgent(sourceOnly(["ipFilter = true", "ipFilterRules = allow:name:localhost,deny:ip:*"]));
    expect(await good(avroSource(allowed).port).appendBatch([makeEvent("x")])).toBe("OK");
  });
});
