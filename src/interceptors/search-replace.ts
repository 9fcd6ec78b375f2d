// The search_replace interceptor (Flume's SearchAndReplaceInterceptor): rewrites each body, replacing every match
// of searchPattern with replaceString (`$1` refers to a group, as in Java).

import type { Interceptor } from "../core/channel-processor.ts";
import { defineType } from "../core/component-type.ts";
import type { Event } from "../core/event.ts";
import { key, type ConfigOf } from "../config/keys.ts";

export const searchReplaceKeys = {
  searchPattern: key.regex("pattern to search in the body", { required: true }),
  replaceString: key.string("replacement text ($1… for groups)", { default: "" }),
  charset: key.enum("body encoding", ["UTF-8", "UTF-16", "UTF-16LE", "ISO-8859-1", "US-ASCII"], { default: "UTF-8" }),
};

const encoder = new TextEncoder();

export class SearchReplaceInterceptor implements Interceptor {
  private readonly search: RegExp;
  private readonly replacement: string;
  private readonly decoder: TextDecoder;
  private readonly encode: (s: string) => Uint8Array;

  constructor(cfg: ConfigOf<typeof searchReplaceKeys>) {
    this.search = new RegExp(cfg.searchPattern.source, cfg.searchPattern.flags.includes("g") ? cfg.searchPattern.flags : cfg.searchPattern.flags + "g");
    // Java writes a literal dollar as \$; JavaScript as $$.
    this.replacement = cfg.replaceString.replace(/\\\$/g, "$$$$");
    const cs = cfg.charset;
    this.decoder = new TextDecoder((cs === "US-ASCII" ? "iso-8859-1" : cs === "UTF-16" ? "utf-16be" : cs.toLowerCase()) as ConstructorParameters<typeof TextDecoder>[0]);
    this.encode = cs === "UTF-8" ? (s) => encoder.encode(s) : cs === "ISO-8859-1" || cs === "US-ASCII" ? latin1 : cs === "UTF-16LE" ? (s) => utf16(s, true) : (s) => utf16(s, false);
  }

  intercept(events: Event[]): Event[] {
    for (const e of events) {
      const text = this.decoder.decode(e.body);
      this.search.lastIndex = 0;
      if (!this.search.test(text)) continue;
      this.search.lastIndex = 0;
      e.body = this.encode(text.replace(this.search, this.replacement));
    }
    return events;
  }
}

function latin1(s: string): Uint8Array {
  const out = new Uint8Array(s.length);
  for (let i = 0; i < s.length; i++) out[i] = s.charCodeAt(i) & 0xff;
  return out;
}

function utf16(s: string, little: boolean): Uint8Array {
  const out = new Uint8Array(s.length * 2);
  const dv = new DataView(out.buffer);
  for (let i = 0; i < s.length; i++) dv.setUint16(i * 2, s.charCodeAt(i), little);
  return out;
}

export const searchReplaceInterceptorType = defineType({
  kind: "interceptor",
  names: ["search_replace", "org.apache.flume.interceptor.SearchAndReplaceInterceptor$Builder"],
  keys: searchReplaceKeys,
  create: (cfg) => new SearchReplaceInterceptor(cfg),
});
