// Request bodies of the http sink, chosen once per sink: `json` (Flume's JSONHandler array
// `[{"headers":{…},"body":"…"}]`), `ndjson` (one such object per line) or `avro` (see avro-container.ts).
// json/ndjson bodies are decoded as UTF-8 text, as Flume's JSONHandler expects; avro keeps arbitrary bytes.

import type { Event } from "../../core/event.ts";
import { encodeAvroContainer } from "./avro-container.ts";

export type Format = "json" | "ndjson" | "avro";

export const CONTENT_TYPES: Record<Format, string> = {
  json: "application/json; charset=UTF-8",
  ndjson: "application/x-ndjson; charset=UTF-8",
  avro: "avro/binary",
};

const decoder = new TextDecoder();
const encoder = new TextEncoder();

function eventJson(e: Event): string {
  let h = "{}";
  for (const _ in e.headers) {
    h = JSON.stringify(e.headers);
    break;
  }
  return `{"headers":${h},"body":${JSON.stringify(decoder.decode(e.body))}}`;
}

export function encoderFor(format: Format): (events: readonly Event[]) => Uint8Array {
  switch (format) {
    case "json":
      return (events) => encoder.encode(`[${events.map(eventJson).join(",")}]`);
    case "ndjson":
      return (events) => encoder.encode(events.map(eventJson).join("\n") + "\n");
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
