// Cron mode with real spawned agents and real files: `--once` reads every source to its current end, delivers
// everything and exits 0; with the sink down it gives up after --max-runtime with exit 3, and the next run delivers
// the rest.

import { describe, expect, test } from "bun:test";
import { mkdir, rm, stat, writeFile } from "node:fs/promises";
import { join } from "node:path";
import { BUN, MAIN, runSluice, tempDir, writeConfig } from "../helpers/index.ts";
import { delivered, expectedLines, logFile, stateArgs, status, tailConfig, writeLines } from "./ops-helpers.ts";

async function setup() {
  const dir = await tempDir();
  const logs = join(dir, "logs");
  await mkdir(logs);
  const out = join(dir, "out");
  const conf = await writeConfig(dir, tailConfig({ logs, out }));
  return { dir, logs, out, conf, state: join(dir, "state") };
}

describe("agent --once", () => {
  test("with the sink up it delivers every line, leaves offsets at EOF and exits 0", async () => {
    const s = await setup();
    await writeLines(logFile(s.logs), 0, 3000);
    await writeLines(logFile(s.logs, ".1"), 3000, 5000);
    const r = await runSluice([...stateArgs(s.conf, s.state), "--once"], { timeoutMs: 30_000 });
    expect(r.code).toBe(0);
    expect(r.stderr).toContain("--once: done");
    const got = await delivered(s.out);
    expect(got.size).toBe(5000);
    for (const l of expectedLines(0, 5000)) expect(got.has(l)).toBe(true);
    const st = await status(s.conf, s.state);
    expect(st.lock.held).toBe(false);
    const items = st.components.find((c) => c.name === "r1")!.report!.items!;
    expect(items).toHaveLength(2);
    for (const it of items) {
      expect(it.offset).toBe((await stat(String(it.file))).size);
      expect(it.lag).toBe(0);
    }
  });

  test("--exit-when-drained is the same as --once, and a second run with nothing new delivers nothing again", async () => {
    const s = await setup();
    await writeLines(logFile(s.logs), 0, 100);
    expect((await runSluice([...stateArgs(s.conf, s.state), "--exit-when-drained"])).code).toBe(0);
    expect((await runSluice([...stateArgs(s.conf, s.state), "--once"])).code).toBe(0);
    const { readAllLines } = await import("../helpers/index.ts");
    expect(await readAllLines(s.out)).toHaveLength(100);
  });

  test("with the sink down it logs progress, exits 3 after --max-runtime, loses nothing, and the next run delivers the rest", async () => {
    const s = await setup();
    await writeLines(logFile(s.logs), 0, 500);
    // A plain file where file_roll wants its directory: every delivery fails until it is removed.
    await writeFile(s.out, "in the way\n");
    const t0 = Date.now();
    // 5.5 s: long enough for one of the progress lines logged every 5 s off a terminal.
    const down = await runSluice([...stateArgs(s.conf, s.state), "--once", "--max-runtime", "5500ms", "--drain-timeout", "500ms"], { timeoutMs: 30_000 });
    expect(down.code).toBe(3);
    expect(Date.now() - t0).toBeGreaterThanOrEqual(5500);
    // Read into the memory channel, but nothing is safe while the sink is down: 0 % done.
    expect(down.stderr).toMatch(/progress: done 0 B of [\d.]+ KiB \(0%\), 0 events delivered/);
    expect(down.stderr).toContain("--max-runtime");
    expect(down.stderr).toContain("sink k1");
    // One warning when the sink went down, not one per retry.
    expect(down.stderr.match(/is failing, will retry/g)?.length).toBe(1);
    const st = await status(s.conf, s.state);
    const r1 = st.components.find((c) => c.name === "r1")!.report!;
    expect(Number(r1.summary.bytesBehind ?? 0) + (r1.items?.length === 0 ? (await stat(logFile(s.logs))).size : 0)).toBeGreaterThan(0);

    await rm(s.out);
    await writeLines(logFile(s.logs), 500, 800);
    const up = await runSluice([...stateArgs(s.conf, s.state), "--once"], { timeoutMs: 30_000 });
    expect(up.code).toBe(0);
    const got = await delivered(s.out);
    for (const l of expectedLines(0, 800)) expect(got.has(l)).toBe(true);
  }, 40_000);

  test("off a terminal it reports progress as plain log lines, never a progress bar", async () => {
    const s = await setup();
    await writeLines(logFile(s.logs), 0, 10);
    const r = await runSluice([...stateArgs(s.conf, s.state), "--once"]);
    expect(r.code).toBe(0);
    expect(r.stderr).not.toContain("\u001b[");
    expect(r.stderr).toMatch(/--once: done in \d+ ms: done 70 B of 70 B \(100%\), 10 events delivered/);
  });

  test("on a terminal it shows a progress bar with bytes done of the backlog and events delivered", async () => {
    const s = await setup();
    await writeLines(logFile(s.logs), 0, 2000);
    // util-linux `script` gives the agent a pseudo-terminal as stderr.
    const cmd = [BUN, MAIN, ...stateArgs(s.conf, s.state), "--once"].map((a) => `'${a}'`).join(" ");
    const p = Bun.spawn(["script", "-qec", cmd, "/dev/null"], { stdout: "pipe", stderr: "pipe", stdin: "ignore" });
    const timer = setTimeout(() => p.kill(9), 30_000);
    const out = await new Response(p.stdout).text();
    clearTimeout(timer);
    expect(await p.exited).toBe(0);
    expect(out).toContain("\u2588"); // a filled bar cell
    expect(out).toMatch(/done [\d.]+ KiB of [\d.]+ KiB \(100%\), 2000 events delivered/);
    expect((await delivered(s.out)).size).toBe(2000);
  });
});
