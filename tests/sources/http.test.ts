import { afterAll, describe, expect, test } from "bun:test";
import { Buffer } from "node:buffer";
import { gzipSync } from "node:zlib";
import { connect } from "node:net";
import { parseKeys, type KeySpec, type ConfigOf } from "../../src/core/keys.ts";
import { ChannelProcessor } from "../../src/core/channel-processor.ts";
import type { Event } from "../../src/core/event.ts";
import { MemoryChannel, memoryKeys } from "../../src/channels/memory.ts";
import { ReplicatingSelector } from "../../src/selectors/replicating.ts";
import { encodeAvroContainer } from "../../src/avro/container.ts";
import { HttpSource, httpSourceKeys } from "../../src/sources/http/index.ts";
import { configureLogging, getLogger } from "../../src/util/log.ts";

configureLogging({ level: "error" });

function cfg<S extends KeySpec>(spec: S, props: Record<string, string | number>): ConfigOf<S> {
  const problems: unknown[] = [];
  const map = new Map(Object.entries(props).map(([k, v]) => [k, { value: String(v), line: 1 }]));
  const { config } = parseKeys(spec, { kind: "test", name: "t", prefix: "", file: "t", props: map }, problems as never[]);
  expect(problems).toEqual([]);
  return config;
}

interface Rig {
  source: HttpSource;
  channel: MemoryChannel;
  url: string;
  drain(): Promise<Event[]>;
}

const rigs: Rig[] = [];
afterAll(async () => {
  for (const r of rigs) {
    await r.source.stop();
    await r.channel.stop();
  }
});

async function rig(props: Record<string, string | number> = {}, channel: Record<string, string | number> = {}): Promise<Rig> {
  const ch = new MemoryChannel("c1", cfg(memoryKeys, { capacity: 10_000, transactionCapacity: 10_000, ...channel }));
  await ch.start();
  const processor = new ChannelProcessor(new ReplicatingSelector([ch]), [], getLogger("test"));
  const source = new HttpSource("r1", cfg(httpSourceKeys, { port: 0, ...props }), processor, getLogger("test"));
  await source.start();
  const r: Rig = {
    source,
    channel: ch,
    url: `http://127.0.0.1:${source.port}/`,
    async drain() {
      const tx = ch.begin();
      const events = await tx.take(10_000);
      await tx.commit();
      return events;
    },
  };
  rigs.push(r);
  return r;
}

const text = (e: Event) => new TextDecoder().decode(e.body);
const post = (url: string, body: NonNullable<RequestInit["body"]>, headers: Record<string, string> = {}) => fetch(url, { method: "POST", body, headers });

describe("http source: accepted bodies", () => {
  test("commits a Flume JSON array and answers 200 after the commit", async () => {
    const r = await rig();
    const res = await post(r.url, JSON.stringify([{ headers: { a: "1" }, body: "hello" }, { body: "wörld" }]), { "Content-Type": "application/json" });
    expect(res.status).toBe(200);
    const got = await r.drain();
    expect(got.map(text)).toEqual(["hello", "wörld"]);
    expect(got[0]!.headers).toEqual({ a: "1" });
  });

  test("accepts the sink's ndjson, gzip and avro container bodies", async () => {
    const r = await rig();
    const nd = '{"headers":{},"body":"n1"}\n{"headers":{"k":"v"},"body":"n2"}\n';
    expect((await post(r.url, nd, { "Content-Type": "application/x-ndjson" })).status).toBe(200);
    expect((await post(r.url, gzipSync(nd), { "Content-Type": "application/x-ndjson", "Content-Encoding": "gzip" })).status).toBe(200);
    const avro = encodeAvroContainer([{ headers: { x: "y" }, body: new Uint8Array([0, 255, 1]) }]);
    expect((await post(r.url, avro, { "Content-Type": "avro/binary" })).status).toBe(200);
    const got = await r.drain();
    expect(got.slice(0, 4).map(text)).toEqual(["n1", "n2", "n1", "n2"]);
    expect([...got[4]!.body]).toEqual([0, 255, 1]);
    expect(got[4]!.headers).toEqual({ x: "y" });
  });

  test("BLOB handler makes the whole body one event with query parameters as headers", async () => {
    const r = await rig({ handler: "org.apache.flume.sink.solr.morphline.BlobHandler" });
    const res = await post(`${r.url}?host=web1&app=x`, "line1\nline2\n", { "Content-Type": "application/octet-stream" });
    expect(res.status).toBe(200);
    const got = await r.drain();
    expect(got.length).toBe(1);
    expect(text(got[0]!)).toBe("line1\nline2\n");
    expect(got[0]!.headers).toEqual({ host: "web1", app: "x" });
  });

  test("accepts a request that carries the right bearer token", async () => {
    const r = await rig({ "auth.token": "s3cret" });
    const res = await post(r.url, '[{"body":"x"}]', { Authorization: "Bearer s3cret" });
    expect(res.status).toBe(200);
    expect((await r.drain()).length).toBe(1);
  });
});

describe("http source: bad input is rejected and nothing of it is committed", () => {
  const cases: Array<[string, Record<string, string | number>, NonNullable<RequestInit["body"]>, Record<string, string>, number, RegExp]> = [
    ["malformed JSON", {}, '[{"body":"x"}', {}, 400, /malformed JSON/],
    ["a body that is not a string", {}, '[{"body":"ok"},{"body":"ok"},{"body":"ok"},{"body":7}]', {}, 400, /event 3: body is not a string/],
    ["a header that is not a string", {}, '[{"headers":{"n":1},"body":"x"}]', {}, 400, /event 0: header "n" is not a string/],
    ["a JSON object instead of an array", {}, '{"body":"x"}', {}, 400, /expected a JSON array/],
    ["a bad ndjson line", {}, '{"body":"a"}\n{"body":\n', { "Content-Type": "application/x-ndjson" }, 400, /line 2: malformed JSON/],
    ["an ndjson value split across lines (valid only when joined)", {}, '{"body":"a","x":[1\n2]},{"body":"b"}\n', { "Content-Type": "application/x-ndjson" }, 400, /line 1: malformed JSON/],
    ["invalid UTF-8", {}, new Uint8Array([0x5b, 0xff, 0x5d]), {}, 400, /not valid UTF-8/],
    ["a wrong token", { "auth.token": "s3cret" }, '[{"body":"x"}]', { Authorization: "Bearer wrong" }, 401, /bearer token/],
    ["a missing token", { "auth.token": "s3cret" }, '[{"body":"x"}]', {}, 401, /bearer token/],
    ["a body past maxBodyBytes", { maxBodyBytes: 1000 }, JSON.stringify([{ body: "x".repeat(2000) }]), {}, 413, /maxBodyBytes/],
    ["a gzip body that inflates past maxBodyBytes", { maxBodyBytes: 100_000 }, gzipSync(JSON.stringify([{ body: "x".repeat(1_000_000) }])), { "Content-Encoding": "gzip" }, 413, /inflates past/],
    ["bad gzip", {}, new Uint8Array([1, 2, 3, 4]), { "Content-Encoding": "gzip" }, 400, /not valid gzip/],
    ["an unknown content encoding", {}, "[]", { "Content-Encoding": "br" }, 415, /Content-Encoding/],
    ["a wrong content type", {}, "<events/>", { "Content-Type": "text/xml" }, 415, /unsupported Content-Type "text\/xml"/],
    ["a truncated avro container", {}, encodeAvroContainer([{ headers: {}, body: new Uint8Array(50) }]).subarray(0, 80), { "Content-Type": "avro/binary" }, 400, /avro container/],
  ];
  for (const [what, props, body, headers, status, message] of cases) {
    test(`answers ${status} to ${what}`, async () => {
      const r = await rig(props);
      const res = await post(r.url, body, { "Content-Type": "application/json", ...headers });
      expect(res.status).toBe(status);
      expect(await res.text()).toMatch(message);
      expect(r.channel.size()).toBe(0);
      // The source still serves a good client afterwards.
      const ok = await post(r.url, '[{"body":"good"}]', { "Content-Type": "application/json", Authorization: "Bearer s3cret" });
      expect(ok.status).toBe(200);
      expect((await r.drain()).map(text)).toEqual(["good"]);
    });
  }

  test("a 261-byte avro container declaring a 2^27-entry header map is answered 400 at once, and a good request sent meanwhile is not held", async () => {
    const r = await rig();
    // One record whose header map declares 2^27 entries but holds one.
    const good = encodeAvroContainer([{ headers: {}, body: new Uint8Array(10) }]);
    const header = good.subarray(0, good.length - 16 - 12 - 2);
    const sync = good.subarray(good.length - 16);
    const data = [0x80, 0x80, 0x80, 0x80, 0x01, 2, 0x61, 2, 0x62, 0, 0, 0];
    const hostile = Buffer.concat([header, Buffer.from([2, data.length * 2, ...data]), sync]); // zig-zag varints: count 1, size 12
    const started = performance.now();
    const [bad, ok] = await Promise.all([
      post(r.url, hostile, { "Content-Type": "avro/binary" }),
      post(r.url, '[{"body":"good"}]', { "Content-Type": "application/json" }),
    ]);
    const took = performance.now() - started;
    expect(bad.status).toBe(400);
    expect(await bad.text()).toMatch(/avro container: block at byte \d+: event 0 .*map block declares 134217728/);
    expect(ok.status).toBe(200);
    // Generous for a loaded machine; the unbounded decoder took seconds here.
    expect(took).toBeLessThan(1000);
    expect((await r.drain()).map(text)).toEqual(["good"]);
  });

  test("answers 503 with Retry-After when the channel is full, and commits nothing", async () => {
    const r = await rig({}, { capacity: 5, transactionCapacity: 5, "keep-alive": "100ms" });
    expect((await post(r.url, JSON.stringify(Array.from({ length: 5 }, () => ({ body: "a" }))))).status).toBe(200);
    const res = await post(r.url, '[{"body":"b"}]');
    expect(res.status).toBe(503);
    expect(res.headers.get("retry-after")).toBe("1");
    expect(r.channel.size()).toBe(5);
  });

  test("answers 405 to a GET", async () => {
    const r = await rig();
    expect((await fetch(r.url)).status).toBe(405);
  });
});

/** Writes raw bytes on a fresh TCP connection; resolves with what the server answered before closing (bounded). */
function raw(port: number, bytes: Uint8Array | string, waitMs = 2000): Promise<string> {
  return new Promise((resolve) => {
    let got = "";
    const s = connect(port, "127.0.0.1", () => s.write(bytes));
    const done = () => {
      clearTimeout(t);
      s.destroy();
      resolve(got);
    };
    const t = setTimeout(done, waitMs);
    s.on("data", (d) => (got += d.toString("latin1")));
    s.on("error", done);
    s.on("close", done);
  });
}

describe("http source: hostile clients", () => {
  test("refuses a huge declared Content-Length at once with 413, reading none of it", async () => {
    const r = await rig({ maxBodyBytes: 1024 * 1024 });
    const answer = await raw(r.source.port, "POST / HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\nContent-Length: 999999999999\r\n\r\n[");
    expect(answer).toMatch(/^HTTP\/1\.1 413/);
    expect(r.channel.size()).toBe(0);
  });

  test("shrugs off random bytes and garbage request lines on raw connections", async () => {
    const r = await rig();
    let seed = 99;
    const rand = (n: number) => ((seed = (seed * 1103515245 + 12345) & 0x7fffffff) % n);
    const junk = Array.from({ length: 50 }, (_, i) =>
      i % 2 === 0 ? Uint8Array.from({ length: 1 + rand(2000) }, () => rand(256)) : `POST / HTTP/1.1\r\nContent-Length: -${rand(100)}\r\n\r\n${"x".repeat(rand(50))}`,
    );
    await Promise.all(junk.map((j) => raw(r.source.port, j, 1000)));
    expect(r.channel.size()).toBe(0);
    const ok = await post(r.url, '[{"body":"fine"}]');
    expect(ok.status).toBe(200);
  });

  test("survives thousands of mutated bodies and still answers a good client", async () => {
    const r = await rig({ maxBodyBytes: 64 * 1024 });
    const good = [
      Buffer.from(JSON.stringify([{ headers: { a: "b" }, body: "hello" }, { body: "x" }])),
      Buffer.from('{"headers":{},"body":"n1"}\n{"body":"n2"}\n'),
      Buffer.from(encodeAvroContainer([{ headers: { k: "v" }, body: new Uint8Array(20) }])),
      gzipSync(JSON.stringify([{ body: "zipped" }])),
    ];
    const types = ["application/json", "application/x-ndjson", "avro/binary", "application/json"];
    let seed = 12345;
    const rand = (n: number) => ((seed = (seed * 1103515245 + 12345) & 0x7fffffff) % n);
    const deadline = Date.now() + 15_000;
    let sent = 0;
    const statuses = new Map<number, number>();
    while (sent < 2000 && Date.now() < deadline) {
      const batch: Promise<void>[] = [];
      for (let j = 0; j < 20; j++, sent++) {
        const which = rand(good.length);
        const m = Buffer.from(good[which]!);
        const flips = 1 + rand(4);
        for (let f = 0; f < flips; f++) {
          const op = rand(3);
          if (op === 0) m[rand(m.length)] = rand(256);
          else if (op === 1) m[rand(m.length)] ^= 1 << rand(8);
        }
        const body = rand(5) === 0 ? m.subarray(0, rand(m.length)) : m;
        const headers: Record<string, string> = { "Content-Type": types[which]! };
        if (which === 3) headers["Content-Encoding"] = "gzip";
        batch.push(post(r.url, body, headers).then(async (res) => {
          statuses.set(res.status, (statuses.get(res.status) ?? 0) + 1);
          await res.arrayBuffer();
        }));
      }
      await Promise.all(batch);
    }
    expect(sent).toBeGreaterThan(500);
    // Only clean outcomes: accepted, or a 4xx saying what is wrong — never a 5xx from a crash.
    for (const s of statuses.keys()) expect([200, 400, 413, 415]).toContain(s);
    await r.drain();
    const ok = await post(r.url, '[{"body":"after"}]');
    expect(ok.status).toBe(200);
    expect((await r.drain()).map(text)).toEqual(["after"]);
  }, 30_000);

  test("serves 200 concurrent clients while slow clients dribble a byte a second", async () => {
    const r = await rig({ readTimeout: "2s", maxConcurrentRequests: 300 });
    const port = r.source.port;
    // Slow clients: declare a body and send one byte a second.
    const slow = Array.from({ length: 20 }, () => {
      const s = connect(port, "127.0.0.1");
      s.on("error", () => {});
      s.write(`POST / HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\nContent-Length: 100000\r\n\r\n[`);
      const t = setInterval(() => s.write(" "), 1000);
      return { s, t, closed: new Promise<void>((res) => s.on("close", () => res())) };
    });
    try {
      const before = process.memoryUsage().rss;
      const clients = Array.from({ length: 200 }, (_, i) =>
        post(r.url, JSON.stringify(Array.from({ length: 10 }, (_, j) => ({ body: `c${i}-${j}` })))).then((res) => res.status),
      );
      const statuses = await Promise.all(clients);
      expect(statuses.every((s) => s === 200)).toBe(true);
      expect(r.channel.size()).toBe(2000);
      expect(process.memoryUsage().rss - before).toBeLessThan(200 * 1024 * 1024);
      // The dribblers are cut off by readTimeout (408 and the connection closed), freeing their slots.
      await Promise.race([Promise.all(slow.map((x) => x.closed)), Bun.sleep(8000)]);
      expect(slow.every((x) => x.s.destroyed || x.s.readableEnded)).toBe(true);
    } finally {
      for (const x of slow) {
        clearInterval(x.t);
        x.s.destroy();
      }
    }
    const ok = await post(r.url, '[{"body":"still here"}]');
    expect(ok.status).toBe(200);
  }, 30_000);
});
