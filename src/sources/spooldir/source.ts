// The spooldir source at run time: picks the next complete file of the spool directory, reads it in batches, and
// retires it (rename, tracker mark or delete) only once every batch is safe. A file that breaks Flume's rules
// (changed after pickup, a name reused) is set aside with a clear error; the rest of the directory goes on.

import { watch, type FSWatcher } from "node:fs";
import { open, rename, stat, unlink, type FileHandle } from "node:fs/promises";
import { basename, isAbsolute, join, relative } from "node:path";
import { AckTracker } from "../../core/ack.ts";
import type { ChannelProcessor } from "../../core/channel-processor.ts";
import { describeError, ValueError } from "../../core/errors.ts";
import type { Event } from "../../core/event.ts";
import type { PollableSource, PollStatus } from "../../core/source.ts";
import { Signal } from "../../util/signal.ts";
import { SourceCounters } from "../../core/counters.ts";
import { BatchPutter } from "../../core/batch-putter.ts";
import { initCrc32c } from "../../util/crc.ts";
import type { Logger } from "../../util/log.ts";
import { createDeserializer, type DecodeErrorPolicy, type Deserializer } from "./deserializers.ts";
import type { AvroSchemaType } from "./avro-deserializer.ts";
import { Tracker, type Progress } from "./tracker.ts";
import { listCandidates, type Candidate, type ListSettings } from "./listing.ts";
import { TRUNCATED_HEADER } from "../taildir/reader.ts";

export interface SpoolSettings extends ListSettings {
  deletePolicy: "never" | "immediate";
  consumeOrder: "oldest" | "youngest" | "random";
  batchSize: number;
  fileHeaderKey?: string;
  basenameHeaderKey?: string;
  deserializer: "LINE" | "BLOB" | "AVRO";
  avroSchemaType: AvroSchemaType;
  maxLineLength: number;
  maxBlobLength: number;
  inputCharset: string;
  decodeErrorPolicy: DecodeErrorPolicy;
  backoff: { incrementMs: number; maxMs: number };
}

const READ_BYTES = 1024 * 1024;
/** Progress rewrites are coalesced (no fsync); completion and close write durably. */
const META_COALESCE_MS = 20;

interface Current {
  path: string;
  rel: string;
  fh: FileHandle;
  ino: number;
  size: number;
  mtimeMs: number;
  readPos: number;
  safe: number;
  de: Deserializer;
  /** Lines read and not yet put, from `qhead` on (a head index: no array shifting per batch). */
  queue: Event[];
  ends: number[];
  qhead: number;
  eof: boolean;
  /** Broke a rule or could not be decoded: forgotten, not retired, once its delivered lines are safe. */
  setAside: boolean;
  tracker: AckTracker<number>;
  headers: Record<string, string>;
}

export class SpoolDirSource implements PollableSource {
  readonly type = "spooldir";
  readonly counters = new SourceCounters();
  readonly backoff: { incrementMs: number; maxMs: number };
  private readonly tracker: Tracker;
  private cur?: Current;
  private resume?: Progress;
  private pendingBytes = 0;
  private bytesRead = 0;
  private watcher?: FSWatcher;
  private readonly wakeSignal = new Signal();
  private metaTimer?: ReturnType<typeof setTimeout>;
  private metaWrite: Promise<void> = Promise.resolve();
  private readonly warned = new Set<string>();
  private readonly putter: BatchPutter;

  constructor(
    readonly name: string,
    private readonly s: SpoolSettings,
    processor: ChannelProcessor,
    private readonly log: Logger,
    private readonly once: boolean,
  ) {
    this.putter = new BatchPutter(processor, this.counters);
    this.backoff = s.backoff;
    this.tracker = new Tracker(s.trackerDir);
  }

  async start(): Promise<void> {
    await initCrc32c();
    const st = await stat(this.s.spoolDir).catch(() => undefined);
    if (!st?.isDirectory()) throw new ValueError("is not a readable directory", { key: "spoolDir", value: this.s.spoolDir });
    await this.tracker.init();
    const saved = await this.tracker.load((m) => this.log.warn(m));
    if (saved) {
      this.resume = saved;
    } else {
      const flume = await this.tracker.loadFlume().catch((err) => {
        this.log.warn(describeError(err));
        return undefined;
      });
      if (flume) {
        const st2 = await stat(flume.target).catch(() => undefined);
        if (st2) {
          this.resume = { path: relative(this.s.spoolDir, flume.target), offset: flume.offset, size: st2.size, mtimeMs: st2.mtimeMs, ino: st2.ino };
          await this.tracker.save(this.resume, true);
          this.log.info(`resuming ${flume.target} at offset ${flume.offset} from Flume's tracker file`);
        }
        await this.tracker.dropFlume();
      }
    }
    try {
      this.watcher = watch(this.s.spoolDir, { persistent: false, recursive: false }, () => this.poke());
      this.watcher.on("error", () => {
        this.watcher?.close();
        this.watcher = undefined;
      });
    } catch {
      // polling at pollDelay still finds new files
    }
    this.counters.StartTime = Date.now();
  }

  async stop(): Promise<void> {
    this.watcher?.close();
    this.watcher = undefined;
    this.poke();
    this.counters.StopTime = Date.now();
  }

  async close(): Promise<void> {
    clearTimeout(this.metaTimer);
    const c = this.cur;
    if (c) {
      await this.saveMeta(true);
      await c.fh.close().catch(() => {});
    }
    await this.metaWrite;
  }

  gauges(): Record<string, number> {
    const c = this.cur;
    return { BytesRead: this.bytesRead, BytesBehind: this.pendingBytes + (c ? c.size - c.safe : 0) };
  }

  wake(ms: number): Promise<void> {
    return this.wakeSignal.wait(ms);
  }

  private poke(): void {
    this.wakeSignal.notify();
  }

  async process(): Promise<PollStatus> {
    const retried = this.putter.retry();
    if (retried) return retried;
    if (!this.cur) {
      const next = await this.pickNext();
      if (!next) return this.once ? "done" : "backoff";
      if (!(await this.openFile(next))) return "ready";
    }
    const c = this.cur!;
    if (c.qhead === c.queue.length && !c.eof) await this.fill(c);
    if (c.qhead < c.queue.length) {
      const n = Math.min(this.s.batchSize, c.queue.length - c.qhead);
      const events = c.queue.slice(c.qhead, c.qhead + n);
      const end = c.ends[c.qhead + n - 1]!;
      c.qhead += n;
      if (c.qhead === c.queue.length) {
        c.queue = [];
        c.ends = [];
        c.qhead = 0;
      }
      return this.put(events, end);
    }
    if (!c.eof) return "ready";
    // Everything read and put: retire the file once its batches are safe (a file set aside is only forgotten).
    if (c.tracker.inFlight > 0) return "backoff";
    if (c.setAside) await this.forget(c);
    else await this.retire(c);
    return "ready";
  }

  private put(events: Event[], end: number): Promise<PollStatus> {
    const tracker = this.cur!.tracker;
    return this.putter.put(events, () => tracker.issue(end));
  }

  /** Reads one chunk into the current file's queue; at the end, checks the file did not change since pickup. */
  private async fill(c: Current): Promise<void> {
    // Sized to what is left: line bodies are views into this buffer and may live on in a memory channel.
    const want = Math.max(0, Math.min(READ_BYTES, c.size - c.readPos));
    const buf = new Uint8Array(want);
    let bytesRead: number;
    try {
      ({ bytesRead } = await c.fh.read(buf, 0, want, c.readPos));
    } catch (err) {
      return this.setAside(c, `cannot read it at offset ${c.readPos}: ${describeError(err)}`);
    }
    const emit = (body: Uint8Array, _s: number, end: number, truncated: boolean, headers?: Record<string, string>) => {
      c.queue.push({ headers: headers ?? (truncated ? { ...c.headers, [TRUNCATED_HEADER]: "true" } : c.headers), body });
      c.ends.push(end);
    };
    if (bytesRead > 0) {
      c.readPos += bytesRead;
      this.bytesRead += bytesRead;
      await c.de.push(bytesRead === want ? buf : buf.subarray(0, bytesRead), emit);
    } else {
      await c.de.end(emit);
      c.eof = true;
      const st = await c.fh.stat().catch(() => undefined);
      if (st && (st.size !== c.size || st.mtimeMs !== c.mtimeMs)) {
        // The mark records the file as it is now, so it is not picked up again at once (only if it changes again).
        await this.setAside(c, `it changed after it was picked up (size ${c.size} → ${st.size}); files must be complete and unchanging once in the spool directory`, false, st);
        return;
      }
    }
    if (c.de.failure) {
      const f = c.de.failure;
      // Lines before the bad one are still delivered; the file is set aside after them.
      await this.setAside(c, `${f.message}; lines before offset ${f.offset} were delivered`, true);
    }
  }

  private async openFile(f: Candidate): Promise<boolean> {
    if (this.s.trackingPolicy === "rename" && (await exists(f.path + this.s.fileSuffix))) {
      await this.markFailed(f, `its name was already used by an ingested file (${basename(f.path)}${this.s.fileSuffix} exists); rename the new file`);
      return false;
    }
    if (this.s.trackingPolicy === "tracker_dir" && (await exists(this.tracker.completedMarker(f.rel, this.s.fileSuffix)))) {
      await this.markFailed(f, `its name was already used by an ingested file (${this.tracker.completedMarker(f.rel, this.s.fileSuffix)} exists); rename the new file`);
      return false;
    }
    let fh: FileHandle;
    try {
      fh = await open(f.path, "r");
    } catch (err) {
      await this.markFailed(f, `cannot open it: ${describeError(err)}`, false);
      return false;
    }
    let start = 0;
    const r = this.resume;
    this.resume = undefined;
    if (r && r.path === f.rel && r.ino === f.ino) {
      if (r.size !== f.size || r.mtimeMs !== f.mtimeMs) {
        await fh.close().catch(() => {});
        await this.tracker.clear();
        await this.markFailed(f, `it changed after it was picked up (size ${r.size} → ${f.size}, while sluice was down); files must be complete and unchanging once in the spool directory`);
        return false;
      }
      start = Math.min(r.offset, f.size);
      this.log.info(`resuming ${f.path} at offset ${start}`);
    }
    const headers: Record<string, string> = {};
    if (this.s.fileHeaderKey) headers[this.s.fileHeaderKey] = f.path;
    if (this.s.basenameHeaderKey) headers[this.s.basenameHeaderKey] = basename(f.path);
    const de: Deserializer = createDeserializer(this.s, start, Object.freeze(headers) as Record<string, string>);
    const c: Current = { ...f, fh, readPos: de.readFrom ?? start, safe: start, de, queue: [], ends: [], qhead: 0, eof: false, setAside: false, headers: Object.freeze(headers) as Record<string, string>, tracker: undefined as never };
    c.tracker = new AckTracker<number>((end) => {
      c.safe = end;
      this.scheduleMeta();
      if (c.tracker.inFlight === 0) this.poke();
    });
    this.cur = c;
    this.pendingBytes = Math.max(0, this.pendingBytes - f.size);
    await this.saveMeta(false);
    return true;
  }

  private async forget(c: Current): Promise<void> {
    await c.fh.close().catch(() => {});
    this.cur = undefined;
    clearTimeout(this.metaTimer);
    this.metaTimer = undefined;
    await this.metaWrite;
    await this.tracker.clear();
  }

  /** Fully read and safe: rename, mark or delete, then forget the progress record. */
  private async retire(c: Current): Promise<void> {
    try {
      if (this.s.deletePolicy === "immediate") await unlink(c.path);
      else if (this.s.trackingPolicy === "rename") await rename(c.path, c.path + this.s.fileSuffix);
      else await this.tracker.markCompleted(c.rel, this.s.fileSuffix);
    } catch (err) {
      this.log.error(`${c.path} was ingested but cannot be retired: ${describeError(err)}; it is set aside so it is not read twice`);
      await this.tracker.markFailed(c.rel, { ino: c.ino, size: c.size, mtimeMs: c.mtimeMs, reason: `cannot retire: ${describeError(err)}` }).catch(() => {});
    }
    await this.forget(c);
    this.log.debug(`ingested ${c.path}`);
  }

  /**
   * Stops ingesting the current file and records why. Lines already put stay delivered (and `keepQueued` ones are
   * still put); once they are safe, the file is forgotten instead of retired.
   */
  private async setAside(c: Current, reason: string, keepQueued = false, now?: { size: number; mtimeMs: number }): Promise<void> {
    c.eof = true;
    c.setAside = true;
    if (!keepQueued) {
      c.queue = [];
      c.ends = [];
      c.qhead = 0;
    }
    this.counters.EventReadFail++;
    await this.markFailed({ path: c.path, rel: c.rel, size: now?.size ?? c.size, mtimeMs: now?.mtimeMs ?? c.mtimeMs, ino: c.ino }, reason);
  }

  private async markFailed(f: Candidate, reason: string, persist = true): Promise<void> {
    this.log.error(`spooled file ${f.path}: ${reason}. The file is set aside (left in place, not read again while unchanged); the source goes on with the others`);
    // Skipped in memory until restart when the mark is not to be (or cannot be) persisted, so it is never retried in a loop.
    const skip = () => void this.warned.add(`${f.rel}:${f.ino}`);
    if (persist) {
      await this.tracker.markFailed(f.rel, { ino: f.ino, size: f.size, mtimeMs: f.mtimeMs, reason }).catch((err) => {
        this.log.warn(`cannot record ${f.path} as set aside in ${this.s.trackerDir}: ${describeError(err)}; skipping it until restart`);
        skip();
      });
    } else skip();
  }

  /** Lists eligible files and returns the next one by consumeOrder (a saved file in progress goes first). */
  private async pickNext(): Promise<Candidate | undefined> {
    const all: Candidate[] = [];
    await this.list(this.s.spoolDir, all);
    this.pendingBytes = all.reduce((n, f) => n + f.size, 0);
    if (all.length === 0) return undefined;
    if (this.resume) {
      const r = all.find((f) => f.rel === this.resume!.path && f.ino === this.resume!.ino);
      if (r) return r;
      this.resume = undefined;
    }
    if (this.s.consumeOrder === "random") return all[Math.floor(Math.random() * all.length)];
    const dir = this.s.consumeOrder === "oldest" ? 1 : -1;
    all.sort((a, b) => (a.mtimeMs - b.mtimeMs) * dir || (a.rel < b.rel ? -1 : a.rel > b.rel ? 1 : 0));
    return all[0];
  }

  private list(dir: string, out: Candidate[]): Promise<void> {
    return listCandidates(this.s, this.tracker, dir, out, (key) => this.warned.has(key), (d, err) => {
      if (!this.warned.has(`list:${d}`)) this.log.warn(`cannot list ${d}: ${describeError(err)}`);
      this.warned.add(`list:${d}`);
    });
  }

  private scheduleMeta(): void {
    if (this.metaTimer) return;
    this.metaTimer = setTimeout(() => {
      this.metaTimer = undefined;
      void this.saveMeta(false);
    }, META_COALESCE_MS);
  }

  private saveMeta(durable: boolean): Promise<void> {
    this.metaWrite = this.metaWrite.then(async () => {
      const c = this.cur;
      if (!c) return;
      try {
        await this.tracker.save({ path: c.rel, offset: c.safe, size: c.size, mtimeMs: c.mtimeMs, ino: c.ino }, durable);
      } catch (err) {
        this.log.error(`cannot write tracker file in ${this.s.trackerDir}: ${describeError(err)}`);
      }
    });
    return this.metaWrite;
  }
}

async function exists(p: string): Promise<boolean> {
  return (await stat(p).catch(() => undefined)) !== undefined;
}

/** trackerDir relative to spoolDir unless absolute (Flume's rule). */
export function resolveTrackerDir(spoolDir: string, trackerDir: string): string {
  return isAbsolute(trackerDir) ? trackerDir : join(spoolDir, trackerDir);
}
