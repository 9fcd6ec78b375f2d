// The multiplexing selector (Flume's MultiplexingChannelSelector): routes each event by one header's value —
// `mapping.<value>` channels are required, `optional.<value>` channels may fail, `default` takes unmapped values.

import type { Channel } from "../core/channel.ts";
import type { ChannelSelector, Route } from "../core/channel-processor.ts";
import { defineType } from "../core/component-type.ts";
import { headerOf, type Event } from "../core/event.ts";
import type { DropCounts } from "../core/drops.ts";
import { key, splitList, type ConfigOf, type RawValue } from "../core/keys.ts";

export const multiplexingKeys = {
  header: key.string("header whose value chooses the channels", { default: "flume.selector.header" }),
  mapping: key.prefixed("`mapping.<value> = c1 c2`: required channels for events whose header has that value"),
  optional: key.prefixed("`optional.<value> = c3`: channels for that value whose failures are ignored"),
  default: key.list("required channels for events whose value has no mapping (or no header)", { default: [] }),
};
type Config = ConfigOf<typeof multiplexingKeys>;

interface Target {
  required: Channel[];
  optional: Channel[];
}

const names = (raw: RawValue | undefined): string[] => (raw ? splitList(raw.value) : []);

export class MultiplexingSelector implements ChannelSelector {
  private readonly byValue = new Map<string, Target>();
  private readonly fallback: Target;

  constructor(
    readonly channels: readonly Channel[],
    private readonly cfg: Config,
  ) {
    const byName = new Map(channels.map((c) => [c.name, c]));
    const pick = (list: string[]) => list.map((n) => byName.get(n)).filter((c): c is Channel => c !== undefined);
    for (const value of new Set([...Object.keys(cfg.mapping), ...Object.keys(cfg.optional)])) {
      const required = pick(names(cfg.mapping[value]));
      // Flume: a channel that is required for a value is not also optional for it.
      const optional = pick(names(cfg.optional[value])).filter((c) => !required.includes(c));
      this.byValue.set(value, { required: required.length > 0 ? required : pick(cfg.default), optional });
    }
    this.fallback = { required: pick(cfg.default), optional: [] };
  }

  route(events: Event[], dropped?: DropCounts): Route[] {
    const header = this.cfg.header;
    // Per channel, one array for required and one for optional puts, built in one pass; event order is kept.
    const required = new Map<Channel, Event[]>();
    const optional = new Map<Channel, Event[]>();
    const add = (m: Map<Channel, Event[]>, c: Channel, e: Event) => {
      const list = m.get(c);
      if (list) list.push(e);
      else m.set(c, [e]);
    };
    let unrouted = 0;
    for (const e of events) {
      const v = headerOf(e.headers, header);
      const t = (v !== undefined && this.byValue.get(v)) || this.fallback;
      if (t.required.length === 0 && t.optional.length === 0) unrouted++;
      for (const c of t.required) add(required, c, e);
      for (const c of t.optional) add(optional, c, e);
    }
    dropped?.add("no channel matched", unrouted);
    const routes: Route[] = [];
    for (const [channel, list] of required) routes.push({ channel, events: list, optional: false });
    for (const [channel, list] of optional) routes.push({ channel, events: list, optional: true });
    return routes;
  }
}

export const multiplexingSelectorType = defineType({
  kind: "selector",
  names: ["multiplexing", "org.apache.flume.channel.MultiplexingChannelSelector"],
  keys: multiplexingKeys,
  check(cfg, report, ctx) {
    const known = ctx.channels ?? [];
    const verify = (k: string, list: string[]) => {
      for (const c of list) if (!known.includes(c)) report(k, `"${c}" is not one of this source's channels (${known.join(" ")})`);
    };
    for (const [v, raw] of Object.entries(cfg.mapping)) {
      if (names(raw).length === 0) report(`mapping.${v}`, `mapping.${v} names no channel`);
      verify(`mapping.${v}`, names(raw));
    }
    for (const [v, raw] of Object.entries(cfg.optional)) verify(`optional.${v}`, names(raw));
    verify("default", cfg.default);
    // Optional in Flume, which drops such events silently; sluice says so once and counts them (EventsDropped).
    if (cfg.default.length === 0) {
      ctx.warn?.("default", `not set: events whose "${cfg.header}" header matches no mapping are dropped (counted as EventsDropped "no channel matched"); name their channels to keep them (e.g. default = ${known[0] ?? "c1"})`);
    }
  },
  create: (cfg, _ctx, deps) => new MultiplexingSelector(deps.channels, cfg),
});
