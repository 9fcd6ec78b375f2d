import { describe, expect, test } from "bun:test";
import { Buffer } from "node:buffer";
import { gunzipSync } from "node:zlib";
import type { Event } from "../../src/core/event.ts";
import { MemoryChannel, memoryKeys } from "../../src/channels/memory.ts";
import { decodeAvroContainer } from "../../src/avro/container.ts";
import { encodeJson, encodeNdjson } from "../../src/sinks/http/json-body.ts";
import { HttpSink, httpSinkKeys } from "../../src/sinks/http/index.ts";
import { configureLogging, getLogger } from "../../src/util/log.ts";
import { randomBatch, rng } from "./random-events.ts";
import { cfg, stopsAtFileEnd } from "../helpers/rig.ts";

configureLogging({ level: "error", write: () => {} });

// The reference: what the http sink sent before json-body.ts (each body decoded as text, JSON.stringify, UTF-8).
const utf8 = new TextEncoder();
const asText = (b: Uint8Array) => Buffer.from(b.buffer, b.byteOffset, b.byteLength).toString("utf8");
const objects = (events: readonly Event[]) => events.map((e) => ({ headers: e.headers, body: asText(e.body) }));
const referenceJson = (events: readonly Event[]) => utf8.encode(JSON.stringify(objects(events)));
const referenceNdjson = (events: readonly Event[]) => utf8.encode(objects(events).map((o) => JSON.stringify(o)).join("\n") + "\n");
/** Header texts after JSON text in UTF-8 (JSON.stringify escapes a lone surrogate, so it survives). */
const wireHeaders = (h: Record<string, string>) => JSON.parse(new TextDecoder().decode(utf8.encode(JSON.stringify(h))));
/** Header texts after a UTF-8 round trip of each string (Avro strings: a lone surrogate becomes U+FFFD). */
const roundTrip = (s: string) => new TextDecoder().decode(utf8.encode(s));
const utf8Headers = (h: Record<string, string>) => Object.fromEntries(Object.entries(h).map(([k, v]) => [roundTrip(k), roundTrip(v)]));

describe("json and ndjson bodies written from bytes", () => {
  test("are byte for byte what JSON.stringify of the decoded bodies gives, over 3000 random batches", () => {
    for (let seed = 1; seed <= 3000; seed++) {
      const events = randomBatch(rng(seed));
      const j = encodeJson(events);
      const n = encodeNdjson(events);
      if (Buffer.compare(j, referenceJson(events)) !== 0 || Buffer.compare(n, referenceNdjson(events)) !== 0) {
        throw new Error(`seed ${seed}: the encoders differ from the reference`);
      }
    }
  });

  test("parse back to the bodies as the UTF-8 decoder reads them (invalid bytes as U+FFFD) and the headers", () => {
    for (let seed = 5000; seed < 5500; seed++) {
      const events = randomBatch(rng(seed));
      const parsed = JSON.parse(new TextDecoder().decode(encodeJson(events))) as Array<{ headers: Record<string, string>; body: string }>;
      expect(parsed.length).toBe(events.length);
      const lines = new TextDecoder().decode(encodeNdjson(events)).split("\n");
      expect(lines.pop()).toBe("");
      for (let i = 0; i < events.length; i++) {
        const want = { headers: wireHeaders(events[i]!.headers), body: new TextDecoder().decode(events[i]!.body) };
        expect(parsed[i]).toEqual(want);
        expect(JSON.parse(lines[i]!)).toEqual(want);
      }
    }
  });

  test("copy plain bodies as they are and escape exactly what JSON needs", () => {
    const ev = (s: string | number[]): Event => ({ headers: {}, body: typeof s === "string" ? utf8.encode(s) : new Uint8Array(s) });
    expect(new TextDecoder().decode(encodeNdjson([ev("GET /x 200"), ev('say "hi"\\\t\u0001\u2028')]))).toBe(
      '{"headers":{},"body":"GET /x 200"}\n{"headers":{},"body":"say \\"hi\\"\\\\\\t\\u0001\u2028"}\n',
    );
    expect(new TextDecoder().decode(encodeJson([ev([0x61, 0xff, 0xe2, 0x80, 0x62])]))).toBe('[{"headers":{},"body":"a\ufffd\ufffdb"}]');
    expect(new TextDecoder().decode(encodeJson([]))).toBe("[]");
    expect(new TextDecoder().decode(encodeNdjson([]))).toBe("\n");
  });
});

const stops = stopsAtFileEnd();

describe("the http sink's request bodies", () => {
  for (const format of ["json", "ndjson", "avro"] as const) {
    for (const compression of ["none", "gzip"] as const) {
      test(`${format} with gzip ${compression === "gzip" ? "on" : "off"} decode to exactly the events taken, over random batches`, async () => {
        const got: Uint8Array[] = [];
        const server = Bun.serve({
          port: 0,
          hostname: "127.0.0.1",
          async fetch(req) {
            const raw = new Uint8Array(await req.arrayBuffer());
            got.push(req.headers.get("content-encoding") === "gzip" ? new Uint8Array(gunzipSync(raw)) : raw);
            return new Response("ok");
          },
        });
        stops.push(() => server.stop(true));
        const ch = new MemoryChannel("c1", cfg(memoryKeys, { capacity: 10_000, transactionCapacity: 1000 }));
        await ch.start();
        stops.push(() => ch.stop());
        const sink = new HttpSink("k1", ch, cfg(httpSinkKeys, { endpoint: `http://127.0.0.1:${server.port}/`, batchSize: 1000, format, compression }), getLogger("test"));
        await sink.start();
        stops.push(() => sink.stop());
        for (let seed = 1; seed <= 40; seed++) {
          const events = randomBatch(rng(seed * 7919 + format.length), 60);
          if (events.length === 0) continue;
          const tx = ch.begin();
          tx.put(events);
          await tx.commit();
          got.length = 0;
          expect(await sink.process()).toBe("ready");
          expect(got.length).toBe(1);
          const body = got[0]!;
          if (format === "json") expect(Buffer.compare(body, referenceJson(events))).toBe(0);
          else if (format === "ndjson") expect(Buffer.compare(body, referenceNdjson(events))).toBe(0);
          else {
            const back = decodeAvroContainer(body, 1 << 30);
            expect(back.length).toBe(events.length);
            for (let i = 0; i < events.length; i++) {
              expect(Buffer.compare(back[i]!.body, events[i]!.body)).toBe(0);
              expect({ ...back[i]!.headers }).toEqual(utf8Headers(events[i]!.headers));
            }
          }
        }
      });
    }
  }
});

describe("avro records read back", () => {
  test("share one frozen header map across events that repeat its bytes, and read different maps apart", async () => {
    const { encodeEvents, Reader } = await import("../../src/avro/codec.ts");
    const body = new Uint8Array([1]);
    const batch: Event[] = [
      { headers: { host: "web-1" }, body },
      { headers: { host: "web-1" }, body },
      { headers: { host: "web-2" }, body },
      { headers: {}, body },
      { headers: { host: "web-2" }, body },
    ];
    const back = new Reader(encodeEvents(batch)).events();
    expect(back.map((e) => ({ ...e.headers }))).toEqual(batch.map((e) => e.headers));
    expect(back[1]!.headers).toBe(back[0]!.headers);
    expect(back[4]!.headers).toBe(back[2]!.headers);
    expect(back[2]!.headers).not.toBe(back[0]!.headers);
    expect(Object.isFrozen(back[0]!.headers) && Object.isFrozen(back[3]!.headers)).toBe(true);
  });
});

describe("request buffer pool", () => {
  test("writes the next body into a buffer given back, takes back only its own buffers, and keeps at most its count", async () => {
    const { BufferPool } = await import("../../src/sinks/http/json-body.ts");
    const pool = new BufferPool(1);
    const ev = (s: string): Event => ({ headers: {}, body: utf8.encode(s) });
    const first = encodeNdjson([ev("a".repeat(100))], pool);
    const firstText = new TextDecoder().decode(first);
    pool.give(first);
    const second = encodeNdjson([ev("b")], pool);
    expect(second.buffer).toBe(first.buffer);
    expect(new TextDecoder().decode(second)).toBe('{"headers":{},"body":"b"}\n');
    expect(firstText).toBe(`{"headers":{},"body":"${"a".repeat(100)}"}\n`);
    // A body too large for the free buffer gets a new one; foreign buffers are never kept.
    const third = encodeNdjson([ev("c".repeat(5000))], pool);
    expect(third.buffer).not.toBe(second.buffer);
    pool.give(new Uint8Array(64));
    pool.give(second);
    pool.give(third);
    const fourth = encodeNdjson([ev("d")], pool);
    expect(fourth.buffer === second.buffer || fourth.buffer === third.buffer).toBe(true);
  });
});
