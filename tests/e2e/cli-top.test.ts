// `sluice top` against a real running agent: in a real terminal (tmux) it shows per-component rates, channel fill
// and the oldest event's age, sink state and last error, bytes behind per file; it fits the terminal and follows a
// resize; q quits. Without a terminal it prints one snapshot (under Bun and Deno).

import { describe, expect, test } from "bun:test";
import { mkdir } from "node:fs/promises";
import { join } from "node:path";
import { BUN, DENO, MAIN, freePort, runSluice, spawnSluice, tempDir, waitFor, writeConfig } from "../helpers/index.ts";
import { logFile, writeLines } from "./ops-helpers.ts";
import { openTerminal } from "./cli-tmux.ts";

/** TAILDIR → c1 → file_roll, and a paced seq → c2 → an avro sink whose peer is down (so c2 fills and k2 fails). */
async function runningAgent() {
  const dir = await tempDir();
  const logs = join(dir, "logs");
  await mkdir(logs);
  await writeLines(logFile(logs), 0, 500);
  const port = await freePort();
  const deadPeer = await freePort();
  const conf = await writeConfig(dir, [
    "a1.sources = r1 r2", "a1.channels = c1 c2", "a1.sinks = k1 k2",
    "a1.sources.r1.type = TAILDIR", "a1.sources.r1.filegroups = f1", `a1.sources.r1.filegroups.f1 = ${logs}/app[.]log`, "a1.sources.r1.channels = c1",
    "a1.sources.r2.type = seq", "a1.sources.r2.eventsPerSecond = 400", "a1.sources.r2.batchSize = 40", "a1.sources.r2.channels = c2",
    "a1.channels.c1.type = memory", "a1.channels.c2.type = memory", "a1.channels.c2.capacity = 100000",
    "a1.sinks.k1.type = file_roll", "a1.sinks.k1.channel = c1", `a1.sinks.k1.sink.directory = ${join(dir, "out")}`,
    "a1.sinks.k2.type = avro", "a1.sinks.k2.hostname = 127.0.0.1", `a1.sinks.k2.port = ${deadPeer}`, "a1.sinks.k2.channel = c2",
  ]);
  const agent = spawnSluice(["agent", "-f", conf, "--state-dir", join(dir, "state"), "--metrics-port", String(port)]);
  await waitFor("the metrics endpoint", () => fetch(`http://127.0.0.1:${port}/health`).then(() => true, () => false), 20_000, 50);
  return { dir, logs, port, deadPeer, agent };
}

const row = (rows: string[], first: string) => rows.find((r) => r.startsWith(`${first} `))?.trim().split(/\s{2,}/);

describe("sluice top", () => {
  test("in a terminal: live rates, fill, oldest event age, sink state and error, bytes behind; resize; q quits", async () => {
    const a = await runningAgent();
    const term = openTerminal(`${BUN} ${MAIN} top --metrics-port ${a.port}; echo "EXIT=$?"`, 150, 30, a.dir);
    // The second refresh has rates: seq's r2 runs at about 400 events/s into c2.
    await waitFor("r2's rate", () => Number(row(term.screen(), "r2")?.[1]) > 100, 20_000, 100);
    const rows = term.screen();
    expect(rows[0]).toContain(`sluice top — http://127.0.0.1:${a.port}/metrics`);
    const c2 = row(rows, "c2")!;
    expect(c2[3]).toMatch(/^\d+\.\d%$/);
    expect(c2[5]).toMatch(/^\d+(\.\d)?s$/); // c2 holds what k2 cannot deliver: its oldest event ages
    const k2 = row(rows, "k2")!;
    expect(k2[3]).toBe("failing");
    expect(rows.find((r) => r.startsWith("k2 "))).toContain(`127.0.0.1:${a.deadPeer}`);
    expect(row(rows, "k1")?.[3]).toBe("ok");
    expect(rows.some((r) => r.includes(logFile(a.logs)))).toBe(true);
    for (const r of rows) expect(r.length).toBeLessThan(150);

    // Appended lines show as bytes behind only until delivered; the file row is there either way.
    await writeLines(logFile(a.logs), 500, 600);
    term.resize(60, 30);
    await waitFor("a redraw at 60 columns", () => term.screen().every((r) => r.length < 60) && term.screen().some((r) => r.startsWith("k2 ")), 10_000, 100);
    term.resize(120, 12);
    await waitFor("a redraw in 12 rows", () => term.screen().filter((r) => r.length > 0).length <= 12 && term.screen().some((r) => r.includes("more lines")), 10_000, 100);

    term.keys("q");
    // The shell's echo, or (on a pane shrunk meanwhile) tmux's own line with the exit status.
    await term.waitRow("top to quit on q", (r) => r === "EXIT=0" || r.startsWith("Pane is dead (status 0"), 10_000);
    // The alternate screen is gone: no table is left on the terminal.
    expect(term.screen().some((r) => r.startsWith("CHANNEL "))).toBe(false);
    a.agent.kill("SIGTERM");
    expect(await a.agent.exited).toBe(0);
  }, 60_000);

  test("without a terminal it prints one snapshot and exits 0; an unreachable port is one line and exit 1", async () => {
    const a = await runningAgent();
    const r = await runSluice(["top", "--metrics-port", String(a.port), "--interval", "500ms"]);
    expect(r.code).toBe(0);
    const rows = r.stdout.split("\n");
    expect(row(rows, "c2")).toBeDefined();
    expect(row(rows, "k2")?.[3]).toBe("failing");
    expect(Number(row(rows, "r2")?.[1])).toBeGreaterThan(0);
    // Deno runs the same command.
    const d = await runSluice(["top", "--metrics-port", String(a.port), "--interval", "500ms"], { bin: [DENO, "run", "-A", MAIN], timeoutMs: 60_000 });
    expect(d.code).toBe(0);
    expect(row(d.stdout.split("\n"), "k2")?.[3]).toBe("failing");
    a.agent.kill("SIGTERM");
    expect(await a.agent.exited).toBe(0);
    const down = await runSluice(["top", "--metrics-port", String(a.deadPeer)]);
    expect(down.code).toBe(1);
    expect(down.stderr.trim().split("\n")).toHaveLength(1);
    expect(down.stderr).toContain(`is the agent running with --metrics-port ${a.deadPeer}?`);
  }, 60_000);
});
