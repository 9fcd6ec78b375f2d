import { describe, expect, test } from "bun:test";
import { parseKeys, type ConfigOf } from "../../src/core/keys.ts";
import { buildAgentSpec } from "../../src/config/load.ts";
import { MemoryChannel, memoryKeys } from "../../src/channels/memory.ts";
import { DropCounts } from "../../src/core/drops.ts";
import { makeEvent } from "../../src/core/event.ts";
import { MultiplexingSelector, multiplexingKeys } from "../../src/selectors/multiplexing.ts";

function cfg(props: Record<string, string>): ConfigOf<typeof multiplexingKeys> {
  const problems: unknown[] = [];
  const map = new Map(Object.entries(props).map(([k, v]) => [k, { value: v, line: 1 }]));
  return parseKeys(multiplexingKeys, { kind: "selector", name: "s", prefix: "", file: "t", props: map }, problems as never[]).config;
}

const channels = ["c1", "c2", "c3", "c4"].map((n) => new MemoryChannel(n, parseKeys(memoryKeys, { kind: "channel", name: n, prefix: "", file: "t", props: new Map() }, []).config));

describe("multiplexing selector", () => {
  test("events routed to no channel are counted as dropped, with the reason (no default: Flume allows it, the loader warns)", () => {
    const sel = new MultiplexingSelector(channels, cfg({ header: "state", "mapping.CA": "c1" }));
    const dropped = new DropCounts();
    const routes = sel.route([makeEvent("1", { state: "CA" }), makeEvent("2", { state: "NY" }), makeEvent("3", { constructor: "x" }), makeEvent("4")], dropped);
    expect(routes.map((r) => [r.channel.name, r.events.length])).toEqual([["c1", 1]]);
    expect(dropped.values()).toEqual({ EventsDropped: 3, "EventsDropped.no channel matched": 3 });
  });

  test("routes each event by its header value, unmapped values to default, keeping order", () => {
    const sel = new MultiplexingSelector(channels, cfg({ header: "state", "mapping.CA": "c1", "mapping.AZ": "c2 c3", "optional.CA": "c4", default: "c3" }));
    const events = [makeEvent("1", { state: "CA" }), makeEvent("2", { state: "AZ" }), makeEvent("3", { state: "NY" }), makeEvent("4"), makeEvent("5", { state: "CA" })];
    const routes = sel.route(events).map((r) => ({ ch: r.channel.name, bodies: r.events.map((e) => new TextDecoder().decode(e.body)).join(","), optional: r.optional }));
    expect(routes).toEqual([
      { ch: "c1", bodies: "1,5", optional: false },
      { ch: "c2", bodies: "2", optional: false },
      { ch: "c3", bodies: "2,3,4", optional: false },
      { ch: "c4", bodies: "1,5", optional: true },
    ]);
  });

  test("uses Flume's default header name", () => {
    const sel = new MultiplexingSelector(channels, cfg({ "mapping.x": "c2", default: "c1" }));
    expect(sel.route([makeEvent("a", { "flume.selector.header": "x" })])[0]!.channel.name).toBe("c2");
  });

  test("check() names channels that are not the source's, and warns about a missing default", () => {
    const { problems, warnings } = buildAgentSpec(
      [
        "a1.sources = r1", "a1.channels = c1 c2", "a1.sinks = k1",
        "a1.sources.r1.type = seq", "a1.sources.r1.channels = c1 c2",
        "a1.sources.r1.selector.type = multiplexing", "a1.sources.r1.selector.header = h",
        "a1.sources.r1.selector.mapping.a = c1 c9",
        "a1.channels.c1.type = memory", "a1.channels.c2.type = memory",
        "a1.sinks.k1.type = null", "a1.sinks.k1.channel = c1",
      ].join("\n"),
      "t.conf",
    );
    const text = problems.map((p) => `${p.where}: ${p.key}: ${p.message}`).join("\n");
    expect(text).toMatch(/t\.conf:8: a1\.sources\.r1\.selector\.mapping\.a: "c9" is not one of this source's channels \(c1 c2\)/);
    expect(text).not.toMatch(/selector\.default/);
    expect(warnings.join("\n")).toMatch(/t\.conf:6: a1\.sources\.r1\.selector\.default: not set: .* are dropped/);
  });
});
