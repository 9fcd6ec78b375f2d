// Errors name the place first: validate checks the paths a config names without starting anything, a component that
// cannot start is told as file:line, key and value before the agent's stop lines, an empty POST says it is empty.

import { describe, expect, test } from "bun:test";
import { mkdir, writeFile } from "node:fs/promises";
import { createServer } from "node:net";
import { join } from "node:path";
import { BUN, DENO, MAIN, freePort, onCleanup, runSluice, spawnSluice, tempDir, waitFor, writeConfig } from "../helpers/index.ts";

const ERROR_LINE = /^error: /;

describe("validate checks paths", () => {
  test("a missing spoolDir, a positionFile that is a directory and an uncreatable channel dir are errors with file:line and key", async () => {
    const dir = await tempDir();
    await mkdir(join(dir, "posdir"));
    await writeFile(join(dir, "plain"), "x");
    const conf = await writeConfig(dir, [
      "a1.sources = r1 r2", "a1.channels = c1 c2", "a1.sinks = k1",
      "a1.sources.r1.type = spooldir", `a1.sources.r1.spoolDir = ${dir}/missing`, "a1.sources.r1.channels = c1",
      "a1.sources.r2.type = TAILDIR", "a1.sources.r2.filegroups = f1", `a1.sources.r2.filegroups.f1 = ${dir}/x.log`,
      `a1.sources.r2.positionFile = ${dir}/posdir`, "a1.sources.r2.channels = c2",
      "a1.channels.c1.type = file", `a1.channels.c1.checkpointDir = ${dir}/plain/cp`, `a1.channels.c1.dataDirs = ${dir}/d1, ${dir}/plain`,
      "a1.channels.c2.type = memory",
      "a1.sinks.k1.type = file_roll", "a1.sinks.k1.channel = c1", `a1.sinks.k1.sink.directory = ${dir}/out/new`,
    ]);
    const r = await runSluice(["validate", "-f", conf]);
    expect(r.code).toBe(2);
    const errors = r.stdout.split("\n").filter((l) => ERROR_LINE.test(l));
    expect(errors).toEqual([
      `error: ${conf}:5: a1.sources.r1.spoolDir = ${dir}/missing: no such directory`,
      `error: ${conf}:10: a1.sources.r2.positionFile = ${dir}/posdir: is a directory; the key names a file`,
      `error: ${conf}:13: a1.channels.c1.checkpointDir = ${dir}/plain/cp: cannot be created: ${dir}/plain is not a directory`,
      `error: ${conf}:14: a1.channels.c1.dataDirs = ${dir}/plain: exists and is not a directory`,
    ]);
    expect(r.stdout).toContain("4 errors in");
  });

  test("the agent warns about the same paths, and a source that cannot start names its key and value first", async () => {
    const dir = await tempDir();
    const conf = await writeConfig(dir, [
      "a1.sources = r1", "a1.channels = c1", "a1.sinks = k1",
      "a1.sources.r1.type = spooldir", `a1.sources.r1.spoolDir = ${dir}/missing`, "a1.sources.r1.channels = c1",
      "a1.channels.c1.type = memory", "a1.sinks.k1.type = null", "a1.sinks.k1.channel = c1",
    ]);
    const a = await runSluice(["agent", "-f", conf, "--state-dir", join(dir, "state")]);
    expect(a.code).toBe(1);
    const lines = a.stderr.trim().split("\n");
    expect(lines[0]).toContain(`WARN  [config] ${conf}:5: a1.sources.r1.spoolDir = ${dir}/missing: no such directory`);
    const cause = lines.findIndex((l) => l.includes(`ERROR [a1] ${conf}:5: a1.sources.r1.spoolDir = ${dir}/missing: `));
    expect(cause).toBeGreaterThan(0);
    expect(lines.findIndex((l) => l.includes("agent a1 stopped"))).toBeGreaterThan(cause);
  });

  test("paths that will be created (a sink directory, a missing position file) pass", async () => {
    const dir = await tempDir();
    const conf = await writeConfig(dir, [
      "a1.sources = r1", "a1.channels = c1", "a1.sinks = k1",
      "a1.sources.r1.type = TAILDIR", "a1.sources.r1.filegroups = f1", `a1.sources.r1.filegroups.f1 = ${dir}/x.log`,
      `a1.sources.r1.positionFile = ${dir}/state/deep/pos.json`, "a1.sources.r1.channels = c1",
      "a1.channels.c1.type = memory",
      "a1.sinks.k1.type = file_roll", "a1.sinks.k1.channel = c1", `a1.sinks.k1.sink.directory = ${dir}/out/new`,
    ]);
    const r = await runSluice(["validate", "-f", conf]);
    expect(r.stdout).toContain("OK: agent a1");
    expect(r.code).toBe(0);
  });
});

/** Holds a port on 127.0.0.1 for the test's duration. */
async function busyPort(): Promise<number> {
  const port = await freePort();
  const server = createServer();
  await new Promise<void>((res) => server.listen(port, "127.0.0.1", () => res()));
  onCleanup(() => new Promise((r) => server.close(() => r(undefined))));
  return port;
}

describe("start failures name the component, the key and the value first", () => {
  const runtimes = [{ name: "bun", bin: [BUN, MAIN] }, { name: "deno", bin: [DENO, "run", "-A", MAIN] }];
  for (const [type, rt] of runtimes.flatMap((rt) => ["http", "avro"].map((t) => [t, rt] as const))) {
    test(`a busy port of the ${type} source under ${rt.name}: the cause with file:line comes before the stop, exit 1`, async () => {
      const dir = await tempDir();
      const port = await busyPort();
      const conf = await writeConfig(dir, [
        "a1.sources = r1", "a1.channels = c1", "a1.sinks = k1",
        `a1.sources.r1.type = ${type}`, "a1.sources.r1.bind = 127.0.0.1", `a1.sources.r1.port = ${port}`, "a1.sources.r1.channels = c1",
        "a1.channels.c1.type = memory", "a1.sinks.k1.type = logger", "a1.sinks.k1.channel = c1",
      ]);
      const r = await runSluice(["agent", "-f", conf, "--state-dir", join(dir, "state")], { bin: rt.bin, timeoutMs: 60_000 });
      expect(r.code).toBe(1);
      const lines = r.stderr.trim().split("\n");
      const cause = lines.findIndex((l) => l.includes(`ERROR [a1] ${conf}:6: a1.sources.r1.port = ${port}: address already in use on 127.0.0.1`));
      const stop = lines.findIndex((l) => l.includes("agent a1 stopped"));
      expect(cause).toBeGreaterThanOrEqual(0);
      expect(stop).toBeGreaterThan(cause);
      expect(lines.filter((l) => l.includes("ERROR"))).toHaveLength(1);
    });
  }
});

describe("the http source on an empty POST", () => {
  test("answers 400 saying the body is empty", async () => {
    const dir = await tempDir();
    const port = await freePort();
    const conf = await writeConfig(dir, [
      "a1.sources = r1", "a1.channels = c1", "a1.sinks = k1",
      "a1.sources.r1.type = http", `a1.sources.r1.port = ${port}`, "a1.sources.r1.channels = c1",
      "a1.channels.c1.type = memory", "a1.sinks.k1.type = null", "a1.sinks.k1.channel = c1",
    ]);
    const agent = spawnSluice(["agent", "-f", conf, "--state-dir", join(dir, "state")]);
    const res = await waitFor("the http source", () => fetch(`http://127.0.0.1:${port}/`, { method: "POST", body: "" }).catch(() => undefined), 20_000, 50);
    expect(res.status).toBe(400);
    expect(await res.text()).toContain("the body is empty");
    agent.kill("SIGTERM");
    expect(await agent.exited).toBe(0);
  });
});
