import { describe, expect, test } from "bun:test";
import { gunzipSync } from "node:zlib";
import { join } from "node:path";
import { ChannelProcessor } from "../../src/core/channel-processor.ts";
import { DeliveryError } from "../../src/core/errors.ts";
import { makeEvent, type Event } from "../../src/core/event.ts";
import { MemoryChannel, memoryKeys } from "../../src/channels/memory.ts";
import { ReplicatingSelector } from "../../src/selectors/replicating.ts";
import { decodeAvroContainer } from "../../src/avro/container.ts";
import { HttpSink, httpSinkKeys, httpSinkType } from "../../src/sinks/http/index.ts";
import { HttpSource, httpSourceKeys } from "../../src/sources/http/index.ts";
import { configureLogging, getLogger } from "../../src/util/log.ts";
import { freePort, tempDir } from "../helpers/index.ts";
import { cfg, stopsAtFileEnd } from "../helpers/rig.ts";

const warnings: string[] = [];
configureLogging({ level: "warn", write: (line) => warnings.push(line) });

const stops = stopsAtFileEnd();

interface Seen {
  headers: Headers;
  body: Uint8Array;
}

/** A real HTTP server on 127.0.0.1 that answers with the scripted statuses in turn (then 200). */
function scripted(statuses: number[], delayMs = 0): { url: string; seen: Seen[] } {
  const seen: Seen[] = [];
  const server = Bun.serve({
    port: 0,
    hostname: "127.0.0.1",
    async fetch(req) {
      seen.push({ headers: req.headers, body: new Uint8Array(await req.arrayBuffer()) });
      if (delayMs) await Bun.sleep(delayMs);
      return new Response("from test", { status: statuses.shift() ?? 200 });
    },
  });
  stops.push(() => server.stop(true));
  return { url: `http://127.0.0.1:${server.port}/in`, seen };
}

async function channelWith(n: number, prefix = "e"): Promise<MemoryChannel> {
  const ch = new MemoryChannel("c1", cfg(memoryKeys, { capacity: 10_000, transactionCapacity: 10_000 }));
  await ch.start();
  stops.push(() => ch.stop());
  if (n > 0) {
    const tx = ch.begin();
    tx.put(Array.from({ length: n }, (_, i) => makeEvent(`${prefix}${i}`, { n: String(i) })));
    await tx.commit();
  }
  return ch;
}

async function sinkFor(ch: MemoryChannel, props: Record<string, string | number>): Promise<HttpSink> {
  const sink = new HttpSink("k1", ch, cfg(httpSinkKeys, props), getLogger("test"));
  await sink.start();
  stops.push(() => sink.stop());
  return sink;
}

const text = (e: Event) => new TextDecoder().decode(e.body);

describe("http sink: acknowledgement", () => {
  test("commits the take only after the endpoint answered 2xx", async () => {
    const srv = scripted([204]);
    const ch = await channelWith(10);
    const sink = await sinkFor(ch, { endpoint: srv.url, batchSize: 100 });
    expect(await sink.process()).toBe("ready");
    expect(ch.size()).toBe(0);
    const body = JSON.parse(new TextDecoder().decode(srv.seen[0]!.body));
    expect(body.length).toBe(10);
    expect(body[3]).toEqual({ headers: { n: "3" }, body: "e3" });
    expect(await sink.process()).toBe("empty");
  });

  for (const status of [503, 500, 429, 408]) {
    test(`rolls back after ${status} and delivers the same events on the retry`, async () => {
      const srv = scripted([status]);
      const ch = await channelWith(5);
      const sink = await sinkFor(ch, { endpoint: srv.url });
      const err = await sink.process().catch((e) => e);
      expect(err).toBeInstanceOf(DeliveryError);
      expect(String(err.message)).toContain(`${srv.url} answered ${status}`);
      expect(ch.size()).toBe(5);
      expect(await sink.process()).toBe("ready");
      expect(ch.size()).toBe(0);
      expect(srv.seen[1]!.body).toEqual(srv.seen[0]!.body);
    });
  }

  test("rolls back after a 4xx by default, never dropping silently", async () => {
    const srv = scripted([400]);
    const ch = await channelWith(3);
    const sink = await sinkFor(ch, { endpoint: srv.url });
    await expect(sink.process()).rejects.toBeInstanceOf(DeliveryError);
    expect(ch.size()).toBe(3);
  });

  test("rollback.400 = false commits the batch and logs how many events were dropped", async () => {
    const srv = scripted([400]);
    const ch = await channelWith(3);
    const sink = await sinkFor(ch, { endpoint: srv.url, "rollback.400": "false", "backoff.4XX": "false" });
    warnings.length = 0;
    expect(await sink.process()).toBe("ready");
    expect(ch.size()).toBe(0);
    expect(warnings.join("\n")).toMatch(/answered 400.*dropped 3 events/);
    expect(sink.counters.EventWriteFail).toBe(3);
  });

  test("an exact code key wins over its class key", async () => {
    const srv = scripted([404, 409]);
    const ch = await channelWith(2);
    const sink = await sinkFor(ch, { endpoint: srv.url, "rollback.4XX": "false", "rollback.404": "true", "backoff.4XX": "false" });
    // 404: rolled back (exact key) with no backoff (class key): Flume's immediate retry.
    expect(await sink.process()).toBe("ready");
    expect(ch.size()).toBe(2);
    expect(await sink.process()).toBe("ready"); // 409: class says commit
    expect(ch.size()).toBe(0);
  });

  test("a refused connection rolls back with a message naming the endpoint", async () => {
    const port = await freePort();
    const ch = await channelWith(4);
    const sink = await sinkFor(ch, { endpoint: `http://127.0.0.1:${port}/` });
    const err = await sink.process().catch((e) => e);
    expect(err).toBeInstanceOf(DeliveryError);
    expect(err.message).toContain(`POST http://127.0.0.1:${port}/ failed`);
    expect(ch.size()).toBe(4);
  });

  test("a peer slower than the timeouts rolls back", async () => {
    const srv = scripted([200], 1500);
    const ch = await channelWith(2);
    const sink = await sinkFor(ch, { endpoint: srv.url, connectTimeout: "100ms", requestTimeout: "300ms" });
    const err = await sink.process().catch((e) => e);
    expect(err.message).toContain("no answer within 400 ms");
    expect(ch.size()).toBe(2);
  });
});

describe("http sink: request shape", () => {
  test("splits a take into requests of at most batchBytes and sends custom headers", async () => {
    const srv = scripted([]);
    const ch = await channelWith(100);
    const sink = await sinkFor(ch, { endpoint: srv.url, batchSize: 100, batchBytes: 100, format: "ndjson", "headers.Authorization": "Bearer t0k", "headers.X-Env": "test" });
    expect(await sink.process()).toBe("ready");
    expect(srv.seen.length).toBeGreaterThanOrEqual(5);
    const lines = srv.seen.flatMap((s) => new TextDecoder().decode(s.body).trim().split("\n"));
    expect(lines.length).toBe(100);
    expect(JSON.parse(lines[99]!).body).toBe("e99");
    expect(srv.seen[0]!.headers.get("authorization")).toBe("Bearer t0k");
    expect(srv.seen[0]!.headers.get("x-env")).toBe("test");
    expect(srv.seen[0]!.headers.get("content-type")).toContain("application/x-ndjson");
  });

  test("gzips the body and keeps arbitrary bytes in the avro format", async () => {
    const srv = scripted([]);
    const ch = await channelWith(0);
    const tx = ch.begin();
    tx.put([makeEvent(new Uint8Array([0, 1, 254, 255]), { h: "v" })]);
    await tx.commit();
    const sink = await sinkFor(ch, { endpoint: srv.url, format: "avro", compression: "gzip" });
    expect(await sink.process()).toBe("ready");
    expect(srv.seen[0]!.headers.get("content-encoding")).toBe("gzip");
    const events = decodeAvroContainer(gunzipSync(srv.seen[0]!.body), 1e6);
    expect([...events[0]!.body]).toEqual([0, 1, 254, 255]);
    expect(events[0]!.headers).toEqual({ h: "v" });
  });

  for (const [format, compression] of [["json", "none"], ["ndjson", "gzip"], ["avro", "none"], ["avro", "gzip"]] as const) {
    test(`the http source accepts what the sink sends as ${format}, compression ${compression}`, async () => {
      const target = new MemoryChannel("c2", cfg(memoryKeys, { capacity: 1000, transactionCapacity: 1000 }));
      await target.start();
      const source = new HttpSource("r1", cfg(httpSourceKeys, { port: 0 }), new ChannelProcessor(new ReplicatingSelector([target]), [], getLogger("t")), getLogger("t"));
      await source.start();
      stops.push(() => source.stop());
      const ch = await channelWith(50, "x");
      const sink = await sinkFor(ch, { endpoint: `http://127.0.0.1:${source.port}/`, format, compression });
      expect(await sink.process()).toBe("ready");
      const tx = target.begin();
      const got = await tx.take(1000);
      await tx.commit();
      expect(got.map(text)).toEqual(Array.from({ length: 50 }, (_, i) => `x${i}`));
      expect(got[7]!.headers).toEqual({ n: "7" });
    });
  }

  test("talks HTTPS to a source with its own certificate when the sink trusts it", async () => {
    const dir = await tempDir();
    // A test CA and a server certificate it signed (rustls, under Deno, refuses a self-signed CA as the server's).
    const [caKey, ca, key, csr, cert, ext] = ["ca.key", "ca.pem", "key.pem", "leaf.csr", "cert.pem", "ext.cnf"].map((n) => join(dir, n)) as [string, string, string, string, string, string];
    await Bun.write(ext, "subjectAltName=IP:127.0.0.1\nbasicConstraints=CA:FALSE\n");
    for (const cmd of [
      ["openssl", "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-keyout", caKey, "-out", ca, "-days", "2", "-subj", "/CN=sluice test CA"],
      ["openssl", "req", "-newkey", "rsa:2048", "-nodes", "-keyout", key, "-out", csr, "-subj", "/CN=127.0.0.1"],
      ["openssl", "x509", "-req", "-in", csr, "-CA", ca, "-CAkey", caKey, "-CAcreateserial", "-out", cert, "-days", "2", "-extfile", ext],
    ]) expect(Bun.spawnSync(cmd, { stderr: "ignore" }).exitCode).toBe(0);
    const target = new MemoryChannel("c2", cfg(memoryKeys, {}));
    await target.start();
    const source = new HttpSource("r1", cfg(httpSourceKeys, { port: 0, ssl: "true", "ssl-cert": cert, "ssl-key": key }), new ChannelProcessor(new ReplicatingSelector([target]), [], getLogger("t")), getLogger("t"));
    await source.start();
    stops.push(() => source.stop());
    const untrusting = await sinkFor(await channelWith(3), { endpoint: `https://127.0.0.1:${source.port}/` });
    await expect(untrusting.process()).rejects.toBeInstanceOf(DeliveryError);
    const sink = await sinkFor(await channelWith(3), { endpoint: `https://127.0.0.1:${source.port}/`, truststore: ca });
    expect(await sink.process()).toBe("ready");
    expect(target.size()).toBe(3);
  });
});

describe("http sink: configuration", () => {
  test("check() names a bad endpoint and bad code keys", () => {
    const problems: string[] = [];
    const c = cfg(httpSinkKeys, { endpoint: "ftp://x/", "rollback.6XX": "true", "backoff.503": "maybe" });
    httpSinkType.check!(c, (k, m) => problems.push(`${k}: ${m}`), {});
    expect(problems.join("\n")).toMatch(/endpoint: "ftp:\/\/x\/": only http/);
    expect(problems.join("\n")).toMatch(/rollback.6XX: "6XX" is not an HTTP status/);
    expect(problems.join("\n")).toMatch(/backoff.503: expected true or false/);
  });
});
