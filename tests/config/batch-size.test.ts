// A source's batch (events per put) and a sink's (events per take) must fit the transactionCapacity of its channels:
// checked at load with file:line and both keys, instead of every transaction failing at run time.

import { describe, expect, test } from "bun:test";
import { allTypes } from "../../src/registry.ts";
import { loaderFor } from "./loader-rig.ts";

const FILE = "agent.conf";
const { errors } = loaderFor(FILE);
const batchErrors = (lines: string[]) => errors(lines).filter((e) => e.includes("must be ≤ the channel"));

/** An agent a1 with source r1 (its type and keys) into memory channel c1 (its keys), drained by a logger sink. */
function agent(source: string[], channel: string[] = [], sink: string[] = []): string[] {
  return [
    "a1.sources = r1",
    "a1.channels = c1",
    "a1.sinks = k1",
    ...source.map((l) => `a1.sources.r1.${l}`),
    "a1.sources.r1.channels = c1",
    "a1.channels.c1.type = memory",
    "a1.channels.c1.capacity = 100000",
    ...channel.map((l) => `a1.channels.c1.${l}`),
    "a1.sinks.k1.type = logger",
    ...sink.map((l) => `a1.sinks.k1.${l}`),
    "a1.sinks.k1.channel = c1",
  ];
}

/** The keys each source with a batchSize needs besides it, to load at all. */
const REQUIRED: Record<string, string[]> = {
  netcat: ["port = 0"],
  netcatudp: ["port = 0"],
  syslogtcp: ["port = 0"],
  multiport_syslogtcp: ["ports = 0"],
  syslogudp: ["port = 0"],
  exec: ["command = true"],
  seq: [],
  taildir: ["filegroups = f1", "filegroups.f1 = /tmp/sluice-batch-size-test/.*"],
  spooldir: ["spoolDir = /tmp"],
};

describe("a batch larger than the channel's transactionCapacity", () => {
  test("a syslogtcp batchSize above it is refused at its line, naming both keys", () => {
    const lines = agent(["type = syslogtcp", "port = 0", "batchSize = 5000"], ["transactionCapacity = 1000"]);
    expect(batchErrors(lines)).toEqual([
      `${FILE}:6: a1.sources.r1.batchSize: batchSize (5000) must be ≤ the channel c1's transactionCapacity (1000): every larger put would fail; lower batchSize or raise a1.channels.c1.transactionCapacity`,
    ]);
  });

  test("a default batchSize above a lowered transactionCapacity is reported at the channel's line", () => {
    const lines = agent(["type = netcat", "port = 0"], ["transactionCapacity = 10"], ["batchSize = 10"]);
    expect(batchErrors(lines)).toEqual([
      `${FILE}:9: a1.sources.r1.batchSize: batchSize (100) must be ≤ the channel c1's transactionCapacity (10): every larger put would fail; lower batchSize or raise a1.channels.c1.transactionCapacity`,
    ]);
  });

  test("is refused for every source type that has a batchSize, and a batch that fits passes", () => {
    const withBatch = allTypes("source").filter((t) => "batchSize" in t.keys).map((t) => t.names[0]!.toLowerCase());
    expect(withBatch.sort()).toEqual(Object.keys(REQUIRED).sort());
    for (const [type, keys] of Object.entries(REQUIRED)) {
      const over = batchErrors(agent([`type = ${type}`, ...keys, "batchSize = 1001"], ["transactionCapacity = 1000"]));
      expect({ type, over }).toEqual({ type, over: [expect.stringContaining("a1.sources.r1.batchSize: batchSize (1001) must be ≤ the channel c1's transactionCapacity (1000)")] });
      const fits = batchErrors(agent([`type = ${type}`, ...keys, "batchSize = 1000"], ["transactionCapacity = 1000"]));
      expect({ type, fits }).toEqual({ type, fits: [] });
    }
  });

  test("is checked against each of a source's channels", () => {
    const lines = [
      ...agent(["type = seq", "batchSize = 500"], ["transactionCapacity = 1000"]).map((l) => (l === "a1.channels = c1" ? "a1.channels = c1 c2" : l === "a1.sources.r1.channels = c1" ? "a1.sources.r1.channels = c1 c2" : l)),
      "a1.channels.c2.type = memory",
      "a1.channels.c2.capacity = 1000",
      "a1.channels.c2.transactionCapacity = 200",
    ];
    expect(batchErrors(lines)).toEqual([expect.stringContaining("batchSize (500) must be ≤ the channel c2's transactionCapacity (200)")]);
  });

  test("a sink's batch (events per take) above it is refused too, whatever the sink calls the key", () => {
    expect(batchErrors(agent(["type = seq"], [], ["batchSize = 500"]))).toEqual([
      `${FILE}:9: a1.sinks.k1.batchSize: batchSize (500) must be ≤ the channel c1's transactionCapacity (100): every larger take would fail; lower batchSize or raise a1.channels.c1.transactionCapacity`,
    ]);
    const avro = agent(["type = seq"]).map((l) => (l === "a1.sinks.k1.type = logger" ? "a1.sinks.k1.type = avro" : l));
    expect(batchErrors([...avro, "a1.sinks.k1.hostname = 127.0.0.1", "a1.sinks.k1.port = 4141", "a1.sinks.k1.batchSize = 101"])).toEqual([
      `${FILE}:12: a1.sinks.k1.batch-size: batch-size (101) must be ≤ the channel c1's transactionCapacity (100): every larger take would fail; lower batch-size or raise a1.channels.c1.transactionCapacity`,
    ]);
  });
});
