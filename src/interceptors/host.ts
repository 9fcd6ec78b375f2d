// The host interceptor (Flume's HostInterceptor): adds this machine's IP address (or host name) to every event.
// The address is looked up once, at construction.

import os from "node:os";
import type { Interceptor } from "../core/channel-processor.ts";
import { defineType } from "../core/component-type.ts";
import { headerOf, withHeader, type Event } from "../core/event.ts";
import { key, type ConfigOf } from "../core/keys.ts";
import { hostName } from "../runtime.ts";

export const hostKeys = {
  hostHeader: key.string("header that receives the address", { default: "host" }),
  useIP: key.bool("the first non-loopback IPv4 address (true) or the host name (false)", { default: true }),
  preserveExisting: key.bool("keep a header that is already set", { default: false }),
};

/** Like Java's InetAddress.getLocalHost().getHostAddress(): an external IPv4 address when there is one. */
export function localAddress(): string {
  for (const list of Object.values(os.networkInterfaces())) {
    for (const a of list ?? []) if (a.family === "IPv4" && !a.internal) return a.address;
  }
  return "127.0.0.1";
}

export class HostInterceptor implements Interceptor {
  private readonly value: string;
  constructor(private readonly cfg: ConfigOf<typeof hostKeys>) {
    this.value = cfg.useIP ? localAddress() : hostName();
  }

  intercept(events: Event[]): Event[] {
    const { hostHeader, preserveExisting } = this.cfg;
    for (const e of events) {
      if (preserveExisting && headerOf(e.headers, hostHeader) !== undefined) continue;
      withHeader(e, hostHeader, this.value);
    }
    return events;
  }
}

export const hostInterceptorType = defineType({
  kind: "interceptor",
  names: ["host", "org.apache.flume.interceptor.HostInterceptor$Builder"],
  keys: hostKeys,
  create: (cfg) => new HostInterceptor(cfg),
});
