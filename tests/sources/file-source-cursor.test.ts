// A file source starts from the cursor its file channel committed where that is ahead of its own position or tracker
// file (a cache of it): cases a kill -9 reaches only by chance, set up here by committing the cursor beforehand.

import { beforeAll, describe, expect, test } from "bun:test";
import { mkdir, readdir, stat, writeFile } from "node:fs/promises";
import { join } from "node:path";
import { spawnSluice, tempDir, waitFor } from "../helpers/index.ts";
import { delivered, numbered, range } from "./taildir-harness.ts";
import { events, openFile } from "../channels/file-helpers.ts";
import { encodeProgress } from "../../src/sources/spooldir/tracker.ts";
import { CursorBuilder } from "../../src/sources/taildir/cursor.ts";
import type { TailFile } from "../../src/sources/taildir/reader.ts";
import { initCrc32c, crc32c } from "../../src/util/crc.ts";

/** Commits `cursor` for source r1 into the file channel at `dir` (with one event, drained by the agent's sink). */
async function commitCursor(dir: string, cursor: Uint8Array): Promise<void> {
  const ch = await openFile(dir);
  const tx = ch.begin();
  tx.put(events(0, 1), undefined, { source: "r1", cursor });
  await tx.commit();
  await ch.stop();
}

function config(root: string, source: string[]): string {
  return [
    "a1.sources = r1",
    "a1.channels = c1",
    "a1.sinks = k1",
    "a1.sources.r1.channels = c1",
    ...source.map((l) => `a1.sources.r1.${l}`),
    "a1.channels.c1.type = file",
    `a1.channels.c1.checkpointDir = ${join(root, "ch", "checkpoint")}`,
    `a1.channels.c1.dataDirs = ${join(root, "ch", "data")}`,
    "a1.sinks.k1.type = file_roll",
    "a1.sinks.k1.channel = c1",
    `a1.sinks.k1.sink.directory = ${join(root, "out")}`,
    "a1.sinks.k1.sink.rollInterval = 0",
  ].join("\n");
}

async function run(root: string, source: string[], until: () => Promise<boolean>) {
  await mkdir(join(root, "out"), { recursive: true });
  const conf = join(root, "agent.conf");
  await writeFile(conf, config(root, source));
  const a = spawnSluice(["agent", "-f", conf, "-n", "a1", "--state-dir", join(root, "state")]);
  await waitFor("the agent started", () => a.stderr().includes("agent a1 started") || a.proc.exitCode !== null, 20_000);
  await waitFor("the agent did its work", until, 15_000, 50);
  await Bun.sleep(300); // anything read twice would show by now
  a.kill("SIGTERM");
  expect(await a.exited).toBe(0);
  return a.stderr();
}

describe("a file source resumes from its file channel's committed cursor", () => {
  beforeAll(() => initCrc32c());
  test("spooldir: a file read to its end but not yet retired, its tracker record lost, is retired without a line read again", async () => {
    const root = await tempDir("sluice-cursor-spool-end-");
    const spool = join(root, "spool");
    await mkdir(spool);
    const f = join(spool, "a.log");
    await writeFile(f, numbered("A", 0, 500));
    const st = await stat(f);
    await commitCursor(join(root, "ch"), encodeProgress({ path: "a.log", offset: st.size, size: st.size, mtimeMs: st.mtimeMs, ino: st.ino }));
    const log = await run(root, ["type = spooldir", `spoolDir = ${spool}`], async () => (await readdir(spool)).includes("a.log.COMPLETED"));
    expect(log).toContain(`a.log: resuming at offset ${st.size}, from the cursor`);
    // Only the event committed beforehand: nothing of a.log twice.
    expect(await delivered(join(root, "out"))).toEqual(["e0"]);
  }, 30_000);

  test("spooldir: a cursor ahead of the tracker record moves it forward", async () => {
    const root = await tempDir("sluice-cursor-spool-mid-");
    const spool = join(root, "spool");
    await mkdir(join(spool, ".flumespool"), { recursive: true });
    const f = join(spool, "a.log");
    await writeFile(f, numbered("A", 0, 500));
    const st = await stat(f);
    const at = Buffer.byteLength(numbered("A", 0, 300));
    const p = { path: "a.log", size: st.size, mtimeMs: st.mtimeMs, ino: st.ino };
    await writeFile(join(spool, ".flumespool", ".sluice-main.meta"), encodeProgress({ ...p, offset: Buffer.byteLength(numbered("A", 0, 100)) }));
    await commitCursor(join(root, "ch"), encodeProgress({ ...p, offset: at }));
    await run(root, ["type = spooldir", `spoolDir = ${spool}`], async () => (await readdir(spool)).includes("a.log.COMPLETED"));
    expect(await delivered(join(root, "out"))).toEqual(["e0", ...range("A", 300, 500)]);
  }, 30_000);

  test("TAILDIR: a cursor ahead of the position file, and one for a file the position file does not know, win", async () => {
    await initCrc32c();
    const root = await tempDir("sluice-cursor-taildir-");
    const logs = join(root, "logs");
    await mkdir(logs);
    const a = join(logs, "a.log");
    const b = join(logs, "b.log");
    await writeFile(a, numbered("A", 0, 400));
    await writeFile(b, numbered("B", 0, 400));
    const fp = async (p: string) => {
      const bytes = new Uint8Array(await Bun.file(p).arrayBuffer()).subarray(0, 1024);
      return { crc: crc32c(bytes), len: bytes.length };
    };
    const tail = async (p: string) => {
      const s = await stat(p);
      return { dev: s.dev, ino: s.ino, path: p, fp: await fp(p), deleted: false } as unknown as TailFile;
    };
    const sa = await stat(a);
    // The position file says a.log at line 100 and knows nothing of b.log; the channel's cursor: a.log at 250, b.log at 50.
    const posFile = join(root, "pos.json");
    await writeFile(posFile, JSON.stringify([{ inode: sa.ino, pos: Buffer.byteLength(numbered("A", 0, 100)), file: a }]));
    const builder = new CursorBuilder();
    builder.after(await tail(a), Buffer.byteLength(numbered("A", 0, 250)));
    await commitCursor(join(root, "ch"), builder.after(await tail(b), Buffer.byteLength(numbered("B", 0, 50))));
    const want = ["e0", ...range("A", 250, 400), ...range("B", 50, 400)];
    const log = await run(root, ["type = TAILDIR", "filegroups = g1", `filegroups.g1 = ${logs}/.*[.]log`, `positionFile = ${posFile}`], async () => (await delivered(join(root, "out"))).length >= want.length);
    expect(log).toContain("2 file(s) resume from the cursor");
    expect((await delivered(join(root, "out"))).sort()).toEqual(want.sort());
  }, 30_000);
});
