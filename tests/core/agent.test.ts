import { describe, expect, test } from "bun:test";
import { join } from "node:path";
import { buildAgentSpec } from "../../src/config/load.ts";
import { Agent } from "../../src/core/agent.ts";
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
