// Splits a syslog TCP stream into messages (RFC 6587), deciding per message: octet counting (`LEN SP MSG`, a frame
// that starts with a digit 1-9) or newline-terminated (anything else; Flume knows only this one). Memory per
// connection is bounded by eventSize: a longer message is handed on in eventSize pieces, the first flagged
// incomplete (Flume's `flume.syslog.status = Incomplete`); no byte is dropped and no declared length is buffered.

import { concat } from "../../util/lines.ts";

const NL = 0x0a;
const CR = 0x0d;
const SP = 0x20;
/** An octet count has at most this many digits (RFC 6587 allows any; 9 digits is ~1 GB, far past any eventSize). */
const MAX_COUNT_DIGITS = 9;

/** `msg`: one message (a view, valid until the next push). `incomplete`: cut at eventSize, more of it follows. */
export type OnMessage = (msg: Uint8Array, incomplete: boolean) => void;

export class SyslogFramer {
  /** Octet-counted frame: bytes still to come of the current frame; -1 while not in one. */
  private remaining = -1;
  /** Digits of an octet count read so far (a count may be split across reads). */
  private count = "";
  private counting = false;
  private carry: Uint8Array[] = [];
  private carryLen = 0;
  /** A piece of the current message was already handed on (the rest is a continuation). */
  private cut = false;
  /** Messages whose octet count was malformed (handled as newline-framed), for the caller's warning. */
  badCounts = 0;

  constructor(private readonly eventSize: number) {}

  /** Bytes of an unfinished message held (at most eventSize). */
  get pendingBytes(): number {
    return this.carryLen + this.count.length;
  }

  push(chunk: Uint8Array, emit: OnMessage): void {
    let at = 0;
    while (at < chunk.length) {
      if (this.remaining >= 0) {
        at = this.octets(chunk, at, emit);
        continue;
      }
      if (this.counting || (this.carryLen === 0 && !this.cut && isCountStart(chunk[at]!))) {
        at = this.digits(chunk, at);
        continue;
      }
      at = this.line(chunk, at, emit);
    }
  }

  /** At the end of the stream: a last message without its newline is still a message (Flume drops it). */
  end(emit: OnMessage): void {
    if (this.counting && this.count.length > 0) {
      this.badCounts++;
      this.append(new TextEncoder().encode(this.count), emit);
      this.count = "";
      this.counting = false;
    }
    if (this.carryLen > 0) {
      const msg = trimCr(concat(this.carry, this.carryLen));
      this.carry = [];
      this.carryLen = 0;
      emit(msg, false);
    }
    this.remaining = -1;
    this.cut = false;
  }

  private digits(chunk: Uint8Array, at: number): number {
    this.counting = true;
    while (at < chunk.length) {
      const b = chunk[at]!;
      if (b >= 0x30 && b <= 0x39 && this.count.length < MAX_COUNT_DIGITS) {
        this.count += String.fromCharCode(b);
        at++;
        continue;
      }
      this.counting = false;
      if (b === SP && this.count.length > 0) {
        this.remaining = Number(this.count);
        this.count = "";
        return at + 1;
      }
      // Not `LEN SP`: the digits were the start of a newline-framed message.
      this.badCounts++;
      const digits = new TextEncoder().encode(this.count);
      this.count = "";
      this.carry.push(digits);
      this.carryLen += digits.length;
      return at;
    }
    return at;
  }

  private octets(chunk: Uint8Array, at: number, emit: OnMessage): number {
    const take = Math.min(this.remaining, chunk.length - at);
    this.remaining -= take;
    if (this.remaining === 0) {
      this.remaining = -1;
      const piece = chunk.subarray(at, at + take);
      this.finish(piece, emit, true);
      return at + take;
    }
    this.append(chunk.subarray(at, at + take), emit);
    return at + take;
  }

  private line(chunk: Uint8Array, at: number, emit: OnMessage): number {
    const nl = chunk.indexOf(NL, at);
    if (nl < 0) {
      this.append(chunk.subarray(at), emit);
      return chunk.length;
    }
    // An empty line between messages is no message (Flume skips delimiters in its START state).
    if (nl > at || this.carryLen > 0) this.finish(chunk.subarray(at, nl), emit, false);
    else this.cut = false;
    return nl + 1;
  }

  /** Adds bytes of an unfinished message, handing on eventSize pieces as they fill. */
  private append(bytes: Uint8Array, emit: OnMessage): void {
    let from = 0;
    while (this.carryLen + (bytes.length - from) > this.eventSize) {
      const need = this.eventSize - this.carryLen;
      const piece = concat(this.carry, this.carryLen, bytes.subarray(from, from + need));
      this.carry = [];
      this.carryLen = 0;
      from += need;
      this.cut = true;
      emit(piece, true);
    }
    if (from < bytes.length) {
      // Copy: the chunk is the socket's buffer and the next read may reuse it.
      this.carry.push(bytes.slice(from));
      this.carryLen += bytes.length - from;
    }
  }

  /** The message ends with `tail`: one view when nothing was carried, one concatenation otherwise. */
  private finish(tail: Uint8Array, emit: OnMessage, octetFramed: boolean): void {
    if (this.carryLen + tail.length > this.eventSize) {
      this.append(tail, emit);
      tail = new Uint8Array(0);
    }
    let msg = concat(this.carry, this.carryLen, tail);
    this.carry = [];
    this.carryLen = 0;
    this.cut = false;
    if (!octetFramed) msg = trimCr(msg);
    else if (msg.length > 0 && msg[msg.length - 1] === NL) msg = msg.subarray(0, msg.length - 1);
    if (msg.length > 0) emit(msg, false);
  }
}

function isCountStart(b: number): boolean {
  return b >= 0x31 && b <= 0x39;
}

/** A CRLF sender's CR is framing, not message. */
function trimCr(msg: Uint8Array): Uint8Array {
  return msg.length > 0 && msg[msg.length - 1] === CR ? msg.subarray(0, msg.length - 1) : msg;
}
