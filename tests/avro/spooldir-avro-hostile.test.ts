// spooldir `deserializer = AVRO` on containers whose declared lengths and counts lie, in every Avro construct: the
// header's metadata map and schema string, a record's array, map, string and bytes (a negative block count with a
// byte size too), and a block's count and size. Each file is set aside at once, naming it, with nothing of the lie
// delivered, and the good file after them is read.

import { describe, expect, test } from "bun:test";
import { writeFile, utimes } from "node:fs/promises";
import { join } from "node:path";
import { Writer } from "../../src/avro/codec.ts";
import type { SpoolDirSource } from "../../src/sources/spooldir/source.ts";
import { tempDir, waitFor } from "../helpers/index.ts";
import { drain, startAgent, text } from "./helpers.ts";

const MAGIC = new Uint8Array([0x4f, 0x62, 0x6a, 0x01]);
const SYNC = new Uint8Array(16).fill(5);
const N = 2 ** 31;
const SCHEMA = JSON.stringify({
  type: "record",
  name: "Wide",
  fields: [
    { name: "tags", type: { type: "array", items: "string" } },
    { name: "attrs", type: { type: "map", values: "bytes" } },
    { name: "msg", type: "string" },
    { name: "raw", type: "bytes" },
  ],
});

const header = () => new Writer().raw(MAGIC).long(2).string("avro.schema").string(SCHEMA).string("avro.codec").string("null").long(0).raw(SYNC);
/** A container of one block of `count` records made of `data` (declared size `size`). */
const file = (count: number, data: Uint8Array, size = data.byteLength) => header().long(count).long(size).raw(data).raw(SYNC).done();
const rec = () => new Writer();
const good = rec().long(1).string("t").long(0).long(1).string("k").bytes(new Uint8Array([1])).long(0).string("hello").bytes(new Uint8Array([2])).done();

const hostile: Array<[string, Uint8Array]> = [
  ["header map", new Writer().raw(MAGIC).long(N).string("avro.schema").done()],
  ["schema string", new Writer().raw(MAGIC).long(1).string("avro.schema").long(N).raw(new Uint8Array(8)).done()],
  ["array block count", file(1, rec().long(N).string("t").done())],
  ["array negative block with a huge size", file(1, rec().long(-1).long(N).string("t").done())],
  ["map block count", file(1, rec().long(0).long(N).string("k").done())],
  ["string length", file(1, rec().long(0).long(0).long(N).raw(new Uint8Array(8)).done())],
  ["bytes length", file(1, rec().long(0).long(0).string("m").long(N).raw(new Uint8Array(8)).done())],
  ["block record count", file(N, good)],
  ["block byte size", file(1, good, N)],
];

describe("spooldir AVRO with hostile declared sizes", () => {
  test("each construct's lie sets its file aside at once; the good file after them is delivered", async () => {
    const dir = await tempDir();
    let age = 100;
    for (const [what, bytes] of hostile) {
      const p = join(dir, `${what.replace(/ /g, "-")}.avro`);
      await writeFile(p, bytes);
      const t = Date.now() / 1000 - age--;
      await utimes(p, t, t);
    }
    await writeFile(join(dir, "zz-good.avro"), file(1, good));
    const agent = await startAgent([
      "a1.sources = r1", "a1.channels = c1",
      "a1.sources.r1.type = spooldir", `a1.sources.r1.spoolDir = ${dir}`, "a1.sources.r1.pollDelay = 50", "a1.sources.r1.deserializer = AVRO",
      "a1.sources.r1.channels = c1",
      "a1.channels.c1.type = memory",
    ]);
    const ch = agent.channels.get("c1")!;
    const t0 = Date.now();
    await waitFor("the good file's record", () => ch.size() >= 1, 15_000);
    const src = agent.sources.get("r1")!.source as SpoolDirSource;
    expect(src.counters.EventReadFail).toBe(hostile.length);
    // Generous for a shared machine: a trusted count of 2^31 would take minutes.
    expect(Date.now() - t0).toBeLessThan(10_000);
    const events = await drain(ch);
    expect(events).toHaveLength(1);
    expect(text(events[0]!).length).toBeGreaterThan(0);
  }, 30_000);
});
