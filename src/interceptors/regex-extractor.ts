// The regex_extractor interceptor (Flume's RegexExtractorInterceptor): finds the first match of `regex` in the body
// and turns its groups into headers, group i named by the i-th serializer (`serializers.<s>.name`). A serializer of
// type `millis` parses the group as a date (`serializers.<s>.pattern`, Joda-style) into epoch milliseconds.

import type { Interceptor } from "../core/channel-processor.ts";
import { defineType } from "../core/component-type.ts";
import { withHeader, type Event } from "../core/event.ts";
import { key, type ConfigOf, type RawValue } from "../core/keys.ts";
import { bodyTexts } from "../util/text.ts";

export const regexExtractorKeys = {
  regex: key.regex("pattern searched in the body (decoded as UTF-8); its groups become headers", { required: true }),
  serializers: key.list("serializer names, one per regex group in order (`serializers = s1 s2`)", { default: [] }),
  serializerConf: key.prefixed("`serializers.<s>.name` (header name), `.type` (`default` or `millis`), `.pattern` (date pattern for millis)", "serializers"),
};
type Config = ConfigOf<typeof regexExtractorKeys>;

const DEFAULT_TYPES = new Set(["default", "org.apache.flume.interceptor.regexextractorinterceptorpassthroughserializer"]);
const MILLIS_TYPES = new Set(["millis", "org.apache.flume.interceptor.regexextractorinterceptormillisserializer"]);

interface Serializer {
  header: string;
  serialize: (group: string) => string | undefined;
}

export class RegexExtractorInterceptor implements Interceptor {
  private readonly regex: RegExp;
  private readonly serializers: Serializer[];

  constructor(cfg: Config) {
    this.regex = cfg.regex;
    this.serializers = cfg.serializers.map((s) => buildSerializer(s, cfg.serializerConf));
  }

  intercept(events: Event[]): Event[] {
    const n = this.serializers.length;
    if (n === 0) return events;
    const texts = bodyTexts(events);
    for (let i = 0; i < events.length; i++) {
      const e = events[i]!;
      const m = this.regex.exec(texts[i]!);
      if (!m) continue;
      for (let g = 1; g < m.length && g <= n; g++) {
        const s = this.serializers[g - 1]!;
        const raw = m[g];
        if (raw === undefined) continue;
        const v = s.serialize(raw);
        if (v !== undefined) withHeader(e, s.header, v);
      }
    }
    return events;
  }
}

function buildSerializer(name: string, conf: Record<string, RawValue>): Serializer {
  const header = conf[`${name}.name`]?.value ?? "";
  const type = (conf[`${name}.type`]?.value ?? "default").trim().toLowerCase();
  if (MILLIS_TYPES.has(type)) {
    const parse = compileDatePattern(conf[`${name}.pattern`]?.value ?? "");
    return { header, serialize: (g) => parse(g) };
  }
  return { header, serialize: (g) => g };
}

/**
 * A subset of Joda's DateTimeFormat patterns: yyyy yy MM dd HH hh mm ss SSS a Z, 'quoted text', other characters
 * literal. Without Z the time is local, as in Joda. Returns epoch ms as text, or undefined when the text does not fit.
 */
export function compileDatePattern(pattern: string): (text: string) => string | undefined {
  const fields: string[] = [];
  let re = "";
  for (let i = 0; i < pattern.length; ) {
    const c = pattern[i]!;
    if (c === "'") {
      const end = pattern.indexOf("'", i + 1);
      const lit = pattern.slice(i + 1, end < 0 ? pattern.length : end);
      re += lit === "" ? "'" : escapeRe(lit);
      i = end < 0 ? pattern.length : end + 1;
      continue;
    }
    let j = i;
    while (j < pattern.length && pattern[j] === c) j++;
    const run = pattern.slice(i, j);
    i = j;
    if ("yMdHhmsSaZ".includes(c)) {
      fields.push(c);
      re += c === "a" ? "(AM|PM|am|pm)" : c === "Z" ? "(Z|[+-]\\d\\d:?\\d\\d)" : c === "y" && run.length === 2 ? "(\\d{2})" : `(\\d{1,${Math.max(run.length, c === "y" ? 4 : c === "S" ? 3 : 2)}})`;
    } else re += escapeRe(run);
  }
  const rx = new RegExp(`^${re}$`);
  return (text) => {
    const m = rx.exec(text.trim());
    if (!m) return undefined;
    const v: Record<string, string> = {};
    fields.forEach((f, k) => (v[f] = m[k + 1]!));
    let year = Number(v.y ?? 1970);
    if (v.y?.length === 2) year += 2000;
    let hour = Number(v.H ?? v.h ?? 0);
    if (v.a && v.h) hour = (hour % 12) + (v.a.toLowerCase() === "pm" ? 12 : 0);
    const ms = v.S ? Number(v.S.padEnd(3, "0").slice(0, 3)) : 0;
    const parts = [year, Number(v.M ?? 1) - 1, Number(v.d ?? 1), hour, Number(v.m ?? 0), Number(v.s ?? 0), ms] as const;
    let t: number;
    if (v.Z) {
      t = Date.UTC(...parts);
      if (v.Z !== "Z") {
        const z = v.Z.replace(":", "");
        const off = (Number(z.slice(1, 3)) * 60 + Number(z.slice(3, 5))) * 60_000;
        t -= z[0] === "-" ? -off : off;
      }
    } else t = new Date(...parts).getTime();
    return Number.isFinite(t) ? String(t) : undefined;
  };
}

function escapeRe(s: string): string {
  return s.replace(/[.*+?^${}()|[\]\\]/g, "\\$&");
}

export const regexExtractorInterceptorType = defineType({
  kind: "interceptor",
  names: ["regex_extractor", "org.apache.flume.interceptor.RegexExtractorInterceptor$Builder"],
  keys: regexExtractorKeys,
  check(cfg, report) {
    if (cfg.serializers.length === 0) report("serializers", "no serializers: list one name per regex group (serializers = s1 s2) and set serializers.<s>.name");
    for (const s of cfg.serializers) {
      const name = cfg.serializerConf[`${s}.name`]?.value.trim();
      if (!name) report(`serializers.${s}.name`, `serializer "${s}" needs serializers.${s}.name (the header to set)`);
      const type = (cfg.serializerConf[`${s}.type`]?.value ?? "default").trim().toLowerCase();
      if (!DEFAULT_TYPES.has(type) && !MILLIS_TYPES.has(type)) report(`serializers.${s}.type`, `unknown serializer type "${type}" (default or millis)`);
      if (MILLIS_TYPES.has(type) && !cfg.serializerConf[`${s}.pattern`]?.value.trim()) report(`serializers.${s}.pattern`, `serializer "${s}" of type millis needs serializers.${s}.pattern (e.g. yyyy-MM-dd HH:mm)`);
    }
    for (const k of Object.keys(cfg.serializerConf)) {
      const s = k.split(".")[0]!;
      if (!cfg.serializers.includes(s)) report(`serializers.${k}`, `serializer "${s}" is not listed in serializers (${cfg.serializers.join(" ")})`);
    }
  },
  create: (cfg) => new RegexExtractorInterceptor(cfg),
});
