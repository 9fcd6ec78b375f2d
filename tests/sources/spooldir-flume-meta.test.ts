// Flume's tracker file (.flumespool-main.meta, an Avro container) is read with the bounded reader: a damaged or
// hostile file whose declared counts and lengths lie is refused at once, naming the file and the byte, never trusted.

import { describe, expect, test } from "bun:test";
import { mkdir, writeFile } from "node:fs/promises";
import { join } from "node:path";
import avro from "avsc";
import { Writer } from "../../src/avro/codec.ts";
import { CorruptLogError } from "../../src/core/errors.ts";
import { decodeFlumeMeta } from "../../src/sources/spooldir/tracker.ts";
import { tempDir } from "../helpers/index.ts";
import { startAgent } from "./taildir-harness.ts";

const MAGIC = new Uint8Array([0x4f, 0x62, 0x6a, 0x01]);
const SYNC = new Uint8Array(16).fill(9);
const HUGE = [2 ** 27, 2 ** 31, 2 ** 50];
const SCHEMA = JSON.stringify({ type: "record", name: "TransferStateFileMeta", namespace: "org.apache.flume.serialization", fields: [{ name: "offset", type: "long" }] });

/** A meta file: header with `file`, then one block of `count` records from `data` (declared size `size`). */
function meta(count: number, data: Uint8Array, size = data.byteLength): Uint8Array {
  const w = new Writer().raw(MAGIC);
  w.long(2).string("avro.schema").string(SCHEMA).string("file").string("/spool/a.log").long(0);
  return w.raw(SYNC).long(count).long(size).raw(data).raw(SYNC).done();
}

function refused(bytes: Uint8Array, pattern: RegExp): void {
  let err: unknown;
  try {
    decodeFlumeMeta(bytes, "/t/.flumespool-main.meta");
  } catch (e) {
    err = e;
  }
  expect(err).toBeInstanceOf(CorruptLogError);
  expect((err as CorruptLogError).file).toBe("/t/.flumespool-main.meta");
  expect((err as Error).message).toMatch(/^\/t\/\.flumespool-main\.meta at offset \d+: not a readable Flume tracker file: /);
  expect((err as Error).message).toMatch(pattern);
}

describe("Flume's tracker file with hostile declared sizes", () => {
  test("what avsc (Flume's format) writes is read: the target and the last offset", () => {
    const type = avro.Type.forSchema(JSON.parse(SCHEMA));
    const w = new Writer().raw(MAGIC).long(1).string("file").string("/spool/a.log").long(0).raw(SYNC);
    const recs = [type.toBuffer({ offset: 10 }), type.toBuffer({ offset: 4096 })];
    w.long(2).long(recs[0]!.length + recs[1]!.length).raw(recs[0]!).raw(recs[1]!).raw(SYNC);
    expect(decodeFlumeMeta(w.done(), "x")).toEqual({ target: "/spool/a.log", offset: 4096 });
  });

  test("a header map, key or value declaring 2^27, 2^31 or 2^50 is refused as a malformed header", () => {
    for (const n of HUGE) {
      refused(new Writer().raw(MAGIC).long(n).string("file").done(), /header is truncated or malformed: map block declares/);
      refused(new Writer().raw(MAGIC).long(-1).long(n).string("file").done(), /header is truncated or malformed: map block declares a block of/);
      refused(new Writer().raw(MAGIC).long(1).long(n).raw(new Uint8Array(8)).done(), /string length declares/);
      refused(new Writer().raw(MAGIC).long(1).string("file").long(n).raw(new Uint8Array(8)).done(), /bytes length declares/);
    }
  });

  test("a block count or size past the bytes present is refused, naming the byte", () => {
    const one = new Writer().long(20).done();
    for (const n of HUGE) {
      refused(meta(n, one), /block declares \d+ records in 1 bytes/);
      refused(meta(1, one, n), /block declares 1 records in \d+ bytes/);
    }
    refused(meta(-1, one), /declares -1 records/);
    refused(meta(1, new Writer().long(-5).done()), /negative offset/);
  });

  test("an agent starting on a hostile Flume tracker file warns naming it and reads the spool directory from the start", async () => {
    const root = await tempDir("sluice-flume-meta-");
    const dir = join(root, "spool");
    await mkdir(join(dir, ".flumespool"), { recursive: true });
    await writeFile(join(dir, ".flumespool", ".flumespool-main.meta"), new Writer().raw(MAGIC).long(2 ** 27).string("file").done());
    const t = performance.now();
    const r = await startAgent(root, ["type = spooldir", `spoolDir = ${dir}`, "pollDelay = 50"]);
    const ms = performance.now() - t;
    expect(r.logs.some((l) => l.includes(".flumespool-main.meta at offset") && l.includes("not a readable Flume tracker file"))).toBe(true);
    // The bound: avsc took seconds on this file; a generous limit that a trusted count could never meet.
    expect(ms).toBeLessThan(2000);
    await r.stop();
  });
});
