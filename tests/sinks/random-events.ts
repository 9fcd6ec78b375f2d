// Random batches for the encoder and decoder property tests: bodies of every byte value, invalid UTF-8, long runs
// and empty; header maps with quotes, controls, U+2028/2029 and lone surrogates, shared (frozen or not) or per event.

import type { Event } from "../../src/core/event.ts";

/** A small seeded generator (mulberry32), so a failure names a seed that reproduces it. */
export function rng(seed: number): (n: number) => number {
  let a = seed >>> 0;
  return (n) => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return Math.floor((((t ^ (t >>> 14)) >>> 0) / 4294967296) * n);
  };
}

/** Bytes that stress the escaper: quotes, backslashes, controls, U+2028/2029, 4-byte, overlong, surrogates, truncated. */
const PIECES = [
  [0x22], [0x5c], [0x00], [0x08], [0x09], [0x0a], [0x0c], [0x0d], [0x1f], [0x7f], [0x41], [0x20],
  [0xe2, 0x80, 0xa8], [0xe2, 0x80, 0xa9], [0xf0, 0x9f, 0x98, 0x80], [0xc3, 0xa9], [0xef, 0xbf, 0xbd],
  [0xc0, 0x80], [0xc1, 0xbf], [0xed, 0xa0, 0x80], [0xed, 0x9f, 0xbf], [0xe0, 0x80], [0xe0, 0xa0], [0xf0, 0x8f], [0xf4, 0x90, 0x80, 0x80],
  [0xf5], [0xff], [0x80], [0xbf], [0xe2, 0x80], [0xf0, 0x9f, 0x98], [0xc3],
];

export function randomBody(r: (n: number) => number): Uint8Array {
  const kind = r(8);
  if (kind === 0) return new Uint8Array(0);
  if (kind === 1) {
    // Every byte value, uniformly.
    const b = new Uint8Array(r(64));
    for (let i = 0; i < b.length; i++) b[i] = r(256);
    return b;
  }
  if (kind === 2) {
    // A long run: plain text with an occasional special byte, crossing the scanner's word steps at odd offsets.
    const b = new Uint8Array(1000 + r(20_000)).fill(0x61 + r(26));
    for (let k = r(4); k > 0; k--) b[r(b.length)] = [0x22, 0x5c, 0x0a, 0xe2, 0x80, 0xff][r(6)]!;
    return b;
  }
  if (kind === 3) return new Uint8Array(1 + r(5000)).fill([0x22, 0x5c, 0x01, 0xff][r(4)]!);
  const out: number[] = [];
  for (let n = r(40); n > 0; n--) out.push(...(r(3) === 0 ? [0x30 + r(70)] : PIECES[r(PIECES.length)]!));
  return new Uint8Array(out);
}

const HEADER_CHARS = ["a", "Z", "\"", "\\", "\n", "\u0000", "\u001f", "\u007f", "é", "\u2028", "\u2029", "😀", "\ud800", "\udfff", " ", "/"];
function randomText(r: (n: number) => number): string {
  let s = "";
  for (let n = r(12); n > 0; n--) s += HEADER_CHARS[r(HEADER_CHARS.length)];
  return s;
}

function randomHeaders(r: (n: number) => number): Record<string, string> {
  const h: Record<string, string> = {};
  for (let n = r(4); n > 0; n--) h[randomText(r)] = randomText(r);
  return h;
}

/** A batch: bodies sometimes views into one shared buffer (as sources make them), header maps sometimes shared. */
export function randomBatch(r: (n: number) => number, max = 12): Event[] {
  const shared = Object.freeze(randomHeaders(r)) as Record<string, string>;
  const open = randomHeaders(r);
  const events: Event[] = [];
  for (let n = r(max + 1); n > 0; n--) {
    let body = randomBody(r);
    if (r(3) === 0) {
      const big = new Uint8Array(body.length + 7);
      big.set(body, 3);
      body = big.subarray(3, 3 + body.length);
    }
    const pick = r(5);
    // A copy of the shared map: the same content under another identity (what interceptors make).
    events.push({ headers: pick === 0 ? shared : pick === 1 ? open : pick === 2 ? {} : pick === 3 ? { ...shared } : randomHeaders(r), body });
  }
  return events;
}

