// The search_replace interceptor (Flume's SearchAndReplaceInterceptor): rewrites each body, replacing every match
// of searchPattern with replaceString (`$1` refers to a group, as in Java).

import type { Interceptor } from "../core/channel-processor.ts";
import { defineType } from "../core/component-type.ts";
import type { Event } from "../core/event.ts";
import { Buffer } from "node:buffer";
import { key, type ConfigOf } from "../core/keys.ts";
import { bodyTexts } from "../util/text.ts";

export const searchReplaceKeys = {
  searchPattern: key.regex("pattern to search in the body", { required: true }),
  replaceString: key.string("replacement text ($1… for groups)", { default: "" }),
  charset: key.enum("body encoding", ["UTF-8", "UTF-16", "UTF-16LE", "ISO-8859-1", "US-ASCII"], { default: "UTF-8" }),
};

type Charset = (typeof searchReplaceKeys)["charset"] extends { parse(raw: string): infer C } ? C : never;

/** Buffer's encodings for the charsets Flume's interceptor accepts (latin1 is true ISO-8859-1, byte for byte). */
const BUFFER_ENCODING: Record<Charset, "utf8" | "utf16le" | "latin1"> = {
  "UTF-8": "utf8",
  "UTF-16": "utf16le",
  "UTF-16LE": "utf16le",
  "ISO-8859-1": "latin1",
  "US-ASCII": "latin1",
};

export class SearchReplaceInterceptor implements Interceptor {
  private readonly search: RegExp;
  private readonly replacement: string;
  private readonly texts: (events: readonly Event[]) => string[];
  private readonly encode: (s: string) => Uint8Array;

  constructor(cfg: ConfigOf<typeof searchReplaceKeys>) {
    this.search = new RegExp(cfg.searchPattern.source, "g");
    // Java writes a literal dollar as \$; JavaScript as $$.
    this.replacement = cfg.replaceString.replace(/\\\$/g, "$$$$");
    const enc = BUFFER_ENCODING[cfg.charset];
    // Java's "UTF-16" without a byte-order mark is big-endian: swap the byte pairs around a little-endian codec.
    const bigEndian = cfg.charset === "UTF-16";
    this.texts =
      enc === "utf8"
        ? bodyTexts
        : (events) => events.map((e) => (bigEndian ? Buffer.from(e.body).swap16() : Buffer.from(e.body.buffer, e.body.byteOffset, e.body.byteLength)).toString(enc));
    this.encode = (s) => {
      const b = Buffer.from(s, enc);
      return bigEndian ? b.swap16() : b;
    };
  }

  /**
   * Rewritten events are new objects: the input batch is left as it was, because a batch refused by a full channel
   * runs through the interceptors again on its retry, and rewriting it in place would replace twice.
   */
  intercept(events: Event[]): Event[] {
    const texts = this.texts(events);
    let out: Event[] | undefined;
    for (let i = 0; i < events.length; i++) {
      const text = texts[i]!;
      const replaced = text.replace(this.search, this.replacement);
      if (replaced === text) continue;
      out ??= events.slice();
      out[i] = { headers: events[i]!.headers, body: this.encode(replaced) };
    }
    return out ?? events;
  }
}

export const searchReplaceInterceptorType = defineType({
  kind: "interceptor",
  names: ["search_replace", "org.apache.flume.interceptor.SearchAndReplaceInterceptor$Builder"],
  keys: searchReplaceKeys,
  create: (cfg) => new SearchReplaceInterceptor(cfg),
});
