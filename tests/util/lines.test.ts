import { describe, expect, test } from "bun:test";
import { LineSplitter, type OverlongPolicy } from "../../src/util/lines.ts";

const enc = new TextEncoder();
const dec = new TextDecoder();

/** Feeds `text` cut at every given position; returns [line, start, end, truncated] tuples. */
function split(text: string | Uint8Array, cuts: number[], max = 1 << 20, overlong: OverlongPolicy = "truncate") {
  const bytes = typeof text === "string" ? enc.encode(text) : text;
  const s = new LineSplitter({ maxLineLength: max, overlong });
  const out: Array<[string, number, number, boolean]> = [];
  let at = 0;
  for (const c of [...cuts, bytes.length]) {
    s.push(bytes.slice(at, c), (l, st, e, t) => out.push([dec.decode(l), st, e, t]));
    at = c;
  }
  return { out, s };
}

describe("byte line splitter", () => {
  test("splits whole lines of one chunk into views with their offsets", () => {
    const { out, s } = split("a\nbb\n\nccc\n", []);
    expect(out).toEqual([["a", 0, 2, false], ["bb", 2, 5, false], ["", 5, 6, false], ["ccc", 6, 10, false]]);
    expect(s.committedOffset).toBe(10);
  });

  test("joins a line whose newline arrives in a later read, and holds a partial last line", () => {
    const held = split("hello wor", [3, 6]);
    expect(held.out).toEqual([]);
    expect(held.s.pendingBytes).toBe(9);
    expect(held.s.committedOffset).toBe(0);
    const done = split("hello world\nnext", [3, 6, 12]);
    expect(done.out).toEqual([["hello world", 0, 12, false]]);
    expect(done.s.committedOffset).toBe(12);
    expect(done.s.pendingBytes).toBe(4);
  });

  test("handles the delimiter split across reads at every position", () => {
    const text = "first line\nsecond\nthird one here\n";
    for (let c = 0; c <= text.length; c++) {
      const { out } = split(text, [c]);
      expect(out.map((o) => o[0])).toEqual(["first line", "second", "third one here"]);
      expect(out.map((o) => o[2])).toEqual([11, 18, 33]);
    }
  });

  test("truncates an over-long line once its newline arrives and marks it", () => {
    const { out } = split("0123456789abc\nok\n", [5, 9], 8, "truncate");
    expect(out).toEqual([["01234567", 0, 14, true], ["ok", 14, 17, false]]);
    const one = split("0123456789abc\nok\n", [], 8, "truncate").out;
    expect(one).toEqual([["01234567", 0, 14, true], ["ok", 14, 17, false]]);
  });

  test("splits an over-long line into pieces without dropping a byte", () => {
    for (const cuts of [[], [3], [8], [9, 12]]) {
      const { out } = split("0123456789abcdefXYZ\nok\n", cuts, 8, "split");
      expect(out.map((o) => o[0])).toEqual(["01234567", "89abcdef", "XYZ", "ok"]);
      expect(out.map((o) => [o[1], o[2]])).toEqual([[0, 8], [8, 16], [16, 20], [20, 23]]);
    }
    // A line of exactly maxLineLength stays whole.
    expect(split("01234567\n", [8], 8, "split").out).toEqual([["01234567", 0, 9, false]]);
  });

  test("keeps memory bounded on an endless line (truncate)", () => {
    const s = new LineSplitter({ maxLineLength: 16, overlong: "truncate" });
    const chunk = new Uint8Array(1 << 16).fill(0x41);
    for (let i = 0; i < 100; i++) s.push(chunk, () => {});
    expect(s.pendingBytes).toBe(100 << 16);
    const p = s.takePartial()!;
    expect(p.line.length).toBe(16);
    expect(p.truncated).toBe(true);
  });

  test("passes invalid UTF-8 and binary bytes through unchanged", () => {
    const bytes = new Uint8Array([0xff, 0xfe, 0x00, 0x0a, 0xc3, 0x28, 0x0a]);
    const s = new LineSplitter({ maxLineLength: 100, overlong: "truncate" });
    const lines: Uint8Array[] = [];
    s.push(bytes, (l) => lines.push(l.slice()));
    expect(lines).toEqual([new Uint8Array([0xff, 0xfe, 0x00]), new Uint8Array([0xc3, 0x28])]);
  });
});
