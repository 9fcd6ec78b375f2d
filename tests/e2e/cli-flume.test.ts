// A Flume user's start line, as they type it for flume-ng, runs sluice's agent; what sluice cannot use is named once
// at start, and every usage error is one plain line with a hint. Real processes under Bun.

import { describe, expect, test } from "bun:test";
import { mkdir } from "node:fs/promises";
import { join } from "node:path";
import { runSluice, spawnSluice, tempDir, waitFor, writeConfig } from "../helpers/index.ts";

const LOGGER_AGENT = [
  "a1.sources = r1", "a1.channels = c1", "a1.sinks = k1",
  "a1.sources.r1.type = seq", "a1.sources.r1.totalEvents = 3", "a1.sources.r1.channels = c1",
  "a1.channels.c1.type = memory", "a1.sinks.k1.type = logger", "a1.sinks.k1.channel = c1",
];

async function project() {
  const dir = await tempDir();
  await mkdir(join(dir, "conf"));
  await writeConfig(dir, LOGGER_AGENT, "example.conf");
  return dir;
}

describe("Flume's command line", () => {
  test("flume-ng's agent line runs the agent; each flag sluice has no use for gets one line at start", async () => {
    const dir = await project();
    const agent = spawnSluice([
      "agent", "--conf", "conf", "--conf-file", "example.conf", "--name", "a1", "-Dflume.root.logger=INFO,console",
      "-Xmx20m", "--no-reload-conf", "-Dflume.log.dir=/var/log/flume", "--state-dir", join(dir, "state"),
    ], { cwd: dir });
    await waitFor("three events logged", () => (agent.stderr().match(/Event: /g) ?? []).length >= 3, 20_000);
    agent.kill("SIGTERM");
    expect(await agent.exited).toBe(0);
    const err = agent.stderr();
    const line = (needle: string) => err.split("\n").filter((l) => l.includes(needle));
    expect(line("--conf conf: sluice has no use for Flume's conf directory")).toHaveLength(1);
    expect(line("-Xmx20m: a Java VM option")).toHaveLength(1);
    expect(line("--no-reload-conf: ")).toHaveLength(1);
    expect(line("-Dflume.log.dir: sluice has no log files")).toHaveLength(1);
    expect(err).not.toContain("WARN");
  });

  test("short flags -c -f -n and --conf-uri file: work like Flume's", async () => {
    const dir = await project();
    const a = spawnSluice(["agent", "-c", "conf", "-f", "example.conf", "-n", "a1", "--state-dir", join(dir, "s1")], { cwd: dir });
    await waitFor("events from -c -f -n", () => (a.stderr().match(/Event: /g) ?? []).length >= 3, 20_000);
    a.kill("SIGTERM");
    expect(await a.exited).toBe(0);
    const b = spawnSluice(["agent", "--conf-uri", `file://${join(dir, "example.conf")}`, "-n", "a1", "--state-dir", join(dir, "s2")], { cwd: dir });
    await waitFor("events from --conf-uri", () => (b.stderr().match(/Event: /g) ?? []).length >= 3, 20_000);
    b.kill("SIGTERM");
    expect(await b.exited).toBe(0);
  });

  test("every usage error is one line with a hint and exit 2, never a parser code", async () => {
    const dir = await project();
    const cases: Array<[string[], string]> = [
      [["agent", "--conf-fil", "example.conf"], "unknown option --conf-fil; did you mean --conf-file?"],
      [["agent", "-f"], "-f/--conf-file needs a value"],
      [["agent", "-f", "example.conf", "extra"], 'unexpected argument "extra"'],
      [["agent", "--once=yes", "-f", "example.conf"], "--once takes no value"],
      [["agent", "--dryrun", "-f", "example.conf"], "run sluice validate -f FILE"],
      [["agent", "-z", "zk1:2181", "-n", "a1"], "ZooKeeper-stored configs are not supported"],
      [["agent", "--conf-uri", "http://cfg.example/a.conf"], "sluice reads a local file only"],
      [["agent", "--no-reload-conf", "--reload-interval", "30s", "-f", "example.conf"], "contradict each other"],
      [["validate", "--frob"], "unknown option --frob"],
      [["status", "-q"], "unknown option -q"],
    ];
    for (const [args, message] of cases) {
      const r = await runSluice(args, { cwd: dir });
      expect({ args, code: r.code }).toEqual({ args, code: 2 });
      const lines = r.stderr.trim().split("\n");
      expect(lines).toHaveLength(1);
      expect(lines[0]).toContain(message);
      expect(lines[0]).toContain(`(see sluice ${args[0]} --help)`);
      expect(lines[0]).not.toContain("ERR_PARSE_ARGS");
    }
  });
});
