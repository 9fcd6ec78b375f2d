// The file_roll sink: appends events to files in a directory, starting a new file every rollInterval. Each batch is
// written and fsynced before the take commits, so a crash never loses a line the channel let go of.

import { open, mkdir, type FileHandle } from "node:fs/promises";
import { join } from "node:path";
import type { Channel } from "../core/channel.ts";
import { defineType } from "../core/component-type.ts";
import { DeliveryError, describeError } from "../core/errors.ts";
import type { Event } from "../core/event.ts";
import { takeAndDeliver, type Sink, type SinkStatus } from "../core/sink.ts";
import { key, type ConfigOf } from "../core/keys.ts";
import { SinkCounters } from "../core/counters.ts";
import type { Logger } from "../util/log.ts";

export const fileRollKeys = {
  "sink.directory": key.string("directory the files are written to (created if missing)", { required: true }),
  "sink.rollInterval": key.duration("start a new file this often (0 = one file for the agent's life)", { default: 30_000, unit: "s" }),
  "sink.pathManager": key.enum("file naming scheme", ["DEFAULT"], { default: "DEFAULT" }),
  "sink.pathManager.prefix": key.string("file name prefix", { default: "" }),
  "sink.pathManager.extension": key.string("file name extension (without the dot)", { default: "" }),
  "sink.serializer": key.enum("how an event is written: its body and a newline, or its headers too", ["TEXT", "HEADER_AND_TEXT"], { default: "TEXT" }),
  "sink.serializer.appendNewline": key.bool("end each event with a newline", { default: true }),
  "sink.batchSize": key.int("events per take", { default: 100, min: 1 }),
};
export type FileRollConfig = ConfigOf<typeof fileRollKeys>;

const NEWLINE = 0x0a;
const encoder = new TextEncoder();

/** Java's Map.toString: `{k1=v1, k2=v2}`, which Flume's HEADER_AND_TEXT serializer writes before the body. */
function headerText(h: Record<string, string>): string {
  return `{${Object.entries(h).map(([k, v]) => `${k}=${v}`).join(", ")}} `;
}

export class FileRollSink implements Sink {
  readonly type = "file_roll";
  readonly counters = new SinkCounters();
  private file?: FileHandle;
  private filePath = "";
  private readonly series = Date.now();
  private index = 0;
  private openedAt = 0;
  private readonly serialize: (events: Event[]) => Uint8Array;

  constructor(
    readonly name: string,
    readonly channel: Channel,
    private readonly cfg: FileRollConfig,
    private readonly log: Logger,
  ) {
    const newline = cfg["sink.serializer.appendNewline"];
    const withHeaders = cfg["sink.serializer"] === "HEADER_AND_TEXT";
    this.serialize = (events) => {
      const prefixes = withHeaders ? events.map((e) => encoder.encode(headerText(e.headers))) : undefined;
      let size = 0;
      for (let i = 0; i < events.length; i++) size += events[i]!.body.byteLength + (newline ? 1 : 0) + (prefixes ? prefixes[i]!.byteLength : 0);
      const out = new Uint8Array(size);
      let at = 0;
      for (let i = 0; i < events.length; i++) {
        if (prefixes) {
          out.set(prefixes[i]!, at);
          at += prefixes[i]!.byteLength;
        }
        const b = events[i]!.body;
        out.set(b, at);
        at += b.byteLength;
        if (newline) out[at++] = NEWLINE;
      }
      return out;
    };
  }

  /** The file currently written (for tests and status). */
  get currentFile(): string {
    return this.filePath;
  }

  async start(): Promise<void> {
    this.counters.StartTime = Date.now();
  }

  async stop(): Promise<void> {
    await this.close();
    this.counters.StopTime = Date.now();
  }

  private async close(): Promise<void> {
    const f = this.file;
    this.file = undefined;
    if (f) {
      await f.close().catch(() => {});
      this.counters.ConnectionClosedCount++;
    }
  }

  private async ensureFile(): Promise<FileHandle> {
    const roll = this.cfg["sink.rollInterval"];
    if (this.file && roll > 0 && Date.now() - this.openedAt >= roll) await this.close();
    if (this.file) return this.file;
    const dir = this.cfg["sink.directory"];
    const ext = this.cfg["sink.pathManager.extension"];
    const name = `${this.cfg["sink.pathManager.prefix"]}${this.series}-${++this.index}${ext ? `.${ext}` : ""}`;
    try {
      await mkdir(dir, { recursive: true });
      this.file = await open(join(dir, name), "a");
    } catch (err) {
      this.counters.ConnectionFailedCount++;
      throw new DeliveryError(`file_roll sink ${this.name}: cannot open ${join(dir, name)}: ${describeError(err)}`, { cause: err });
    }
    this.filePath = join(dir, name);
    this.openedAt = Date.now();
    this.counters.ConnectionCreatedCount++;
    this.log.debug(`writing ${this.filePath}`);
    return this.file;
  }

  process(): Promise<SinkStatus> {
    return takeAndDeliver(this.channel, this.cfg["sink.batchSize"], this.counters, async (events) => {
      const f = await this.ensureFile();
      try {
        const bytes = this.serialize(events);
        let off = 0;
        while (off < bytes.byteLength) off += (await f.write(bytes, off, bytes.byteLength - off)).bytesWritten;
        await f.datasync();
      } catch (err) {
        // A half-written batch stays in the old file; the retry goes to a fresh one after the rollback.
        await this.close();
        throw new DeliveryError(`file_roll sink ${this.name}: write to ${this.filePath} failed: ${describeError(err)}`, { cause: err });
      }
    });
  }
}

export const fileRollSinkType = defineType({
  kind: "sink",
  names: ["file_roll", "org.apache.flume.sink.RollingFileSink"],
  keys: fileRollKeys,
  create: (cfg, ctx, deps) => new FileRollSink(ctx.name, deps.channel, cfg, ctx.log),
});
