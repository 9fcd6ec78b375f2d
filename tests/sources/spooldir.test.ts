import { describe, expect, test } from "bun:test";
import { appendFile, mkdir, readdir, readFile, rm, stat, utimes, writeFile } from "node:fs/promises";
import { join } from "node:path";
import avro from "avsc";
import { spoolDirSourceType } from "../../src/sources/spooldir/index.ts";
import { encodeProgress, Tracker } from "../../src/sources/spooldir/tracker.ts";
import { initCrc32c } from "../../src/util/crc.ts";
import { spawnSluice, tempDir, waitFor } from "../helpers/index.ts";
import { agentConfig, delivered, numbered, range, startAgent, waitForLines } from "./taildir-harness.ts";

function spool(dir: string, extra: string[] = []): string[] {
  return ["type = spooldir", `spoolDir = ${dir}`, "pollDelay = 50", "batchSize = 50", ...extra];
}

async function setup() {
  const root = await tempDir("sluice-spool-");
  const dir = join(root, "spool");
  await mkdir(dir);
  return { root, dir };
}

/** Writes a file with an explicit mtime so consumeOrder is deterministic. */
async function put(dir: string, name: string, data: string | Uint8Array, ageSec: number): Promise<void> {
  await writeFile(join(dir, name), data);
  const t = Date.now() / 1000 - ageSec;
  await utimes(join(dir, name), t, t);
}

describe("spooldir basics", () => {
  test("ingests files oldest first and renames each to .COMPLETED once its lines are safe", async () => {
    const { root, dir } = await setup();
    await put(dir, "b.log", numbered("b", 0, 120), 10);
    await put(dir, "a.log", numbered("a", 0, 80), 20);
    const r = await startAgent(root, spool(dir));
    await waitForLines(r.out, 200);
    expect(await delivered(r.out)).toEqual([...range("a", 0, 80), ...range("b", 0, 120)]);
    await waitFor("both renamed", async () => (await readdir(dir)).filter((n) => n.endsWith(".COMPLETED")).length === 2);
    await r.stop();
  });

  test("consumeOrder youngest takes the newest file first; recursiveDirectorySearch descends, skipping hidden files", async () => {
    const { root, dir } = await setup();
    await mkdir(join(dir, "sub"));
    await put(dir, "old.log", "old\n", 30);
    await put(dir, "new.log", "new\n", 10);
    await put(join(dir, "sub"), "deep.log", "deep\n", 20);
    await put(dir, ".hidden.log", "hidden\n", 5);
    const r = await startAgent(root, spool(dir, ["consumeOrder = youngest", "recursiveDirectorySearch = true"]));
    expect(await waitForLines(r.out, 3)).toEqual(["new", "deep", "old"]);
    await waitFor("renamed in its subdirectory", async () => (await readdir(join(dir, "sub"))).includes("deep.log.COMPLETED"));
    expect(await readdir(dir)).toContain(".hidden.log");
    await r.stop();
  });

  test("adds the file and basename headers and emits a last line without newline", async () => {
    const { root, dir } = await setup();
    await put(dir, "h.txt", "one\ntwo", 5);
    const r = await startAgent(root, spool(dir, ["fileHeader = true", "basenameHeader = true"]), { sink: ["sink.serializer = HEADER_AND_TEXT"] });
    const got = await waitForLines(r.out, 2);
    expect(got).toEqual([`{file=${join(dir, "h.txt")}, basename=h.txt} one`, `{file=${join(dir, "h.txt")}, basename=h.txt} two`]);
    await r.stop();
  });

  test("trackingPolicy tracker_dir leaves files in place, marks them in .flumespool and never reads them twice", async () => {
    const { root, dir } = await setup();
    await put(dir, "x.log", numbered("x", 0, 30), 5);
    let r = await startAgent(root, spool(dir, ["trackingPolicy = tracker_dir"]));
    await waitForLines(r.out, 30);
    await waitFor("marker", async () => (await stat(join(dir, ".flumespool", "x.log.COMPLETED")).catch(() => undefined)) !== undefined);
    await r.stop();
    expect(await readdir(dir)).toContain("x.log");
    r = await startAgent(root, spool(dir, ["trackingPolicy = tracker_dir"]));
    await put(dir, "y.log", "y\n", 1);
    await waitForLines(r.out, 31);
    await Bun.sleep(200);
    expect((await delivered(r.out)).length).toBe(31);
    await r.stop();
  });

  test("deletePolicy immediate deletes a file once its lines are safe", async () => {
    const { root, dir } = await setup();
    await put(dir, "d.log", numbered("d", 0, 10), 5);
    const r = await startAgent(root, spool(dir, ["deletePolicy = immediate"]));
    await waitForLines(r.out, 10);
    await waitFor("deleted", async () => !(await readdir(dir)).includes("d.log"));
    expect((await readdir(dir)).filter((n) => !n.startsWith("."))).toEqual([]);
    await r.stop();
  });

  test("BLOB makes one event per file, in maxBlobLength pieces when larger", async () => {
    const { root, dir } = await setup();
    await put(dir, "blob.bin", "line1\nline2\n", 5);
    await put(dir, "big.bin", "0123456789", 1);
    const r = await startAgent(root, spool(dir, ["deserializer = BLOB", "deserializer.maxBlobLength = 4"]), { sink: ["sink.serializer.appendNewline = false"] });
    await waitFor("all bytes", async () => (await readAll(r.out)) === "line1\nline2\n0123456789");
    await r.stop();
  });

  test("truncates lines longer than deserializer.maxLineLength and marks them", async () => {
    const { root, dir } = await setup();
    await put(dir, "long.log", "short\n" + "y".repeat(5000) + "\nend\n", 5);
    const r = await startAgent(root, spool(dir), { sink: ["sink.serializer = HEADER_AND_TEXT"] });
    expect(await waitForLines(r.out, 3)).toEqual(["{} short", `{truncated=true} ${"y".repeat(2048)}`, "{} end"]);
    await r.stop();
  });

  test("cron mode reports done once the directory has no eligible file", async () => {
    const { root, dir } = await setup();
    await put(dir, "c1.log", numbered("c", 0, 100), 5);
    await put(dir, "c2.log", numbered("c", 100, 150), 1);
    const r = await startAgent(root, spool(dir), { once: true });
    await Promise.race([r.agent.sourcesFinished(), Bun.sleep(10_000)]);
    expect(await delivered(r.out)).toEqual(range("c", 0, 150));
    await r.stop();
  });

  test("status lists pending files and the one in progress with its offset, with no agent running", async () => {
    const { dir } = await setup();
    await put(dir, "p1.log", "abc\n", 5);
    await put(dir, "p2.log.COMPLETED", "done\n", 5);
    const cfg = { spoolDir: dir, trackerDir: ".flumespool", trackingPolicy: "rename", fileSuffix: ".COMPLETED", includePattern: /^.*$/, ignorePattern: /^$/ };
    const rep = await spoolDirSourceType.inspect!(cfg as never, {} as never);
    expect(rep.items).toEqual([{ file: "p1.log", size: 4, offset: 0, state: "pending" }]);
  });

  test("status sees the directory as the source does: set-aside files left out, subdirectories with recursive search", async () => {
    const { dir } = await setup();
    await put(dir, "ok.log", "abc\n", 5);
    await put(dir, "bad.log", "xyz\n", 5);
    await mkdir(join(dir, "sub"));
    await put(join(dir, "sub"), "deep.log", "d\n", 5);
    const st = await stat(join(dir, "bad.log"));
    await new Tracker(join(dir, ".flumespool")).markFailed("bad.log", { ino: st.ino, size: st.size, mtimeMs: st.mtimeMs, reason: "test" });
    const cfg = { spoolDir: dir, trackerDir: ".flumespool", trackingPolicy: "rename", fileSuffix: ".COMPLETED", includePattern: /^.*$/, ignorePattern: /^$/, recursiveDirectorySearch: true };
    const rep = await spoolDirSourceType.inspect!(cfg as never, {} as never);
    expect(rep.items?.map((i) => i.file)).toEqual(["ok.log", join("sub", "deep.log")]);
  });
});

describe("spooldir safeguards", () => {
  test("a file that changes after pickup gets a clear error and is set aside; the other files go on", async () => {
    const { root, dir } = await setup();
    await put(dir, "grow.log", numbered("g", 0, 20000), 20);
    await put(dir, "next.log", numbered("n", 0, 10), 10);
    // A small channel keeps the source inside grow.log long enough to change it.
    const r = await startAgent(root, spool(dir, ["batchSize = 10"]), { channel: ["capacity = 20", "transactionCapacity = 10"], sink: ["sink.batchSize = 10"] });
    await waitForLines(r.out, 10);
    await appendFile(join(dir, "grow.log"), "late line\n");
    await waitFor("the error", () => r.logs.some((l) => l.includes("grow.log") && l.includes("changed after it was picked up")), 20_000);
    await waitFor("next.log ingested", async () => (await readdir(dir)).includes("next.log.COMPLETED"), 20_000);
    // Long enough for several more directory polls: the set-aside file must not be picked up and read again.
    await Bun.sleep(1500);
    const got = await delivered(r.out);
    expect(got.slice(0, 20000)).toEqual(range("g", 0, 20000));
    expect(got.filter((l) => l === "g0")).toHaveLength(1);
    expect(got).toContain("n9");
    expect(await readdir(dir)).toContain("grow.log");
    await r.stop();
  }, 30_000);

  test("a file changed while the agent was down is set aside at restart, not resumed", async () => {
    const { root, dir } = await setup();
    await put(dir, "w.log", numbered("w", 0, 20000), 20);
    const opts = { channel: ["capacity = 100", "transactionCapacity = 50"], sink: ["sink.batchSize = 50"] };
    let r = await startAgent(root, spool(dir), opts);
    await waitForLines(r.out, 200);
    await r.stop();
    await appendFile(join(dir, "w.log"), "added while down\n");
    await put(dir, "z.log", "z\n", 1);
    r = await startAgent(root, spool(dir), opts);
    await waitFor("z.log ingested", async () => (await readdir(dir)).includes("z.log.COMPLETED"));
    expect(r.logs.some((l) => l.includes("w.log") && l.includes("while sluice was down"))).toBe(true);
    expect(await readdir(dir)).toContain("w.log");
    await r.stop();
  });

  test("a name reused after completion is refused with a clear error; nothing of it is read", async () => {
    const { root, dir } = await setup();
    await put(dir, "r.log.COMPLETED", "old\n", 30);
    await put(dir, "r.log", "new content\n", 20);
    await put(dir, "s.log", "s\n", 10);
    const r = await startAgent(root, spool(dir));
    await waitForLines(r.out, 1);
    await waitFor("the error", () => r.logs.some((l) => l.includes("r.log") && l.includes("already used")));
    await Bun.sleep(200);
    expect(await delivered(r.out)).toEqual(["s"]);
    await r.stop();
  });

  test("decodeErrorPolicy FAIL delivers the lines before the bad bytes and sets the file aside; REPLACE and IGNORE clean them", async () => {
    const bad = new Uint8Array([...new TextEncoder().encode("good\n"), 0x62, 0xff, 0x64, 0x0a, ...new TextEncoder().encode("after\n")]);
    const results: Record<string, string[]> = {};
    for (const policy of ["FAIL", "REPLACE", "IGNORE"]) {
      const { root, dir } = await setup();
      await put(dir, "bad.log", bad, 10);
      await put(dir, "ok.log", "fine\n", 5);
      const r = await startAgent(root, spool(dir, [`decodeErrorPolicy = ${policy}`]));
      await waitFor("ok.log done", async () => (await readdir(dir)).includes("ok.log.COMPLETED"));
      results[policy] = await delivered(r.out);
      if (policy === "FAIL") expect(r.logs.some((l) => l.includes("bad.log") && l.includes("offset 5"))).toBe(true);
      await r.stop();
    }
    expect(results.FAIL).toEqual(["good", "fine"]);
    expect(results.REPLACE).toEqual(["good", "b\uFFFDd", "after", "fine"]);
    expect(results.IGNORE).toEqual(["good", "bd", "after", "fine"]);
  });

  test("transcodes ISO-8859-1 input to UTF-8", async () => {
    const { root, dir } = await setup();
    await put(dir, "latin.log", new Uint8Array([0x63, 0x61, 0x66, 0xe9, 0x0a]), 5);
    const r = await startAgent(root, spool(dir, ["inputCharset = ISO-8859-1"]));
    expect(await waitForLines(r.out, 1)).toEqual(["café"]);
    await r.stop();
  });

  test("keeps running when the spool directory vanishes, and ingests again when it is back", async () => {
    const { root, dir } = await setup();
    await put(dir, "v1.log", "one\n", 5);
    const r = await startAgent(root, spool(dir));
    await waitForLines(r.out, 1);
    await rm(dir, { recursive: true });
    await waitFor("the warning", () => r.logs.some((l) => l.includes(`cannot list ${dir}`)));
    await mkdir(dir);
    await put(dir, "v2.log", "two\n", 1);
    expect(await waitForLines(r.out, 2)).toEqual(["one", "two"]);
    await r.stop();
  });
});

describe("spooldir progress", () => {
  test("resumes mid-file from Flume's tracker layout (.flumespool/.flumespool-main.meta)", async () => {
    const { root, dir } = await setup();
    const head = numbered("f", 0, 40);
    await put(dir, "flume.log", head + numbered("f", 40, 60), 5);
    const tracker = join(dir, ".flumespool");
    await mkdir(tracker);
    const type = avro.Type.forSchema({ type: "record", name: "TransferStateFileMeta", namespace: "org.apache.flume.serialization", fields: [{ name: "offset", type: "long" }] });
    const enc = new avro.streams.BlockEncoder(type, { metadata: { file: Buffer.from(join(dir, "flume.log")) } } as never);
    const chunks: Buffer[] = [];
    enc.on("data", (c: Buffer) => chunks.push(c));
    const ended = new Promise((res) => enc.on("end", res));
    enc.write({ offset: 10 });
    enc.write({ offset: Buffer.byteLength(head) });
    enc.end();
    await ended;
    await writeFile(join(tracker, ".flumespool-main.meta"), Buffer.concat(chunks));
    const r = await startAgent(root, spool(dir));
    await waitForLines(r.out, 20);
    await Bun.sleep(200);
    expect(await delivered(r.out)).toEqual(range("f", 40, 60));
    expect(r.logs.some((l) => l.includes("from Flume's tracker file"))).toBe(true);
    await r.stop();
  });

  test("a clean restart mid-file resumes after the last safe line, with no duplicate", async () => {
    const { root, dir } = await setup();
    await put(dir, "m.log", numbered("m", 0, 20000), 5);
    const opts = { channel: ["capacity = 100", "transactionCapacity = 50"], sink: ["sink.batchSize = 50"] };
    let r = await startAgent(root, spool(dir), opts);
    await waitForLines(r.out, 500);
    await r.stop();
    expect(await readdir(dir)).toContain("m.log");
    const meta = await readFile(join(dir, ".flumespool", ".sluice-main.meta"));
    expect(meta.subarray(0, 4).toString()).toBe("SLSP");
    r = await startAgent(root, spool(dir), opts);
    await waitForLines(r.out, 20000, 20_000);
    await Bun.sleep(200);
    expect(await delivered(r.out)).toEqual(range("m", 0, 20000));
    await r.stop();
  }, 30_000);
});

describe("spooldir tracker file corrupt, with a temp file beside it", () => {
  /** m.log of 40 lines, and a tracker record saying its first 10 are safe; returns the paths and that record. */
  async function saved() {
    await initCrc32c();
    const { root, dir } = await setup();
    await put(dir, "m.log", numbered("m", 0, 40), 5);
    const st = await stat(join(dir, "m.log"));
    const trackerDir = join(dir, ".flumespool");
    await mkdir(trackerDir);
    const good = encodeProgress({ path: "m.log", offset: Buffer.byteLength(numbered("m", 0, 10)), size: st.size, mtimeMs: st.mtimeMs, ino: st.ino });
    const meta = join(trackerDir, ".sluice-main.meta");
    return { root, dir, meta, tmp: join(trackerDir, "..sluice-main.meta.tmp"), good };
  }
  const hourAgo = () => new Date(Date.now() - 3_600_000);
  const corrupt = (b: Uint8Array) => Uint8Array.from(b, (x, i) => (i === 20 ? x ^ 0xff : x));

  test("a corrupt record without a temp refuses start, naming the file and the recovery", async () => {
    const s = await saved();
    await writeFile(s.meta, corrupt(s.good));
    const err = await startAgent(s.root, spool(s.dir)).catch((e: Error) => e);
    expect((err as Error).message).toContain(`tracker file ${s.meta} is corrupt (CRC mismatch)`);
    expect((err as Error).message).toContain(`mv ${s.meta} ${s.meta}.bad`);
    expect(await readFile(s.meta)).toEqual(Buffer.from(corrupt(s.good)));
  });

  test("a stale temp (older than the record) is not used: start refuses, naming both files", async () => {
    const s = await saved();
    await writeFile(s.tmp, s.good);
    await utimes(s.tmp, hourAgo(), hourAgo());
    await writeFile(s.meta, corrupt(s.good));
    const err = await startAgent(s.root, spool(s.dir)).catch((e: Error) => e);
    expect((err as Error).message).toContain(`its temp file ${s.tmp} cannot stand in for it (it is stale`);
    expect((err as Error).message).toContain(`mv ${s.tmp} ${s.tmp}.bad`);
    expect(await delivered(join(s.root, "out"))).toEqual([]);
  });

  test("a truncated temp is not used: start refuses, naming both files", async () => {
    const s = await saved();
    await writeFile(s.meta, corrupt(s.good));
    await utimes(s.meta, hourAgo(), hourAgo());
    await writeFile(s.tmp, s.good.subarray(0, s.good.length - 3));
    const err = await startAgent(s.root, spool(s.dir)).catch((e: Error) => e);
    expect((err as Error).message).toContain(`its temp file ${s.tmp} cannot stand in for it (it is incomplete or corrupt: length`);
  });

  test("a complete, valid temp newer than the record is used: reading resumes where it says, with a warning", async () => {
    const s = await saved();
    await writeFile(s.meta, corrupt(s.good));
    await utimes(s.meta, hourAgo(), hourAgo());
    await writeFile(s.tmp, s.good);
    const r = await startAgent(s.root, spool(s.dir));
    await waitForLines(r.out, 30);
    await Bun.sleep(200);
    expect(await delivered(r.out)).toEqual(range("m", 10, 40));
    expect(r.logs.some((l) => l.includes(`using its complete temp file ${s.tmp}`))).toBe(true);
    await r.stop();
  });
});

describe("spooldir set-aside marks", () => {
  test("a file whose set-aside mark is corrupt stays set aside (never read again silently); the others are read", async () => {
    const { root, dir } = await setup();
    await put(dir, "a.log", numbered("a", 0, 5), 10);
    await put(dir, "b.log", numbered("b", 0, 5), 5);
    await mkdir(join(dir, ".flumespool"), { recursive: true });
    await writeFile(join(dir, ".flumespool", "a.log.sluice-failed"), '{"ino":12');
    const r = await startAgent(root, spool(dir));
    await waitForLines(r.out, 5);
    await Bun.sleep(300);
    expect(await delivered(r.out)).toEqual(range("b", 0, 5));
    expect(await readdir(dir)).toContain("a.log");
    await r.stop();
  });
});

describe("spooldir across a kill -9", () => {
  test("resumes mid-file from its tracker after kill -9: every line delivered, duplicates only from unsafe batches", async () => {
    const { root, dir } = await setup();
    await put(dir, "k1.log", numbered("k", 0, 60000), 20);
    await put(dir, "k2.log", numbered("k", 60000, 70000), 10);
    const conf = join(root, "agent.conf");
    await writeFile(conf, agentConfig(root, spool(dir, ["batchSize = 100"]), ["sink.batchSize = 100"], ["capacity = 500", "transactionCapacity = 100"]));
    await mkdir(join(root, "out"));
    const start = async () => {
      const a = spawnSluice(["agent", "-f", conf, "-n", "a1", "--state-dir", join(root, "state")]);
      await waitFor("the agent started", () => a.stderr().includes("agent a1 started"), 15_000);
      return a;
    };
    let a = await start();
    await waitFor("some lines", async () => (await delivered(join(root, "out"))).length >= 5000, 20_000, 20);
    a.kill("SIGKILL");
    await a.exited;
    expect(await readdir(dir)).toContain("k1.log");
    a = await start();
    await waitFor("every line", async () => new Set(await delivered(join(root, "out"))).size >= 70000, 30_000, 100);
    a.kill("SIGTERM");
    expect(await a.exited).toBe(0);
    const lines = await delivered(join(root, "out"));
    expect(new Set(lines)).toEqual(new Set(range("k", 0, 70000)));
    // Re-sent: at most the channel's content, the batch in flight and a coalescing window of progress (250 ms).
    expect(lines.length - 70000).toBeLessThanOrEqual(500 + 100 + 25000);
    expect((await readdir(dir)).sort()).toEqual([".flumespool", "k1.log.COMPLETED", "k2.log.COMPLETED"]);
  }, 60_000);
});

async function readAll(out: string): Promise<string> {
  const names = (await readdir(out)).sort();
  let s = "";
  for (const n of names) s += await readFile(join(out, n), "utf8");
  return s;
}

describe("spooldir read buffers", () => {
  test("LINE through a memory channel reads into reused slabs: every line of many files byte for byte", async () => {
    const { root, dir } = await setup();
    const want: string[] = [];
    for (let f = 0; f < 6; f++) {
      let body = "";
      // ~1.5 MiB per file, lines of many lengths: lines cross 1 MiB slab boundaries at varied offsets.
      for (let i = 0; i < 15_000; i++) {
        const l = `f${f}-${i}-` + "0123456789".repeat((i * 7 + f) % 19);
        want.push(l);
        body += l + "\n";
      }
      await put(dir, `${f}.log`, body, 100 - f);
    }
    const r = await startAgent(root, spool(dir, ["batchSize = 100"]), { channel: ["capacity = 1000", "transactionCapacity = 100"], sink: ["sink.batchSize = 100"] });
    await waitForLines(r.out, want.length, 60_000);
    const pool = (r.agent.sources.get("r1")!.source as unknown as { pool?: { reused: number } }).pool;
    await r.stop();
    expect(await delivered(r.out)).toEqual(want);
    expect(pool!.reused).toBeGreaterThan(2);
  }, 90_000);
});
