// spooldir `deserializer = AVRO` against Apache's own Avro (python3-avro writes the containers and decodes the event
// bodies back), Flume's schema headers, and hostile or damaged containers (bounded, set aside, nothing after the
// damage delivered). Also Flume's class names for LINE and BLOB.

import { describe, expect, test } from "bun:test";
import { readFile, writeFile } from "node:fs/promises";
import { join } from "node:path";
import { buildAgentSpec } from "../../src/config/load.ts";
import type { Agent } from "../../src/core/agent.ts";
import type { Event } from "../../src/core/event.ts";
import type { SpoolDirSource } from "../../src/sources/spooldir/source.ts";
import { tempDir, waitFor } from "../helpers/index.ts";
import { drain, PYTHON, startAgent, text } from "./helpers.ts";

const FILES = join(import.meta.dir, "avro_files.py");

function py(args: string[], input?: string): string {
  const r = Bun.spawnSync([PYTHON, FILES, ...args], { stdin: input === undefined ? "ignore" : new TextEncoder().encode(input) });
  if (r.exitCode !== 0) throw new Error(`avro_files.py ${args[0]} failed: ${r.stderr.toString()}`);
  return r.stdout.toString();
}

function spoolAgent(dir: string, extra: string[] = []): Promise<Agent> {
  return startAgent([
    "a1.sources = r1", "a1.channels = c1",
    "a1.sources.r1.type = spooldir", `a1.sources.r1.spoolDir = ${dir}`, "a1.sources.r1.pollDelay = 50", "a1.sources.r1.batchSize = 50",
    "a1.sources.r1.channels = c1", ...extra.map((l) => `a1.sources.r1.${l}`),
    "a1.channels.c1.type = memory", "a1.channels.c1.capacity = 100000", "a1.channels.c1.transactionCapacity = 1000",
  ]);
}

const counters = (agent: Agent) => (agent.sources.get("r1")!.source as SpoolDirSource).counters;
const hex = (b: Uint8Array) => Buffer.from(b).toString("hex");

async function collect(agent: Agent, n: number): Promise<Event[]> {
  const ch = agent.channels.get("c1")!;
  await waitFor(`${n} events in the channel`, () => ch.size() >= n, 15_000);
  return drain(ch);
}

describe("spooldir deserializer = AVRO", () => {
  test("each record of a python3-avro deflate container with several blocks becomes one event that python3-avro decodes back, with Flume's schema hash header", async () => {
    const dir = await tempDir();
    const { hash } = JSON.parse(py(["write", join(dir, "logs.avro"), "--codec", "deflate", "--count", "500", "--sync-every", "70"]));
    const agent = await spoolAgent(dir, ["deserializer = AVRO", "basenameHeader = true"]);
    const events = await collect(agent, 500);
    expect(events.length).toBe(500);
    expect(events[0]!.headers).toEqual({ basename: "logs.avro", "flume.avro.schema.hash": hash });
    const decoded = py(["decode"], events.map((e) => JSON.stringify({ body: hex(e.body) })).join("\n") + "\n").trim().split("\n").map((l) => JSON.parse(l));
    expect(decoded.map((r) => r.seq)).toEqual(Array.from({ length: 500 }, (_, i) => i));
    expect(decoded[7]).toEqual({ seq: 7, msg: "line 7 é", level: "INFO", tags: ["t0", "t1", "t2"], attrs: { x: 3.5, none: null }, raw: "0707" });
    await waitFor("the file renamed as done", async () => (await readFile(join(dir, "logs.avro.COMPLETED")).catch(() => undefined)) !== undefined, 10_000);
  });

  test("schemaType = LITERAL names the schema by its JSON in flume.avro.schema.literal (codec null, Flume's class name for AVRO)", async () => {
    const dir = await tempDir();
    py(["write", join(dir, "a.avro"), "--count", "10"]);
    const agent = await spoolAgent(dir, ["deserializer = org.apache.flume.serialization.AvroEventDeserializer$Builder", "deserializer.schemaType = LITERAL"]);
    const events = await collect(agent, 10);
    const literal = JSON.parse(events[3]!.headers["flume.avro.schema.literal"]!);
    expect(literal.name).toBe("LogRecord");
    expect(literal.fields.map((f: { name: string }) => f.name)).toEqual(["seq", "msg", "level", "tags", "attrs", "raw"]);
    expect(events[3]!.headers["flume.avro.schema.hash"]).toBeUndefined();
  });

  test("a container cut inside a block delivers the whole blocks before the cut and sets the file aside", async () => {
    const dir = await tempDir();
    const src = join(await tempDir(), "whole.avro");
    py(["write", src, "--count", "100", "--sync-every", "25"]);
    const whole = await readFile(src);
    await writeFile(join(dir, "cut.avro"), whole.subarray(0, whole.length - 40));
    const agent = await spoolAgent(dir, ["deserializer = AVRO"]);
    await waitFor("the file set aside", () => counters(agent).EventReadFail > 0, 10_000);
    const events = await drain(agent.channels.get("c1")!);
    expect(events.length).toBe(75);
  });

  test("a block declaring 2^40 records in a few bytes is refused at once, and nothing of it is delivered", async () => {
    const dir = await tempDir();
    const src = join(await tempDir(), "one.avro");
    py(["write", src, "--count", "1"]);
    const valid = await readFile(src);
    // The header ends where the first block starts: count 1 (0x02), then the block's size. Append a hostile block.
    const sync = valid.subarray(valid.length - 16);
    const count = [0x80, 0x80, 0x80, 0x80, 0x80, 0x40]; // zig-zag varint of 2^40
    await writeFile(join(dir, "hostile.avro"), Buffer.concat([valid, Buffer.from([...count, 0x08, 1, 2, 3, 4]), sync]));
    const agent = await spoolAgent(dir, ["deserializer = AVRO"]);
    const started = Date.now();
    await waitFor("the file set aside", () => counters(agent).EventReadFail > 0, 10_000);
    expect(Date.now() - started).toBeLessThan(5000);
    expect((await drain(agent.channels.get("c1")!)).length).toBe(1);
  });

  test("a restart resumes at the block of the last safe event: the blocks before it are skipped, at most one block is sent again", async () => {
    const dir = await tempDir();
    py(["write", join(dir, "r.avro"), "--count", "200", "--sync-every", "25"]);
    const seqs = (events: Event[]) =>
      py(["decode"], events.map((e) => JSON.stringify({ body: hex(e.body) })).join("\n") + "\n").trim().split("\n").map((l) => JSON.parse(l).seq as number);
    // batchSize 40 and blocks of 25: the first batch (records 0-39) ends inside the second block (25-49).
    const first = await spoolAgent(dir, ["deserializer = AVRO", "batchSize = 40"]);
    const ch = first.channels.get("c1")!;
    await waitFor("a first batch", () => ch.size() >= 40, 10_000);
    const tx = ch.begin();
    const taken = await tx.take(40);
    await tx.commit();
    await first.stop(0);
    expect(seqs(taken)).toEqual(Array.from({ length: 40 }, (_, i) => i));
    const second = await spoolAgent(dir, ["deserializer = AVRO", "batchSize = 40"]);
    const again = seqs(await collect(second, 175));
    expect(again[0]).toBe(25);
    expect(again).toEqual(Array.from({ length: 175 }, (_, i) => i + 25));
  });

  test("a file that is not an Avro container is set aside with nothing delivered", async () => {
    const dir = await tempDir();
    await writeFile(join(dir, "plain.log"), "just a line\n");
    const agent = await spoolAgent(dir, ["deserializer = AVRO"]);
    await waitFor("the file set aside", () => counters(agent).EventReadFail > 0, 10_000);
    expect(agent.channels.get("c1")!.size()).toBe(0);
  });
});

describe("Flume's deserializer class names", () => {
  test("BlobDeserializer$Builder reads the file as one event, LineDeserializer$Builder one event per line", async () => {
    const blobDir = await tempDir();
    await writeFile(join(blobDir, "f.txt"), "a\nb\nc\n");
    const blob = await spoolAgent(blobDir, ["deserializer = org.apache.flume.sink.solr.morphline.BlobDeserializer$Builder"]);
    expect((await collect(blob, 1)).map(text)).toEqual(["a\nb\nc\n"]);
    const lineDir = await tempDir();
    await writeFile(join(lineDir, "f.txt"), "a\nb\nc\n");
    const line = await spoolAgent(lineDir, ["deserializer = org.apache.flume.serialization.LineDeserializer$Builder"]);
    expect((await collect(line, 3)).map(text)).toEqual(["a", "b", "c"]);
  });

  test("a deserializer class that is not Flume's is named a third-party class sluice cannot load", () => {
    const built = buildAgentSpec([
      "a1.sources = r1", "a1.channels = c1", "a1.sources.r1.type = spooldir", "a1.sources.r1.spoolDir = /tmp",
      "a1.sources.r1.deserializer = com.example.MyDeserializer$Builder", "a1.sources.r1.channels = c1", "a1.channels.c1.type = memory",
    ].join("\n"), "t.conf", "a1");
    expect(built.problems.map((p) => p.message).join("\n")).toContain("third-party deserializer class");
    expect(built.problems[0]!.key).toBe("a1.sources.r1.deserializer");
  });
});
