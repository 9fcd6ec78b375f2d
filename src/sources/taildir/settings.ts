// What a TAILDIR source is configured with, once parsed (index.ts builds it from the key table): its file groups
// and the options of discovery and reading.

import type { TailOptions } from "./reader.ts";

export interface FileGroup {
  name: string;
  /** As configured (`filegroups.<g>`), for messages. */
  spec: string;
  dir: string;
  /** Matches the whole file name (Java's Pattern.matches). */
  pattern: RegExp;
  headers: Record<string, string>;
}

export interface TaildirSettings extends TailOptions {
  groups: FileGroup[];
  positionFile: string;
  skipToEnd: boolean;
  idleTimeoutMs: number;
  writePosIntervalMs: number;
  maxBatchCount: number;
  cachePatternMatching: boolean;
  fileHeaderKey?: string;
  backoff: { incrementMs: number; maxMs: number };
}
