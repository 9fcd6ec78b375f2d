// Avro object containers whose declared lengths and counts lie: every construct (map, array, bytes, string, block
// count and size) declaring far more than the bytes present is refused at once, naming the block, never trusted.

import { describe, expect, test } from "bun:test";
import { Buffer } from "node:buffer";
import { Writer } from "../../src/avro/codec.ts";
import { ContainerError, decodeAvroContainer, encodeAvroContainer } from "../../src/avro/container.ts";

const SYNC = new Uint8Array(16).fill(7);
const HUGE = [2 ** 27, 2 ** 31, 2 ** 50];

/** A container with writer schema `schema` and one block of `count` records made of `data`. */
function container(schema: object, count: number, data: Uint8Array, size = data.byteLength): Uint8Array {
  const w = new Writer();
  w.raw(new Uint8Array([0x4f, 0x62, 0x6a, 0x01]));
  w.long(2).string("avro.schema").string(JSON.stringify(schema)).string("avro.codec").string("null").long(0);
  w.raw(SYNC).long(count).long(size).raw(data).raw(SYNC);
  return w.done();
}

const FLUME = {
  type: "record",
  name: "AvroFlumeEvent",
  namespace: "org.apache.flume.source.avro",
  fields: [
    { name: "headers", type: { type: "map", values: "string" } },
    { name: "body", type: "bytes" },
  ],
};
/** A writer schema that is not AvroFlumeEvent itself: extra fields of every construct, read by the generic reader. */
const WIDE = {
  type: "record",
  name: "Wide",
  fields: [
    { name: "tags", type: { type: "array", items: "string" } },
    { name: "nulls", type: { type: "array", items: "null" } },
    { name: "attrs", type: { type: "map", values: "bytes" } },
    { name: "headers", type: { type: "map", values: "string" } },
    { name: "body", type: "string" },
  ],
};

/** Decodes and returns how long it took; the decode must throw a ContainerError. */
function refused(bytes: Uint8Array, pattern: RegExp): number {
  const t = performance.now();
  let err: unknown;
  try {
    decodeAvroContainer(bytes, 1 << 20);
  } catch (e) {
    err = e;
  }
  const ms = performance.now() - t;
  expect(err).toBeInstanceOf(ContainerError);
  expect((err as Error).message).toMatch(pattern);
  return ms;
}

describe("avro containers with hostile declared sizes", () => {
  test("a Flume-event header map declaring 2^27, 2^31 or 2^50 entries is refused at once, naming the block", () => {
    for (const n of HUGE) {
      const data = new Writer().long(n).string("a").string("b").done();
      expect(refused(container(FLUME, 1, data), /block at byte \d+: event 0 .*map block declares/)).toBeLessThan(50);
    }
  });

  test("a bytes or string length past the bytes present is refused", () => {
    for (const n of HUGE) {
      const body = new Writer().long(0).long(n).raw(new Uint8Array(4)).done();
      refused(container(FLUME, 1, body), /bytes length declares/);
      const key = new Writer().long(1).long(n).raw(new Uint8Array(4)).done();
      refused(container(FLUME, 1, key), /string length declares/);
    }
  });

  test("arrays and maps of any item type, in a writer schema other than AvroFlumeEvent, are bounded too", () => {
    for (const n of HUGE) {
      refused(container(WIDE, 1, new Writer().long(n).string("x").done()), /array block declares/);
      // Items that encode to no bytes at all still cost one byte each against the bound.
      refused(container(WIDE, 1, new Writer().long(0).long(n).done()), /array block declares/);
      refused(container(WIDE, 1, new Writer().long(0).long(0).long(n).string("k").done()), /map block declares/);
      // A negative block count is followed by a byte size, which must fit as well.
      refused(container(WIDE, 1, new Writer().long(-1).long(n).string("x").done()), /declares a block of/);
    }
  });

  test("a block count or size past the bytes present is refused before any event is read", () => {
    const one = new Writer().long(0).long(1).raw(new Uint8Array([65])).done();
    for (const n of HUGE) {
      refused(container(FLUME, n, one), /declares \d+ events but holds only/);
      refused(container(FLUME, 1, one, n), /declares more bytes than the body holds/);
    }
  });

  test("a header metadata map declaring 2^31 entries is refused as a malformed header", () => {
    const w = new Writer().raw(new Uint8Array([0x4f, 0x62, 0x6a, 0x01])).long(2 ** 31).string("avro.schema");
    refused(w.done(), /header is truncated or malformed: map block declares/);
  });

  test("a writer schema that nests deeper than the bound is refused, not a stack overflow", () => {
    const deep = { type: "record", name: "R", fields: [{ name: "next", type: ["null", "R"] }, { name: "headers", type: { type: "map", values: "string" } }, { name: "body", type: "bytes" }] };
    const data = new Uint8Array(100_000).fill(2); // union branch 1 (R), again and again
    refused(container(deep, 1, data), /nest deeper than/);
  });

  test("a writer schema with other fields is resolved by name: extra fields skipped, a string body becomes bytes", () => {
    const w = new Writer().long(1).string("t").long(0); // tags
    w.long(2).long(0); // nulls: two items of no bytes
    w.long(1).string("k").bytes(new Uint8Array([1])).long(0); // attrs
    w.long(1).string("host").string("web1").long(0); // headers
    const data = w.string("héllo").done(); // body
    const events = decodeAvroContainer(container(WIDE, 1, data), 1 << 20);
    expect(events).toHaveLength(1);
    expect(events[0]!.headers).toEqual({ host: "web1" });
    expect(Buffer.from(events[0]!.body).toString()).toBe("héllo");
  });

  test("what the http sink writes still decodes through the fast path", () => {
    const body = new Uint8Array([0, 255, 10]);
    const events = decodeAvroContainer(encodeAvroContainer([{ headers: { a: "b" }, body }, { headers: {}, body: new Uint8Array(0) }]), 1 << 20);
    expect(events.map((e) => [e.headers, [...e.body]])).toEqual([
      [{ a: "b" }, [0, 255, 10]],
      [{}, []],
    ]);
  });
});
