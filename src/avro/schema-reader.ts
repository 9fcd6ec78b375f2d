// Bounded decoding of Avro data written with a schema the peer or the file declares (an object container's writer
// schema). avsc parses and checks the schema itself — that is JSON we hold whole — but its decoders trust declared
// counts: a 261-byte body declaring a 2^27-entry map held the event loop for seconds. Here every value is read
// through codec.ts's Reader, so every length and block count is bounded by the bytes actually present, and nesting
// is bounded too (a recursive schema could otherwise recurse once per byte).

import type avro from "avsc";
import { Reader } from "./codec.ts";
import { AvroProtocolError } from "./errors.ts";

/** Reads one value at the reader's position. Maps and records come back as objects without a prototype. */
export type ReadFn = (r: Reader) => unknown;

/** How deep records, arrays, maps and unions may nest in one value; far beyond any real schema. */
export const MAX_NESTING = 64;

let depth = 0;

function nested<T>(read: (r: Reader) => T): (r: Reader) => T {
  return (r) => {
    if (++depth > MAX_NESTING) {
      depth = 0;
      throw new AvroProtocolError(`values nest deeper than ${MAX_NESTING} levels`);
    }
    try {
      return read(r);
    } finally {
      if (depth > 0) depth--;
    }
  };
}

type Typed = avro.Type & {
  fields?: Array<{ name: string; type: avro.Type }>;
  itemsType?: avro.Type;
  valuesType?: avro.Type;
  types?: avro.Type[];
  symbols?: string[];
  size?: number;
};

/** The fewest bytes a value of `type` can take (a lower bound; recursive types count 0 for the recursion). */
export function minBytes(type: avro.Type, seen = new Set<avro.Type>()): number {
  const t = type as Typed;
  switch (t.typeName) {
    case "null":
      return 0;
    case "float":
      return 4;
    case "double":
      return 8;
    case "fixed":
      return t.size!;
    case "record":
    case "error": {
      if (seen.has(t)) return 0;
      seen.add(t);
      let n = 0;
      for (const f of t.fields!) n += minBytes(f.type, seen);
      seen.delete(t);
      return n;
    }
    default:
      // boolean, int, long, enum, bytes, string, array, map, unions: at least one byte each.
      return 1;
  }
}

/** Compiles a parsed schema into a bounded read function (memoised per type, so recursive schemas terminate). */
export function compileReader(type: avro.Type, memo = new Map<avro.Type, ReadFn>()): ReadFn {
  const known = memo.get(type);
  if (known) return known;
  const t = type as Typed;
  let fn: ReadFn;
  switch (t.typeName) {
    case "null":
      fn = () => null;
      break;
    case "boolean":
      fn = (r) => r.boolean();
      break;
    case "int":
    case "long":
      fn = (r) => r.long();
      break;
    case "float":
      fn = (r) => {
        const b = r.fixed(4);
        return new DataView(b.buffer, b.byteOffset, 4).getFloat32(0, true);
      };
      break;
    case "double":
      fn = (r) => {
        const b = r.fixed(8);
        return new DataView(b.buffer, b.byteOffset, 8).getFloat64(0, true);
      };
      break;
    case "bytes":
      fn = (r) => r.bytes();
      break;
    case "string":
      fn = (r) => r.string();
      break;
    case "fixed": {
      const size = t.size!;
      fn = (r) => r.fixed(size);
      break;
    }
    case "enum": {
      const symbols = t.symbols!;
      fn = (r) => symbols[r.union(symbols.length)];
      break;
    }
    case "array": {
      let item: ReadFn | undefined;
      const min = minBytes(t.itemsType!);
      fn = nested((r) => {
        item ??= compileReader(t.itemsType!, memo);
        const out: unknown[] = [];
        for (let n = r.block("array block", min); n > 0; n = r.block("array block", min)) {
          for (let i = 0; i < n; i++) out.push(item(r));
        }
        return out;
      });
      break;
    }
    case "map": {
      let value: ReadFn | undefined;
      const min = 1 + minBytes(t.valuesType!);
      fn = nested((r) => {
        value ??= compileReader(t.valuesType!, memo);
        const out: Record<string, unknown> = Object.create(null);
        for (let n = r.block("map block", min); n > 0; n = r.block("map block", min)) {
          for (let i = 0; i < n; i++) {
            const k = r.string();
            out[k] = value(r);
          }
        }
        return out;
      });
      break;
    }
    case "record":
    case "error": {
      let fields: Array<[string, ReadFn]> | undefined;
      fn = nested((r) => {
        fields ??= t.fields!.map((f) => [f.name, compileReader(f.type, memo)]);
        const out: Record<string, unknown> = Object.create(null);
        for (const [name, read] of fields) out[name] = read(r);
        return out;
      });
      break;
    }
    default: {
      if (!t.types) throw new AvroProtocolError(`unsupported Avro type "${t.typeName}"`);
      // A union: the branch index, then that branch's value (unwrapped: the value alone).
      const branches = t.types;
      let reads: ReadFn[] | undefined;
      fn = nested((r) => {
        reads ??= branches.map((b) => compileReader(b, memo));
        return reads[r.union(reads.length)]!(r);
      });
    }
  }
  memo.set(type, fn);
  return fn;
}

/** Reads a whole value from `bytes`; throws AvroProtocolError when it is malformed or bytes are left over. */
export function readValue(read: ReadFn, bytes: Uint8Array): unknown {
  const r = new Reader(bytes);
  const v = read(r);
  if (r.left !== 0) throw new AvroProtocolError(`${r.left} bytes left after the value`);
  return v;
}
