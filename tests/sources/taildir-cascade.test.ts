// Numbered rotation cascades (logrotate `rotate K` without dateext: every kept file moves by one name at each
// rotation) under a TAILDIR source whose pattern sees the rotated names: a file is followed by its identity through
// every rename, so nothing is read twice and nothing is lost, however one listing interleaves with the renames.

import { describe, expect, test } from "bun:test";
import { appendFile, mkdir, readFile, rename, stat, unlink, writeFile } from "node:fs/promises";
import { join } from "node:path";
import { ROOT, spawnSluice, tempDir, waitFor } from "../helpers/index.ts";
import { seqOf, writerArgs, type WriterOptions } from "../../bench/taildir-rotation-common.ts";
import { delivered, numbered, range, startAgent, waitForLines } from "./taildir-harness.ts";

const WRITER = join(ROOT, "bench/taildir-rotation-common.ts");

interface Tally {
  unique: number;
  duplicates: number;
  lost: number;
}

function tally(lines: string[], written: number): Tally {
  const seen = new Uint8Array(written);
  let duplicates = 0;
  let unique = 0;
  for (const l of lines) {
    const s = seqOf(l);
    if (!(s >= 0 && s < written)) throw new Error(`a line that was never written: ${JSON.stringify(l.slice(0, 40))}`);
    if (seen[s]) duplicates++;
    else unique++;
    seen[s] = 1;
  }
  return { unique, duplicates, lost: written - unique };
}

/** Runs the writer (its own process) against a TAILDIR agent tailing `pattern` in the log dir, and tallies delivery. */
async function cascade(pattern: string, w: Omit<WriterOptions, "dir" | "lineBytes">, keys: string[] = []): Promise<{ t: Tally; logs: string[] }> {
  const root = await tempDir("sluice-taildir-cascade-");
  const logs = join(root, "logs");
  await mkdir(logs);
  const r = await startAgent(
    root,
    ["type = TAILDIR", "filegroups = g1", `filegroups.g1 = ${logs}/${pattern}`, "batchSize = 200", "backoffSleepIncrement = 50", "maxBackoffSleep = 200", ...keys],
    { sink: ["sink.batchSize = 1000"] },
  );
  const writer = spawnSluice(writerArgs({ ...w, dir: logs, lineBytes: 100 }), { bin: [join(ROOT, "node_modules/.bin/bun"), WRITER] });
  expect(await writer.exited).toBe(0);
  const { lines: written, rotations } = JSON.parse(writer.stdout()) as { lines: number; rotations: number };
  expect(rotations).toBeGreaterThanOrEqual(w.keep);
  let t: Tally = { unique: 0, duplicates: 0, lost: written };
  await waitFor(`all ${written} lines`, async () => (t = tally(await delivered(r.out), written)).unique >= written, 30_000, 200).catch(() => {});
  // Anything read again would come after the last new line: give a re-read time to show.
  await Bun.sleep(1500);
  t = tally(await delivered(r.out), written);
  const source = r.agent.sources.get("r1")!.source;
  const open = source.gauges!().OpenFiles;
  await r.stop();
  expect(open).toBeGreaterThan(0);
  return { t, logs: r.logs };
}

describe("TAILDIR numbered rotation cascades", () => {
  const run = { seconds: 20, rate: 2000, rotateMs: 500, keep: 32, gzip: false };

  test("32 kept files rotated every half second: every line once, none lost", async () => {
    const { t, logs } = await cascade("app[.]log([.][0-9]+)?", run);
    expect(t).toEqual({ unique: t.unique, duplicates: 0, lost: 0 });
    expect(logs.filter((l) => l.includes(" ERROR "))).toEqual([]);
    // A deleted file's inode taken by the new app.log is a new file, not the old one truncated.
    expect(logs.filter((l) => l.includes("was truncated") || l.includes("rewritten in place"))).toEqual([]);
  }, 60_000);

  test("the oldest file compressed (app.log.32 → app.log.32.gz) as it leaves, idle files closed on the way: every line once, none lost", async () => {
    // Closed files move on by name and are deleted at the end of the cascade; the new app.log often gets the freed inode.
    const { t, logs } = await cascade("app[.]log([.][0-9]+)?", { ...run, gzip: true }, ["idleTimeout = 1000"]);
    expect(t).toEqual({ unique: t.unique, duplicates: 0, lost: 0 });
    expect(logs.filter((l) => l.includes("was truncated") || l.includes("rewritten in place"))).toEqual([]);
  }, 60_000);

  test("a pattern that sees only the even names (a file leaves and re-enters it at every rotation): every line once", async () => {
    const { t } = await cascade("app[.]log([.][0-9]*[02468])?", run);
    expect(t).toEqual({ unique: t.unique, duplicates: 0, lost: 0 });
  }, 60_000);
});

describe("TAILDIR files that leave the pattern and come back", () => {
  test("a file renamed out of the pattern, forgotten, then renamed back resumes where it was read to — across a restart too", async () => {
    const root = await tempDir("sluice-taildir-dormant-");
    const logs = join(root, "logs");
    await mkdir(logs);
    const keys = ["type = TAILDIR", "filegroups = g1", `filegroups.g1 = ${logs}/app[.]log[.][0-9]+`, "batchSize = 50", "backoffSleepIncrement = 50", "maxBackoffSleep = 200"];
    const f = (n: string) => join(logs, n);
    await writeFile(f("app.log.1"), numbered("a", 0, 100));
    let r = await startAgent(root, keys);
    await waitForLines(r.out, 100);
    // Out of the pattern long enough to be declared gone, read to its end and forgotten (closed).
    await rename(f("app.log.1"), f("app.log.x"));
    await waitFor("the file forgotten", () => r.agent.sources.get("r1")!.source.gauges!().OpenFiles === 0, 10_000, 100);
    await rename(f("app.log.x"), f("app.log.2"));
    await appendFile(f("app.log.2"), numbered("a", 100, 110));
    await waitForLines(r.out, 110);
    // Out of the pattern again, and the agent restarts meanwhile: the position file kept its record.
    await rename(f("app.log.2"), f("app.log.y"));
    await waitFor("the file forgotten", () => r.agent.sources.get("r1")!.source.gauges!().OpenFiles === 0, 10_000, 100);
    await r.stop();
    await rename(f("app.log.y"), f("app.log.3"));
    await appendFile(f("app.log.3"), numbered("a", 110, 120));
    r = await startAgent(root, keys);
    await waitForLines(r.out, 120);
    await Bun.sleep(500);
    await r.stop();
    expect(await delivered(r.out)).toEqual(range("a", 0, 120));
  }, 60_000);

  test("the dormant record of a file out of the pattern stays in the position file while the file exists, and goes once it is deleted", async () => {
    const root = await tempDir("sluice-taildir-dormant-");
    const logs = join(root, "logs");
    await mkdir(logs);
    await writeFile(join(logs, "app.log"), numbered("p", 0, 20));
    const ino = (await stat(join(logs, "app.log"))).ino;
    const r = await startAgent(root, ["type = TAILDIR", "filegroups = g1", `filegroups.g1 = ${logs}/app[.]log`, "backoffSleepIncrement = 50", "maxBackoffSleep = 200"]);
    await waitForLines(r.out, 20);
    const positions = async () => JSON.parse(await readFile(join(root, "state", "a1", "r1", "taildir_position.json"), "utf8")) as Array<{ inode: number }>;
    await rename(join(logs, "app.log"), join(logs, "app.log.1"));
    await waitFor("the file forgotten", () => r.agent.sources.get("r1")!.source.gauges!().OpenFiles === 0, 10_000, 100);
    expect((await positions()).map((p) => p.inode)).toContain(ino);
    await unlink(join(logs, "app.log.1"));
    await waitFor("its record pruned", async () => !(await positions()).some((p) => p.inode === ino), 20_000, 200);
    await r.stop();
  }, 40_000);
});
