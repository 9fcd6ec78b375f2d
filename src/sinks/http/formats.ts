// Request bodies of the http sink, chosen once per sink: `json` (Flume's JSONHandler array
// `[{"headers":{…},"body":"…"}]`), `ndjson` (one such object per line) or `avro` (see src/avro/container.ts).
// json/ndjson bodies are decoded as UTF-8 text, as Flume's JSONHandler expects; avro keeps arbitrary bytes.

import type { Event } from "../../core/event.ts";
import { encodeAvroContainer } from "../../avro/container.ts";
import { bodyTexts } from "../../util/text.ts";

export type Format = "json" | "ndjson" | "avro";

export const CONTENT_TYPES: Record<Format, string> = {
  json: "application/json; charset=UTF-8",
  ndjson: "application/x-ndjson; charset=UTF-8",
  avro: "avro/binary",
};

const encoder = new TextEncoder();

function jsonObjects(events: readonly Event[]): Array<{ headers: Record<string, string>; body: string }> {
  const texts = bodyTexts(events);
  return events.map((e, i) => ({ headers: e.headers, body: texts[i]! }));
}

export function encoderFor(format: Format): (events: readonly Event[]) => Uint8Array {
  switch (format) {
    case "json":
      return (events) => encoder.encode(JSON.stringify(jsonObjects(events)));
    case "ndjson":
      return (events) => encoder.encode(jsonObjects(events).map((o) => JSON.stringify(o)).join("\n") + "\n");
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
