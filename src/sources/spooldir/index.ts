// The spooldir source type (Flume's SpoolDirectorySource): its key table, cross-field checks, factory and status
// view. The run-time work is in source.ts; the tracker directory's formats in tracker.ts.

import type { ComponentContext } from "../../core/component.ts";
import { defineType, type InspectReport } from "../../core/component-type.ts";
import { key, type ConfigOf } from "../../core/keys.ts";
import { initCrc32c } from "../../util/crc.ts";
import { checkLineCharset, parseDeserializerName } from "./deserializers.ts";
import { listCandidates, type Candidate } from "./listing.ts";
import { resolveTrackerDir, SpoolDirSource } from "./source.ts";
import { Tracker } from "./tracker.ts";

export const spoolDirKeys = {
  spoolDir: key.path("directory whose complete files are ingested (a relative path is resolved against the working directory)", { use: "readableDir", required: true }),
  fileSuffix: key.string("appended to a fully ingested file's name (trackingPolicy = rename)", { default: ".COMPLETED" }),
  deletePolicy: key.enum("`never`, or `immediate`: delete a file once all its events are safe", ["never", "immediate"], { default: "never" }),
  fileHeader: key.bool("add the file's absolute path as a header", { default: false }),
  fileHeaderKey: key.string("header name for fileHeader", { default: "file" }),
  basenameHeader: key.bool("add the file's name as a header", { default: false }),
  basenameHeaderKey: key.string("header name for basenameHeader", { default: "basename" }),
  includePattern: key.regex("file names to ingest", { default: /^.*$/ }),
  ignorePattern: key.regex("file names to skip (wins over includePattern)", { default: /^$/ }),
  trackerDir: key.string("progress and markers (relative to spoolDir unless absolute)", { default: ".flumespool" }),
  trackingPolicy: key.enum("`rename` a done file, or leave it and mark it in trackerDir (`tracker_dir`)", ["rename", "tracker_dir"], { default: "rename" }),
  consumeOrder: key.enum("which file next, by modification time", ["oldest", "youngest", "random"], { default: "oldest" }),
  pollDelay: key.duration("pause between directory polls when there is nothing to read (a directory watch ends it early)", { default: 500, unit: "ms", min: 1 }),
  recursiveDirectorySearch: key.bool("ingest files in subdirectories too", { default: false }),
  maxBackoff: key.duration("longest pause when the channel is full", { default: 4000, unit: "ms", min: 1 }),
  batchSize: key.int("events per channel put", { default: 100, min: 1 }),
  inputCharset: key.string("charset of the files (LINE re-encodes to UTF-8)", { default: "UTF-8" }),
  decodeErrorPolicy: key.enum("bytes invalid in inputCharset: `FAIL` (set the file aside), `REPLACE` (U+FFFD), `IGNORE` (drop them)", ["FAIL", "REPLACE", "IGNORE"], { default: "FAIL" }),
  deserializer: {
    ...key.enum("`LINE`: an event per line; `BLOB`: the whole file as one event; `AVRO`: an event per record of an Avro container file. Flume's class names for them are accepted too", ["LINE", "BLOB", "AVRO"], { default: "LINE" }),
    parse: parseDeserializerName,
  },
  "deserializer.schemaType": key.enum("AVRO: name the schema in each event by `HASH` (header flume.avro.schema.hash, its CRC-64-AVRO fingerprint in hex) or `LITERAL` (header flume.avro.schema.literal, its JSON)", ["HASH", "LITERAL"], { default: "HASH" }),
  "deserializer.maxLineLength": key.int("longest line in bytes (Flume counts characters); the rest of a longer line is dropped (header truncated=true)", { default: 2048, min: 1 }),
  "deserializer.outputCharset": key.string("charset of LINE event bodies (UTF-8 only)", { default: "UTF-8" }),
  "deserializer.maxBlobLength": key.int("largest BLOB event in bytes; a longer file becomes several events", { default: 100_000_000, min: 1 }),
};
export type SpoolDirConfig = ConfigOf<typeof spoolDirKeys>;

export const spoolDirSourceType = defineType({
  kind: "source",
  names: ["spooldir", "org.apache.flume.source.SpoolDirectorySource"],
  keys: spoolDirKeys,
  check(cfg, report) {
    const bad = checkLineCharset(cfg.inputCharset);
    if (bad && cfg.deserializer === "LINE") report("inputCharset", bad);
    if (!/^utf-?8$/i.test(cfg["deserializer.outputCharset"])) {
      report("deserializer.outputCharset", `deserializer.outputCharset "${cfg["deserializer.outputCharset"]}" is not supported: sluice writes UTF-8 bodies`);
    }
    if (cfg.fileSuffix === "" && cfg.trackingPolicy === "rename" && cfg.deletePolicy === "never") {
      report("fileSuffix", `fileSuffix must not be empty with trackingPolicy = rename and deletePolicy = never (a done file would look new)`);
    }
  },
  create(cfg, ctx: ComponentContext, deps) {
    return new SpoolDirSource(
      ctx.name,
      {
        spoolDir: cfg.spoolDir,
        trackerDir: resolveTrackerDir(cfg.spoolDir, cfg.trackerDir),
        fileSuffix: cfg.fileSuffix,
        deletePolicy: cfg.deletePolicy,
        trackingPolicy: cfg.trackingPolicy,
        consumeOrder: cfg.consumeOrder,
        includePattern: cfg.includePattern,
        ignorePattern: cfg.ignorePattern,
        recursive: cfg.recursiveDirectorySearch,
        batchSize: cfg.batchSize,
        fileHeaderKey: cfg.fileHeader ? cfg.fileHeaderKey : undefined,
        basenameHeaderKey: cfg.basenameHeader ? cfg.basenameHeaderKey : undefined,
        deserializer: cfg.deserializer,
        avroSchemaType: cfg["deserializer.schemaType"],
        maxLineLength: cfg["deserializer.maxLineLength"],
        maxBlobLength: cfg["deserializer.maxBlobLength"],
        inputCharset: cfg.inputCharset,
        decodeErrorPolicy: cfg.decodeErrorPolicy,
        backoff: { incrementMs: cfg.pollDelay, maxMs: Math.max(cfg.pollDelay, cfg.maxBackoff) },
      },
      deps.processor,
      ctx.log,
      ctx.once,
    );
  },
  /** Read-only: files waiting in the directory, and the one in progress with its safe offset. */
  async inspect(cfg): Promise<InspectReport> {
    await initCrc32c();
    const trackerDir = resolveTrackerDir(cfg.spoolDir, cfg.trackerDir);
    // Status reads, never refuses: an unusable record shows as no file in progress (the agent's start names it).
    const progress = await new Tracker(trackerDir).load().catch(() => undefined);
    const items: Array<Record<string, string | number | null>> = [];
    let pendingBytes = 0;
    const tracker = new Tracker(trackerDir);
    const files: Candidate[] = [];
    // The same listing the source picks from: set-aside files and subdirectories (recursive) as it sees them.
    await listCandidates({ ...cfg, trackerDir, recursive: cfg.recursiveDirectorySearch }, tracker, cfg.spoolDir, files);
    for (const f of files.sort((a, b) => (a.rel < b.rel ? -1 : a.rel > b.rel ? 1 : 0))) {
      const inProgress = typeof progress === "object" && progress.path === f.rel && progress.ino === f.ino;
      const offset = inProgress ? progress.offset : 0;
      pendingBytes += f.size - offset;
      items.push({ file: f.rel, size: f.size, offset, state: inProgress ? "in progress" : "pending" });
    }
    return {
      summary: { spoolDir: cfg.spoolDir, trackerDir, pending: items.length, bytesBehind: pendingBytes, tracker: typeof progress === "string" ? `unusable: ${progress}` : progress ? progress.path : null },
      items,
    };
  },
});
