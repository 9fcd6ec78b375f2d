// Sends the storm of tests/sources/http-event-loop.test.ts from a process of its own (so that building and sending
// bodies costs the agent's process nothing): 20 of each maximum-size and hostile kind at once, then prints one JSON
// line [kind, status, reply length] per request. Usage: bun tests/sources/http-storm-sender.ts URL MAX_BYTES

import { gzipSync } from "node:zlib";
import { Writer } from "../../src/avro/codec.ts";
import { encodeAvroContainer } from "../../src/avro/container.ts";
import type { Event } from "../../src/core/event.ts";

const url = process.argv[2]!;
const MAX = Number(process.argv[3]);
const MAGIC = new Uint8Array([0x4f, 0x62, 0x6a, 0x01]);
const SYNC = new Uint8Array(16).fill(3);
const SCHEMA = JSON.stringify({ type: "record", name: "AvroFlumeEvent", namespace: "org.apache.flume.source.avro", fields: [{ name: "headers", type: { type: "map", values: "string" } }, { name: "body", type: "bytes" }] });

export function maxSize(): Array<[string, Uint8Array, Record<string, string>]> {
  const n = Math.floor((MAX * 0.9) / 240);
  const body = "a".repeat(200);
  const objs = Array.from({ length: n }, (_, i) => ({ headers: { seq: String(i) }, body }));
  const evs: Event[] = objs.map((o) => ({ headers: o.headers, body: new TextEncoder().encode(o.body) }));
  const json = new TextEncoder().encode(JSON.stringify(objs));
  return [
    ["json", json, { "Content-Type": "application/json" }],
    ["ndjson", new TextEncoder().encode(objs.map((o) => JSON.stringify(o)).join("\n") + "\n"), { "Content-Type": "application/x-ndjson" }],
    ["avro", encodeAvroContainer(evs), { "Content-Type": "avro/binary" }],
    ["gzip json", gzipSync(json), { "Content-Type": "application/json", "Content-Encoding": "gzip" }],
  ];
}

export function hostile(): Array<[string, Uint8Array, Record<string, string>]> {
  const avro = { "Content-Type": "avro/binary" };
  const head = () => new Writer().raw(MAGIC).long(1).string("avro.schema").string(SCHEMA).long(0).raw(SYNC);
  return [
    ["avro header map of 2^27", new Writer().raw(MAGIC).long(2 ** 27).string("avro.schema").string("x").done(), avro],
    ["avro event header map of 2^31", head().long(1).long(40).raw(new Writer().long(2 ** 31).string("k").string("v").raw(new Uint8Array(30)).done()).raw(SYNC).done(), avro],
    ["avro block count of 2^50", head().long(2 ** 50).long(4).raw(new Uint8Array(4)).raw(SYNC).done(), avro],
    ["avro body length of 2^40", head().long(1).long(12).raw(new Writer().long(0).long(2 ** 40).raw(new Uint8Array(4)).done()).raw(SYNC).done(), avro],
    ["a gzip bomb", gzipSync(new Uint8Array(64 * MAX)), { "Content-Type": "application/json", "Content-Encoding": "gzip" }],
    ["json nested 100k deep", new TextEncoder().encode("[".repeat(100_000)), { "Content-Type": "application/json" }],
  ];
}


const kinds = [...maxSize(), ...hostile()];
const results = await Promise.all(
  kinds.flatMap(([what, body, headers]) =>
    Array.from({ length: 20 }, () => fetch(url, { method: "POST", headers, body }).then(async (r) => [what, r.status, (await r.text()).length, kinds.indexOf(kinds.find(([k]) => k === what)!) < 4] as const)),
  ),
);
console.log(JSON.stringify(results));
