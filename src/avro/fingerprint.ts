// Avro's CRC-64-AVRO schema fingerprint (the Rabin fingerprint of the schema's Parsing Canonical Form, Avro spec
// "Schema Fingerprints"), as Java's SchemaNormalization.parsingFingerprint("CRC-64-AVRO", s) returns it: 8 bytes,
// least significant first. Flume's AvroEventDeserializer puts its hex in the `flume.avro.schema.hash` header.
// Computed once per file, so a BigInt loop is plenty (no library offers it).

import avro from "avsc";

const EMPTY = 0xc15d213aa4d7a795n;
const MASK = 0xffffffffffffffffn;

let table: BigUint64Array | undefined;

function fpTable(): BigUint64Array {
  if (table) return table;
  table = new BigUint64Array(256);
  for (let i = 0; i < 256; i++) {
    let fp = BigInt(i);
    for (let j = 0; j < 8; j++) fp = (fp >> 1n) ^ (EMPTY & -(fp & 1n) & MASK);
    table[i] = fp;
  }
  return table;
}

/** The 64-bit Rabin fingerprint of `bytes`. */
export function rabin64(bytes: Uint8Array): bigint {
  const t = fpTable();
  let fp = EMPTY;
  for (const b of bytes) fp = (fp >> 8n) ^ t[Number((fp ^ BigInt(b)) & 0xffn)]!;
  return fp;
}

/** Parsing Canonical Form of a parsed schema (avsc's `schema()` without options is that form). */
export function canonicalForm(type: avro.Type): string {
  return JSON.stringify(type.schema());
}

/** Java's parsingFingerprint("CRC-64-AVRO") bytes as lower-case hex (Commons Codec's Hex.encodeHexString). */
export function schemaHashHex(type: avro.Type): string {
  let fp = rabin64(new TextEncoder().encode(canonicalForm(type)));
  let out = "";
  for (let i = 0; i < 8; i++) {
    out += Number(fp & 0xffn).toString(16).padStart(2, "0");
    fp >>= 8n;
  }
  return out;
}
