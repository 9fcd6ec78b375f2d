// The --once progress bar in a real terminal (tmux): it fits the width (fields dropped in a fixed order, percentage
// and ETA kept), log lines printed while it shows come out whole above it, and a resize redraws it to the new width.

import { describe, expect, test } from "bun:test";
import { mkdir } from "node:fs/promises";
import { join } from "node:path";
import { BUN, MAIN, freePort, onCleanup, tempDir, waitFor, writeConfig } from "../helpers/index.ts";
import { fitProgressLine } from "../../src/cli/progress.ts";
import { logFile, writeLines } from "./ops-helpers.ts";
import { openTerminal } from "./cli-tmux.ts";

const LINES = 3000;

/** A destination that refuses the first batch (so the sink logs a long WARN line while the bar is up) and answers
 * the rest slowly, so the run lasts a few seconds. */
async function slowDestination(delayMs: number): Promise<{ port: number; received: () => number }> {
  const port = await freePort();
  let calls = 0;
  let events = 0;
  const server = Bun.serve({
    port,
    hostname: "127.0.0.1",
    fetch: async (req) => {
      const body = (await req.json()) as unknown[];
      if (calls++ === 0) return new Response("not yet", { status: 503 });
      await Bun.sleep(delayMs);
      events += body.length;
      return new Response("ok");
    },
  });
  onCleanup(() => server.stop(true));
  return { port, received: () => events };
}

async function onceRun(delayMs = 80) {
  const dir = await tempDir();
  const logs = join(dir, "logs");
  await mkdir(logs);
  await writeLines(logFile(logs), 0, LINES, `${"x".repeat(150)}-`);
  const dest = await slowDestination(delayMs);
  const conf = await writeConfig(dir, [
    "a1.sources = r1", "a1.channels = c1", "a1.sinks = k1",
    "a1.sources.r1.type = TAILDIR", "a1.sources.r1.channels = c1", "a1.sources.r1.filegroups = f1",
    `a1.sources.r1.filegroups.f1 = ${logs}/app[.]log`, "a1.sources.r1.batchSize = 100",
    "a1.channels.c1.type = memory", "a1.channels.c1.capacity = 1000", "a1.channels.c1.transactionCapacity = 100",
    "a1.sinks.k1.type = http", "a1.sinks.k1.channel = c1", `a1.sinks.k1.endpoint = http://127.0.0.1:${dest.port}/`,
    "a1.sinks.k1.batchSize = 100", "a1.sinks.k1.maxBackoff = 100",
  ]);
  const command = `${BUN} ${MAIN} agent -f ${conf} --state-dir ${join(dir, "state")} --once; echo "EXIT=$?"`;
  return { dir, dest, command };
}

const barRows = (rows: string[]) => rows.filter((r) => /\d+% · /.test(r) && r.includes("ETA "));

describe("--once progress bar in a terminal", () => {
  for (const cols of [60, 90, 200]) {
    test(`at ${cols} columns the bar fits, keeps percentage and ETA, and the sink's warning comes out whole above it`, async () => {
      const run = await onceRun();
      const term = openTerminal(run.command, cols, 30, run.dir);
      const bar = await term.waitRow("the bar", (r) => /\d+% · /.test(r) && r.includes("ETA "));
      expect(bar.length).toBeLessThan(cols);
      const warned = await waitFor("the sink's warning", () => term.joined().find((l) => l.includes("sink k1 is failing")), 20_000, 50);
      expect(warned).toContain("answered 503 (not yet)");
      expect(warned).toMatch(/will be retried$/);
      // Only one bar on the screen: no half-drawn copies left by the log lines.
      expect(barRows(term.screen())).toHaveLength(1);
      await term.waitRow("the end of the run", (r) => r === "EXIT=0", 60_000);
      expect(run.dest.received()).toBe(LINES);
      const rows = term.screen();
      expect(barRows(rows)).toHaveLength(1);
      expect(barRows(rows)[0]!.length).toBeLessThan(cols);
      expect(barRows(rows)[0]).toContain("100% · ");
      if (cols >= 200) expect(barRows(rows)[0]).toMatch(/events \(\d+\/s\) · .*\/s · ETA 0s$/);
    }, 90_000);
  }

  test("a resize while it runs redraws the bar at the new width, leaving no wider copy behind", async () => {
    const run = await onceRun(150);
    const term = openTerminal(run.command, 200, 30, run.dir);
    await term.waitRow("the bar at 200 columns", (r) => r.includes("ETA ") && r.length > 90);
    term.resize(60);
    await waitFor("the bar redrawn narrower", () => barRows(term.screen()).length === 1 && barRows(term.screen())[0]!.length < 60, 10_000, 50);
    term.resize(120);
    await waitFor("the bar redrawn wider", () => barRows(term.screen()).some((r) => r.length > 60 && r.length < 120), 10_000, 50);
    await term.waitRow("the end of the run", (r) => r === "EXIT=0", 60_000);
    expect(barRows(term.screen())).toHaveLength(1);
  }, 90_000);
});

describe("fitting the progress line", () => {
  const f = { events: 123400, eventRate: 9000, done: 12_500_000, total: 100_000_000, pct: 12, byteRate: 4_300_000, eta: "21s" };
  test("drops the event rate, then the byte rate, the event count, the byte totals, then the bar; percentage and ETA stay", () => {
    expect(fitProgressLine(199, f)).toMatch(/^█+░+ 12% · 12 MiB of 95 MiB · 123400 events \(9000\/s\) · 4\.1 MiB\/s · ETA 21s$/);
    expect(fitProgressLine(70, f)).toMatch(/^█*░+ 12% · 12 MiB of 95 MiB · 123400 events · ETA 21s$/);
    expect(fitProgressLine(45, f)).toMatch(/^█*░+ 12% · 12 MiB of 95 MiB · ETA 21s$/);
    expect(fitProgressLine(30, f)).toMatch(/^█*░+ 12% · ETA 21s$/);
    expect(fitProgressLine(20, f)).toBe("12% · ETA 21s");
    for (const w of [20, 30, 45, 59, 60, 70, 89, 90, 120, 199]) expect(fitProgressLine(w, f).length).toBeLessThanOrEqual(w);
  });
});
