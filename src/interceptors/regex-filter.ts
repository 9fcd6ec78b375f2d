// The regex_filter interceptor (Flume's RegexFilteringInterceptor): keeps (or, with excludeEvents, drops) events
// whose body matches a regex anywhere. Dropped events count as delivered (the channel processor sees a shorter batch).

import type { Interceptor } from "../core/channel-processor.ts";
import { defineType } from "../core/component-type.ts";
import type { Event } from "../core/event.ts";
import { key, type ConfigOf } from "../core/keys.ts";
import { bodyTexts } from "../util/text.ts";

export const regexFilterKeys = {
  regex: key.regex("pattern searched in the body (decoded as UTF-8)", { default: /.*/ }),
  excludeEvents: key.bool("drop matching events instead of keeping them", { default: false }),
};

export class RegexFilterInterceptor implements Interceptor {
  private readonly regex: RegExp;
  private readonly matchesAll: boolean;

  constructor(private readonly cfg: ConfigOf<typeof regexFilterKeys>) {
    this.regex = cfg.regex;
    // `.*` (the default) finds an empty match in every body: decide once that no body needs decoding.
    this.matchesAll = cfg.regex.source === ".*";
  }

  intercept(events: Event[]): Event[] {
    const exclude = this.cfg.excludeEvents;
    if (this.matchesAll) return exclude ? [] : events;
    const texts = bodyTexts(events);
    return events.filter((_, i) => this.regex.test(texts[i]!) !== exclude);
  }
}

export const regexFilterInterceptorType = defineType({
  kind: "interceptor",
  names: ["regex_filter", "org.apache.flume.interceptor.RegexFilteringInterceptor$Builder"],
  keys: regexFilterKeys,
  create: (cfg) => new RegexFilterInterceptor(cfg),
});
