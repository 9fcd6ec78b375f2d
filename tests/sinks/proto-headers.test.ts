// Headers named __proto__, constructor and toString survive every encoder a sink writes and the decoders that read
// them back (the http source's JSON paths and the bounded Avro reader): ordinary headers, never dropped or inherited.

import { describe, expect, test } from "bun:test";
import { decodeAvroContainer } from "../../src/avro/container.ts";
import { Reader, encodeEvents } from "../../src/avro/codec.ts";
import { setHeader, type Event } from "../../src/core/event.ts";
import { encoderFor } from "../../src/sinks/http/formats.ts";
import { jsonHandler } from "../../src/sources/http/handlers.ts";

function event(): Event {
  const headers: Record<string, string> = {};
  setHeader(headers, "__proto__", "p");
  setHeader(headers, "constructor", "c");
  setHeader(headers, "toString", "t");
  return { headers, body: new TextEncoder().encode("x") };
}

const expectOrdinary = (h: Record<string, string>) => {
  expect(Object.keys(h)).toEqual(["__proto__", "constructor", "toString"]);
  expect(Object.getOwnPropertyDescriptor(h, "__proto__")?.value).toBe("p");
  expect(h.constructor as unknown).toBe("c");
  expect(Object.getPrototypeOf(h)).not.toBe("p");
};

describe("headers named like Object's members", () => {
  test("setHeader keeps __proto__ as an own entry (a plain assignment would drop it)", () => {
    expectOrdinary(event().headers);
    const plain: Record<string, string> = {};
    plain["__proto__"] = "p";
    expect(Object.keys(plain)).toEqual([]);
  });

  for (const format of ["json", "ndjson", "avro"] as const) {
    test(`the http sink's ${format} body, read by the http source, keeps them`, async () => {
      const body = encoderFor(format)([event()]);
      const type = { json: "application/json", ndjson: "application/x-ndjson", avro: "avro/binary" }[format];
      const d = await jsonHandler(body, new Request("http://x/", { method: "POST", headers: { "Content-Type": type } }), 1 << 20);
      expect(d.ok).toBe(true);
      if (d.ok) expectOrdinary(d.events[0]!.headers);
    });
  }

  test("the general JSON path (not the sink's form) and the Avro RPC encoding keep them", async () => {
    const spaced = new TextEncoder().encode('[ {"headers": {"__proto__": "p", "constructor": "c", "toString": "t"}, "body": "x"} ]');
    const d = await jsonHandler(spaced, new Request("http://x/", { method: "POST", headers: { "Content-Type": "application/json" } }), 1 << 20);
    expect(d.ok).toBe(true);
    if (d.ok) expectOrdinary(d.events[0]!.headers);
    expectOrdinary(new Reader(encodeEvents([event()])).events()[0]!.headers);
    expectOrdinary(decodeAvroContainer(encoderFor("avro")([event()]), 1 << 20)[0]!.headers);
  });
});
