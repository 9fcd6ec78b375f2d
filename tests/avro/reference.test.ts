// Our bytes against the reference exchange checked against Avro-Java (tests/avro/reference/, copied from
// ../shared/spec/avro/reference): the client must send exactly Java's requests, the server exactly Java's replies.

import { describe, expect, test } from "bun:test";
import { createHash } from "node:crypto";
import { readFileSync } from "node:fs";
import net from "node:net";
import { AvroRpcClient } from "../../src/avro/client.ts";
import { DEFAULT_MAX_BUFFERS } from "../../src/avro/framing.ts";
import { PROTOCOL_HASH, PROTOCOL_TEXT, hex } from "../../src/avro/protocol.ts";
import { AvroRpcServer } from "../../src/avro/server.ts";
import type { Event } from "../../src/core/event.ts";
import { makeEvent } from "../../src/core/event.ts";
import { getLogger } from "../../src/util/log.ts";
import { onCleanup, waitFor } from "../helpers/index.ts";
import { REQ1, REQ2, RES1, RES2 } from "./reference.ts";

const BATCH = (): Event[] => [makeEvent("hello", { host: "web-1" }), makeEvent("world", { seq: "2" })];
const LIMITS = { maxPackBytes: 1 << 20, maxBuffers: DEFAULT_MAX_BUFFERS };

/** Reads exactly n bytes from a socket (bounded by the test timeout). */
function reader(sock: net.Socket) {
  let buf = Buffer.alloc(0);
  let want: { n: number; resolve: (b: Uint8Array) => void } | undefined;
  const check = () => {
    if (want && buf.length >= want.n) {
      const out = buf.subarray(0, want.n);
      buf = buf.subarray(want.n);
      const w = want;
      want = undefined;
      w.resolve(new Uint8Array(out));
    }
  };
  sock.on("data", (c: Buffer) => {
    buf = Buffer.concat([buf, c]);
    check();
  });
  return (n: number) =>
    new Promise<Uint8Array>((resolve) => {
      want = { n, resolve };
      check();
    });
}

describe("the protocol text", () => {
  test("is Flume's 1334-byte protocol whose MD5 is Java's handshake hash", () => {
    expect(new TextEncoder().encode(PROTOCOL_TEXT).byteLength).toBe(1334);
    expect(createHash("md5").update(PROTOCOL_TEXT).digest("hex")).toBe("86aadae2c45474c0fe93ffd0f2350a65");
    expect(hex(PROTOCOL_HASH)).toBe("86aadae2c45474c0fe93ffd0f2350a65");
  });

  test("the Python peer's copy (tests/avro/protocol.avpr) is the same text", () => {
    expect(readFileSync(`${import.meta.dir}/protocol.avpr`, "utf8")).toBe(PROTOCOL_TEXT);
  });

  test("matches the shared spec file byte for byte", () => {
    const spec = "/work/shared/spec/avro/AvroSourceProtocol.avpr";
    let text: string;
    try {
      text = readFileSync(spec, "utf8");
    } catch {
      return; // a clone without ../shared: the MD5 test above still holds the text to Java's hash
    }
    expect(PROTOCOL_TEXT).toBe(text);
  });
});

describe("client bytes", () => {
  test("sends exactly Java's handshake request, then exactly Java's second request on the same connection", async () => {
    const got: Uint8Array[] = [];
    const server = net.createServer((sock) => {
      const read = reader(sock);
      void (async () => {
        got.push(await read(REQ1.byteLength));
        sock.write(RES1);
        got.push(await read(REQ2.byteLength));
        sock.write(RES2);
      })();
    });
    await new Promise<void>((r) => server.listen(0, "127.0.0.1", r));
    onCleanup(() => server.close());
    const port = (server.address() as net.AddressInfo).port;
    const client = new AvroRpcClient({ host: "127.0.0.1", port, connectTimeoutMs: 5000, requestTimeoutMs: 5000, limits: LIMITS });
    expect(await client.appendBatch(BATCH())).toBe("OK");
    expect(await client.appendBatch(BATCH())).toBe("OK");
    client.close();
    expect(hex(got[0]!)).toBe(hex(REQ1));
    expect(hex(got[1]!)).toBe(hex(REQ2));
  });
});

describe("server bytes", () => {
  test("answers Java's requests with exactly Java's replies and commits the events it decoded", async () => {
    const received: Event[][] = [];
    const server = new AvroRpcServer({
      host: "127.0.0.1", port: 0, limits: LIMITS, maxConnections: 10, readTimeoutMs: 10_000, idleTimeoutMs: 10_000, log: getLogger("test"),
      handler: { deliver: async (events) => (received.push(events), "OK") },
    });
    const port = await server.start();
    onCleanup(() => server.stop());
    const sock = net.connect(port, "127.0.0.1");
    onCleanup(() => sock.destroy());
    const read = reader(sock);
    sock.write(REQ1);
    expect(hex(await read(RES1.byteLength))).toBe(hex(RES1));
    sock.write(REQ2);
    expect(hex(await read(RES2.byteLength))).toBe(hex(RES2));
    expect(received.length).toBe(2);
    const dec = new TextDecoder();
    expect(received[0]!.map((e) => [e.headers, dec.decode(e.body)])).toEqual([[{ host: "web-1" }, "hello"], [{ seq: "2" }, "world"]]);
  });
});

describe("server handshake", () => {
  test("a client announcing the Avro ≥ 1.11.1 hash of the same protocol is served at once (match CLIENT, no NONE round trip)", async () => {
    const received: Event[][] = [];
    const server = new AvroRpcServer({
      host: "127.0.0.1", port: 0, limits: LIMITS, maxConnections: 10, readTimeoutMs: 10_000, idleTimeoutMs: 10_000, log: getLogger("test"),
      handler: { deliver: async (events) => (received.push(events), "OK") },
    });
    const port = await server.start();
    onCleanup(() => server.stop());
    const alt = Uint8Array.from(Buffer.from("8076c53714e01f6e2c1deb9544e7b1fe", "hex"));
    const req = REQ1.slice();
    req.set(alt, 12); // clientHash
    req.set(alt, 12 + 17); // serverHash: the client's guess is its own hash
    const sock = net.connect(port, "127.0.0.1");
    onCleanup(() => sock.destroy());
    const read = reader(sock);
    sock.write(req);
    const head = await read(16);
    // serial 1, 3 buffers, handshake buffer: match CLIENT (02), then serverProtocol (union 1) …
    expect(hex(head.subarray(0, 8))).toBe("0000000100000003");
    expect([head[12], head[13]]).toEqual([2, 2]);
    await waitFor("the call ran", () => received.length === 1);
  });
});
