// Config reload with real spawned agents: SIGHUP with a broken file keeps the old graph running and delivering;
// with a good file the new graph starts (the new sink receives) and no line is lost across the switch;
// --reload-interval notices a changed file without a signal.

import { describe, expect, test } from "bun:test";
import { mkdir } from "node:fs/promises";
import { join } from "node:path";
import { spawnSluice, tempDir, waitFor, writeConfig } from "../helpers/index.ts";
import { delivered, expectedLines, logFile, stateArgs, tailConfig, waitDelivered, writeLines } from "./ops-helpers.ts";

async function setup() {
  const dir = await tempDir();
  const logs = join(dir, "logs");
  await mkdir(logs);
  const outA = join(dir, "outA");
  const outB = join(dir, "outB");
  const conf = await writeConfig(dir, tailConfig({ logs, out: outA }));
  return { dir, logs, outA, outB, conf, state: join(dir, "state") };
}

describe("config reload", () => {
  test("SIGHUP with a broken config logs every error and the old graph keeps running and delivering", async () => {
    const s = await setup();
    const agent = spawnSluice(stateArgs(s.conf, s.state));
    await writeLines(logFile(s.logs), 0, 100);
    await waitDelivered(s.outA, 100);
    await writeConfig(s.dir, [...tailConfig({ logs: s.logs, out: s.outB }), "a1.channels.c1.capacity = lots", "a1.sinks.k1.type = nosuchsink"]);
    agent.kill("SIGHUP");
    await waitFor("the reload refusal", () => agent.stderr().includes("keeping the running configuration"));
    expect(agent.stderr()).toContain("capacity");
    expect(agent.stderr()).toContain("nosuchsink");
    await writeLines(logFile(s.logs), 100, 200);
    const got = await waitDelivered(s.outA, 200);
    for (const l of expectedLines(0, 200)) expect(got.has(l)).toBe(true);
    expect((await delivered(s.outB)).size).toBe(0);
    agent.kill("SIGTERM");
    expect(await agent.exited).toBe(0);
  });

  test("SIGHUP with a good config restarts the graph: the new sink receives and no line is lost", async () => {
    const s = await setup();
    const agent = spawnSluice(stateArgs(s.conf, s.state));
    await writeLines(logFile(s.logs), 0, 100);
    await waitDelivered(s.outA, 100);
    await writeConfig(s.dir, tailConfig({ logs: s.logs, out: s.outB }));
    // Lines written while the switch happens must land in one of the two outputs.
    await writeLines(logFile(s.logs), 100, 150);
    agent.kill("SIGHUP");
    await waitFor("the new graph", () => agent.stderr().includes("new configuration running"));
    await writeLines(logFile(s.logs), 150, 300);
    await waitFor("lines 150..299 in the new sink's directory", async () => {
      const b = await delivered(s.outB);
      return expectedLines(150, 300).every((l) => b.has(l));
    }, 20_000, 50);
    const all = new Set([...(await delivered(s.outA)), ...(await delivered(s.outB))]);
    for (const l of expectedLines(0, 300)) expect(all.has(l)).toBe(true);
    agent.kill("SIGTERM");
    expect(await agent.exited).toBe(0);
  });

  test("a SIGHUP with an unchanged file restarts nothing", async () => {
    const s = await setup();
    const agent = spawnSluice(stateArgs(s.conf, s.state));
    await writeLines(logFile(s.logs), 0, 10);
    await waitDelivered(s.outA, 10);
    agent.kill("SIGHUP");
    await waitFor("the unchanged note", () => agent.stderr().includes("is unchanged; nothing to do"));
    expect(agent.stderr().match(/agent a1 started/g)?.length).toBe(1);
    agent.kill("SIGTERM");
    expect(await agent.exited).toBe(0);
  });

  test("--reload-interval reloads when the config file changes, without a signal", async () => {
    const s = await setup();
    const agent = spawnSluice([...stateArgs(s.conf, s.state), "--reload-interval", "200ms"]);
    await writeLines(logFile(s.logs), 0, 10);
    await waitDelivered(s.outA, 10);
    await Bun.sleep(50);
    await writeConfig(s.dir, tailConfig({ logs: s.logs, out: s.outB }));
    await waitFor("the reload", () => agent.stderr().includes("config file changed"), 10_000);
    await waitFor("the new graph", () => agent.stderr().includes("new configuration running"));
    await writeLines(logFile(s.logs), 10, 20);
    await waitFor("new lines in the new sink", async () => (await delivered(s.outB)).has("line-19"), 20_000, 50);
    agent.kill("SIGTERM");
    expect(await agent.exited).toBe(0);
  });
});
