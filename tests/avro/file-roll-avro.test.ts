// file_roll `sink.serializer = avro_event` (Flume's FlumeEventAvroEventSerializer): every rolled file is an Avro
// object container of Flume's Event records that Apache's Avro (python3-avro DataFileReader) reads whole, in both
// codecs, and the schema text is Java's rendering of Flume's. Unsupported codecs and foreign classes are refused by name.

import { describe, expect, test } from "bun:test";
import { readdir } from "node:fs/promises";
import { join } from "node:path";
import { buildAgentSpec } from "../../src/config/load.ts";
import { FLUME_EVENT_SCHEMA_TEXT } from "../../src/avro/container.ts";
import type { FileRollSink } from "../../src/sinks/file-roll.ts";
import { tempDir, waitFor } from "../helpers/index.ts";
import { PYTHON, startAgent } from "./helpers.ts";

const FILES = join(import.meta.dir, "avro_files.py");

function pyRead(file: string): { schema: unknown; codec: string; records: Array<{ headers: Record<string, string>; body: string }> } {
  const r = Bun.spawnSync([PYTHON, FILES, "read", file]);
  if (r.exitCode !== 0) throw new Error(`python3-avro could not read ${file}: ${r.stderr.toString()}`);
  const [head, ...rest] = r.stdout.toString().trim().split("\n").map((l) => JSON.parse(l));
  return { ...head, records: rest };
}

function lines(dir: string, total: number, serializer: string[]): string[] {
  return [
    "a1.sources = s1", "a1.channels = c1", "a1.sinks = k1",
    "a1.sources.s1.type = seq", `a1.sources.s1.totalEvents = ${total}`, "a1.sources.s1.batchSize = 100", "a1.sources.s1.channels = c1",
    "a1.sources.s1.interceptors = i1", "a1.sources.s1.interceptors.i1.type = static", "a1.sources.s1.interceptors.i1.key = host",
    "a1.sources.s1.interceptors.i1.value = edge-ü",
    "a1.channels.c1.type = memory", "a1.channels.c1.capacity = 10000",
    "a1.sinks.k1.type = file_roll", `a1.sinks.k1.sink.directory = ${dir}`, "a1.sinks.k1.sink.rollInterval = 0", "a1.sinks.k1.sink.batchSize = 100",
    "a1.sinks.k1.channel = c1", ...serializer.map((l) => `a1.sinks.k1.${l}`),
  ];
}

describe("file_roll sink.serializer = avro_event", () => {
  for (const codec of ["null", "deflate"]) {
    test(`writes a container python3-avro reads whole: Flume's Event schema, codec ${codec}, every event with its headers`, async () => {
      const dir = await tempDir();
      const agent = await startAgent(lines(dir, 1000, ["sink.serializer = avro_event", `sink.serializer.compressionCodec = ${codec}`, "sink.serializer.syncIntervalBytes = 1000"]));
      const sink = agent.sinks.get("k1") as FileRollSink;
      await waitFor("1000 events written", () => sink.counters.EventDrainSuccessCount >= 1000, 15_000);
      const files = await readdir(dir);
      expect(files.length).toBe(1);
      const got = pyRead(join(dir, files[0]!));
      expect(got.codec).toBe(codec);
      expect(JSON.stringify(got.schema)).toBe(FLUME_EVENT_SCHEMA_TEXT);
      expect(got.records.map((r) => r.body)).toEqual(Array.from({ length: 1000 }, (_, i) => String(i)));
      expect(got.records[999]!.headers).toEqual({ host: "edge-ü" });
    });
  }

  test("Flume's class name FlumeEventAvroEventSerializer$Builder works, and a restart writes a new container (each file has its own header)", async () => {
    const dir = await tempDir();
    const first = await startAgent(lines(dir, 50, ["sink.serializer = org.apache.flume.serialization.FlumeEventAvroEventSerializer$Builder"]));
    await waitFor("50 events", () => (first.sinks.get("k1") as FileRollSink).counters.EventDrainSuccessCount >= 50, 10_000);
    await first.stop(0);
    const second = await startAgent(lines(dir, 30, ["sink.serializer = avro_event", "sink.serializer.compressionCodec = deflate"]));
    await waitFor("30 events", () => (second.sinks.get("k1") as FileRollSink).counters.EventDrainSuccessCount >= 30, 10_000);
    const files = (await readdir(dir)).sort();
    expect(files.length).toBe(2);
    const counts = files.map((f) => pyRead(join(dir, f)).records.length).sort((a, b) => a - b);
    expect(counts).toEqual([30, 50]);
  });

  test("snappy is refused by name at load, and so is a serializer class that is not Flume's", () => {
    const problems = (extra: string[]) =>
      buildAgentSpec(lines("/tmp/x", 1, extra).join("\n"), "t.conf", "a1").problems.map((p) => `${p.key}: ${p.message}`).join("\n");
    expect(problems(["sink.serializer = avro_event", "sink.serializer.compressionCodec = snappy"])).toContain(
      'a1.sinks.k1.sink.serializer.compressionCodec: codec "snappy" is not supported by sluice',
    );
    expect(problems(["sink.serializer = com.acme.JsonSerializer$Builder"])).toContain("third-party serializer class");
  });
});
