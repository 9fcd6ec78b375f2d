import { describe, expect, test } from "bun:test";
import { PollingRunner, type PollableSource, type PollStatus } from "../../src/core/source.ts";
import { SourceCounters } from "../../src/core/counters.ts";
import { getLogger } from "../../src/util/log.ts";
import { waitFor } from "../helpers/index.ts";

/** A source that throws `failures` times with the same message, then reports done. */
class FlakySource implements PollableSource {
  readonly type = "flaky";
  readonly name = "r1";
  readonly counters = new SourceCounters();
  readonly backoff = { incrementMs: 5, maxMs: 20 };
  calls = 0;
  constructor(private failures: number) {}
  async start() {}
  async stop() {}
  async process(): Promise<PollStatus> {
    this.calls++;
    if (this.failures-- > 0) throw new Error("disk on fire");
    return this.calls > 10 ? "done" : "ready";
  }
}

describe("polling source runner", () => {
  test("a throwing source backs off, counts each failure, logs one error line, and recovers", async () => {
    const lines: string[] = [];
    const log = { ...getLogger("test"), error: (m: string) => lines.push(m), debug: () => {} } as ReturnType<typeof getLogger>;
    const src = new FlakySource(4);
    const runner = new PollingRunner(src, log);
    runner.start();
    await waitFor("the source to fail", () => runner.lastError !== undefined, 2000, 1);
    expect(runner.lastError).toBe("disk on fire");
    await runner.finished;
    expect(src.counters.GenericProcessingFail).toBe(4);
    expect(lines).toEqual(["source r1 failed: disk on fire"]);
    expect(runner.lastError).toBeUndefined();
    await runner.stop();
  });
});
