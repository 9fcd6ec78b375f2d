import { describe, expect, test } from "bun:test";
import { join } from "node:path";
import { buildAgentSpec } from "../../src/config/load.ts";
import { Agent } from "../../src/core/agent.ts";
import { ComponentError, SluiceError, ValueError } from "../../src/core/errors.ts";
import { configureLogging } from "../../src/util/log.ts";
import { readAllLines, tempDir, waitFor } from "../helpers/index.ts";

configureLogging({ level: "error" });

async function agentFor(lines: string[], stateDir: string): Promise<Agent> {
  const { spec, problems } = buildAgentSpec(lines.join("\n"), "test.conf");
  expect(problems).toEqual([]);
  return Agent.build(spec!, { stateDir });
}

describe("agent lifecycle", () => {
  test("moves every event from seq through memory to file_roll, in order", async () => {
    const dir = await tempDir();
    const out = join(dir, "out");
    const agent = await agentFor(
      [
        "a1.sources = r1", "a1.channels = c1", "a1.sinks = k1",
        "a1.sources.r1.type = seq", "a1.sources.r1.totalEvents = 5000", "a1.sources.r1.batchSize = 50", "a1.sources.r1.channels = c1",
        "a1.channels.c1.type = memory", "a1.channels.c1.capacity = 1000",
        "a1.sinks.k1.type = file_roll", "a1.sinks.k1.channel = c1", `a1.sinks.k1.sink.directory = ${out}`, "a1.sinks.k1.sink.batchSize = 100",
      ],
      dir,
    );
    await agent.start();
    await waitFor("5000 lines", async () => (await readAllLines(out)).length >= 5000);
    await agent.stop(1000);
    const lines = await readAllLines(out);
    expect(lines).toEqual(Array.from({ length: 5000 }, (_, i) => String(i)));
  });

  test("replicates a batch into every channel of the source", async () => {
    const dir = await tempDir();
    const agent = await agentFor(
      [
        "a1.sources = r1", "a1.channels = c1 c2", "a1.sinks = k1 k2",
        "a1.sources.r1.type = seq", "a1.sources.r1.totalEvents = 300", "a1.sources.r1.batchSize = 30", "a1.sources.r1.channels = c1 c2",
        "a1.channels.c1.type = memory", "a1.channels.c2.type = memory",
        "a1.sinks.k1.type = file_roll", "a1.sinks.k1.channel = c1", `a1.sinks.k1.sink.directory = ${dir}/o1`,
        "a1.sinks.k2.type = file_roll", "a1.sinks.k2.channel = c2", `a1.sinks.k2.sink.directory = ${dir}/o2`,
      ],
      dir,
    );
    await agent.start();
    await waitFor("both copies", async () => (await readAllLines(`${dir}/o1`)).length === 300 && (await readAllLines(`${dir}/o2`)).length === 300);
    await agent.stop(1000);
    expect(await readAllLines(`${dir}/o2`)).toEqual(await readAllLines(`${dir}/o1`));
  });

  test("stop lets the sink drain what the channel holds before closing", async () => {
    const dir = await tempDir();
    const agent = await agentFor(
      [
        "a1.sources = r1", "a1.channels = c1", "a1.sinks = k1",
        "a1.sources.r1.type = seq", "a1.sources.r1.totalEvents = 2000", "a1.sources.r1.batchSize = 100", "a1.sources.r1.channels = c1",
        "a1.channels.c1.type = memory", "a1.channels.c1.capacity = 2000",
        "a1.sinks.k1.type = file_roll", "a1.sinks.k1.channel = c1", `a1.sinks.k1.sink.directory = ${dir}/out`, "a1.sinks.k1.sink.batchSize = 10",
      ],
      dir,
    );
    await agent.start();
    await waitFor("the source to finish", () => agent.sources.get("r1")!.runner!.finished.then(() => true), 5000);
    await agent.stop(10_000);
    expect(agent.channels.get("c1")!.size()).toBe(0);
    expect((await readAllLines(`${dir}/out`)).length).toBe(2000);
  });

  test("a sink that cannot write keeps the events in the channel and retries", async () => {
    const dir = await tempDir();
    const blocker = join(dir, "blocked");
    await Bun.write(blocker, "a plain file where the sink wants a directory\n");
    const agent = await agentFor(
      [
        "a1.sources = r1", "a1.channels = c1", "a1.sinks = k1",
        "a1.sources.r1.type = seq", "a1.sources.r1.totalEvents = 100", "a1.sources.r1.batchSize = 10", "a1.sources.r1.channels = c1",
        "a1.channels.c1.type = memory",
        "a1.sinks.k1.type = file_roll", "a1.sinks.k1.channel = c1", `a1.sinks.k1.sink.directory = ${blocker}/out`,
      ],
      dir,
    );
    await agent.start();
    await waitFor("the channel to fill", () => agent.channels.get("c1")!.size() === 100, 5000);
    const runner = agent.runners[0]!;
    expect(runner.failing).toBe(true);
    expect(runner.lastError).toContain(`${blocker}/out`);
    await agent.stop(0);
  });
});

describe("start failures keep their type", () => {
  test("a source that cannot start fails with a ComponentError naming it and keeping the cause's code, key and recoverable flag", async () => {
    const dir = await tempDir();
    const missing = join(dir, "no-such-spool");
    const agent = await agentFor(
      [
        "a1.sources = r1", "a1.channels = c1", "a1.sinks = k1",
        "a1.sources.r1.type = spooldir", `a1.sources.r1.spoolDir = ${missing}`, "a1.sources.r1.channels = c1",
        "a1.channels.c1.type = memory",
        "a1.sinks.k1.type = null", "a1.sinks.k1.channel = c1",
      ],
      dir,
    );
    const err = await agent.start().then(() => undefined, (e: unknown) => e);
    expect(err).toBeInstanceOf(ComponentError);
    const ce = err as ComponentError;
    expect(ce.component).toBe("source r1");
    expect(ce.phase).toBe("start");
    expect(ce.code).toBe("CONFIG");
    expect(ce.recoverable).toBe(false);
    expect(ce.cause).toBeInstanceOf(ValueError);
    expect((ce.cause as ValueError).key).toBe("spoolDir");
    expect(ce.message).toBe(`cannot start source r1: spoolDir = ${missing}: is not a readable directory`);
  });

  test("a channel whose directory another channel holds fails with the lock error's code, not a plain Error", async () => {
    const dir = await tempDir();
    const conf = (agentName: string) => [
      `${agentName}.sources = r1`, `${agentName}.channels = c1`, `${agentName}.sinks = k1`,
      `${agentName}.sources.r1.type = seq`, `${agentName}.sources.r1.totalEvents = 1`, `${agentName}.sources.r1.channels = c1`,
      `${agentName}.channels.c1.type = file`, `${agentName}.channels.c1.checkpointDir = ${dir}/cp`, `${agentName}.channels.c1.dataDirs = ${dir}/data`,
      `${agentName}.sinks.k1.type = null`, `${agentName}.sinks.k1.channel = c1`,
    ];
    const first = await agentFor(conf("a1"), join(dir, "s1"));
    await first.start();
    try {
      const second = await agentFor(conf("a2"), join(dir, "s2"));
      const err = await second.start().then(() => undefined, (e: unknown) => e);
      expect(err).toBeInstanceOf(ComponentError);
      const ce = err as ComponentError;
      expect(ce.component).toBe("channel c1");
      expect(ce.code).toBe("LOCKED");
      expect(ce.cause).toBeInstanceOf(SluiceError);
      expect(ce.message).toStartWith("cannot start channel c1: channel c1: ");
    } finally {
      await first.stop(0);
    }
  });

  test("a second start is a typed error", async () => {
    const dir = await tempDir();
    const agent = await agentFor(
      ["a1.sources = r1", "a1.channels = c1", "a1.sinks = k1", "a1.sources.r1.type = seq", "a1.sources.r1.totalEvents = 1", "a1.sources.r1.channels = c1", "a1.channels.c1.type = memory", "a1.sinks.k1.type = null", "a1.sinks.k1.channel = c1"],
      dir,
    );
    await agent.start();
    try {
      const err = await agent.start().then(() => undefined, (e: unknown) => e);
      expect(err).toBeInstanceOf(SluiceError);
      expect((err as SluiceError).code).toBe("INTERNAL");
    } finally {
      await agent.stop(0);
    }
  });
});
