import { afterAll, describe, expect, test } from "bun:test";
import { Buffer } from "node:buffer";
import { gunzipSync } from "node:zlib";
import { parseKeys, type ConfigOf, type KeySpec } from "../../src/core/keys.ts";
import type { Event } from "../../src/core/event.ts";
import { MemoryChannel, memoryKeys } from "../../src/channels/memory.ts";
import { decodeAvroContainer } from "../../src/avro/container.ts";
import { encodeJson, encodeNdjson } from "../../src/sinks/http/json-body.ts";
import { HttpSink, httpSinkKeys } from "../../src/sinks/http/index.ts";
import { configureLogging, getLogger } from "../../src/util/log.ts";

configureLogging({ level: "error", write: () => {} });

/** A small seeded generator (mulberry32), so a failure names a seed that reproduces it. */
function rng(seed: number): (n: number) => number {
  let a = seed >>> 0;
  return (n) => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return Math.floor((((t ^ (t >>> 14)) >>> 0) / 4294967296) * n);
  };
}

/** Bytes that stress the escaper: quotes, backslashes, controls, U+2028/2029, 4-byte, overlong, surrogates, truncated. */
const PIECES = [
  [0x22], [0x5c], [0x00], [0x08], [0x09], [0x0a], [0x0c], [0x0d], [0x1f], [0x7f], [0x41], [0x20],
  [0xe2, 0x80, 0xa8], [0xe2, 0x80, 0xa9], [0xf0, 0x9f, 0x98, 0x80], [0xc3, 0xa9], [0xef, 0xbf, 0xbd],
  [0xc0, 0x80], [0xc1, 0xbf], [0xed, 0xa0, 0x80], [0xed, 0x9f, 0xbf], [0xe0, 0x80], [0xe0, 0xa0], [0xf0, 0x8f], [0xf4, 0x90, 0x80, 0x80],
  [0xf5], [0xff], [0x80], [0xbf], [0xe2, 0x80], [0xf0, 0x9f, 0x98], [0xc3],
];

function randomBody(r: (n: number) => number): Uint8Array {
  const kind = r(8);
  if (kind === 0) return new Uint8Array(0);
  if (kind === 1) {
    // Every byte value, uniformly.
    const b = new Uint8Array(r(64));
    for (let i = 0; i < b.length; i++) b[i] = r(256);
    return b;
  }
  if (kind === 2) {
    // A long run: plain text with an occasional special byte, crossing the scanner's word steps at odd offsets.
    const b = new Uint8Array(1000 + r(20_000)).fill(0x61 + r(26));
    for (let k = r(4); k > 0; k--) b[r(b.length)] = [0x22, 0x5c, 0x0a, 0xe2, 0x80, 0xff][r(6)]!;
    return b;
  }
  if (kind === 3) return new Uint8Array(1 + r(5000)).fill([0x22, 0x5c, 0x01, 0xff][r(4)]!);
  const out: number[] = [];
  for (let n = r(40); n > 0; n--) out.push(...(r(3) === 0 ? [0x30 + r(70)] : PIECES[r(PIECES.length)]!));
  return new Uint8Array(out);
}

const HEADER_CHARS = ["a", "Z", "\"", "\\", "\n", "\u0000", "\u001f", "\u007f", "é", "\u2028", "\u2029", "😀", "\ud800", "\udfff", " ", "/"];
function randomText(r: (n: number) => number): string {
  let s = "";
  for (let n = r(12); n > 0; n--) s += HEADER_CHARS[r(HEADER_CHARS.length)];
  return s;
}

function randomHeaders(r: (n: number) => number): Record<string, string> {
  const h: Record<string, string> = {};
  for (let n = r(4); n > 0; n--) h[randomText(r)] = randomText(r);
  return h;
}

/** A batch: bodies sometimes views into one shared buffer (as sources make them), header maps sometimes shared. */
function randomBatch(r: (n: number) => number, max = 12): Event[] {
  const shared = Object.freeze(randomHeaders(r)) as Record<string, string>;
  const open = randomHeaders(r);
  const events: Event[] = [];
  for (let n = r(max + 1); n > 0; n--) {
    let body = randomBody(r);
    if (r(3) === 0) {
      const big = new Uint8Array(body.length + 7);
      big.set(body, 3);
      body = big.subarray(3, 3 + body.length);
    }
    const pick = r(4);
    events.push({ headers: pick === 0 ? shared : pick === 1 ? open : pick === 2 ? {} : randomHeaders(r), body });
  }
  return events;
}

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

const stops: Array<() => unknown> = [];
afterAll(async () => {
  for (const s of stops.reverse()) await s();
});

function cfg<S extends KeySpec>(spec: S, props: Record<string, string | number>): ConfigOf<S> {
  const problems: unknown[] = [];
  const map = new Map(Object.entries(props).map(([k, v]) => [k, { value: String(v), line: 1 }]));
  const { config } = parseKeys(spec, { kind: "test", name: "t", prefix: "", file: "t", props: map }, problems as never[]);
  expect(problems).toEqual([]);
  return config;
}

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
