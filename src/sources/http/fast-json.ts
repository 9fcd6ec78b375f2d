// The http source's fast path for the JSON and NDJSON that sluice's http sink writes: `{"headers":{…},"body":"…"}`
// with no whitespace, one per line (ndjson) or in one array (json). Bodies become views into the request bytes (a
// body with an escape is decoded alone), a header map is parsed once per distinct byte run and shared (frozen) by
// the events that repeat it, so a request costs no string per event. Anything else — whitespace, other keys or key
// order, a malformed byte — returns undefined and the general decoder in handlers.ts reads the request, with its
// error messages; so this path changes no outcome, only the cost (tests/sources/http-fast-json.test.ts).

import { Buffer, isUtf8 } from "node:buffer";
import type { Event } from "../../core/event.ts";
import { emptyHeaders } from "../../core/event.ts";
import { yieldToLoop } from "../../util/yield.ts";

const encoder = new TextEncoder();
const EMPTY = new Uint8Array(0);
const HEAD = encoder.encode('{"headers":');
const BODY_KEY = encoder.encode(',"body":"');
const QUOTE = 0x22;
const BACKSLASH = 0x5c;

/** Events of a canonical json (`[…]`) or ndjson body, or undefined when the body is anything else. */
export function decodeCanonical(bytes: Uint8Array, ndjson: boolean): Event[] | undefined {
  const run = startCanonical(bytes, ndjson);
  if (!run) return undefined;
  return continueCanonical(run, Infinity) as Event[] | undefined;
}


/**
 * decodeCanonical for request bodies, without holding the event loop: the events are read in slices of at most
 * `sliceMs`, yielding between them (a 15 MiB body of small events held the loop for ~150 ms in one piece).
 */
export async function decodeCanonicalSliced(bytes: Uint8Array, ndjson: boolean, sliceMs = 20): Promise<Event[] | undefined> {
  const run = startCanonical(bytes, ndjson);
  if (!run) return undefined;
  for (;;) {
    const r = continueCanonical(run, performance.now() + sliceMs);
    if (r !== PAUSED) return r;
    await yieldToLoop();
  }
}

interface CanonicalRun {
  bytes: Uint8Array;
  ndjson: boolean;
  p: Parser;
  events: Event[];
}

const PAUSED = Symbol("paused");

function startCanonical(bytes: Uint8Array, ndjson: boolean): CanonicalRun | undefined {
  if (bytes.byteLength === 0 || !isUtf8(bytes)) return undefined;
  // TextDecoder drops a byte-order mark; the general path handles that.
  if (bytes[0] === 0xef && bytes[1] === 0xbb && bytes[2] === 0xbf) return undefined;
  const p = new Parser(bytes);
  if (!ndjson) {
    if (bytes[0] !== 0x5b) return undefined;
    p.pos = 1;
  }
  return { bytes, ndjson, p, events: [] };
}

/** Reads events until the body ends (the events), is not canonical (undefined) or `until` passed (PAUSED). */
function continueCanonical(run: CanonicalRun, until: number): Event[] | undefined | typeof PAUSED {
  const { bytes, p, events } = run;
  const end = bytes.byteLength;
  if (run.ndjson) {
    while (p.pos < end) {
      // The clock is read every 512 events only: it costs more than a small event.
      if ((events.length & 511) === 511 && performance.now() > until) return PAUSED;
      const e = p.object();
      if (!e) return undefined;
      events.push(e);
      if (p.pos === end) break;
      if (bytes[p.pos] !== 0x0a) return undefined;
      p.pos++;
    }
    return events;
  }
  if (events.length === 0 && bytes[1] === 0x5d) return p.pos + 1 === end ? events : undefined;
  for (;;) {
    if ((events.length & 511) === 511 && performance.now() > until) return PAUSED;
    const e = p.object();
    if (!e) return undefined;
    events.push(e);
    const c = bytes[p.pos++];
    if (c === 0x5d) return p.pos === end ? events : undefined;
    if (c !== 0x2c) return undefined;
  }
}

class Parser {
  pos = 0;
  private text?: Buffer;
  /** The last non-empty header map and its bytes (`{…}`), reused while the next event's bytes are the same. */
  private lastHeadAt = -1;
  private lastHeadLen = 0;
  private lastHeaders = emptyHeaders();

  constructor(private readonly b: Uint8Array) {}

  /** One `{"headers":{…},"body":"…"}` at pos; undefined (pos undefined too) when it is not exactly that. */
  object(): Event | undefined {
    const b = this.b;
    if (!this.literal(HEAD)) return undefined;
    const hs = this.pos;
    if (!this.skipStringMap()) return undefined;
    const headers = this.headers(hs, this.pos);
    if (!headers || !this.literal(BODY_KEY)) return undefined;
    const bs = this.pos;
    let escaped = false;
    let i = bs;
    const end = b.byteLength;
    for (;;) {
      if (i >= end) return undefined;
      const c = b[i]!;
      if (c === QUOTE) break;
      if (c < 0x20) return undefined;
      if (c === BACKSLASH) {
        escaped = true;
        i++;
      }
      i++;
    }
    if (b[i + 1] !== 0x7d) return undefined;
    this.pos = i + 2;
    if (i === bs) return { headers, body: EMPTY };
    if (!escaped) return { headers, body: b.subarray(bs, i) };
    // Rare: decode this one body as JSON does (escapes, \u pairs; a lone surrogate becomes U+FFFD on encode).
    try {
      const s = JSON.parse(this.str(bs - 1, i + 1)) as string;
      return { headers, body: s ? encoder.encode(s) : EMPTY };
    } catch {
      return undefined;
    }
  }

  private literal(lit: Uint8Array): boolean {
    const b = this.b;
    if (this.pos + lit.byteLength > b.byteLength) return false;
    for (let k = 0; k < lit.byteLength; k++) if (b[this.pos + k] !== lit[k]) return false;
    this.pos += lit.byteLength;
    return true;
  }

  /** Skips a JSON string at pos (`"…"`, escapes honoured, no raw control characters). */
  private skipString(): boolean {
    const b = this.b;
    if (b[this.pos] !== QUOTE) return false;
    let i = this.pos + 1;
    const end = b.byteLength;
    for (;;) {
      if (i >= end) return false;
      const c = b[i]!;
      if (c === QUOTE) break;
      if (c < 0x20) return false;
      i += c === BACKSLASH ? 2 : 1;
    }
    this.pos = i + 1;
    return true;
  }

  /** Skips `{}` or `{"k":"v",…}` with no whitespace and string values only. */
  private skipStringMap(): boolean {
    const b = this.b;
    if (b[this.pos] !== 0x7b) return false;
    this.pos++;
    if (b[this.pos] === 0x7d) {
      this.pos++;
      return true;
    }
    for (;;) {
      if (!this.skipString() || b[this.pos] !== 0x3a) return false;
      this.pos++;
      if (!this.skipString()) return false;
      const c = b[this.pos++];
      if (c === 0x7d) return true;
      if (c !== 0x2c) return false;
    }
  }

  private headers(start: number, end: number): Record<string, string> | undefined {
    const len = end - start;
    if (len === 2) return emptyHeaders();
    const b = this.b;
    if (len === this.lastHeadLen) {
      const at = this.lastHeadAt;
      let same = true;
      for (let k = 0; k < len; k++) {
        if (b[at + k] !== b[start + k]) {
          same = false;
          break;
        }
      }
      if (same) return this.lastHeaders;
    }
    let h: Record<string, string>;
    try {
      h = JSON.parse(this.str(start, end)) as Record<string, string>;
    } catch {
      return undefined;
    }
    // Shared by the events that repeat these bytes: frozen, so a writer copies it first (core/event.ts withHeader).
    this.lastHeaders = Object.freeze(h) as Record<string, string>;
    this.lastHeadAt = start;
    this.lastHeadLen = len;
    return this.lastHeaders;
  }

  private str(start: number, end: number): string {
    const b = this.b;
    return (this.text ??= Buffer.from(b.buffer, b.byteOffset, b.byteLength)).toString("utf8", start, end);
  }
}
