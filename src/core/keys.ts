// Typed config keys: each component declares one table of its keys (Flume's spelling, type, default, unit, doc) and
// parses it here. Parsing collects every problem with file:line and key instead of stopping at the first.

import { isAbsolute, resolve } from "node:path";
import { describeError, ValueError, type ConfigProblem } from "./errors.ts";

/** One key as written in the file, relative to its component (`capacity`, `selector.type`). */
export interface RawValue {
  value: string;
  line: number;
}

/** A component's slice of the properties file. */
export interface ComponentConfig {
  /** `source`, `channel`, `sink`, `sinkgroup`, `interceptor`, `selector`, `processor`. */
  kind: string;
  name: string;
  /** The full key prefix, e.g. `a1.channels.c1.`, for messages. */
  prefix: string;
  file: string;
  props: Map<string, RawValue>;
}

export interface KeyDef<T, Optional extends boolean = boolean> {
  readonly kind: string;
  readonly doc: string;
  readonly default?: T;
  readonly required?: boolean;
  /** Human text for the default in docs when it is computed (e.g. "80 % of memory"). */
  readonly defaultText?: string;
  /** Parses the raw string; throws a ValueError (no key, no place: parseKeys adds them) on bad input. */
  parse(raw: string): T;
  readonly optional?: Optional;
  /** For lists: what separates the items (default whitespace or commas). */
  readonly separator?: RegExp;
  /** Other spellings accepted for the key (Flume aliases). */
  readonly aliases?: readonly string[];
  /** A map of every key below `name.` (e.g. `headers.` → { "g1.host": "x" }). */
  readonly prefix?: boolean;
  /** For a prefix key: the prefix when it differs from the entry's name (Flume's `filegroups` list + `filegroups.<g>`). */
  readonly under?: string;
  /** The value names a path the component will use this way: `sluice validate` checks it without starting. */
  readonly use?: PathUse;
}

/**
 * How a component uses a path key, for checks before start: `readableDir` must exist and be listable; `createdDir`
 * is created if missing (so it, or its nearest existing parent, must be a writable directory); `writtenFile` is a
 * file written in place (never a directory; its directory creatable); `readableFile` must exist and be readable.
 */
export type PathUse = "readableDir" | "createdDir" | "writtenFile" | "readableFile";

export type KeySpec = Record<string, KeyDef<unknown>>;

export type ConfigOf<S extends KeySpec> = {
  -readonly [K in keyof S]: S[K] extends KeyDef<infer T, infer O> ? (O extends true ? T | undefined : T) : never;
};

interface Common<T> {
  default?: T;
  required?: boolean;
  defaultText?: string;
  aliases?: readonly string[];
  use?: PathUse;
}
type Out<T, O> = O extends { default: unknown } | { required: true } ? KeyDef<T, false> : KeyDef<T, true>;

function def<T, O extends Common<T>>(kind: string, doc: string, o: O | undefined, parse: (raw: string) => T): Out<T, O> {
  return { kind, doc, parse, ...(o ?? {}) } as unknown as Out<T, O>;
}

/** An absolute path as is; a relative one against the working directory. */
export function resolvePath(raw: string): string {
  return isAbsolute(raw) ? raw : resolve(raw);
}

/** The relative paths a `path` or `paths` key's raw value holds (what the loader warns about). */
export function relativePaths(d: KeyDef<unknown>, raw: string): string[] {
  if (d.kind === "path") return isAbsolute(raw.trim()) ? [] : [raw.trim()];
  if (d.kind === "paths") return splitList(raw, d.separator).filter((p) => !isAbsolute(p));
  return [];
}

const INT_RE = /^[+-]?\d+$/;

function parseInteger(raw: string, min?: number, max?: number): number {
  const s = raw.trim().replace(/_/g, "");
  if (!INT_RE.test(s)) throw new ValueError(`expected a whole number, got "${raw}"`);
  const n = Number(s);
  if (!Number.isSafeInteger(n)) throw new ValueError(`"${raw}" is out of range`);
  checkBounds(n, raw, min, max);
  return n;
}

function checkBounds(n: number, raw: string, min?: number, max?: number): void {
  if (min !== undefined && n < min) throw new ValueError(`must be at least ${min}, got ${raw.trim()}`);
  if (max !== undefined && n > max) throw new ValueError(`must be at most ${max}, got ${raw.trim()}`);
}

const DURATION_UNITS: Record<string, number> = { ms: 1, s: 1000, sec: 1000, m: 60_000, min: 60_000, h: 3_600_000, d: 86_400_000 };

/** `500ms`, `3s`, `2m`, `1h`, or a bare number in the key's own unit (Flume's keys differ: ms for most, s for some). */
export function parseDuration(raw: string, unit: "ms" | "s"): number {
  const m = /^\s*(\d+(?:\.\d+)?)\s*([a-z]*)\s*$/i.exec(raw);
  if (!m) throw new ValueError(`expected a duration such as 500ms, 3s or 2m (a bare number means ${unit === "ms" ? "milliseconds" : "seconds"}), got "${raw}"`);
  const suffix = m[2]!.toLowerCase();
  const mult = suffix === "" ? DURATION_UNITS[unit]! : DURATION_UNITS[suffix];
  if (mult === undefined) throw new ValueError(`unknown duration unit "${m[2]}" in "${raw}" (use ms, s, m, h or d)`);
  return Math.round(Number(m[1]) * mult);
}

const BYTE_UNITS: Record<string, number> = {
  "": 1, b: 1, k: 1024, kb: 1024, kib: 1024, m: 1024 ** 2, mb: 1024 ** 2, mib: 1024 ** 2,
  g: 1024 ** 3, gb: 1024 ** 3, gib: 1024 ** 3, t: 1024 ** 4, tb: 1024 ** 4, tib: 1024 ** 4,
};

/** `1048576`, `512k`, `64MiB`, `1.5g` (binary units). */
export function parseBytes(raw: string): number {
  const m = /^\s*(\d+(?:\.\d+)?)\s*([a-z]*)\s*$/i.exec(raw.replace(/_/g, ""));
  const mult = m ? BYTE_UNITS[m[2]!.toLowerCase()] : undefined;
  if (!m || mult === undefined) throw new ValueError(`expected a size such as 1048576, 512k or 64MiB, got "${raw}"`);
  return Math.floor(Number(m[1]) * mult);
}

/** Names separated by whitespace or commas (Flume's lists), empty ones dropped. */
export function splitList(raw: string, separator: RegExp = /[\s,]+/): string[] {
  return raw.split(separator).filter((s) => s.length > 0);
}

export const key = {
  string<const O extends Common<string>>(doc: string, o?: O) {
    return def<string, O>("string", doc, o, (raw) => raw);
  },
  int<const O extends Common<number> & { min?: number; max?: number; unit?: string }>(doc: string, o?: O) {
    return def<number, O>("int", doc, o, (raw) => parseInteger(raw, o?.min, o?.max));
  },
  number<const O extends Common<number> & { min?: number; max?: number }>(doc: string, o?: O) {
    return def<number, O>("number", doc, o, (raw) => {
      const n = Number(raw.trim());
      if (raw.trim() === "" || !Number.isFinite(n)) throw new ValueError(`expected a number, got "${raw}"`);
      checkBounds(n, raw, o?.min, o?.max);
      return n;
    });
  },
  bool<const O extends Common<boolean>>(doc: string, o?: O) {
    return def<boolean, O>("bool", doc, o, (raw) => {
      const s = raw.trim().toLowerCase();
      if (s === "true") return true;
      if (s === "false") return false;
      throw new ValueError(`expected true or false, got "${raw}"`);
    });
  },
  /** Parsed to milliseconds; `unit` is what a bare number means. */
  duration<const O extends Common<number> & { unit: "ms" | "s"; min?: number }>(doc: string, o: O) {
    return def<number, O>("duration", doc, o, (raw) => {
      const ms = parseDuration(raw, o.unit);
      if (o.min !== undefined && ms < o.min) throw new ValueError(`must be at least ${o.min} ms, got ${raw.trim()}`);
      return ms;
    });
  },
  bytes<const O extends Common<number> & { min?: number }>(doc: string, o?: O) {
    return def<number, O>("bytes", doc, o, (raw) => {
      const n = parseBytes(raw);
      if (o?.min !== undefined && n < o.min) throw new ValueError(`must be at least ${o.min} bytes, got ${raw.trim()}`);
      return n;
    });
  },
  /** Case-insensitive choice; the value is returned in the spelling of `values`. */
  enum<const V extends readonly string[], const O extends Common<V[number]>>(doc: string, values: V, o?: O) {
    return def<V[number], O>(`enum(${values.join("|")})`, doc, o, (raw) => {
      const hit = values.find((v) => v.toLowerCase() === raw.trim().toLowerCase());
      if (hit === undefined) throw new ValueError(`expected one of ${values.join(", ")}, got "${raw}"`);
      return hit;
    });
  },
  regex<const O extends Common<RegExp>>(doc: string, o?: O) {
    return def<RegExp, O>("regex", doc, o, (raw) => {
      try {
        return new RegExp(raw);
      } catch (e) {
        throw new ValueError(`invalid regular expression "${raw}": ${(e as Error).message}`);
      }
    });
  },
  /**
   * A file or directory. A relative path is resolved against the working directory at load, as Flume (Java's File)
   * does; the loader warns naming file:line, since it then depends on where the agent was started.
   */
  path<const O extends Common<string>>(doc: string, o?: O) {
    return def<string, O>("path", doc, o, (raw) => resolvePath(raw));
  },
  /** Several paths (`separator`, default whitespace or commas), each resolved as `path` is. */
  paths<const O extends Common<string[]> & { separator?: RegExp }>(doc: string, o?: O) {
    return def<string[], O>("paths", doc, o, (raw) => splitList(raw, o?.separator).map(resolvePath));
  },
  /** Whitespace- (or comma-) separated names. */
  list<const O extends Common<string[]> & { separator?: RegExp }>(doc: string, o?: O) {
    return def<string[], O>("list", doc, o, (raw) => splitList(raw, o?.separator));
  },
  /** Every key under `name.`: values stay raw strings keyed by the rest of the key. */
  prefixed(doc: string, under?: string): KeyDef<Record<string, RawValue>, false> {
    return { kind: "map", doc, prefix: true, under, default: {}, parse: () => ({}) };
  },
};

export interface ParseResult<S extends KeySpec> {
  config: ConfigOf<S>;
  /** Keys the spec did not claim (after the loader removed the structural ones). */
  unknown: string[];
}

/**
 * Parses a component's keys. Problems go to `problems` (every one, with file:line and the full key); a key with a bad
 * value falls back to its default so later checks still run. Keys listed in `claimed` are someone else's (e.g. `type`).
 */
export function parseKeys<S extends KeySpec>(
  spec: S,
  comp: ComponentConfig,
  problems: ConfigProblem[],
  claimed: (k: string) => boolean = () => false,
): ParseResult<S> {
  const out: Record<string, unknown> = {};
  const used = new Set<string>();
  for (const [name, d] of Object.entries(spec)) {
    if (d.prefix) {
      const map: Record<string, RawValue> = {};
      const p = (d.under ?? name) + ".";
      for (const [k, v] of comp.props) {
        if (k.startsWith(p)) {
          map[k.slice(p.length)] = v;
          used.add(k);
        }
      }
      out[name] = map;
      continue;
    }
    let raw: RawValue | undefined;
    let spelled = name;
    for (const n of [name, ...(d.aliases ?? [])]) {
      const v = comp.props.get(n);
      if (v) {
        used.add(n);
        if (!raw) {
          raw = v;
          spelled = n;
        }
      }
    }
    if (!raw || (raw.value.trim() === "" && d.kind !== "string")) {
      if (d.required) {
        problems.push({ where: raw ? `${comp.file}:${raw.line}` : comp.file, key: comp.prefix + name, message: `required by ${comp.kind} ${comp.name} but ${raw ? "empty" : "not set"}` });
      }
      out[name] = d.default;
      continue;
    }
    try {
      out[name] = d.parse(raw.value.trim());
    } catch (msg) {
      problems.push({ where: `${comp.file}:${raw.line}`, key: comp.prefix + spelled, message: typeof msg === "string" ? msg : msg instanceof ValueError ? msg.detail : describeError(msg) });
      out[name] = d.default;
    }
  }
  const unknown = [...comp.props.keys()].filter((k) => !used.has(k) && !claimed(k));
  return { config: out as ConfigOf<S>, unknown };
}

/**
 * Closest candidate by edit distance, for "did you mean" hints; undefined when nothing is close. Names that differ
 * only in their digits (`k3` and `k1`, Flume's usual numbering) are different components, not typos: never suggested.
 */
export function closest(word: string, candidates: Iterable<string>): string | undefined {
  let best: string | undefined;
  let bestD = Math.max(2, Math.floor(word.length / 3)) + 1;
  const letters = (s: string) => s.toLowerCase().replace(/\d+/g, "#");
  for (const c of candidates) {
    if (c.toLowerCase() !== word.toLowerCase() && letters(c) === letters(word)) continue;
    const d = editDistance(word.toLowerCase(), c.toLowerCase());
    if (d < bestD) {
      best = c;
      bestD = d;
    }
  }
  return best;
}

function editDistance(a: string, b: string): number {
  const prev = Array.from({ length: b.length + 1 }, (_, i) => i);
  for (let i = 1; i <= a.length; i++) {
    let diag = prev[0]!;
    prev[0] = i;
    for (let j = 1; j <= b.length; j++) {
      const tmp = prev[j]!;
      prev[j] = Math.min(prev[j]! + 1, prev[j - 1]! + 1, diag + (a[i - 1] === b[j - 1] ? 0 : 1));
      diag = tmp;
    }
  }
  return prev[b.length]!;
}
