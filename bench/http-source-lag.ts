// Benchmark: how long one request of each kind holds the http source's event loop. An in-process agent (http source →
// memory → null) is sent maximum-size bodies (maxBodyBytes, 16 MiB by default) and hostile ones by curl processes
// (so the sending costs this process nothing), `CONCURRENT` at a time, while a 1 ms timer measures the largest gap
// between its ticks (event-loop lag) and a small good JSON request is timed every 20 ms.
// Run: node_modules/.bin/bun bench/http-source-lag.ts [MiB per body] [concurrent]   (defaults 16 and 4)

import { mkdtemp, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { gzipSync } from "node:zlib";
import { Writer } from "../src/avro/codec.ts";
import { decodeAvroContainer, decodeAvroContainerSliced, encodeAvroContainer } from "../src/avro/container.ts";
import { decodeCanonical, decodeCanonicalSliced } from "../src/sources/http/fast-json.ts";
import { buildAgentSpec } from "../src/config/load.ts";
import { Agent } from "../src/core/agent.ts";
import type { Event } from "../src/core/event.ts";
import type { HttpSource } from "../src/sources/http/index.ts";
import { configureLogging } from "../src/util/log.ts";
import { report } from "./ops-common.ts";

const MIB = Number(process.argv[2] ?? 16);
const CONCURRENT = Number(process.argv[3] ?? 4);
const BODY = 200;
configureLogging({ level: "error" });

function events(bytes: number): Event[] {
  const n = Math.floor(bytes / (BODY + 40));
  const body = new Uint8Array(BODY).fill(0x61);
  return Array.from({ length: n }, (_, i) => ({ headers: { seq: String(i) }, body }));
}

function bodies(max: number): Array<[string, string, Uint8Array, Record<string, string>]> {
  const evs = events(max * 0.95);
  const json = Buffer.from(JSON.stringify(evs.map((e) => ({ headers: e.headers, body: "a".repeat(BODY) }))));
  // Not the http sink's canonical form (spaces): the general JSON.parse path.
  const spaced = Buffer.from(JSON.stringify(evs.map((e) => ({ headers: e.headers, body: "a".repeat(BODY) })), null, 1).slice(0, max - 16));
  const ndjson = Buffer.from(evs.map((e) => JSON.stringify({ headers: e.headers, body: "a".repeat(BODY) })).join("\n") + "\n");
  const avro = encodeAvroContainer(evs);
  const hostileAvro = (() => {
    const w = new Writer().raw(new Uint8Array([0x4f, 0x62, 0x6a, 0x01]));
    return w.long(2 ** 31).string("avro.schema").done();
  })();
  return [
    ["json (sink's form)", "application/json", json, {}],
    ["json (general)", "application/json", Buffer.from(spaced.toString().replace(/,?\s*$/, "") + (spaced.toString().trimEnd().endsWith("]") ? "" : "]")), {}],
    ["ndjson", "application/x-ndjson", ndjson, {}],
    ["avro container", "avro/binary", avro, {}],
    ["gzip json", "application/json", gzipSync(json), { "Content-Encoding": "gzip" }],
    ["hostile avro (2^31 header map)", "avro/binary", hostileAvro, {}],
  ];
}

/** The largest gap between 1 ms ticks while `work` runs (its longest hold of the event loop). */
async function maxGapDuring(work: () => unknown): Promise<number> {
  let maxGap = 0;
  let last = performance.now();
  const tick = setInterval(() => {
    const now = performance.now();
    maxGap = Math.max(maxGap, now - last);
    last = now;
  }, 1);
  await Bun.sleep(5);
  last = performance.now();
  await work();
  await Bun.sleep(5);
  clearInterval(tick);
  return Math.max(maxGap, performance.now() - last);
}

/** The decoders alone, one body at a time: whole (as before) and sliced (the request path). */
async function decodersAlone(max: number): Promise<void> {
  const evs = events(max * 0.95);
  const json = Buffer.from(JSON.stringify(evs.map((e) => ({ headers: e.headers, body: "a".repeat(BODY) }))));
  const ndjson = Buffer.from(evs.map((e) => JSON.stringify({ headers: e.headers, body: "a".repeat(BODY) })).join("\n") + "\n");
  const avro = encodeAvroContainer(evs);
  const mib = (b: Uint8Array) => (b.byteLength / 1048576).toFixed(1);
  for (const [name, whole, sliced] of [
    [`json ${mib(json)} MiB`, () => decodeCanonical(json, false), () => decodeCanonicalSliced(json, false)],
    [`ndjson ${mib(ndjson)} MiB`, () => decodeCanonical(ndjson, true), () => decodeCanonicalSliced(ndjson, true)],
    [`avro container ${mib(avro)} MiB`, () => decodeAvroContainer(avro, max), () => decodeAvroContainerSliced(avro, max)],
  ] as const) {
    report("http-source-lag", `decoder alone, ${name}: longest hold ms, whole`, Math.round(await maxGapDuring(whole)));
    report("http-source-lag", `decoder alone, ${name}: longest hold ms, sliced`, Math.round(await maxGapDuring(sliced)), "≤ 50");
  }
}

async function main(): Promise<void> {
  await decodersAlone(MIB * 1024 * 1024);
  const dir = await mkdtemp(join(tmpdir(), "sluice-bench-lag-"));
  const max = MIB * 1024 * 1024;
  const conf = [
    "a.sources = r1", "a.channels = c1", "a.sinks = k1",
    "a.sources.r1.type = http", "a.sources.r1.port = 0", "a.sources.r1.channels = c1", `a.sources.r1.maxBodyBytes = ${max}`,
    "a.sources.r1.maxConcurrentRequests = 64",
    "a.channels.c1.type = memory", "a.channels.c1.capacity = 2000000", "a.channels.c1.transactionCapacity = 2000000",
    "a.sinks.k1.type = null", "a.sinks.k1.batchSize = 1000", "a.sinks.k1.channel = c1",
  ].join("\n");
  const built = buildAgentSpec(conf, "lag.conf", "a");
  if (!built.spec) throw new Error(built.problems.map((p) => p.message).join("\n"));
  const agent = await Agent.build(built.spec, { stateDir: dir });
  await agent.start();
  const port = (agent.sources.get("r1")!.source as HttpSource).port;
  try {
    for (const [name, type, body, headers] of bodies(max)) {
      const file = join(dir, "body");
      await writeFile(file, body);
      let maxGap = 0;
      let last = performance.now();
      const tick = setInterval(() => {
        const now = performance.now();
        maxGap = Math.max(maxGap, now - last);
        last = now;
      }, 1);
      let worstGood = 0;
      let stop = false;
      const prober = (async () => {
        while (!stop) {
          const t0 = performance.now();
          await fetch(`http://127.0.0.1:${port}/`, { method: "POST", headers: { "Content-Type": "application/json" }, body: '[{"body":"probe"}]' });
          worstGood = Math.max(worstGood, performance.now() - t0);
          await Bun.sleep(20);
        }
      })();
      const statuses: string[] = [];
      await Promise.all(Array.from({ length: CONCURRENT }, async () => {
        const args = ["-s", "-o", "/dev/null", "-w", "%{http_code}", "-H", `Content-Type: ${type}`, ...Object.entries(headers).flatMap(([k, v]) => ["-H", `${k}: ${v}`]), "--data-binary", `@${file}`, `http://127.0.0.1:${port}/`];
        const p = Bun.spawn(["curl", ...args], { stdout: "pipe" });
        statuses.push(await new Response(p.stdout).text());
      }));
      stop = true;
      await prober;
      clearInterval(tick);
      report("http-source-lag", `${name}, ${(body.byteLength / 1048576).toFixed(1)} MiB x${CONCURRENT}: max event-loop gap ms`, Math.round(maxGap), "≤ 50");
      report("http-source-lag", `${name}: slowest good request ms (statuses ${[...new Set(statuses)].join(",")})`, Math.round(worstGood), "≤ 200");
      // Let the null sink drain before the next kind.
      await Bun.sleep(500);
    }
  } finally {
    await agent.stop(5000);
    await rm(dir, { recursive: true, force: true });
  }
}

await main();
