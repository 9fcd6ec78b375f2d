import { describe, expect, test } from "bun:test";
import { Buffer } from "node:buffer";
import type { Event } from "../../src/core/event.ts";
import { encodeJson, encodeNdjson } from "../../src/sinks/http/json-body.ts";
import { decodeCanonical } from "../../src/sources/http/fast-json.ts";
import { randomBatch, rng } from "../sinks/random-events.ts";

const utf8 = new TextEncoder();

/** The general decoder's outcome, as handlers.ts computes it without the fast path: events, or null when it refuses. */
function reference(bytes: Uint8Array, ndjson: boolean): Array<{ headers: Record<string, string>; body: Uint8Array }> | null {
  let text: string;
  try {
    text = new TextDecoder("utf-8", { fatal: true }).decode(bytes);
  } catch {
    return null;
  }
  let values: unknown[];
  try {
    if (ndjson) {
      const lines = text.split("\n");
      if (lines.length > 0 && lines[lines.length - 1]!.trim() === "") lines.pop();
      values = lines.map((l) => JSON.parse(l));
    } else {
      const v = JSON.parse(text);
      if (!Array.isArray(v)) return null;
      values = v;
    }
  } catch {
    return null;
  }
  const out = [];
  for (const v of values as Array<{ headers?: unknown; body?: unknown } | null>) {
    if (typeof v !== "object" || v === null || Array.isArray(v)) return null;
    if (v.body !== undefined && v.body !== null && typeof v.body !== "string") return null;
    const h = v.headers;
    if (h !== undefined && h !== null && (typeof h !== "object" || Array.isArray(h) || Object.values(h).some((x) => typeof x !== "string"))) return null;
    out.push({ headers: (h ?? {}) as Record<string, string>, body: v.body ? utf8.encode(v.body as string) : new Uint8Array(0) });
  }
  return out;
}

function same(got: Event[], want: NonNullable<ReturnType<typeof reference>>, what: string): void {
  if (got.length !== want.length) throw new Error(`${what}: ${got.length} events, the general decoder gives ${want.length}`);
  for (let i = 0; i < got.length; i++) {
    if (Buffer.compare(got[i]!.body, want[i]!.body) !== 0) throw new Error(`${what}: event ${i} body differs`);
    expect({ ...got[i]!.headers }).toEqual({ ...want[i]!.headers });
  }
}

describe("the http source's canonical JSON path", () => {
  test("reads every body the http sink writes, with the events the general decoder gives", () => {
    for (let seed = 1; seed <= 1500; seed++) {
      const events = randomBatch(rng(seed));
      for (const ndjson of [true, false]) {
        const bytes = ndjson ? encodeNdjson(events) : encodeJson(events);
        const got = decodeCanonical(bytes, ndjson);
        const want = reference(bytes, ndjson)!;
        if (events.length > 0 && !got) throw new Error(`seed ${seed}: the sink's own ${ndjson ? "ndjson" : "json"} fell back to the general decoder`);
        if (got) same(got, want, `seed ${seed}`);
      }
    }
  });

  test("never accepts what the general decoder refuses, nor reads anything differently, over damaged bodies", () => {
    const damage = [0x20, 0x0a, 0x22, 0x5c, 0x7b, 0x7d, 0x2c, 0x3a, 0x5b, 0x5d, 0x00, 0xff, 0x75, 0x30, 0x0d, 0x09];
    let accepted = 0;
    for (let seed = 1; seed <= 4000; seed++) {
      const r = rng(seed + 100_000);
      const events = randomBatch(r, 4);
      const ndjson = r(2) === 0;
      const clean = ndjson ? encodeNdjson(events) : encodeJson(events);
      const arr = [...clean];
      for (let k = 1 + r(3); k > 0; k--) {
        const at = r(arr.length + 1);
        const op = r(3);
        const b = damage[r(damage.length)]!;
        if (op === 0) arr.splice(at, 0, b);
        else if (op === 1) arr.splice(at, 1);
        else arr[Math.min(at, arr.length - 1)] = b;
      }
      const bytes = new Uint8Array(arr);
      const got = decodeCanonical(bytes, ndjson);
      if (!got) continue;
      const want = reference(bytes, ndjson);
      if (!want) throw new Error(`seed ${seed}: accepted a body the general decoder refuses: ${JSON.stringify(new TextDecoder().decode(bytes))}`);
      same(got, want, `seed ${seed}`);
      accepted++;
    }
    // Some damage is harmless (an edit inside a body): those must have been read, and read right.
    expect(accepted).toBeGreaterThan(100);
  });

  test("leaves bodies as views into the request and shares a repeated header map", () => {
    const bytes = utf8.encode('{"headers":{"host":"web-1"},"body":"a"}\n{"headers":{"host":"web-1"},"body":"b\\n"}\n{"headers":{},"body":""}\n');
    const got = decodeCanonical(bytes, true)!;
    expect(got.map((e) => new TextDecoder().decode(e.body))).toEqual(["a", "b\n", ""]);
    expect(got[0]!.body.buffer).toBe(bytes.buffer);
    expect(got[1]!.headers).toBe(got[0]!.headers);
    expect(Object.isFrozen(got[0]!.headers)).toBe(true);
    expect(got[0]!.headers).toEqual({ host: "web-1" });
    // Whitespace, another key order, a BOM: the general decoder's business.
    expect(decodeCanonical(utf8.encode('{"body":"a","headers":{}}'), true)).toBeUndefined();
    expect(decodeCanonical(utf8.encode('[ {"headers":{},"body":"a"}]'), false)).toBeUndefined();
    expect(decodeCanonical(new Uint8Array([0xef, 0xbb, 0xbf, ...utf8.encode('{"headers":{},"body":"a"}')]), true)).toBeUndefined();
  });
});
