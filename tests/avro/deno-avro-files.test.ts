// Under Deno, the same sources read and write Avro container files (spooldir AVRO reads a python3-avro deflate
// container, file_roll avro_event writes it back out, python3-avro reads every record of the result), and the avro
// source serves Flume 1.9's ssl + deflate layering next to 1.10+'s (tests/e2e covers the default one under Deno).

import { expect, test } from "bun:test";
import { mkdir, readdir } from "node:fs/promises";
import { join } from "node:path";
import { DENO, freePort, MAIN, readAllLines, runSluice, spawnSluice, tempDir, waitFor, writeConfig } from "../helpers/index.ts";
import { PYTHON, selfSigned } from "./helpers.ts";

const FILES = join(import.meta.dir, "avro_files.py");

test("under Deno, spooldir AVRO → file_roll avro_event carries every record, readable by python3-avro", async () => {
  const dir = await tempDir();
  await mkdir(join(dir, "in"));
  const w = Bun.spawnSync([PYTHON, FILES, "write", join(dir, "in", "a.avro"), "--codec", "deflate", "--count", "300", "--sync-every", "50"]);
  expect(w.exitCode).toBe(0);
  const { hash } = JSON.parse(w.stdout.toString());
  const conf = await writeConfig(dir, [
    "a1.sources = r1", "a1.channels = c1", "a1.sinks = k1",
    `a1.sources.r1.type = spooldir`, `a1.sources.r1.spoolDir = ${join(dir, "in")}`, "a1.sources.r1.deserializer = AVRO", "a1.sources.r1.channels = c1",
    "a1.channels.c1.type = memory",
    "a1.sinks.k1.type = file_roll", `a1.sinks.k1.sink.directory = ${join(dir, "out")}`, "a1.sinks.k1.sink.rollInterval = 0",
    "a1.sinks.k1.sink.serializer = avro_event", "a1.sinks.k1.sink.serializer.compressionCodec = deflate", "a1.sinks.k1.channel = c1",
  ]);
  const r = await runSluice(["agent", "-f", conf, "-n", "a1", "--once", "--state-dir", join(dir, "state")], { bin: [DENO, "run", "-A", MAIN], timeoutMs: 60_000 });
  expect(r.code).toBe(0);
  const files = await readdir(join(dir, "out"));
  expect(files.length).toBe(1);
  const read = Bun.spawnSync([PYTHON, FILES, "read", join(dir, "out", files[0]!)]);
  expect(read.exitCode).toBe(0);
  const [head, ...records] = read.stdout.toString().trim().split("\n").map((l) => JSON.parse(l));
  expect(head.codec).toBe("deflate");
  expect(records.length).toBe(300);
  expect(records[299].headers).toEqual({ "flume.avro.schema.hash": hash });
}, 90_000);

test("under Deno, a sink with compression-layer = inside-tls delivers every event to an ssl + deflate avro source", async () => {
  const dir = await tempDir();
  const port = await freePort();
  const { cert, key } = await selfSigned();
  const out = join(dir, "out");
  const agg = await writeConfig(dir, [
    "agg.sources = r1", "agg.channels = c1", "agg.sinks = k1",
    "agg.sources.r1.type = avro", "agg.sources.r1.bind = 127.0.0.1", `agg.sources.r1.port = ${port}`, "agg.sources.r1.channels = c1",
    "agg.sources.r1.compression-type = deflate", "agg.sources.r1.ssl = true", `agg.sources.r1.ssl-cert = ${cert}`, `agg.sources.r1.ssl-key = ${key}`,
    "agg.channels.c1.type = memory", "agg.channels.c1.capacity = 10000",
    "agg.sinks.k1.type = file_roll", `agg.sinks.k1.sink.directory = ${out}`, "agg.sinks.k1.sink.rollInterval = 0", "agg.sinks.k1.channel = c1",
  ], "agg.conf");
  const edge = await writeConfig(dir, [
    "edge.sources = s1", "edge.channels = c1", "edge.sinks = k1",
    "edge.sources.s1.type = seq", "edge.sources.s1.totalEvents = 2000", "edge.sources.s1.batchSize = 100", "edge.sources.s1.channels = c1",
    "edge.channels.c1.type = memory", "edge.channels.c1.capacity = 10000",
    "edge.sinks.k1.type = avro", "edge.sinks.k1.hostname = 127.0.0.1", `edge.sinks.k1.port = ${port}`, "edge.sinks.k1.channel = c1",
    "edge.sinks.k1.compression-type = deflate", "edge.sinks.k1.ssl = true", `edge.sinks.k1.truststore = ${cert}`, "edge.sinks.k1.compression-layer = inside-tls",
  ], "edge.conf");
  const deno = [DENO, "run", "-A", MAIN];
  const a = spawnSluice(["agent", "-f", agg, "-n", "agg", "--state-dir", join(dir, "state")], { bin: deno });
  await waitFor("the aggregator listening under Deno", () => a.stderr().includes("avro source listening"), 30_000);
  const e = spawnSluice(["agent", "-f", edge, "-n", "edge", "--state-dir", join(dir, "state")], { bin: deno });
  await waitFor("2000 events at the aggregator", async () => (await readAllLines(out)).length >= 2000, 30_000, 200);
  expect(new Set(await readAllLines(out)).size).toBe(2000);
  e.kill("SIGTERM");
  a.kill("SIGTERM");
  expect(await e.exited).toBe(0);
  expect(await a.exited).toBe(0);
}, 90_000);
