// `sluice status` against real state on disk: it names the lock holder while an agent runs, and after a kill -9 its
// offsets and backlog match what is on disk (the position file, the file channel's WAL).

import { describe, expect, test } from "bun:test";
import { mkdir, readdir, rm, stat, writeFile, readFile } from "node:fs/promises";
import { join } from "node:path";
import { runSluice, spawnSluice, tempDir, waitFor, writeConfig } from "../helpers/index.ts";
import { expectedLines, logFile, stateArgs, status, tailConfig, waitDelivered, writeLines } from "./ops-helpers.ts";

const fileChannel = (state: string) => [
  "a1.channels.c1.type = file",
  `a1.channels.c1.checkpointDir = ${state}/c1-checkpoint`,
  `a1.channels.c1.dataDirs = ${state}/c1-data`,
  "a1.channels.c1.minimumRequiredSpace = 0",
  "a1.channels.c1.checkpointInterval = 500",
];

describe("sluice status", () => {
  test("after kill -9, offsets and backlog match the state on disk, and the lock is reported free", async () => {
    const dir = await tempDir();
    const logs = join(dir, "logs");
    await mkdir(logs);
    const out = join(dir, "out");
    const state = join(dir, "state");
    const conf = await writeConfig(dir, tailConfig({ logs, out, channel: fileChannel(join(dir, "chan")) }));
    await writeLines(logFile(logs), 0, 1000);
    const size = (await stat(logFile(logs))).size;
    // The sink cannot deliver (a plain file where its directory should be): every line stays in the WAL.
    await writeFile(out, "in the way\n");
    const agent = spawnSluice(stateArgs(conf, state));

    const running = await waitFor("the source's offset at EOF and 1000 events in the channel", async () => {
      const s = await status(conf, state);
      const src = s.components.find((c) => c.name === "r1")?.report;
      const ch = s.components.find((c) => c.name === "c1")?.report;
      return src?.items?.[0]?.offset === size && ch?.summary.events === 1000 ? s : undefined;
    }, 20_000, 100);
    expect(running.lock).toMatchObject({ held: true, pid: agent.proc.pid });

    agent.kill("SIGKILL");
    await agent.exited;
    const after = await status(conf, state);
    expect(after.lock.held).toBe(false);
    const src = after.components.find((c) => c.name === "r1")!.report!;
    // The position file on disk is what status reports.
    const positions = JSON.parse(await readFile(String(src.summary.positionFile), "utf8")) as Array<{ inode: number; pos: number; file: string }>;
    expect(src.items).toHaveLength(1);
    expect(src.items![0]).toMatchObject({ file: logFile(logs), inode: positions[0]!.inode, offset: positions[0]!.pos, size, lag: size - positions[0]!.pos });
    const ch = after.components.find((c) => c.name === "c1")!.report!;
    expect(ch.summary.events).toBe(1000);
    expect(ch.summary.bytes).toBe(size - 1000); // bodies without their newlines
    expect(after.components.find((c) => c.name === "k1")!.report).toBeUndefined();

    // The table form shows the same facts.
    const table = await runSluice(["status", "-f", conf, "--state-dir", state]);
    expect(table.code).toBe(0);
    expect(table.stdout).toContain("lock: free");
    expect(table.stdout).toContain(logFile(logs));
    expect(table.stdout).toMatch(/channel c1 \(file\): events 1000/);

    // A restart with the sink back delivers the backlog from the WAL.
    await rm(out);
    const again = spawnSluice(stateArgs(conf, state));
    const got = await waitDelivered(out, 1000);
    for (const l of expectedLines(0, 1000)) expect(got.has(l)).toBe(true);
    again.kill("SIGTERM");
    expect(await again.exited).toBe(0);
    const done = await status(conf, state);
    expect(done.components.find((c) => c.name === "c1")!.report!.summary.events).toBe(0);
  });

  test("status of an agent that never ran says so, without creating anything", async () => {
    const dir = await tempDir();
    const logs = join(dir, "logs");
    const state = join(dir, "state");
    const conf = await writeConfig(dir, tailConfig({ logs, out: join(dir, "out") }));
    const s = await status(conf, state);
    expect(s.lock.held).toBe(false);
    expect(s.components.map((c) => `${c.kind}:${c.name}`)).toEqual(["source:r1", "channel:c1", "sink:k1"]);
    await expect(stat(state)).rejects.toThrow();
  });

  test("a spool directory: status lists the files pending, --once ingests them all, then status shows none", async () => {
    const dir = await tempDir();
    const spool = join(dir, "spool");
    await mkdir(spool);
    const out = join(dir, "out");
    const state = join(dir, "state");
    const conf = await writeConfig(dir, [
      "a1.sources = r1",
      "a1.channels = c1",
      "a1.sinks = k1",
      "a1.sources.r1.type = spooldir",
      `a1.sources.r1.spoolDir = ${spool}`,
      "a1.sources.r1.channels = c1",
      "a1.channels.c1.type = memory",
      "a1.channels.c1.capacity = 10000",
      "a1.channels.c1.transactionCapacity = 1000",
      "a1.sinks.k1.type = file_roll",
      "a1.sinks.k1.channel = c1",
      `a1.sinks.k1.sink.directory = ${out}`,
      "a1.sinks.k1.sink.rollInterval = 0",
    ]);
    for (let f = 0; f < 3; f++) await writeLines(join(spool, `batch${f}.log`), f * 100, f * 100 + 100);
    const before = await status(conf, state);
    const r1 = before.components.find((c) => c.name === "r1")!.report!;
    expect(r1.summary.pending).toBe(3);
    expect(r1.items!.map((i) => [i.file, i.state])).toEqual([["batch0.log", "pending"], ["batch1.log", "pending"], ["batch2.log", "pending"]]);

    const run = await runSluice([...stateArgs(conf, state), "--once"], { timeoutMs: 30_000 });
    expect(run.code).toBe(0);
    const got = new Set((await readFile(join(out, (await readdir(out))[0]!), "utf8")).split("\n").filter(Boolean));
    for (const l of expectedLines(0, 300)) expect(got.has(l)).toBe(true);
    const after = await status(conf, state);
    expect(after.components.find((c) => c.name === "r1")!.report!.summary).toMatchObject({ pending: 0, bytesBehind: 0 });
    expect((await readdir(spool)).filter((n) => n.endsWith(".COMPLETED"))).toHaveLength(3);
  });
});
