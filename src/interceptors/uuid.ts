// The uuid interceptor (Flume's morphline UUIDInterceptor): gives every event a random UUID header, e.g. to
// deduplicate downstream after an at-least-once re-send.

import type { Interceptor } from "../core/channel-processor.ts";
import { defineType } from "../core/component-type.ts";
import { headerOf, withHeader, type Event } from "../core/event.ts";
import { key, type ConfigOf } from "../core/keys.ts";

export const uuidKeys = {
  headerName: key.string("header that receives the UUID", { default: "id" }),
  preserveExisting: key.bool("keep a header that is already set", { default: true }),
  prefix: key.string("text put before each UUID", { default: "" }),
};

export class UuidInterceptor implements Interceptor {
  constructor(private readonly cfg: ConfigOf<typeof uuidKeys>) {}

  intercept(events: Event[]): Event[] {
    const { headerName, preserveExisting, prefix } = this.cfg;
    for (const e of events) {
      if (preserveExisting && headerOf(e.headers, headerName) !== undefined) continue;
      withHeader(e, headerName, prefix + crypto.randomUUID());
    }
    return events;
  }
}

export const uuidInterceptorType = defineType({
  kind: "interceptor",
  names: ["uuid", "org.apache.flume.sink.solr.morphline.UUIDInterceptor$Builder"],
  keys: uuidKeys,
  create: (cfg) => new UuidInterceptor(cfg),
});
