// What the http sink does with each HTTP status, from Flume's HttpSink keys: `rollback.CODE`, `backoff.CODE`,
// `incrementMetrics.CODE` where CODE is `503` or a class like `5XX`; an exact code wins over its class, a class over
// the `default*` keys. 2xx always commits. Resolved once per status and cached.

import type { RawValue } from "../../config/keys.ts";

export interface StatusPolicy {
  /** Return the batch to the channel (true) or commit it, i.e. drop it with a warning (false). */
  rollback: boolean;
  /** Let the runner back off before the next attempt. */
  backoff: boolean;
  /** Count the events as drained in the metrics. */
  incrementMetrics: boolean;
}

export interface PolicyConfig {
  defaultBackoff: boolean;
  defaultRollback: boolean;
  defaultIncrementMetrics: boolean;
  backoff: Record<string, RawValue>;
  rollback: Record<string, RawValue>;
  incrementMetrics: Record<string, RawValue>;
}

const CODE_RE = /^[1-5](\d\d|XX)$/i;

/** Problems with the code keys, as [key, message] pairs, for the type's check(). */
export function checkPolicyKeys(cfg: PolicyConfig): Array<[string, string]> {
  const out: Array<[string, string]> = [];
  for (const group of ["backoff", "rollback", "incrementMetrics"] as const) {
    for (const [code, raw] of Object.entries(cfg[group])) {
      if (!CODE_RE.test(code)) out.push([`${group}.${code}`, `"${code}" is not an HTTP status code or class (e.g. 503 or 5XX)`]);
      const v = raw.value.trim().toLowerCase();
      if (v !== "true" && v !== "false") out.push([`${group}.${code}`, `expected true or false, got "${raw.value}"`]);
    }
  }
  return out;
}

export class StatusPolicies {
  private readonly cache = new Map<number, StatusPolicy>();
  constructor(private readonly cfg: PolicyConfig) {}

  for(status: number): StatusPolicy {
    let p = this.cache.get(status);
    if (!p) {
      p = {
        rollback: this.lookup(this.cfg.rollback, status, this.cfg.defaultRollback),
        backoff: this.lookup(this.cfg.backoff, status, this.cfg.defaultBackoff),
        incrementMetrics: this.lookup(this.cfg.incrementMetrics, status, this.cfg.defaultIncrementMetrics),
      };
      this.cache.set(status, p);
    }
    return p;
  }

  private lookup(map: Record<string, RawValue>, status: number, dflt: boolean): boolean {
    const exact = map[String(status)];
    if (exact) return exact.value.trim().toLowerCase() === "true";
    const cls = map[`${Math.floor(status / 100)}XX`] ?? map[`${Math.floor(status / 100)}xx`];
    if (cls) return cls.value.trim().toLowerCase() === "true";
    return dflt;
  }
}
