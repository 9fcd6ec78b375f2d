// Configs real Flume users wrote that Flume accepts: sluice accepts them too, with one warning naming file:line where
// Flume's behaviour may surprise; and where sluice is right to refuse, one clear message instead of a cascade.

import { describe, expect, test } from "bun:test";
import { resolve } from "node:path";
import { loaderFor, SEQ_TO_LOGGER } from "./loader-rig.ts";
import { waitFor } from "../helpers/index.ts";
import { startAgent } from "../avro/helpers.ts";

const FILE = "user.conf";
const { build, errors } = loaderFor(FILE, "a1");

const BASE = SEQ_TO_LOGGER;

describe("configs Flume accepts", () => {
  test("relative paths are resolved against the working directory, with a warning naming file:line", () => {
    const { spec, problems, warnings } = build([
      "a1.sources = r1", "a1.channels = c1", "a1.sinks = k1",
      "a1.sources.r1.type = spooldir", "a1.sources.r1.spoolDir = data/input", "a1.sources.r1.channels = c1",
      "a1.channels.c1.type = file", "a1.channels.c1.checkpointDir = state/cp", "a1.channels.c1.dataDirs = state/d1,/abs/d2",
      "a1.sinks.k1.type = file_roll", "a1.sinks.k1.sink.directory = out", "a1.sinks.k1.channel = c1",
    ]);
    expect(problems).toEqual([]);
    expect(spec!.sources[0]!.config.spoolDir).toBe(resolve("data/input"));
    expect(spec!.channels[0]!.config.checkpointDir).toBe(resolve("state/cp"));
    expect(spec!.channels[0]!.config.dataDirs).toEqual([resolve("state/d1"), "/abs/d2"]);
    expect(spec!.sinks[0]!.config["sink.directory"]).toBe(resolve("out"));
    const text = warnings.join("\n");
    expect(text).toContain(`${FILE}:5: a1.sources.r1.spoolDir = data/input is a relative path: resolved against the working directory as ${resolve("data/input")}`);
    expect(text).toContain(`${FILE}:9: a1.channels.c1.dataDirs = state/d1,/abs/d2 is a relative path: resolved against the working directory as ${resolve("state/d1")}`);
    expect(text).not.toContain(`${resolve("state/d1")}, /abs/d2`);
  });

  test("a path starting with ~ is relative to Java too: the warning says ~ is not expanded", () => {
    const { warnings } = build([
      "a1.sources = r1", "a1.channels = c1", "a1.sinks = k1",
      "a1.sources.r1.type = spooldir", "a1.sources.r1.spoolDir = ~/work/in", "a1.sources.r1.channels = c1",
      "a1.channels.c1.type = memory", "a1.sinks.k1.type = logger", "a1.sinks.k1.channel = c1",
    ]);
    expect(warnings.join("\n")).toContain(`resolved against the working directory as ${resolve("~/work/in")}`);
    expect(warnings.join("\n")).toContain("~ is not expanded (by Flume neither)");
  });

  test("a component defined with its type but in no list is a warning naming it, and it does not run", () => {
    const { spec, problems, warnings } = build([...BASE, "a1.sinks.spare.type = logger", "a1.sinks.spare.channel = c1"]);
    expect(problems).toEqual([]);
    expect(spec!.sinks.map((s) => s.name)).toEqual(["k1"]);
    expect(warnings.join("\n")).toContain(`${FILE}:9: sink "spare" is defined but not listed in a1.sinks (k1), so it does not run (Flume ignores it too)`);
  });

  test("a sink group's name written in agent.sinks too is dropped from the sinks with a warning, as Flume does", () => {
    const { spec, problems, warnings } = build([
      ...BASE.map((l) => (l === "a1.sinks = k1" ? "a1.sinks = k1 k2 g1" : l)),
      "a1.sinks.k2.type = logger", "a1.sinks.k2.channel = c1",
      "a1.sinkgroups = g1", "a1.sinkgroups.g1.sinks = k1 k2", "a1.sinkgroups.g1.processor.type = failover",
    ]);
    expect(problems).toEqual([]);
    expect(spec!.sinks.map((s) => s.name)).toEqual(["k1", "k2"]);
    expect(spec!.groups.map((g) => g.name)).toEqual(["g1"]);
    expect(warnings.join("\n")).toContain(`${FILE}:3: a1.sinks lists "g1", which is a sink group (a1.sinkgroups); the entry is dropped, as Flume drops it`);
  });

  test("multiplexing without selector.default is accepted with a warning that unmatched events are dropped and counted", () => {
    const { spec, problems, warnings } = build([
      "a1.sources = r1", "a1.channels = c1 c2", "a1.sinks = k1",
      "a1.sources.r1.type = seq", "a1.sources.r1.channels = c1 c2",
      "a1.sources.r1.selector.type = multiplexing", "a1.sources.r1.selector.header = kind", "a1.sources.r1.selector.mapping.a = c1",
      "a1.sources.r1.selector.mapping.b = c2",
      "a1.channels.c1.type = memory", "a1.channels.c2.type = memory", "a1.sinks.k1.type = logger", "a1.sinks.k1.channel = c1",
    ]);
    expect(problems).toEqual([]);
    expect(spec!.sources[0]!.selector.typeName).toBe("multiplexing");
    const w = warnings.find((l) => l.includes("selector.default"));
    expect(w).toMatch(/^user\.conf:6: a1\.sources\.r1\.selector\.default: not set: events whose "kind" header matches no mapping are dropped \(counted as EventsDropped/);
  });

  test("a running agent counts the events multiplexing without default drops, by reason", async () => {
    const agent = await startAgent([
      "a1.sources = r1", "a1.channels = c1", "a1.sources.r1.type = seq", "a1.sources.r1.totalEvents = 50", "a1.sources.r1.channels = c1",
      "a1.sources.r1.interceptors = i1", "a1.sources.r1.interceptors.i1.type = static", "a1.sources.r1.interceptors.i1.key = kind",
      "a1.sources.r1.interceptors.i1.value = other",
      "a1.sources.r1.selector.type = multiplexing", "a1.sources.r1.selector.header = kind", "a1.sources.r1.selector.mapping.app = c1",
      "a1.channels.c1.type = memory",
    ]);
    const dropped = agent.sources.get("r1")!.processor.dropped;
    await waitFor("50 events dropped", () => dropped.total >= 50, 10_000);
    expect(dropped.values()).toEqual({ EventsDropped: 50, "EventsDropped.no channel matched": 50 });
    expect(agent.channels.get("c1")!.size()).toBe(0);
  });

  test("the same key written twice with the same value needs no warning; with another value it warns", () => {
    expect(build([...BASE, "a1.channels.c1.type = memory"]).warnings).toEqual([]);
    expect(build([...BASE, "a1.channels.c1.type = file"]).warnings.join("\n")).toContain("a1.channels.c1.type is set 2 times");
  });
});

describe("what sluice refuses, said once and clearly", () => {
  test("a comma-separated list gives one message saying Flume splits lists on whitespace", () => {
    const errs = errors([
      ...BASE.map((l) => (l === "a1.sinks = k1" ? "a1.sinks = k1, k2" : l)),
      "a1.sinks.k2.type = logger", "a1.sinks.k2.channel = c1",
    ]);
    expect(errs).toEqual([
      `${FILE}:3: a1.sinks: "k1, k2": Flume splits lists on whitespace, so the commas become part of the names ("k1,"); write a1.sinks = k1 k2`,
    ]);
  });

  test("a comma-separated channels list of a source is one message too", () => {
    const errs = errors([...BASE.map((l) => (l === "a1.channels = c1" ? "a1.channels = c1 c2" : l === "a1.sources.r1.channels = c1" ? "a1.sources.r1.channels = c1,c2" : l)), "a1.channels.c2.type = memory"]);
    expect(errs).toEqual([
      `${FILE}:5: a1.sources.r1.channels: "c1,c2": Flume splits lists on whitespace, so the commas become part of the names ("c1,c2"); write a1.sources.r1.channels = c1 c2`,
    ]);
  });

  test("a class that is not Flume's is a third-party class, not a Flume type sluice lacks", () => {
    const errs = errors(BASE.map((l) => l.replace("type = seq", "type = com.cloudera.flume.source.TwitterSource")));
    expect(errs).toHaveLength(1);
    expect(errs[0]).toContain('source type "com.cloudera.flume.source.TwitterSource" is a third-party class, not part of Apache Flume');
    expect(errs[0]).not.toContain("a Flume type");
  });

  test("a missing channels or channel key points at the component's first line", () => {
    expect(errors(BASE.filter((l) => l !== "a1.sources.r1.channels = c1"))).toContainEqual(
      `${FILE}:4: a1.sources.r1.channels: source "r1" is bound to no channel (set a1.sources.r1.channels = c1)`,
    );
    expect(errors(BASE.filter((l) => l !== "a1.sinks.k1.channel = c1"))).toContainEqual(
      `${FILE}:7: a1.sinks.k1.channel: sink "k1" is bound to no channel (set a1.sinks.k1.channel = c1)`,
    );
  });
});
