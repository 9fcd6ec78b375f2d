// The spooled file being ingested: its descriptor, where reading and safety stand, the events its deserializer
// produced and not yet put, and the acknowledgement tracker whose safe watermark the tracker file records.
// Reading only; picking, retiring and setting aside are the source's (source.ts).
//
// Read buffers: with a slab pool (the source gives one for LINE, whose lines are views emitted while their chunk is
// pushed, when every channel releases a batch once it is safe), reads go into reused slabs whose lifetime
// util/lines.ts SlabReader makes explicit; without one, each read gets a fresh buffer sized to what is left.

import type { FileHandle } from "node:fs/promises";
import { AckTracker } from "../../core/ack.ts";
import { describeError } from "../../core/errors.ts";
import type { Event } from "../../core/event.ts";
import { TRUNCATED_HEADER } from "../taildir/reader.ts";
import { SlabReader, type SlabClaim, type SlabPool } from "../../util/lines.ts";
import type { Deserializer } from "./deserializers.ts";
import type { Candidate } from "./listing.ts";

/** Largest single read (and the size of a pooled slab). */
export const READ_BYTES = 1024 * 1024;

/** Why reading stopped short: the source sets the file aside (after its queued events when `keepQueued`). */
export interface Broken {
  reason: string;
  keepQueued: boolean;
  /** The file as it is now (it changed): the set-aside mark records this. */
  now?: { size: number; mtimeMs: number };
}

export class SpoolFile {
  readonly path: string;
  readonly rel: string;
  readonly ino: number;
  readonly size: number;
  readonly mtimeMs: number;
  readPos: number;
  /** End of the newest batch known safe: what the tracker file records. */
  safe: number;
  eof = false;
  /** Broke a rule or could not be decoded: forgotten, not retired, once its delivered lines are safe. */
  setAside = false;
  readonly tracker: AckTracker<number>;
  /** Events read and not yet put, from `qhead` on (a head index: no array shifting per batch). */
  private queue: Event[] = [];
  private ends: number[] = [];
  private qhead = 0;
  private readonly slabs?: SlabReader;
  private readonly emit: (body: Uint8Array, start: number, end: number, truncated: boolean, headers?: Record<string, string>) => void;

  constructor(
    f: Candidate,
    readonly fh: FileHandle,
    start: number,
    private readonly de: Deserializer,
    readonly headers: Record<string, string>,
    onSafe: (f: SpoolFile) => void,
    pool?: SlabPool,
  ) {
    if (pool) this.slabs = new SlabReader(pool);
    this.path = f.path;
    this.rel = f.rel;
    this.ino = f.ino;
    this.size = f.size;
    this.mtimeMs = f.mtimeMs;
    this.readPos = de.readFrom ?? start;
    this.safe = start;
    this.tracker = new AckTracker<number>((end) => {
      this.safe = end;
      this.slabs?.safe(end);
      onSafe(this);
    });
    this.emit = (body, _s, end, truncated, h) => {
      this.queue.push({ headers: h ?? (truncated ? { ...this.headers, [TRUNCATED_HEADER]: "true" } : this.headers), body });
      this.ends.push(end);
      this.slabs?.viewed(body);
    };
  }

  /** Events read and waiting to be put. */
  get queued(): number {
    return this.queue.length - this.qhead;
  }

  /** Drops what was read and not put (the file is set aside): what it viewed is left to the collector. */
  dropQueued(): void {
    this.clearQueue();
    this.slabs?.abandon();
  }

  /** No more reads (the file is retired or forgotten); lines in flight still hold their slabs. */
  close(): Promise<void> {
    this.slabs?.close();
    return this.fh.close().catch(() => {});
  }

  /** The Ack for one put attempt of a batch (a retried batch's slabs are never reused: a channel may hold it). */
  issue(b: { end: number; claim?: SlabClaim }) {
    if (b.claim) this.slabs!.attempt(b.claim);
    return this.tracker.issue(b.end);
  }

  private clearQueue(): void {
    this.queue = [];
    this.ends = [];
    this.qhead = 0;
  }

  /** Up to `n` queued events and the offset after the last of them (the batch's cursor). */
  takeBatch(n: number): { events: Event[]; end: number; claim?: SlabClaim } | undefined {
    const k = Math.min(n, this.queued);
    if (k === 0) return undefined;
    const events = this.queue.slice(this.qhead, this.qhead + k);
    const end = this.ends[this.qhead + k - 1]!;
    this.qhead += k;
    if (this.qhead === this.queue.length) this.clearQueue();
    return { events, end, claim: this.slabs?.claim(events, end) };
  }

  /**
   * Reads one chunk through the deserializer; at the end of the file, checks it did not change since pickup.
   * Returns the bytes read, or why the file must be set aside.
   */
  async fill(): Promise<number | Broken> {
    let want = Math.max(0, Math.min(READ_BYTES, this.size - this.readPos));
    let buf: Uint8Array;
    let at = 0;
    if (this.slabs && want > 0) {
      const t = this.slabs.target(want);
      buf = t.buf;
      at = t.at;
      want = t.len;
    } else {
      // Sized to what is left: bodies are views into this buffer and may live on in a memory channel.
      buf = new Uint8Array(want);
    }
    let bytesRead: number;
    try {
      ({ bytesRead } = await this.fh.read(buf, at, want, this.readPos));
    } catch (err) {
      return { reason: `cannot read it at offset ${this.readPos}: ${describeError(err)}`, keepQueued: false };
    }
    if (bytesRead > 0) {
      this.slabs?.filled(bytesRead);
      this.readPos += bytesRead;
      await this.de.push(at === 0 && bytesRead === buf.length ? buf : buf.subarray(at, at + bytesRead), this.emit);
    } else {
      await this.de.end(this.emit);
      this.eof = true;
      const st = await this.fh.stat().catch(() => undefined);
      if (st && (st.size !== this.size || st.mtimeMs !== this.mtimeMs)) {
        // The mark records the file as it is now, so it is not picked up again at once (only if it changes again).
        return { reason: `it changed after it was picked up (size ${this.size} → ${st.size}); files must be complete and unchanging once in the spool directory`, keepQueued: false, now: st };
      }
    }
    const f = this.de.failure;
    // Lines before the bad one are still delivered; the file is set aside after them.
    if (f) return { reason: `${f.message}; lines before offset ${f.offset} were delivered`, keepQueued: true };
    return bytesRead;
  }
}
