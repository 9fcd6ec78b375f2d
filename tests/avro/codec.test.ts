// The hand-written Avro codec and pack framer against avsc (the oracle) and against hostile declared sizes.

import { describe, expect, test } from "bun:test";
import avro from "avsc";
import { encodeEvent, encodeEvents, Reader } from "../../src/avro/codec.ts";
import { AvroProtocolError } from "../../src/avro/errors.ts";
import { encodePack, FrameDecoder, JAVA_BUFFER_BYTES } from "../../src/avro/framing.ts";
import { makeEvent, type Event } from "../../src/core/event.ts";

const eventType = avro.Type.forSchema({
  type: "record", name: "AvroFlumeEvent", namespace: "org.apache.flume.source.avro",
  fields: [{ name: "headers", type: { type: "map", values: "string" } }, { name: "body", type: "bytes" }],
});
const batchType = avro.Type.forSchema({ type: "array", items: eventType });

function sample(n: number): Event[] {
  return Array.from({ length: n }, (_, i) =>
    makeEvent(new Uint8Array(i * 37 % 300).fill(i & 0xff), i % 3 === 0 ? {} : { host: `web-${i}`, "ünï": "çødé ✓", k: "" }));
}
const asAvsc = (events: Event[]) => events.map((e) => ({ headers: { ...e.headers }, body: Buffer.from(e.body) }));

describe("AvroFlumeEvent codec", () => {
  test("encodes a batch to the same bytes as avsc", () => {
    for (const n of [0, 1, 2, 63, 64, 500]) {
      const events = sample(n);
      expect(Buffer.from(encodeEvents(events)).equals(batchType.toBuffer(asAvsc(events)))).toBe(true);
    }
    const one = sample(2)[1]!;
    expect(Buffer.from(encodeEvent(one)).equals(eventType.toBuffer(asAvsc([one])[0]))).toBe(true);
  });

  test("decodes avsc's bytes, including negative block counts with byte sizes", () => {
    const events = sample(100);
    const r = new Reader(new Uint8Array(batchType.toBuffer(asAvsc(events))));
    const back = r.events();
    expect(r.left).toBe(0);
    expect(back.map((e) => [e.headers, [...e.body]])).toEqual(events.map((e) => [e.headers, [...e.body]]));
    // A writer may use a negative count followed by the block's size in bytes: [-2, size, e1, e2, 0].
    const two = encodeEvents(sample(3).slice(1));
    const blocked = Uint8Array.from([3, 2 * (two.byteLength - 2), ...two.subarray(1)]);
    expect(new Reader(blocked).events().length).toBe(2);
  });

  test("refuses block counts and lengths larger than the bytes that follow, without allocating them", () => {
    const huge = [0xfe, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0x7f]; // zig-zag 2^55-1 items
    expect(() => new Reader(Uint8Array.from(huge)).events()).toThrow(AvroProtocolError);
    expect(() => new Reader(Uint8Array.from([2, ...huge])).events()).toThrow(/map block/);
    expect(() => new Reader(Uint8Array.from([2, 0, 0xfe, 0x0f, 1, 2])).events()).toThrow(/bytes length/);
    expect(() => new Reader(Uint8Array.from([2, 0, 3, 1])).events()).toThrow(/negative length|bytes length/);
    expect(() => new Reader(Uint8Array.from([0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff])).long()).toThrow(/varint/);
    expect(() => new Reader(Uint8Array.from([2, 0])).events()).toThrow(AvroProtocolError);
  });
});

describe("Netty pack framing", () => {
  const limits = { maxPackBytes: 1 << 20, maxBuffers: 1000 };

  test("splits parameters into Java's 8 KiB buffers and reassembles them from any split of the bytes", () => {
    const params = new Uint8Array(3 * JAVA_BUFFER_BYTES + 5).map((_, i) => i & 0xff);
    const pack = encodePack(7, [Uint8Array.of(1, 2, 3), params], true);
    const view = new DataView(pack.buffer);
    expect([view.getInt32(0), view.getInt32(4)]).toEqual([7, 5]);
    for (const step of [1, 3, 4096, pack.byteLength]) {
      const d = new FrameDecoder(limits);
      const got = [];
      for (let at = 0; at < pack.byteLength; at += step) got.push(...d.push(pack.slice(at, at + step)));
      expect(got.length).toBe(1);
      expect(got[0]!.serial).toBe(7);
      expect([...got[0]!.payload]).toEqual([1, 2, 3, ...params]);
      expect(d.midPack).toBe(false);
    }
  });

  test("decodes several packs from one chunk, and an empty first buffer", () => {
    const a = encodePack(1, [new Uint8Array(0), Uint8Array.of(0), Uint8Array.of(0, 0)]);
    const b = encodePack(2, [Uint8Array.of(9)]);
    const got = new FrameDecoder(limits).push(Uint8Array.from([...a, ...b]));
    expect(got.map((p) => [p.serial, [...p.payload]])).toEqual([[1, [0, 0, 0]], [2, [9]]]);
  });

  const header = (...ints: number[]) => {
    const b = new Uint8Array(ints.length * 4);
    ints.forEach((v, i) => new DataView(b.buffer).setInt32(i * 4, v));
    return b;
  };

  test("refuses zero or too many buffers, negative lengths and packs over the cap before reading their bytes", () => {
    expect(() => new FrameDecoder(limits).push(header(1, 0))).toThrow(/declares 0 buffers/);
    expect(() => new FrameDecoder(limits).push(header(1, -5))).toThrow(/declares -5 buffers/);
    expect(() => new FrameDecoder(limits).push(header(1, 1001))).toThrow(/limit 1000/);
    expect(() => new FrameDecoder(limits).push(header(1, 1, -2147483648))).toThrow(/negative length/);
    expect(() => new FrameDecoder(limits).push(header(1, 1, 0x7fffffff))).toThrow(/exceeds maxFrameBytes/);
    // The total counts every buffer: two halves that each fit but together do not.
    const d = new FrameDecoder(limits);
    d.push(header(1, 2, 600_000));
    d.push(new Uint8Array(600_000));
    expect(() => d.push(header(600_000))).toThrow(/exceeds maxFrameBytes/);
  });
});
