// The file_roll sink: appends events to files in a directory, starting a new file every rollInterval. Each batch is
// written and fsynced before the take commits, so a crash never loses a line the channel let go of. Serializers:
// TEXT and HEADER_AND_TEXT (lines), AVRO_EVENT (Flume's FlumeEventAvroEventSerializer: each file is an Avro object
// container of Event records, in container.ts's format; a batch ends its last block, as Flume flushes per batch).

import { Buffer } from "node:buffer";
import { open, mkdir, type FileHandle } from "node:fs/promises";
import { join } from "node:path";
import type { Channel } from "../core/channel.ts";
import { defineType } from "../core/component-type.ts";
import { DeliveryError, describeError, ValueError } from "../core/errors.ts";
import type { Event } from "../core/event.ts";
import { takeAndDeliver, type Sink, type SinkStatus } from "../core/sink.ts";
import { key, type ConfigOf } from "../core/keys.ts";
import { SinkCounters } from "../core/counters.ts";
import type { Logger } from "../util/log.ts";
import { encodeContainerHeader, encodeEventBlocks, FLUME_EVENT_SCHEMA_TEXT, newSync } from "../avro/container.ts";

const SERIALIZERS = ["TEXT", "HEADER_AND_TEXT", "AVRO_EVENT"] as const;
type Serializer = (typeof SERIALIZERS)[number];
const SERIALIZER_NAMES: Record<string, Serializer> = {
  text: "TEXT",
  "org.apache.flume.serialization.bodytexteventserializer$builder": "TEXT",
  header_and_text: "HEADER_AND_TEXT",
  "org.apache.flume.serialization.headerandbodytexteventserializer$builder": "HEADER_AND_TEXT",
  avro_event: "AVRO_EVENT",
  "org.apache.flume.serialization.flumeeventavroeventserializer$builder": "AVRO_EVENT",
};

function parseSerializerName(raw: string): Serializer {
  const hit = SERIALIZER_NAMES[raw.trim().toLowerCase()];
  if (hit) return hit;
  const where = raw.trim().startsWith("org.apache.flume.") ? "a Flume serializer sluice does not implement" : raw.includes(".") ? "a third-party serializer class (sluice cannot load Java classes)" : "unknown";
  throw new ValueError(`expected TEXT, HEADER_AND_TEXT or AVRO_EVENT (or Flume's class names for them), got "${raw}": ${where}`);
}

/** Avro's codec names; only null and deflate are written (snappy and the rest: no library kept for both runtimes). */
function parseCodec(raw: string): "null" | "deflate" {
  const v = raw.trim().toLowerCase();
  if (v === "null" || v === "deflate") return v;
  if (["snappy", "bzip2", "xz", "zstandard"].includes(v)) throw new ValueError(`codec "${raw}" is not supported by sluice (null or deflate); deflate is the codec every Avro reader has`);
  throw new ValueError(`expected null or deflate, got "${raw}"`);
}

export const fileRollKeys = {
  "sink.directory": key.path("directory the files are written to (created if missing)", { use: "createdDir", required: true }),
  "sink.rollInterval": key.duration("start a new file this often (0 = one file for the agent's life)", { default: 30_000, unit: "s" }),
  "sink.pathManager": key.enum("file naming scheme", ["DEFAULT"], { default: "DEFAULT" }),
  "sink.pathManager.prefix": key.string("file name prefix", { default: "" }),
  "sink.pathManager.extension": key.string("file name extension (without the dot)", { default: "" }),
  "sink.serializer": {
    ...key.enum("how an event is written: its body and a newline, its headers too, or as an Avro record of an Avro container file. Flume's class names for them are accepted too", SERIALIZERS, { default: "TEXT" }),
    parse: parseSerializerName,
  },
  "sink.serializer.appendNewline": key.bool("TEXT, HEADER_AND_TEXT: end each event with a newline", { default: true }),
  "sink.serializer.syncIntervalBytes": key.int("AVRO_EVENT: close an Avro block (and write a sync marker) once it holds about this many bytes", { default: 2_048_000, min: 32 }),
  "sink.serializer.compressionCodec": {
    ...key.enum("AVRO_EVENT: the container's codec, `null` or `deflate`", ["null", "deflate"], { default: "null" }),
    parse: parseCodec,
  },
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
  /** The bytes of a batch; `header` is written first into a fresh file. */
  private readonly serialize: (events: Event[]) => Uint8Array | Promise<Uint8Array>;
  private readonly header?: () => Uint8Array;
  /** The current file still needs its header (written with its first batch). */
  private fresh = false;
  /** AVRO_EVENT: the current file's sync marker. */
  private sync: Uint8Array = newSync();

  constructor(
    readonly name: string,
    readonly channel: Channel,
    private readonly cfg: FileRollConfig,
    private readonly log: Logger,
  ) {
    if (cfg["sink.serializer"] === "AVRO_EVENT") {
      const codec = cfg["sink.serializer.compressionCodec"];
      const interval = cfg["sink.serializer.syncIntervalBytes"];
      this.header = () => encodeContainerHeader(FLUME_EVENT_SCHEMA_TEXT, codec, this.sync);
      this.serialize = async (events) => Buffer.concat(await encodeEventBlocks(events, this.sync, interval, codec));
      return;
    }
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
    this.fresh = true;
    this.sync = newSync();
    this.counters.ConnectionCreatedCount++;
    this.log.debug(`writing ${this.filePath}`);
    return this.file;
  }

  process(): Promise<SinkStatus> {
    return takeAndDeliver(this.channel, this.cfg["sink.batchSize"], this.counters, async (events) => {
      const f = await this.ensureFile();
      try {
        let bytes = await this.serialize(events);
        if (this.fresh && this.header) bytes = Buffer.concat([this.header(), bytes]);
        let off = 0;
        while (off < bytes.byteLength) off += (await f.write(bytes, off, bytes.byteLength - off)).bytesWritten;
        await f.datasync();
        this.fresh = false;
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
