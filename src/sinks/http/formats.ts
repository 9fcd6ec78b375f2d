// Request bodies of the http sink, chosen once per sink: `json` (Flume's JSONHandler array
// `[{"headers":{…},"body":"…"}]`), `ndjson` (one such object per line) or `avro` (see src/avro/container.ts).
// json/ndjson bodies are UTF-8 text of the bodies, as Flume's JSONHandler expects (json-body.ts writes them from the
// bytes); avro keeps arbitrary bytes.

import type { Event } from "../../core/event.ts";
import { encodeAvroContainer } from "../../avro/container.ts";
import { encodeJson, encodeNdjson, type BufferPool } from "./json-body.ts";

export type Format = "json" | "ndjson" | "avro";

export const CONTENT_TYPES: Record<Format, string> = {
  json: "application/json; charset=UTF-8",
  ndjson: "application/x-ndjson; charset=UTF-8",
  avro: "avro/binary",
};

/** The encoder of a format; json and ndjson write into `pool`'s buffers when one is given (see BufferPool). */
export function encoderFor(format: Format, pool?: BufferPool): (events: readonly Event[]) => Uint8Array {
  switch (format) {
    case "json":
      return (events) => encodeJson(events, pool);
    case "ndjson":
      return (events) => encodeNdjson(events, pool);
    case "avro":
      return encodeAvroContainer;
  }
}

/** Bytes an event counts for against `batchBytes`: its body and header texts. */
export function eventSize(e: Event): number {
  let n = e.body.byteLength;
  for (const k in e.headers) n += k.length + e.headers[k]!.length;
  return n;
}
