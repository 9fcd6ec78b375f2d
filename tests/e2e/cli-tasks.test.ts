// The project's own entry points as a newcomer types them from a fresh clone: `deno task start|check|compile`
// (deno.json) and `bun run start` (package.json). Each runs in a scratch copy of the project's layout (symlinks to
// main.ts, src and node_modules) with a demo config of our own, so no fixed port is used.

import { describe, expect, test } from "bun:test";
import { copyFile, mkdir, symlink } from "node:fs/promises";
import { existsSync } from "node:fs";
import { join } from "node:path";
import { readdir, writeFile } from "node:fs/promises";
import { lockHolder } from "../../src/core/lock.ts";
import { BUN, DENO, ROOT, freePort, readAllLines, runSluice, spawnSluice, tempDir, waitFor, writeConfig } from "../helpers/index.ts";

/** A directory that looks like the repository to deno/bun, with conf/sluice.conf replaced by a small demo. */
async function scratchProject(): Promise<string> {
  const dir = await tempDir("sluice-tasks-");
  for (const name of ["main.ts", "src", "node_modules", "tsconfig.json"]) await symlink(join(ROOT, name), join(dir, name));
  for (const name of ["deno.json", "package.json", "Makefile"]) await copyFile(join(ROOT, name), join(dir, name));
  await mkdir(join(dir, "conf"));
  const port = await freePort();
  await writeConfig(join(dir, "conf"), [
    "a1.sources = r1 r2", "a1.channels = c1 c2", "a1.sinks = k1 k2",
    "a1.sources.r1.type = seq", "a1.sources.r1.totalEvents = 500", "a1.sources.r1.batchSize = 100", "a1.sources.r1.channels = c1",
    "a1.sources.r2.type = http", "a1.sources.r2.port = " + port, "a1.sources.r2.channels = c2",
    "a1.channels.c1.type = memory", "a1.channels.c2.type = memory",
    "a1.sinks.k1.type = file_roll", "a1.sinks.k1.channel = c1", "a1.sinks.k1.sink.directory = .sluice-demo/out",
    "a1.sinks.k2.type = logger", "a1.sinks.k2.channel = c2",
  ], "sluice.conf");
  return dir;
}

async function startsDemo(bin: string[]): Promise<void> {
  const dir = await scratchProject();
  const agent = spawnSluice([], { bin, cwd: dir });
  await waitFor("500 numbers in .sluice-demo/out", async () => (await readAllLines(join(dir, ".sluice-demo/out"))).length >= 500, 60_000, 100);
  // The state lives where `make run` puts it, never in /var/lib/sluice or ~/.sluice.
  expect(existsSync(join(dir, ".sluice-demo/state/a1/agent.lock"))).toBe(true);
  agent.kill("SIGTERM");
  await waitFor("the agent to stop", () => agent.stderr().includes("agent a1 stopped"), 20_000, 50);
  expect(await agent.exited).toBe(0);
  expect(agent.stderr()).not.toContain("SyntaxError");
}

describe("deno tasks and package scripts", () => {
  test("deno task check type-checks main.ts under Deno and passes", async () => {
    const r = await runSluice([], { bin: [DENO, "task", "check"], timeoutMs: 120_000 });
    expect(r.stderr).not.toContain("SyntaxError");
    expect(r.stderr).not.toContain("ERROR");
    expect(r.code).toBe(0);
  }, 130_000);

  test("deno task start runs the demo agent with its state in .sluice-demo/state and stops on SIGTERM", async () => {
    await startsDemo([DENO, "task", "start"]);
  }, 90_000);

  test("bun run start runs the same demo agent", async () => {
    await startsDemo([BUN, "run", "start"]);
  }, 60_000);

  test("deno task compile builds a working binary, or fails saying it must download Deno's runtime", async () => {
    const dir = await scratchProject();
    const r = await runSluice([], { bin: [DENO, "task", "compile"], cwd: dir, timeoutMs: 180_000 });
    if (r.code === 0) {
      const v = await runSluice(["--version"], { bin: [join(dir, "dist/sluice-deno")] });
      expect(v.stdout).toContain("(deno ");
    } else {
      expect(r.stderr).toContain("deno compile downloads its runtime (denort) from dl.deno.land");
      expect(r.stderr).toContain("make build");
    }
  }, 190_000);
});

describe("make run", () => {
  test("moves the previous run's output to .sluice-demo/out.prev and says so, instead of appending to it", async () => {
    const dir = await scratchProject();
    await mkdir(join(dir, ".sluice-demo/out"), { recursive: true });
    await writeFile(join(dir, ".sluice-demo/out/earlier-1"), "0\n1\n");
    // -o: node_modules is the repository's (symlinked), installed already.
    const make = spawnSluice(["-o", "node_modules/.installed", "run"], { bin: ["make"], cwd: dir });
    await waitFor("500 numbers in .sluice-demo/out", async () => (await readAllLines(join(dir, ".sluice-demo/out"))).length >= 500, 60_000, 100);
    const holder = await waitFor("the agent's lock", () => lockHolder(join(dir, ".sluice-demo/state"), "a1"), 10_000, 50);
    process.kill(holder.pid, "SIGTERM");
    expect(await make.exited).toBe(0);
    expect(make.stdout()).toContain("make run: the previous run's output is now in .sluice-demo/out.prev");
    expect(await readdir(join(dir, ".sluice-demo/out.prev"))).toEqual(["earlier-1"]);
    expect(await readAllLines(join(dir, ".sluice-demo/out"))).toEqual(Array.from({ length: 500 }, (_, i) => String(i)));
  }, 90_000);
});

describe("the demo config", () => {
  test("conf/sluice.conf paces its seq source (eventsPerSecond) so file_roll's 10 s files each get some", async () => {
    const text = await Bun.file(join(ROOT, "conf/sluice.conf")).text();
    expect(text).toContain("a1.sources.r1.eventsPerSecond = 10000");
    expect(text).toContain("a1.sinks.k1.sink.rollInterval = 10");
    const v = await runSluice(["validate", "-f", join(ROOT, "conf/sluice.conf")]);
    expect(v.code).toBe(0);
  });

  test("a paced seq source does not run ahead of eventsPerSecond", async () => {
    const dir = await tempDir();
    const out = join(dir, "out");
    const conf = await writeConfig(dir, [
      "a1.sources = r1", "a1.channels = c1", "a1.sinks = k1",
      "a1.sources.r1.type = seq", "a1.sources.r1.batchSize = 50", "a1.sources.r1.eventsPerSecond = 500", "a1.sources.r1.channels = c1",
      "a1.channels.c1.type = memory", "a1.sinks.k1.type = file_roll", "a1.sinks.k1.channel = c1", `a1.sinks.k1.sink.directory = ${out}`,
    ]);
    const t0 = Date.now();
    const agent = spawnSluice(["agent", "-f", conf, "--state-dir", join(dir, "state")]);
    await waitFor("the first numbers", async () => (await readAllLines(out)).length > 0, 20_000, 50);
    await Bun.sleep(1000);
    const n = (await readAllLines(out)).length;
    const elapsed = (Date.now() - t0) / 1000;
    agent.kill("SIGTERM");
    expect(await agent.exited).toBe(0);
    // At most the rate over the time the agent has run, plus one batch (a batch is put whole).
    expect(n).toBeLessThanOrEqual(500 * elapsed + 50);
    expect(n).toBeGreaterThan(0);
  });
});
