// The timestamp interceptor (Flume's TimestampInterceptor): stamps each event with the time it was intercepted,
// epoch milliseconds as text. One clock read per batch: events of one batch share their stamp.

import type { Interceptor } from "../core/channel-processor.ts";
import { defineType } from "../core/component-type.ts";
import { headerOf, withHeader, type Event } from "../core/event.ts";
import { key, type ConfigOf } from "../core/keys.ts";

export const timestampKeys = {
  headerName: key.string("header that receives the time (epoch milliseconds)", { default: "timestamp" }),
  preserveExisting: key.bool("keep a header that is already set", { default: false }),
};

export class TimestampInterceptor implements Interceptor {
  constructor(private readonly cfg: ConfigOf<typeof timestampKeys>) {}

  intercept(events: Event[]): Event[] {
    const now = String(Date.now());
    const { headerName, preserveExisting } = this.cfg;
    for (const e of events) {
      if (preserveExisting && headerOf(e.headers, headerName) !== undefined) continue;
      withHeader(e, headerName, now);
    }
    return events;
  }
}

export const timestampInterceptorType = defineType({
  kind: "interceptor",
  names: ["timestamp", "org.apache.flume.interceptor.TimestampInterceptor$Builder"],
  keys: timestampKeys,
  create: (cfg) => new TimestampInterceptor(cfg),
});
