// What the http sink does with each HTTP status, from Flume's HttpSink keys: `rollback.CODE`, `backoff.CODE`,
// `incrementMetrics.CODE` where CODE is `503` or a class like `5XX`; an exact code wins over its class, a class over
// the `default*` keys. 2xx always commits. Resolved once per status and cached.

import type { RawValue } from "../../core/keys.ts";

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
  /** Each code-key group as upper-cased code (`503`, `5XX`) → value, parsed once. */
  private readonly maps: Record<"backoff" | "rollback" | "incrementMetrics", Map<string, boolean>>;

  constructor(private readonly cfg: PolicyConfig) {
    const parse = (m: Record<string, RawValue>) => new Map(Object.entries(m).map(([code, raw]) => [code.toUpperCase(), raw.value.trim().toLowerCase() === "true"]));
    this.maps = { backoff: parse(cfg.backoff), rollback: parse(cfg.rollback), incrementMetrics: parse(cfg.incrementMetrics) };
  }

  for(status: number): StatusPolicy {
    let p = this.cache.get(status);
    if (!p) {
      p = {
        rollback: this.lookup(this.maps.rollback, status, this.cfg.defaultRollback),
        backoff: this.lookup(this.maps.backoff, status, this.cfg.defaultBackoff),
        incrementMetrics: this.lookup(this.maps.incrementMetrics, status, this.cfg.defaultIncrementMetrics),
      };
      this.cache.set(status, p);
    }
    return p;
  }

  private lookup(map: Map<string, boolean>, status: number, dflt: boolean): boolean {
    return map.get(String(status)) ?? map.get(`${Math.floor(status / 100)}XX`) ?? dflt;
  }
}
