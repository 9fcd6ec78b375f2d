// The TAILDIR source type (Flume's TaildirSource): its key table, cross-field checks, factory and status view.
// The run-time work is in source.ts; the position file format in position-file.ts.

import { dirname, basename, isAbsolute, join, resolve } from "node:path";
import type { ComponentContext } from "../../core/component.ts";
import { defineType, type InspectReport } from "../../core/component-type.ts";
import { describeError, ValueError } from "../../core/errors.ts";
import { key, type ConfigOf, type RawValue } from "../../core/keys.ts";
import { initCrc32c } from "../../util/crc.ts";
import { nextRun } from "./plan.ts";
import { readPositions } from "./position-file.ts";
import type { FileGroup } from "./settings.ts";
import { TaildirSource } from "./source.ts";

export const taildirKeys = {
  filegroups: key.list("space-separated names of file groups", { required: true }),
  filegroupPaths: key.prefixed("`filegroups.<g>`: path of group g (a relative directory is resolved against the working directory); the directory part is literal, the file name part a regex matched against whole names", "filegroups"),
  positionFile: key.path("JSON position file (Flume's format)", { use: "writtenFile", defaultText: "`<state-dir>/<agent>/<source>/taildir_position.json`" }),
  headers: key.prefixed("`headers.<g>.<key>`: static header added to every event of group g"),
  byteOffsetHeader: key.bool("add header `byteoffset` = offset of the line's first byte", { default: false }),
  skipToEnd: key.bool("files not in the position file at start are read from their end", { default: false }),
  idleTimeout: key.duration("close a file not modified for this long (reopened when it changes)", { default: 120_000, unit: "ms" }),
  writePosInterval: key.duration("how often the position file is fsynced (it is rewritten, without fsync, as batches become safe)", { default: 3000, unit: "ms", min: 1 }),
  batchSize: key.int("lines per channel put", { default: 100, min: 1 }),
  maxBatchCount: key.int("batches read from one file in a row before the next file's turn", { default: Number.MAX_SAFE_INTEGER, min: 1, defaultText: "no limit" }),
  backoffSleepIncrement: key.duration("back-off step when no file has new lines (a directory watch ends it early)", { default: 1000, unit: "ms" }),
  maxBackoffSleep: key.duration("longest back-off", { default: 5000, unit: "ms" }),
  cachePatternMatching: key.bool("list a directory again only when its modification time changed", { default: true }),
  fileHeader: key.bool("add the file's absolute path as a header", { default: false }),
  fileHeaderKey: key.string("header name for fileHeader", { default: "file" }),
  maxLineLength: key.bytes("sluice: longest line kept, in bytes (see lineOverflowPolicy)", { default: 1024 * 1024, min: 1 }),
  lineOverflowPolicy: key.enum("sluice: a longer line is `truncate`d (header truncated=true, the rest dropped) or `split` into pieces", ["truncate", "split"], { default: "truncate" }),
  emitPartialLineOnIdle: key.bool("sluice: on idle close, emit a last line that has no newline yet", { default: false }),
  readBufferSize: key.bytes("sluice: largest single read (bench/taildir.ts: 256 KiB reads gave the best speed and footprint)", { default: 256 * 1024, min: 4096 }),
  "multiline.pattern": key.regex("sluice: lines that belong to a neighbouring line (Filebeat's multiline.pattern)"),
  "multiline.negate": key.bool("sluice: invert multiline.pattern", { default: false }),
  "multiline.match": key.enum("sluice: `after` — matching lines join the line before; `before` — they join the line after", ["after", "before"], { default: "after" }),
  "multiline.maxLines": key.int("sluice: most lines in one record (the rest are dropped, header truncated=true)", { default: 500, min: 1 }),
  "multiline.timeout": key.duration("sluice: a record waiting for more lines is emitted after this much silence", { default: 5000, unit: "ms", min: 1 }),
};
export type TaildirConfig = ConfigOf<typeof taildirKeys>;

const POSITION_FILE_NAME = "taildir_position.json";

/** `filegroups.<g>` → directory + whole-name regex; throws a ValueError naming the problem. */
export function parseGroupPath(path: string): { dir: string; pattern: RegExp } {
  // Relative: against the working directory, as Flume resolves it (the directory part only: the name is a regex).
  const dir = isAbsolute(path) ? dirname(path) : resolve(dirname(path));
  const name = basename(path);
  if (name === "") throw new ValueError(`names no file pattern: "${path}"`);
  try {
    return { dir, pattern: new RegExp(`^(?:${name})$`) };
  } catch (e) {
    throw new ValueError(`the file name part "${name}" is not a valid regular expression: ${(e as Error).message}`);
  }
}

function groupHeaders(headers: Record<string, RawValue>, group: string): Record<string, string> {
  const out: Record<string, string> = {};
  for (const [k, v] of Object.entries(headers)) if (k.startsWith(group + ".")) out[k.slice(group.length + 1)] = v.value;
  return out;
}

function groupsOf(cfg: TaildirConfig): FileGroup[] {
  return cfg.filegroups.map((name) => {
    const spec = cfg.filegroupPaths[name]!.value.trim();
    return { name, spec, ...parseGroupPath(spec), headers: groupHeaders(cfg.headers, name) };
  });
}

function positionFileOf(cfg: TaildirConfig, ctx: ComponentContext): string {
  return cfg.positionFile ?? join(ctx.stateDir, POSITION_FILE_NAME);
}

export const taildirSourceType = defineType({
  kind: "source",
  names: ["TAILDIR", "org.apache.flume.source.taildir.TaildirSource"],
  keys: taildirKeys,
  check(cfg, report) {
    for (const g of cfg.filegroups) {
      const raw = cfg.filegroupPaths[g];
      if (!raw) {
        report("filegroups", `file group "${g}" has no path: set filegroups.${g} = /dir/file-regex`);
        continue;
      }
      try {
        parseGroupPath(raw.value.trim());
      } catch (msg) {
        report(`filegroups.${g}`, msg instanceof ValueError ? msg.detail : describeError(msg));
      }
    }
    for (const g of Object.keys(cfg.filegroupPaths)) {
      if (!cfg.filegroups.includes(g)) report(`filegroups.${g}`, `file group "${g}" is not listed in filegroups (${cfg.filegroups.join(" ")})`);
    }
    for (const k of Object.keys(cfg.headers)) {
      const g = k.split(".")[0]!;
      if (!k.includes(".") || !cfg.filegroups.includes(g)) report(`headers.${k}`, `expected headers.<group>.<header> with a group of filegroups (${cfg.filegroups.join(" ")})`);
    }
    if (cfg.maxBackoffSleep < cfg.backoffSleepIncrement) {
      report("maxBackoffSleep", `maxBackoffSleep (${cfg.maxBackoffSleep} ms) must be ≥ backoffSleepIncrement (${cfg.backoffSleepIncrement} ms)`);
    }
    if (cfg["multiline.pattern"] === undefined) {
      for (const k of ["multiline.negate", "multiline.match", "multiline.maxLines", "multiline.timeout"] as const) {
        if (cfg[k] !== taildirKeys[k].default) report(k, `${k} has no effect without multiline.pattern`);
      }
    }
  },
  create(cfg, ctx: ComponentContext, deps) {
    const groups = groupsOf(cfg);
    const pattern = cfg["multiline.pattern"];
    return new TaildirSource(
      ctx.name,
      {
        groups,
        positionFile: positionFileOf(cfg, ctx),
        skipToEnd: cfg.skipToEnd,
        idleTimeoutMs: cfg.idleTimeout,
        writePosIntervalMs: cfg.writePosInterval,
        maxBatchCount: cfg.maxBatchCount,
        cachePatternMatching: cfg.cachePatternMatching,
        fileHeaderKey: cfg.fileHeader ? cfg.fileHeaderKey : undefined,
        backoff: { incrementMs: cfg.backoffSleepIncrement, maxMs: cfg.maxBackoffSleep },
        batchSize: cfg.batchSize,
        maxLineLength: cfg.maxLineLength,
        overlong: cfg.lineOverflowPolicy,
        readBytes: cfg.readBufferSize,
        byteOffsetHeader: cfg.byteOffsetHeader,
        emitPartialOnIdle: cfg.emitPartialLineOnIdle,
        multiline: pattern && {
          pattern,
          negate: cfg["multiline.negate"],
          match: cfg["multiline.match"],
          maxLines: cfg["multiline.maxLines"],
          maxBytes: cfg.maxLineLength,
          timeoutMs: cfg["multiline.timeout"],
        },
      },
      deps.processor,
      ctx.log,
      ctx.once,
    );
  },
  /**
   * Read-only: what the next run will read — every matching file (new ones too) from where it will resume, and
   * files renamed out of the pattern while stopped — found the way the source finds them (plan.ts).
   */
  async inspect(cfg, ctx): Promise<InspectReport> {
    await initCrc32c();
    const file = positionFileOf(cfg, ctx);
    const { files, gone } = await nextRun(groupsOf(cfg), await readPositions(file), cfg.skipToEnd);
    const behind = files.reduce((n, f) => n + f.lag, 0);
    return { summary: { positionFile: file, files: files.length, bytesBehind: behind, ...(gone > 0 ? { recordsOfGoneFiles: gone } : {}) }, items: files.map((f) => ({ ...f })) };
  },
});
