// A put that throws (a disk error in the channel, a failing interceptor) must not lose the batch: every source keeps
// it and retries it before reading on.

import { describe, expect, test } from "bun:test";
import { writeFile } from "node:fs/promises";
import { join } from "node:path";
import { buildAgentSpec } from "../../src/config/load.ts";
import { Agent } from "../../src/core/agent.ts";
import type { Interceptor } from "../../src/core/channel-processor.ts";
import { configureLogging } from "../../src/util/log.ts";
import { readAllLines, tempDir, waitFor } from "../helpers/index.ts";

configureLogging({ level: "error" });

/** Throws on its `failOn`-th call only. */
function failingOnce(failOn: number): Interceptor {
  let calls = 0;
  return {
    intercept(events) {
      if (++calls === failOn) throw new Error("simulated I/O error");
      return events;
    },
  };
}

async function run(dir: string, source: string[], expected: string[]): Promise<void> {
  const out = join(dir, "out");
  const { spec, problems } = buildAgentSpec(
    [
      "a1.sources = r1", "a1.channels = c1", "a1.sinks = k1",
      ...source, "a1.sources.r1.batchSize = 100", "a1.sources.r1.channels = c1",
      "a1.channels.c1.type = memory", "a1.channels.c1.capacity = 10000", "a1.channels.c1.transactionCapacity = 100",
      "a1.sinks.k1.type = file_roll", "a1.sinks.k1.channel = c1", `a1.sinks.k1.sink.directory = ${out}`,
    ].join("\n"),
    "put-failure.conf",
  );
  expect(problems).toEqual([]);
  const agent = await Agent.build(spec!, { stateDir: join(dir, "state") });
  // The real processor, with one interceptor that fails the third batch once.
  (agent.sources.get("r1")!.processor as unknown as { interceptors: Interceptor[] }).interceptors = [failingOnce(3)];
  await agent.start();
  await waitFor("every line", async () => (await readAllLines(out)).length >= expected.length, 15_000);
  await agent.stop(1000);
  expect(await readAllLines(out)).toEqual(expected);
  expect(agent.sources.get("r1")!.source.counters.GenericProcessingFail).toBe(1);
}

const lines = Array.from({ length: 1000 }, (_, i) => `line ${i}`);

describe("a put that throws", () => {
  test("TAILDIR retries the batch: every line arrives once, in order", async () => {
    const dir = await tempDir();
    await writeFile(join(dir, "app.log"), lines.join("\n") + "\n");
    await run(dir, ["a1.sources.r1.type = TAILDIR", "a1.sources.r1.filegroups = f1", `a1.sources.r1.filegroups.f1 = ${dir}/app[.]log`], lines);
  });

  test("spooldir retries the batch: every line arrives once, in order", async () => {
    const dir = await tempDir();
    const spool = join(dir, "spool");
    await Bun.write(join(spool, "a.log"), lines.join("\n") + "\n");
    await run(dir, ["a1.sources.r1.type = spooldir", `a1.sources.r1.spoolDir = ${spool}`], lines);
  });

  test("seq retries the batch: no number is skipped", async () => {
    const dir = await tempDir();
    await run(dir, ["a1.sources.r1.type = seq", "a1.sources.r1.totalEvents = 1000"], lines.map((_, i) => String(i)));
  });
});
