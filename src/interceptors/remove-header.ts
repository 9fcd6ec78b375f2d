// The remove_header interceptor (Flume's RemoveHeaderInterceptor): drops headers by exact name, by a list of names,
// or by a regex. An event's map is copied only when it actually loses a header (maps may be shared).

import type { Interceptor } from "../core/channel-processor.ts";
import { defineType } from "../core/component-type.ts";
import type { Event } from "../core/event.ts";
import { key, type ConfigOf } from "../core/keys.ts";

export const removeHeaderKeys = {
  withName: key.string("one header name to remove"),
  fromList: key.string("several header names, separated by fromListSeparator"),
  fromListSeparator: key.regex("separator of fromList (a regex)", { default: /\s*,\s*/ }),
  matching: key.regex("remove every header whose name matches this regex (whole name)"),
};

export class RemoveHeaderInterceptor implements Interceptor {
  private readonly names: Set<string>;
  private readonly matching?: RegExp;

  constructor(cfg: ConfigOf<typeof removeHeaderKeys>) {
    this.names = new Set(cfg.fromList ? cfg.fromList.split(cfg.fromListSeparator).filter((s) => s.length > 0) : []);
    if (cfg.withName) this.names.add(cfg.withName);
    // Java's Matcher.matches(): the whole name must match.
    if (cfg.matching) this.matching = new RegExp(`^(?:${cfg.matching.source})$`, cfg.matching.flags);
  }

  private doomed(name: string): boolean {
    return this.names.has(name) || (this.matching?.test(name) ?? false);
  }

  intercept(events: Event[]): Event[] {
    for (const e of events) {
      let copy: Record<string, string> | undefined;
      for (const name in e.headers) {
        if (!this.doomed(name)) continue;
        copy ??= { ...e.headers };
        delete copy[name];
      }
      if (copy) e.headers = copy;
    }
    return events;
  }
}

export const removeHeaderInterceptorType = defineType({
  kind: "interceptor",
  names: ["remove_header", "org.apache.flume.interceptor.RemoveHeaderInterceptor$Builder"],
  keys: removeHeaderKeys,
  check(cfg, report) {
    if (!cfg.withName && !cfg.fromList && !cfg.matching) report("withName", "set at least one of withName, fromList or matching: as configured it removes nothing");
  },
  create: (cfg) => new RemoveHeaderInterceptor(cfg),
});
