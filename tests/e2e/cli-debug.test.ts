// Debug logging shows what a user debugging a TAILDIR run wants: which files were found and from where they are read,
// each batch committed to a channel, each sink attempt — per batch, never per event.

import { describe, expect, test } from "bun:test";
import { mkdir } from "node:fs/promises";
import { join } from "node:path";
import { spawnSluice, tempDir, waitFor, writeConfig } from "../helpers/index.ts";
import { delivered, logFile, tailConfig, writeLines } from "./ops-helpers.ts";

describe("debug logging", () => {
  for (const flag of [["--log-level", "debug"], ["-Dflume.root.logger=DEBUG,console"]]) {
    test(`${flag.join(" ")} logs file discovery, batch commits and sink attempts, per batch`, async () => {
      const dir = await tempDir();
      const logs = join(dir, "logs");
      await mkdir(logs);
      const out = join(dir, "out");
      const conf = await writeConfig(dir, tailConfig({ logs, out }));
      await writeLines(logFile(logs), 0, 1000);
      const agent = spawnSluice(["agent", "-f", conf, "--state-dir", join(dir, "state"), ...flag]);
      await waitFor("1000 lines delivered", async () => (await delivered(out)).size >= 1000, 20_000, 50);
      agent.kill("SIGTERM");
      expect(await agent.exited).toBe(0);
      const debug = agent.stderr().split("\n").filter((l) => l.includes(" DEBUG "));
      expect(debug.some((l) => l.includes(`tracking ${logFile(logs)} (group f1, inode `) && l.includes("from offset 0"))).toBe(true);
      const commits = debug.filter((l) => l.includes("[a1.source.r1] committed a batch of") && l.includes("to channel c1"));
      const attempts = debug.filter((l) => /\[a1\.sink\.k1\] sink k1: delivered \d+ events in \d+ ms/.test(l));
      expect(commits.length).toBeGreaterThan(0);
      expect(attempts.length).toBeGreaterThan(0);
      // batchSize 100: about ten batches for 1000 lines, never a line per event.
      expect(commits.length).toBeLessThanOrEqual(20);
      expect(attempts.length).toBeLessThanOrEqual(20);
    });
  }
});
