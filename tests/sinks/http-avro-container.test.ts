// The http format `avro` against Apache's own Avro implementation (Debian's python3-avro): containers we write are
// read by its DataFileReader, and containers its DataFileWriter writes (codec null and deflate) are read by us.

import { describe, expect, test } from "bun:test";
import { existsSync } from "node:fs";
import { join } from "node:path";
import { deflateRawSync } from "node:zlib";
import { makeEvent } from "../../src/core/event.ts";
import { AVRO_FLUME_EVENT_SCHEMA, ContainerError, decodeAvroContainer, encodeAvroContainer } from "../../src/avro/container.ts";
import { tempDir } from "../helpers/index.ts";

const PY = "/usr/bin/python3";
const hasApacheAvro = existsSync(PY) && Bun.spawnSync([PY, "-c", "import avro.datafile"]).exitCode === 0;

const READ = `
import sys, json, avro.datafile, avro.io
with open(sys.argv[1], "rb") as f:
    r = avro.datafile.DataFileReader(f, avro.io.DatumReader())
    print(json.dumps([{"headers": e["headers"], "body": e["body"].hex()} for e in r]))
`;
const WRITE = `
import sys, json, avro.datafile, avro.io, avro.schema
schema = avro.schema.parse(sys.argv[3])
with open(sys.argv[1], "wb") as f:
    w = avro.datafile.DataFileWriter(f, avro.io.DatumWriter(), schema, codec=sys.argv[2])
    for i in range(300):
        w.append({"headers": {"i": str(i)}, "body": ("event %d " % i).encode() * 3})
        if i == 150: w.flush()
    w.close()
`;

describe.skipIf(!hasApacheAvro)("avro container interop with Apache Avro (python3-avro)", () => {
  test("Apache's DataFileReader reads the container the http sink sends", async () => {
    const dir = await tempDir();
    const events = [makeEvent(new Uint8Array([0, 1, 2, 255]), { host: "web1", "ü": "ß" }), makeEvent("plain text"), makeEvent(new Uint8Array(0))];
    const file = join(dir, "c.avro");
    await Bun.write(file, encodeAvroContainer(events));
    const r = Bun.spawnSync([PY, "-c", READ, file]);
    expect(r.stderr.toString()).toBe("");
    expect(JSON.parse(r.stdout.toString())).toEqual([
      { headers: { host: "web1", "ü": "ß" }, body: "000102ff" },
      { headers: {}, body: Buffer.from("plain text").toString("hex") },
      { headers: {}, body: "" },
    ]);
  });

  for (const codec of ["null", "deflate"]) {
    test(`reads a container Apache's DataFileWriter wrote with codec ${codec}, over several blocks`, async () => {
      const dir = await tempDir();
      const file = join(dir, "p.avro");
      const w = Bun.spawnSync([PY, "-c", WRITE, file, codec, JSON.stringify(AVRO_FLUME_EVENT_SCHEMA)]);
      expect(w.stderr.toString()).toBe("");
      const events = decodeAvroContainer(new Uint8Array(await Bun.file(file).arrayBuffer()), 1 << 20);
      expect(events.length).toBe(300);
      expect(events[299]!.headers).toEqual({ i: "299" });
      expect(Buffer.from(events[7]!.body).toString()).toBe("event 7 event 7 event 7 ");
    });
  }
});

describe("avro container limits", () => {
  test("a deflate block that inflates past the limit is refused, naming the limit", () => {
    const good = encodeAvroContainer([makeEvent("x".repeat(10))]);
    // Rebuild the one block with codec deflate and a body that inflates to 4 MiB.
    const bomb = deflateRawSync(new Uint8Array(4 << 20));
    const text = Buffer.from(good).toString("latin1").replace("\u0008null", "\u000edeflate");
    expect(text).toContain("deflate");
    const header = Buffer.from(text, "latin1").subarray(0, Buffer.from(text, "latin1").length - (good.length - headerLength(good)));
    const sync = good.subarray(good.length - 16);
    const zig = (n: number) => {
      const out: number[] = [];
      let v = n * 2;
      while (v > 0x7f) {
        out.push((v & 0x7f) | 0x80);
        v = Math.floor(v / 128);
      }
      out.push(v);
      return out;
    };
    const container = Buffer.concat([header, Buffer.from(zig(1)), Buffer.from(zig(bomb.length)), bomb, sync]);
    expect(() => decodeAvroContainer(container, 1 << 20)).toThrow(ContainerError);
    expect(() => decodeAvroContainer(container, 1 << 20)).toThrow(/inflates past the size limit/);
  });

  test("a damaged sync marker, a truncated block or a foreign body is refused, never half-decoded", () => {
    const good = encodeAvroContainer([makeEvent("a"), makeEvent("b")]);
    const bad = Buffer.from(good);
    bad[bad.length - 5] ^= 0xff;
    expect(() => decodeAvroContainer(bad, 1 << 20)).toThrow(/sync marker mismatch/);
    expect(() => decodeAvroContainer(good.subarray(0, good.length - 3), 1 << 20)).toThrow(/truncated/);
    expect(() => decodeAvroContainer(new Uint8Array([1, 2, 3, 4, 5]), 1 << 20)).toThrow(/no Obj/);
  });
});

/** Byte length of a container's header: where its first block starts (we write exactly one block). */
function headerLength(c: Uint8Array): number {
  // The sync marker ends the header and repeats at the very end of the file.
  const sync = Buffer.from(c.subarray(c.length - 16));
  return Buffer.from(c).indexOf(sync) + 16;
}
