// Micro-benchmark behind src/avro/codec.ts: encoding and decoding a Flume batch (1000 events of 200 B, 2 headers)
// by hand versus avsc 5.7.9. The hand codec exists for safety (bounded counts, see codec.ts); this shows it also
// costs no speed. Run: node_modules/.bin/bun bench/avro-codec.ts

import avro from "avsc";
import { encodeEvents, Reader } from "../src/avro/codec.ts";
import { makeEvent } from "../src/core/event.ts";

const N = 1000;
const ROUNDS = 300;
const events = Array.from({ length: N }, (_, i) => makeEvent(new Uint8Array(200).fill(97), { host: "web-1", seq: String(i) }));
const type = avro.Type.forSchema({
  type: "array",
  items: { type: "record", name: "AvroFlumeEvent", fields: [{ name: "headers", type: { type: "map", values: "string" } }, { name: "body", type: "bytes" }] },
});
const mib = (ROUNDS * N * 200) / 1024 / 1024;

function time(fn: () => void): number {
  for (let i = 0; i < 20; i++) fn();
  const t = performance.now();
  for (let i = 0; i < ROUNDS; i++) fn();
  return (performance.now() - t) / 1000;
}

const wire = encodeEvents(events);
const wireBuf = Buffer.from(wire);
const figures: Array<[string, number]> = [
  ["encode, hand (MiB/s of bodies)", mib / time(() => encodeEvents(events))],
  // avsc needs Buffers for `bytes`: wrapping each body is part of its cost.
  ["encode, avsc (MiB/s of bodies)", mib / time(() => type.toBuffer(events.map((e) => ({ headers: e.headers, body: Buffer.from(e.body.buffer, e.body.byteOffset, e.body.byteLength) }))))],
  ["decode, hand (MiB/s of bodies)", mib / time(() => new Reader(wire).events())],
  ["decode, avsc (MiB/s of bodies)", mib / time(() => type.fromBuffer(wireBuf))],
];
for (const [metric, v] of figures) console.log(JSON.stringify({ bench: "avro-codec", metric, value: Math.round(v) }));
