// The reference exchange (tests/avro/reference/*.hex, checked against Avro-Java), as bytes.

import { readFileSync } from "node:fs";
import { join } from "node:path";

function ref(name: string): Uint8Array {
  const text = readFileSync(join(import.meta.dir, "reference", name), "utf8");
  return Uint8Array.from(text.split(/\s+/).filter(Boolean).map((h) => parseInt(h, 16)));
}

/** Handshake + appendBatch of {host: web-1} hello, {seq: 2} world. */
export const REQ1 = ref("1-request-handshake-appendBatch.hex");
export const RES1 = ref("2-response-handshake-OK.hex");
/** The same batch again on the connected connection. */
export const REQ2 = ref("3-request-appendBatch.hex");
export const RES2 = ref("4-response-OK.hex");
