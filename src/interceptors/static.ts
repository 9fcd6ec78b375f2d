// The static interceptor (Flume's StaticInterceptor): adds one fixed header to every event.

import type { Interceptor } from "../core/channel-processor.ts";
import { defineType } from "../core/component-type.ts";
import { headerOf, withHeader, type Event } from "../core/event.ts";
import { key, type ConfigOf } from "../core/keys.ts";

export const staticKeys = {
  key: key.string("header name", { default: "key" }),
  value: key.string("header value", { default: "value" }),
  preserveExisting: key.bool("keep a header that is already set", { default: true }),
};

export class StaticInterceptor implements Interceptor {
  constructor(private readonly cfg: ConfigOf<typeof staticKeys>) {}

  intercept(events: Event[]): Event[] {
    const { key: k, value, preserveExisting } = this.cfg;
    for (const e of events) {
      if (preserveExisting && headerOf(e.headers, k) !== undefined) continue;
      withHeader(e, k, value);
    }
    return events;
  }
}

export const staticInterceptorType = defineType({
  kind: "interceptor",
  names: ["static", "org.apache.flume.interceptor.StaticInterceptor$Builder"],
  keys: staticKeys,
  create: (cfg) => new StaticInterceptor(cfg),
});
