// Joins the lines of one logical record (a stack trace, a wrapped message) into one event, Filebeat's way:
// `pattern` says which lines belong to a neighbour, `negate` inverts it, `match` says which neighbour:
//   after  — a line whose test (pattern XOR negate) holds is appended to the line before it;
//   before — a line whose test holds continues into the line after it.
// A record is capped at maxLines lines and maxBytes bytes (the rest of its lines are dropped and it is flagged
// truncated); a record waiting for more lines is flushed after `timeoutMs` of silence. Offsets: a record ends where
// its last line ends, so a reader that resumes there never splits a record it has not emitted.

import { concat } from "../../util/lines.ts";

export interface MultilineOptions {
  pattern: RegExp;
  negate: boolean;
  match: "after" | "before";
  maxLines: number;
  maxBytes: number;
  timeoutMs: number;
}

export type OnRecord = (body: Uint8Array, start: number, end: number, truncated: boolean) => void;

const NL = new Uint8Array([0x0a]);
// Only the regex test needs text; records stay bytes.
const decoder = new TextDecoder();

export class MultilineAggregator {
  private parts: Uint8Array[] = [];
  private bytes = 0;
  private lines = 0;
  private start = 0;
  private end = 0;
  private truncated = false;
  /** Lines dropped at the maxLines/maxBytes cap since the owner last took this count (takeDropped). */
  private dropped = 0;
  /** When the last line joined the pending record (ms since epoch). */
  lastLineAt = 0;

  constructor(private readonly o: MultilineOptions) {}

  get pending(): boolean {
    return this.lines > 0;
  }

  push(line: Uint8Array, start: number, end: number, truncated: boolean, emit: OnRecord, now: number): void {
    const hit = this.o.pattern.test(decoder.decode(line)) !== this.o.negate;
    if (this.o.match === "after") {
      if (!hit && this.pending) this.flush(emit);
      this.add(line, start, end, truncated);
    } else {
      this.add(line, start, end, truncated);
      if (!hit) this.flush(emit);
    }
    this.lastLineAt = now;
  }

  private add(line: Uint8Array, start: number, end: number, truncated: boolean): void {
    if (this.lines === 0) this.start = start;
    this.end = end;
    this.truncated ||= truncated;
    if (this.lines >= this.o.maxLines || this.bytes + line.length + (this.lines > 0 ? 1 : 0) > this.o.maxBytes) {
      this.truncated = true;
      if (this.lines > 0) {
        this.dropped++;
        return;
      }
      line = line.subarray(0, this.o.maxBytes);
    }
    if (this.lines > 0) {
      this.parts.push(NL);
      this.bytes += 1;
    }
    this.parts.push(line);
    this.bytes += line.length;
    this.lines++;
  }

  /** The lines dropped at the cap since the last call (for the source's EventsDropped). */
  takeDropped(): number {
    const n = this.dropped;
    this.dropped = 0;
    return n;
  }

  /** Emits the pending record, if any (on a non-matching line, on timeout, or on idle close). */
  flush(emit: OnRecord): void {
    if (this.lines === 0) return;
    const body = concat(this.parts, this.bytes);
    const { start, end, truncated } = this;
    this.reset();
    emit(body, start, end, truncated);
  }

  reset(): void {
    this.parts = [];
    this.bytes = 0;
    this.lines = 0;
    this.truncated = false;
  }
}
