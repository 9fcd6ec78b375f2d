// The regex_filter interceptor (Flume's RegexFilteringInterceptor): keeps (or, with excludeEvents, drops) events
// whose body matches a regex anywhere. Dropped events count as delivered (the channel processor sees a shorter batch).

import type { Interceptor } from "../core/channel-processor.ts";
import { defineType } from "../core/component-type.ts";
import type { Event } from "../core/event.ts";
import { key, type ConfigOf } from "../config/keys.ts";

export const regexFilterKeys = {
  regex: key.regex("pattern searched in the body (decoded as UTF-8)", { default: /.*/ }),
  excludeEvents: key.bool("drop matching events instead of keeping them", { default: false }),
};

const decoder = new TextDecoder();

export class RegexFilterInterceptor implements Interceptor {
  private readonly regex: RegExp;
  private readonly matchesAll: boolean;

  constructor(private readonly cfg: ConfigOf<typeof regexFilterKeys>) {
    // A global or sticky flag would make test() stateful between events.
    this.regex = new RegExp(cfg.regex.source, cfg.regex.flags.replace(/[gy]/g, ""));
    // `.*` (the default) finds an empty match in every body: decide once that no body needs decoding.
    this.matchesAll = cfg.regex.source === ".*" || cfg.regex.source === "";
  }

  intercept(events: Event[]): Event[] {
    const exclude = this.cfg.excludeEvents;
    if (this.matchesAll) return exclude ? [] : events;
    const out: Event[] = [];
    for (const e of events) {
      if (this.regex.test(decoder.decode(e.body)) !== exclude) out.push(e);
    }
    return out;
  }
}

export const regexFilterInterceptorType = defineType({
  kind: "interceptor",
  names: ["regex_filter", "org.apache.flume.interceptor.RegexFilteringInterceptor$Builder"],
  keys: regexFilterKeys,
  create: (cfg) => new RegexFilterInterceptor(cfg),
});
