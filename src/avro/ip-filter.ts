// Flume's AvroSource `ipFilterRules`: comma-separated `allow|deny : ip|name : pattern` (Netty's PatternRule; `*` and
// `?` wildcards). The first rule that matches decides; a peer no rule matches is allowed, as in Netty's filter.

import dns from "node:dns";
import { ValueError } from "../core/errors.ts";

export interface IpRule {
  allow: boolean;
  kind: "ip" | "name";
  pattern: RegExp;
  text: string;
}

/** How long a `name:` rule may wait for the reverse lookup of a peer before it counts as not matching. */
const REVERSE_LOOKUP_TIMEOUT_MS = 1000;

/** Parses the rules; throws a ValueError quoting the bad rule. */
export function parseIpFilterRules(text: string): IpRule[] {
  const rules: IpRule[] = [];
  for (const raw of text.split(",")) {
    const rule = raw.trim();
    if (rule === "") continue;
    const m = /^(allow|deny):(ip|name):(.+)$/i.exec(rule);
    if (!m) throw new ValueError(`rule "${rule}" must look like allow:ip:127.*, deny:name:localhost or deny:ip:*`);
    const glob = m[3]!.trim();
    const re = new RegExp(`^${glob.replace(/[.+^${}()|[\]\\]/g, "\\$&").replace(/\*/g, ".*").replace(/\?/g, ".")}$`, "i");
    rules.push({ allow: m[1]!.toLowerCase() === "allow", kind: m[2]!.toLowerCase() as "ip" | "name", pattern: re, text: rule });
  }
  if (rules.length === 0) throw new ValueError(`no rules in "${text}"`);
  return rules;
}

/** A decision function for the server; asks DNS only when a `name:` rule is reached. */
export function ipFilter(rules: readonly IpRule[]): (ip: string) => Promise<boolean> {
  return async (ip) => {
    let names: string[] | undefined;
    for (const r of rules) {
      if (r.kind === "ip") {
        if (r.pattern.test(ip)) return r.allow;
        continue;
      }
      names ??= await reverse(ip);
      if (names.some((n) => r.pattern.test(n))) return r.allow;
    }
    return true;
  };
}

async function reverse(ip: string): Promise<string[]> {
  // Loopback needs no resolver (and tests run without one).
  const local = ip === "127.0.0.1" || ip === "::1" ? ["localhost"] : [];
  let timer: ReturnType<typeof setTimeout> | undefined;
  const timeout = new Promise<string[]>((r) => (timer = setTimeout(() => r([]), REVERSE_LOOKUP_TIMEOUT_MS)));
  const found = await Promise.race([dns.promises.reverse(ip).catch(() => [] as string[]), timeout]);
  clearTimeout(timer);
  return [...local, ...found];
}
