// Relative paths in a real run: the agent started in a directory reads `spoolDir = in` and writes
// `sink.directory = out` there, as Flume would, and `validate` warns with file:line what each resolved to.

import { expect, test } from "bun:test";
import { mkdir, readdir, readFile, writeFile } from "node:fs/promises";
import { join } from "node:path";
import { runSluice, tempDir, writeConfig } from "../helpers/index.ts";

const CONFIG = [
  "a1.sources = r1", "a1.channels = c1", "a1.sinks = k1",
  "a1.sources.r1.type = spooldir", "a1.sources.r1.spoolDir = in", "a1.sources.r1.channels = c1",
  "a1.channels.c1.type = memory",
  "a1.sinks.k1.type = file_roll", "a1.sinks.k1.sink.directory = out", "a1.sinks.k1.sink.rollInterval = 0", "a1.sinks.k1.channel = c1",
];

test("an agent started in a directory reads and writes the relative paths there; validate warns naming file:line", async () => {
  const cwd = await tempDir();
  await mkdir(join(cwd, "in"));
  await writeFile(join(cwd, "in", "a.log"), "one\ntwo\n");
  const conf = await writeConfig(cwd, CONFIG);
  const v = await runSluice(["validate", "-f", conf], { cwd });
  expect(v.code).toBe(0);
  expect(v.stdout + v.stderr).toContain(`${conf}:5: a1.sources.r1.spoolDir = in is a relative path: resolved against the working directory as ${join(cwd, "in")}`);
  const r = await runSluice(["agent", "-f", conf, "-n", "a1", "--once", "--state-dir", join(cwd, "state")], { cwd, timeoutMs: 30_000 });
  expect(r.code).toBe(0);
  const files = await readdir(join(cwd, "out"));
  const text = (await Promise.all(files.map((f) => readFile(join(cwd, "out", f), "utf8")))).join("");
  expect(text).toBe("one\ntwo\n");
});
