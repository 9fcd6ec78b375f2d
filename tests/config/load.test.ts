import { describe, expect, test } from "bun:test";
import { loaderFor, SEQ_TO_LOGGER } from "./loader-rig.ts";

const FILE = "agent.conf";
const { build, errors } = loaderFor(FILE);

const GOOD = SEQ_TO_LOGGER;

describe("config loader: a valid file", () => {
  test("builds the typed graph with defaults filled in", () => {
    const { spec, problems } = build(GOOD);
    expect(problems).toEqual([]);
    expect(spec!.agent).toBe("a1");
    expect(spec!.channels[0]!.config).toMatchObject({ capacity: 100, transactionCapacity: 100, "keep-alive": 3000 });
    expect(spec!.sources[0]!.channels).toEqual(["c1"]);
    expect(spec!.sources[0]!.selector.typeName).toBe("replicating");
    expect(spec!.sinks[0]!.channel).toBe("c1");
  });

  test("accepts Flume class names and any case for short type names", () => {
    const lines = GOOD.map((l) =>
      l.replace("type = memory", "type = org.apache.flume.channel.MemoryChannel").replace("type = logger", "type = LOGGER").replace("type = seq", "type = org.apache.flume.source.SequenceGeneratorSource"),
    );
    const { spec, problems } = build(lines);
    expect(problems).toEqual([]);
    expect(spec!.channels[0]!.typeName).toBe("memory");
    expect(spec!.sinks[0]!.typeName).toBe("logger");
  });

  test("picks the agent named by -n among several, and needs -n when there are several", () => {
    const two = [...GOOD, ...GOOD.map((l) => l.replace(/^a1\./, "a2."))];
    expect(build(two, "a2").spec!.agent).toBe("a2");
    expect(errors(two)).toEqual([`${FILE}: the file defines several agents (a1, a2): choose one with -n NAME`]);
  });

  test("warns, without failing, about keys of a component in no list, with a did-you-mean", () => {
    const { problems, warnings } = build([...GOOD, "a1.sources.ri.maxBatchCount = 1000"]);
    expect(problems).toEqual([]);
    expect(warnings.join("\n")).toContain(`${FILE}:9: keys of source "ri" are ignored: no such source in a1.sources; did you mean "r1"?`);
  });

  test("warns about an unknown key of a component and a key set twice", () => {
    const { problems, warnings } = build([...GOOD, "a1.channels.c1.capacty = 10", "a1.channels.c1.capacity = 100", "a1.channels.c1.capacity = 200"]);
    expect(problems).toEqual([]);
    expect(warnings.join("\n")).toContain("a1.channels.c1.capacty is not a key of memory channels; ignored (did you mean capacity?)");
    expect(warnings.join("\n")).toContain("a1.channels.c1.capacity is set 2 times (lines 10, 11); the last one wins");
  });
});

describe("config loader: ten broken configs, every problem listed with file:line and key", () => {
  test("1. an unknown type", () => {
    expect(errors(GOOD.map((l) => l.replace("type = logger", "type = loger")))).toEqual([
      expect.stringMatching(/^agent\.conf:7: a1\.sinks\.k1\.type: unknown sink type "loger" \(known: .*logger.*\)$/),
    ]);
  });

  test("2. a Flume type sluice does not implement is named as unsupported", () => {
    expect(errors(GOOD.map((l) => l.replace("type = logger", "type = hdfs")))).toEqual([
      expect.stringMatching(/^agent\.conf:7: a1\.sinks\.k1\.type: sink type "hdfs" is a Flume type that sluice does not implement/),
    ]);
    expect(errors(GOOD.map((l) => l.replace("type = seq", "type = kafka")))[0]).toContain('source type "kafka" is a Flume type that sluice does not implement; it reads from Kafka. What works today: let a Flume agent read Kafka and forward to an avro source here');
  });

  test("3. a missing required key", () => {
    expect(errors(GOOD.map((l) => l.replace("type = logger", "type = file_roll")))).toEqual([
      `${FILE}: a1.sinks.k1.sink.directory: required by sink k1 but not set`,
    ]);
  });

  test("4. a bad number and a bad duration", () => {
    expect(errors([...GOOD, "a1.channels.c1.capacity = lots", "a1.channels.c1.keep-alive = 3 fortnights"])).toEqual([
      `${FILE}:9: a1.channels.c1.capacity: expected a whole number, got "lots"`,
      `${FILE}:10: a1.channels.c1.keep-alive: unknown duration unit "fortnights" in "3 fortnights" (use ms, s, m, h or d)`,
    ]);
  });

  test("5. a dangling channel reference from a source and from a sink", () => {
    expect(errors(GOOD.map((l) => l.replace("r1.channels = c1", "r1.channels = c1 c9").replace("k1.channel = c1", "k1.channel = c7")))).toEqual([
      `${FILE}:5: a1.sources.r1.channels: channel "c9" is not in a1.channels (c1)`,
      `${FILE}:8: a1.sinks.k1.channel: channel "c7" is not in a1.channels (c1)`,
    ]);
  });

  test("6. a sink bound to two channels", () => {
    const lines = GOOD.map((l) => l.replace("a1.channels = c1", "a1.channels = c1 c2").replace("k1.channel = c1", "k1.channel = c1 c2"));
    lines.push("a1.channels.c2.type = memory");
    expect(errors(lines)).toEqual([`${FILE}:8: a1.sinks.k1.channel: a sink drains exactly one channel, got 2 (c1 c2)`]);
  });

  test("7. a component defined with a type but in no list is a warning (Flume ignores it too), not a refusal", () => {
    const { problems, warnings } = build([...GOOD, "a1.sinks.k2.type = null", "a1.sinks.k2.channel = c1"]);
    expect(problems).toEqual([]);
    expect(warnings).toContain(`${FILE}:9: sink "k2" is defined but not listed in a1.sinks (k1), so it does not run (Flume ignores it too)`);
  });

  test("8. transactionCapacity larger than capacity, set or by default", () => {
    expect(errors([...GOOD, "a1.channels.c1.capacity = 10", "a1.channels.c1.transactionCapacity = 100"])).toEqual([
      `${FILE}:10: a1.channels.c1.transactionCapacity: transactionCapacity (100) must be ≤ capacity (10)`,
    ]);
    expect(errors([...GOOD, "a1.channels.c1.capacity = 10"])).toEqual([
      `${FILE}:6: a1.channels.c1.transactionCapacity: transactionCapacity (100) must be ≤ capacity (10)`,
    ]);
  });

  test("9. singular/plural channel keys swapped, and a listed component with no type", () => {
    const lines = GOOD.map((l) => l.replace("r1.channels = c1", "r1.channel = c1").replace("k1.channel = c1", "k1.channels = c1"));
    lines.push("a1.sinks = k1 k2");
    expect(errors(lines)).toEqual([
      `${FILE}:9: a1.sinks.k2.type: sink "k2" is listed but has no type`,
      `${FILE}:5: a1.sources.r1.channels: sources take "channels" (plural), not "channel"`,
      `${FILE}:8: a1.sinks.k1.channel: sinks take "channel" (singular): a sink drains exactly one channel`,
    ]);
  });

  test("10. several problems at once are all reported, and an unknown agent is named", () => {
    const lines = [...GOOD.filter((l) => !l.includes("sinks.k1.type")), "a1.sources.r1.batchSize = -5", "a1.sinkgroups = g1", "a1.sinkgroups.g1.sinks = k1 k5"];
    expect(errors(lines)).toEqual([
      `${FILE}:8: a1.sources.r1.batchSize: must be at least 1, got -5`,
      `${FILE}:7: a1.sinks.k1.type: sink "k1" has no type`,
      `${FILE}:10: a1.sinkgroups.g1.sinks: sink "k5" is not in a1.sinks (k1)`,
      `${FILE}:10: a1.sinkgroups.g1.processor.type: the default processor drives exactly one sink, but the group lists 2 (use failover or load_balance)`,
    ]);
    expect(errors(GOOD, "b1")).toEqual([`${FILE}: agent "b1" is not defined in this file (defined: a1); did you mean "a1"?`]);
  });
});
