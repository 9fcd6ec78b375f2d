// `sluice status` for a TAILDIR source tells what the next run will read, found the way the source finds it: after a
// rotation while the agent was stopped it lists the rotated files' unread ends and the new files, and the next run
// reads exactly the bytes behind it reported.

import { describe, expect, test } from "bun:test";
import { appendFile, mkdir, rename, stat, writeFile } from "node:fs/promises";
import { join } from "node:path";
import type { StatusReport } from "../../src/cli/status.ts";
import { runSluice, spawnSluice, tempDir, waitFor } from "../helpers/index.ts";
import { agentConfig, delivered, numbered } from "./taildir-harness.ts";

async function status(conf: string, state: string): Promise<StatusReport> {
  const r = await runSluice(["status", "-f", conf, "-n", "a1", "--state-dir", state, "--json"]);
  if (r.code !== 0) throw new Error(`status exited ${r.code}: ${r.stderr}`);
  return JSON.parse(r.stdout) as StatusReport;
}

describe("sluice status for TAILDIR", () => {
  test("after a rotation while stopped: the rotated files' unread ends and the new files, with bytes behind each and in all", async () => {
    const root = await tempDir("sluice-taildir-status-");
    const logs = join(root, "logs");
    await mkdir(logs);
    const state = join(root, "state");
    const conf = join(root, "agent.conf");
    await writeFile(conf, agentConfig(root, ["type = TAILDIR", "filegroups = g1", `filegroups.g1 = ${logs}/(app|other)[.]log`, "batchSize = 100", "backoffSleepIncrement = 50", "maxBackoffSleep = 200"]) + "\n");
    await mkdir(join(root, "out"));
    const app = join(logs, "app.log");
    const other = join(logs, "other.log");
    await writeFile(app, numbered("a", 0, 500));
    await writeFile(other, numbered("o", 0, 300));
    const agent = spawnSluice(["agent", "-f", conf, "-n", "a1", "--state-dir", state]);
    await waitFor("800 lines delivered", async () => (await delivered(join(root, "out"))).length >= 800, 20_000, 100);
    agent.kill("SIGTERM");
    expect(await agent.exited).toBe(0);

    // While stopped: more lines, a rotation of both files, and new files under the tailed names.
    await appendFile(app, numbered("a", 500, 700));
    await appendFile(other, numbered("o", 300, 350));
    await rename(app, `${app}.1`);
    await rename(other, `${other}.1`);
    await writeFile(app, numbered("A", 0, 1000));
    await writeFile(other, numbered("O", 0, 10));

    const s = await status(conf, state);
    const r1 = s.components.find((c) => c.name === "r1")!.report!;
    const rows = new Map(r1.items!.map((i) => [String(i.file), i]));
    const sizeOf = async (p: string) => (await stat(p)).size;
    expect([...rows.keys()].sort()).toEqual([app, `${app}.1`, other, `${other}.1`]);
    expect(rows.get(`${app}.1`)).toMatchObject({ lag: Buffer.byteLength(numbered("a", 500, 700)), size: await sizeOf(`${app}.1`) });
    expect(String(rows.get(`${app}.1`)!.note)).toContain(`rotated while stopped (was ${app})`);
    expect(rows.get(`${other}.1`)).toMatchObject({ lag: Buffer.byteLength(numbered("o", 300, 350)) });
    expect(rows.get(app)).toMatchObject({ offset: 0, lag: await sizeOf(app), note: "new: read from its start" });
    expect(rows.get(other)).toMatchObject({ offset: 0, lag: await sizeOf(other) });
    const behind = [...rows.values()].reduce((n, i) => n + Number(i.lag), 0);
    expect(r1.summary.bytesBehind).toBe(behind);

    // The next run reads exactly that: every line once, and as many bytes as status said.
    const before = (await delivered(join(root, "out"))).length;
    const once = await runSluice(["agent", "--once", "-f", conf, "-n", "a1", "--state-dir", state], { timeoutMs: 30_000 });
    expect(once.code).toBe(0);
    const lines = await delivered(join(root, "out"));
    const fresh = lines.slice(before);
    expect(fresh.reduce((n, l) => n + Buffer.byteLength(l) + 1, 0)).toBe(behind);
    expect(new Set(lines).size).toBe(lines.length);
    expect((await status(conf, state)).components.find((c) => c.name === "r1")!.report!.summary.bytesBehind).toBe(0);
  }, 60_000);
});
