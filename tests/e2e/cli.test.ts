// The CLI as users meet it: real processes, real files. Every test runs under Bun (bun main.ts) and Deno
// (deno run -A main.ts); the single binary built by `bun build --compile` has its own end-to-end test.

import { describe, expect, test } from "bun:test";
import { existsSync } from "node:fs";
import { join } from "node:path";
import { BUN, DENO, MAIN, ROOT, readAllLines, runSluice, spawnSluice, tempDir, waitFor, writeConfig } from "../helpers/index.ts";
import { VERSION } from "../../src/version.ts";

const seqToFileRoll = (out: string, total: number | null, batch = 100) => [
  "a1.sources = r1",
  "a1.channels = c1",
  "a1.sinks = k1",
  "a1.sources.r1.type = seq",
  ...(total === null ? [] : [`a1.sources.r1.totalEvents = ${total}`]),
  `a1.sources.r1.batchSize = ${batch}`,
  "a1.sources.r1.channels = c1",
  "a1.channels.c1.type = memory",
  "a1.channels.c1.capacity = 10000",
  "a1.channels.c1.transactionCapacity = 1000",
  "a1.sinks.k1.type = file_roll",
  "a1.sinks.k1.channel = c1",
  `a1.sinks.k1.sink.directory = ${out}`,
  `a1.sinks.k1.sink.batchSize = ${batch}`,
];

const numbers = (n: number) => Array.from({ length: n }, (_, i) => String(i));

const RUNTIMES = [
  { name: "bun", bin: [BUN, MAIN] },
  { name: "deno", bin: [DENO, "run", "-A", MAIN] },
];

for (const rt of RUNTIMES) {
  const run = (args: string[]) => runSluice(args, { bin: rt.bin, timeoutMs: 60_000 });
  const spawn = (args: string[]) => spawnSluice(args, { bin: rt.bin });

  describe(`sluice CLI (${rt.name})`, () => {
    test("version prints the version and the runtime", async () => {
      const r = await run(["version"]);
      expect(r.code).toBe(0);
      expect(r.stdout).toContain(`sluice ${VERSION} (${rt.name} `);
      expect((await run(["--version"])).stdout).toContain(VERSION);
    });

    test("--help lists the commands and exit codes", async () => {
      const r = await run(["--help"]);
      expect(r.code).toBe(0);
      for (const word of ["agent -f FILE", "validate -f FILE", "version", "exit codes"]) expect(r.stdout).toContain(word);
    });

    test("an unknown command or option is a usage error (exit 2), not a stack trace", async () => {
      const a = await run(["frobnicate"]);
      expect(a.code).toBe(2);
      expect(a.stderr).toContain('unknown command "frobnicate"');
      const b = await run(["validate", "--frob"]);
      expect(b.code).toBe(2);
      expect(b.stderr).toContain("--frob");
      expect(b.stderr).not.toContain("    at ");
    });

    test("validate prints OK and the graph for a good file (exit 0)", async () => {
      const dir = await tempDir();
      const conf = await writeConfig(dir, seqToFileRoll(join(dir, "out"), 10));
      const r = await run(["validate", "-f", conf]);
      expect(r.code).toBe(0);
      expect(r.stdout).toContain("OK: agent a1");
      expect(r.stdout).toContain("source  r1 (seq) -> c1");
      expect(r.stdout).toContain("sink    k1 (file_roll) <- c1");
    });

    test("validate lists every error with file:line and key (exit 2)", async () => {
      const dir = await tempDir();
      const lines = seqToFileRoll(join(dir, "out"), 10).map((l) => l.replace("capacity = 10000", "capacity = ten").replace("type = file_roll", "type = hdfs"));
      const conf = await writeConfig(dir, lines);
      const r = await run(["validate", "-f", conf]);
      expect(r.code).toBe(2);
      expect(r.stdout).toContain(`error: ${conf}:9: a1.channels.c1.capacity: expected a whole number, got "ten"`);
      expect(r.stdout).toContain(`error: ${conf}:11: a1.sinks.k1.type: sink type "hdfs" is a Flume type that sluice does not implement`);
      expect(r.stdout).toContain("2 errors in");
    });

    test("agent refuses a broken config or a missing file with exit 2 and a clear line", async () => {
      const dir = await tempDir();
      const missing = await run(["agent", "-f", join(dir, "nope.conf")]);
      expect(missing.code).toBe(2);
      expect(missing.stderr).toContain(`${join(dir, "nope.conf")}: cannot read config file`);
      const conf = await writeConfig(dir, ["a1.sources = r1", "a1.channels = c1", "a1.sources.r1.type = seq", "a1.sources.r1.channels = c9", "a1.channels.c1.type = memory"]);
      const broken = await run(["agent", "-f", conf, "--state-dir", dir]);
      expect(broken.code).toBe(2);
      expect(broken.stderr).toContain(`error: ${conf}:4: a1.sources.r1.channels: channel "c9" is not in a1.channels (c1)`);
    });

    test("agent delivers every event and exits 0 on SIGTERM after draining", async () => {
      const dir = await tempDir();
      const out = join(dir, "out");
      const conf = await writeConfig(dir, seqToFileRoll(out, 20_000));
      const agent = spawn(["agent", "-f", conf, "--state-dir", join(dir, "state")]);
      await waitFor("20000 lines", async () => (await readAllLines(out)).length >= 20_000, 20_000);
      agent.kill("SIGTERM");
      expect(await agent.exited).toBe(0);
      expect(await readAllLines(out)).toEqual(numbers(20_000));
      expect(agent.stderr()).toContain("SIGTERM received");
      expect(agent.stderr()).toContain("agent a1 stopped");
    });

    test("SIGTERM on a busy agent stops within the drain timeout and leaves only whole lines", async () => {
      const dir = await tempDir();
      const out = join(dir, "out");
      const conf = await writeConfig(dir, seqToFileRoll(out, null, 500));
      const agent = spawn(["agent", "-f", conf, "--state-dir", join(dir, "state"), "--drain-timeout", "2s"]);
      await waitFor("some output", async () => (await readAllLines(out)).length > 1000, 20_000);
      const t0 = Date.now();
      agent.kill("SIGTERM");
      expect(await agent.exited).toBe(0);
      expect(Date.now() - t0).toBeLessThan(8000);
      const lines = await readAllLines(out);
      expect(lines).toEqual(numbers(lines.length));
    });
  });

  describe(`logging (${rt.name})`, () => {
    test("--log-format json writes one JSON object per stderr line; the logger sink shows events Flume's way", async () => {
      const dir = await tempDir();
      const conf = await writeConfig(dir, [
        "a1.sources = r1", "a1.channels = c1", "a1.sinks = k1",
        "a1.sources.r1.type = seq", "a1.sources.r1.totalEvents = 3", "a1.sources.r1.channels = c1",
        "a1.channels.c1.type = memory", "a1.sinks.k1.type = logger", "a1.sinks.k1.channel = c1",
      ]);
      const agent = spawn(["agent", "-f", conf, "--state-dir", dir, "--log-format", "json"]);
      await waitFor("three logged events", () => (agent.stderr().match(/Event: /g) ?? []).length >= 3, 20_000);
      agent.kill("SIGTERM");
      expect(await agent.exited).toBe(0);
      const records = agent.stderr().trim().split("\n").map((l) => JSON.parse(l));
      expect(records.every((r) => typeof r.ts === "string" && typeof r.level === "string" && typeof r.msg === "string")).toBe(true);
      expect(records.filter((r) => r.component === "a1.sink.k1").map((r) => r.msg)).toEqual([
        "Event: { headers:{} body: 30 0 }", "Event: { headers:{} body: 31 1 }", "Event: { headers:{} body: 32 2 }",
      ]);
    });

    test("--log-level warn hides info lines; a bad level is a usage error", async () => {
      const dir = await tempDir();
      const conf = await writeConfig(dir, seqToFileRoll(join(dir, "out"), 10));
      const bad = await run(["agent", "-f", conf, "--log-level", "loud"]);
      expect(bad.code).toBe(2);
      expect(bad.stderr).toContain("--log-level must be debug, info, warn or error");
      const agent = spawn(["agent", "-f", conf, "--state-dir", dir, "--log-level", "warn"]);
      await waitFor("10 lines", async () => (await readAllLines(join(dir, "out"))).length >= 10, 20_000);
      agent.kill("SIGTERM");
      expect(await agent.exited).toBe(0);
      expect(agent.stderr()).not.toContain("INFO");
    });
  });
}

describe("the single binary", () => {
  test("dist/sluice, built by bun build --compile, runs seq → memory → file_roll end to end", async () => {
    const build = Bun.spawnSync([BUN, "build", "--compile", "--minify", MAIN, "--outfile", join(ROOT, "dist/sluice")], { cwd: ROOT, stderr: "pipe", stdout: "pipe" });
    expect(build.exitCode).toBe(0);
    const bin = join(ROOT, "dist/sluice");
    expect(existsSync(bin)).toBe(true);
    const dir = await tempDir();
    const out = join(dir, "out");
    const conf = await writeConfig(dir, seqToFileRoll(out, 10_000));
    const agent = spawnSluice(["agent", "-f", conf, "--state-dir", join(dir, "state")], { bin: [bin], env: { PATH: "/usr/bin:/bin" } });
    await waitFor("10000 lines from the binary", async () => (await readAllLines(out)).length >= 10_000, 30_000);
    agent.kill("SIGTERM");
    expect(await agent.exited).toBe(0);
    expect(await readAllLines(out)).toEqual(numbers(10_000));
  }, 120_000);
});
