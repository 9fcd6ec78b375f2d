// Large bodies are decoded in slices that yield to the event loop: the sliced decoders give exactly what the whole
// ones give — the same events, the same refusals with the same line numbers — and a timer runs between slices.

import { describe, expect, test } from "bun:test";
import { decodeAvroContainer, decodeAvroContainerSliced, encodeAvroContainer } from "../../src/avro/container.ts";
import { encodeEvents, Reader } from "../../src/avro/codec.ts";
import type { Event } from "../../src/core/event.ts";
import { decodeCanonical, decodeCanonicalSliced } from "../../src/sources/http/fast-json.ts";
import { jsonHandler } from "../../src/sources/http/handlers.ts";

const N = 60_000;
const enc = new TextEncoder();
const dec = new TextDecoder();
const events: Event[] = Array.from({ length: N }, (_, i) => ({ headers: { seq: String(i) }, body: enc.encode(`event-${i}`) }));
const shape = (es: Event[]) => es.map((e) => [e.headers.seq, dec.decode(e.body)]);
const post = (body: Uint8Array, type: string) => jsonHandler(body, new Request("http://x/", { method: "POST", headers: { "Content-Type": type } }), 1 << 30);

/** Runs `work` with a 0 ms timer armed: whether the timer fired before `work` finished (the loop turned meanwhile). */
async function turnsTheLoop(work: () => Promise<unknown>): Promise<boolean> {
  let fired = false;
  const t = setTimeout(() => (fired = true), 0);
  await work();
  clearTimeout(t);
  return fired;
}

describe("sliced decoding of large bodies", () => {
  test("canonical json and ndjson: the same events as in one piece, in order", async () => {
    const json = enc.encode(JSON.stringify(events.map((e) => ({ headers: e.headers, body: dec.decode(e.body) }))));
    const ndjson = enc.encode(events.map((e) => JSON.stringify({ headers: e.headers, body: dec.decode(e.body) })).join("\n") + "\n");
    for (const [bytes, nd] of [[json, false], [ndjson, true]] as const) {
      const sliced = await decodeCanonicalSliced(bytes, nd, 1);
      expect(shape(sliced!)).toEqual(shape(decodeCanonical(bytes, nd)!));
      expect(sliced).toHaveLength(N);
      // A body that stops being canonical half-way still falls back (undefined), after slices.
      expect(await decodeCanonicalSliced(bytes.subarray(0, bytes.length - 3), nd, 1)).toBeUndefined();
    }
  });

  test("an Avro container: the same events and the same refusals as in one piece", async () => {
    const c = encodeAvroContainer(events);
    expect(shape(await decodeAvroContainerSliced(c, 1 << 30, 1))).toEqual(shape(decodeAvroContainer(c, 1 << 30)));
    const cut = c.subarray(0, c.length - 40);
    const whole = (() => {
      try {
        decodeAvroContainer(cut, 1 << 30);
      } catch (e) {
        return (e as Error).message;
      }
    })();
    expect(await decodeAvroContainerSliced(cut, 1 << 30, 1).catch((e: Error) => e.message)).toBe(whole!);
  });

  test("an Avro RPC event array: the same events as in one piece", async () => {
    const pack = encodeEvents(events);
    expect(shape(await new Reader(pack).eventsSliced(1))).toEqual(shape(new Reader(pack).events()));
  });

  test("a general (not canonical) ndjson body: every event, and a bad line named by its number across slices", async () => {
    const lines = events.map((e) => `{ "headers": {"seq": "${e.headers.seq}"}, "body": "${dec.decode(e.body)}" }`);
    let d = await post(enc.encode(lines.join("\n")), "application/x-ndjson");
    expect(d.ok && shape(d.events)).toEqual(shape(events));
    lines[50_000] = "{ not json";
    d = await post(enc.encode(lines.join("\n")), "application/x-ndjson");
    expect(d.ok ? "" : d.message).toMatch(/^line 50001: malformed JSON/);
    lines[50_000] = '{ "body": 7 }';
    d = await post(enc.encode(lines.join("\n")), "application/x-ndjson");
    expect(d.ok ? "" : d.message).toBe("line 50001: body is not a string (a number)");
  });

  test("the loop turns while a large body is decoded", async () => {
    const ndjson = enc.encode(events.map((e) => JSON.stringify({ headers: e.headers, body: dec.decode(e.body) })).join("\n"));
    expect(await turnsTheLoop(() => decodeCanonicalSliced(ndjson, true, 1))).toBe(true);
    const c = encodeAvroContainer(events);
    expect(await turnsTheLoop(() => decodeAvroContainerSliced(c, 1 << 30, 1))).toBe(true);
    expect(await turnsTheLoop(() => new Reader(encodeEvents(events)).eventsSliced(1))).toBe(true);
  });
});
