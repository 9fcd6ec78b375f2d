import { describe, expect, test } from "bun:test";
import { LineDeserializer, trimPartialUtf8 } from "../../src/sources/spooldir/deserializers.ts";

const enc = new TextEncoder();
const dec = new TextDecoder();

function lines(d: LineDeserializer, input: Uint8Array): { text: string; truncated: boolean }[] {
  const out: { text: string; truncated: boolean }[] = [];
  const emit = (b: Uint8Array, _s: number, _e: number, t: boolean) => out.push({ text: dec.decode(b), truncated: t });
  d.push(input, emit);
  d.end(emit);
  return out;
}

describe("LINE deserializer and maxLineLength", () => {
  test("trimPartialUtf8 cuts only an incomplete last character", () => {
    const e = enc.encode("aé€😀");
    expect(trimPartialUtf8(e)).toEqual(e);
    expect(dec.decode(trimPartialUtf8(e.subarray(0, e.length - 1)))).toBe("aé€");
    expect(dec.decode(trimPartialUtf8(e.subarray(0, 4)))).toBe("aé");
    expect(dec.decode(trimPartialUtf8(e.subarray(0, 2)))).toBe("a");
  });

  test("a truncation inside a character keeps whole characters on clean UTF-8", () => {
    const d = new LineDeserializer(4, "utf-8", "FAIL", "UTF-8", 0);
    expect(lines(d, enc.encode("aaé€x\nok\n"))).toEqual([
      { text: "aaé", truncated: true },
      { text: "ok", truncated: false },
    ]);
    expect(d.failure).toBeUndefined();
  });

  test("with decodeErrorPolicy FAIL, a cut character is not a decode error (the chunk is checked line by line)", () => {
    const d = new LineDeserializer(4, "utf-8", "REPLACE", "UTF-8", 0);
    // An invalid byte elsewhere in the chunk makes every line of it go through the checked path.
    const input = new Uint8Array([...enc.encode("aaé€x\n"), 0xff, 0x0a]);
    expect(lines(d, input)).toEqual([
      { text: "aaé", truncated: true },
      { text: "\uFFFD", truncated: false },
    ]);
    const strict = new LineDeserializer(4, "utf-8", "FAIL", "UTF-8", 0);
    lines(strict, input);
    expect(strict.failure?.offset).toBe(9);
  });
});

describe("LINE deserializer UTF-8 check across chunks", () => {
  test("a character split between two reads is valid; a bad byte anywhere is found", () => {
    const text = enc.encode("héllo wörld €\nnext\n");
    for (let cut = 1; cut < text.length; cut++) {
      const d = new LineDeserializer(2048, "utf-8", "FAIL", "UTF-8", 0);
      const out: string[] = [];
      const emit = (b: Uint8Array) => out.push(dec.decode(b));
      d.push(text.subarray(0, cut), emit);
      d.push(text.subarray(cut), emit);
      d.end(emit);
      expect(d.failure).toBeUndefined();
      expect(out).toEqual(["héllo wörld €", "next"]);
    }
    const bad = new LineDeserializer(2048, "utf-8", "FAIL", "UTF-8", 0);
    bad.push(new Uint8Array([0x61, 0x0a, 0x62, 0xc3]), () => {});
    bad.push(new Uint8Array([0x28, 0x0a]), () => {});
    expect(bad.failure?.offset).toBe(2);
  });
});
