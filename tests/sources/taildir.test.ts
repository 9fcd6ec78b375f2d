import { describe, expect, test } from "bun:test";
import { appendFile, mkdir, readFile, rename, rm, stat, truncate, unlink, utimes, writeFile } from "node:fs/promises";
import { join } from "node:path";
import { buildAgentSpec } from "../../src/config/load.ts";
import { taildirSourceType } from "../../src/sources/taildir/index.ts";
import { formatPositions } from "../../src/sources/taildir/position-file.ts";
import { initCrc32c } from "../../src/util/crc.ts";
import { getLogger } from "../../src/util/log.ts";
import { tempDir, waitFor } from "../helpers/index.ts";
import { delivered, numbered, range, startAgent, waitForLines } from "./taildir-harness.ts";

/** Source keys for one group `g1` over `dir/<pattern>`, quick to notice changes. */
function taildir(dir: string, pattern: string, extra: string[] = []): string[] {
  return [
    "type = TAILDIR",
    "filegroups = g1",
    `filegroups.g1 = ${dir}/${pattern}`,
    "backoffSleepIncrement = 50",
    "maxBackoffSleep = 200",
    "batchSize = 50",
    ...extra,
  ];
}

async function setup(): Promise<{ root: string; logs: string }> {
  const root = await tempDir("sluice-taildir-");
  const logs = join(root, "logs");
  await mkdir(logs);
  return { root, logs };
}

describe("TAILDIR basics", () => {
  test("delivers every complete line and holds a partial last line until its newline arrives", async () => {
    const { root, logs } = await setup();
    await writeFile(join(logs, "app.log"), numbered("a", 0, 300) + "par");
    const r = await startAgent(root, taildir(logs, "app\\.log"));
    await waitForLines(r.out, 300);
    await Bun.sleep(300);
    expect(await delivered(r.out)).toEqual(range("a", 0, 300));
    await appendFile(join(logs, "app.log"), "tial\n" + numbered("b", 0, 10));
    const got = await waitForLines(r.out, 311);
    expect(got).toEqual([...range("a", 0, 300), "partial", ...range("b", 0, 10)]);
    await r.stop();
  });

  test("adds group headers, the file header and the byte offset header", async () => {
    const { root, logs } = await setup();
    await writeFile(join(logs, "x.log"), "one\ntwo\n");
    const r = await startAgent(root, taildir(logs, ".*\\.log", ["headers.g1.host = web1", "fileHeader = true", "byteOffsetHeader = true"]), {
      sink: ["sink.serializer = HEADER_AND_TEXT"],
    });
    const got = await waitForLines(r.out, 2);
    expect(got[0]).toBe(`{host=web1, file=${join(logs, "x.log")}, byteoffset=0} one`);
    expect(got[1]).toBe(`{host=web1, file=${join(logs, "x.log")}, byteoffset=4} two`);
    await r.stop();
  });

  test("picks up files created after start that match the pattern", async () => {
    const { root, logs } = await setup();
    const r = await startAgent(root, taildir(logs, "svc-.*\\.log"));
    await writeFile(join(logs, "svc-1.log"), numbered("one-", 0, 20));
    await writeFile(join(logs, "other.txt"), "not me\n");
    await writeFile(join(logs, "svc-2.log"), numbered("two-", 0, 20));
    const got = await waitForLines(r.out, 40);
    await Bun.sleep(300);
    expect((await delivered(r.out)).sort()).toEqual([...range("one-", 0, 20), ...range("two-", 0, 20)].sort());
    expect(got).not.toContain("not me");
    await r.stop();
  });

  test("passes binary garbage and invalid UTF-8 through byte for byte", async () => {
    const { root, logs } = await setup();
    const garbage = new Uint8Array(64 * 1024);
    for (let i = 0; i < garbage.length; i++) garbage[i] = (i * 7919 + 13) & 0xff;
    await writeFile(join(logs, "bin.log"), garbage);
    await appendFile(join(logs, "bin.log"), "\n");
    const r = await startAgent(root, taildir(logs, "bin\\.log", ["maxLineLength = 1m"]));
    await waitFor("the garbage delivered", async () => {
      const out = (await delivered(r.out)).length;
      return out > 0 && (await Bun.file(join(r.out, (await Array.fromAsync(new Bun.Glob("*").scan(r.out)))[0]!)).size) === garbage.length + 1;
    });
    const outName = (await Array.fromAsync(new Bun.Glob("*").scan(r.out)))[0]!;
    expect(new Uint8Array(await readFile(join(r.out, outName)))).toEqual(new Uint8Array([...garbage, 0x0a]));
    await r.stop();
  });

  test("truncates a 100 MB line to maxLineLength, marks it, and keeps reading the lines after it", async () => {
    const { root, logs } = await setup();
    const big = new Uint8Array(100 * 1024 * 1024).fill(0x78);
    await writeFile(join(logs, "big.log"), "before\n");
    await appendFile(join(logs, "big.log"), big);
    await appendFile(join(logs, "big.log"), "\nafter\n");
    const r = await startAgent(root, taildir(logs, "big\\.log", ["maxLineLength = 1k"]), { sink: ["sink.serializer = HEADER_AND_TEXT"] });
    const got = await waitForLines(r.out, 3, 30_000);
    expect(got[0]).toBe("{} before");
    expect(got[1]).toBe(`{truncated=true} ${"x".repeat(1024)}`);
    expect(got[2]).toBe("{} after");
    await r.stop();
  });

  test("skipToEnd starts files unknown to the position file at their end", async () => {
    const { root, logs } = await setup();
    await writeFile(join(logs, "old.log"), numbered("old", 0, 50));
    const r = await startAgent(root, taildir(logs, "old[.]log", ["skipToEnd = true"]));
    await waitFor("the file tracked", () => r.agent.sources.get("r1")!.source.gauges!().OpenFiles === 1);
    await appendFile(join(logs, "old.log"), "fresh\n");
    expect(await waitForLines(r.out, 1)).toEqual(["fresh"]);
    await r.stop();
  });

  test("emits a last line without newline on idle close only when emitPartialLineOnIdle is set", async () => {
    const { root, logs } = await setup();
    await writeFile(join(logs, "p.log"), "whole\nhalf");
    const r = await startAgent(root, taildir(logs, "p[.]log", ["idleTimeout = 300ms", "emitPartialLineOnIdle = true"]));
    expect(await waitForLines(r.out, 2)).toEqual(["whole", "half"]);
    await r.stop();
  });

  test("maxBatchCount takes turns between files that both have a backlog", async () => {
    const { root, logs } = await setup();
    await writeFile(join(logs, "a.log"), numbered("a", 0, 500));
    await writeFile(join(logs, "b.log"), numbered("b", 0, 500));
    const r = await startAgent(root, taildir(logs, "[ab][.]log", ["batchSize = 10", "maxBatchCount = 1"]));
    const got = await waitForLines(r.out, 1000);
    const head = got.slice(0, 100);
    expect(head.filter((l) => l.startsWith("a")).length).toBeGreaterThanOrEqual(40);
    expect(head.filter((l) => l.startsWith("b")).length).toBeGreaterThanOrEqual(40);
    await r.stop();
  });

  test("joins multiline records (stack traces) and flushes the last one after multiline.timeout", async () => {
    const { root, logs } = await setup();
    const text = "2024 start\n  at a()\n  at b()\n2024 next\n2024 last\n  at c()\n";
    await writeFile(join(logs, "ml.log"), text);
    const r = await startAgent(root, taildir(logs, "ml\\.log", ["multiline.pattern = ^\\s", "multiline.timeout = 300ms"]), {
      sink: ["sink.serializer.appendNewline = true"],
    });
    await waitFor("three records", async () => (await readAll(r.out)) === "2024 start\n  at a()\n  at b()\n2024 next\n2024 last\n  at c()\n");
    await r.stop();
  });
});

describe("TAILDIR rotation", () => {
  test("follows rename+create rotation: the old file is finished, then the new one, nothing lost", async () => {
    const { root, logs } = await setup();
    const f = join(logs, "app.log");
    await writeFile(f, numbered("r", 0, 500));
    const r = await startAgent(root, taildir(logs, "app\\.log"));
    await waitForLines(r.out, 100);
    await appendFile(f, numbered("r", 500, 600)); // written just before the rename: still in the old file
    await rename(f, join(logs, "app.log.1"));
    await writeFile(f, numbered("r", 600, 900));
    const got = await waitForLines(r.out, 900);
    await Bun.sleep(300);
    expect(await delivered(r.out)).toEqual(range("r", 0, 900));
    expect(got.length).toBe(900);
    await r.stop();
  });

  test("a file rotated away with a last line that has no newline gives that line up when it is closed", async () => {
    const { root, logs } = await setup();
    const f = join(logs, "app.log");
    await writeFile(f, numbered("p", 0, 100) + "no newline at the end");
    const r = await startAgent(root, taildir(logs, "app\\.log"));
    await waitForLines(r.out, 100);
    await rename(f, join(logs, "app.log.1"));
    await writeFile(f, numbered("q", 0, 10));
    await waitForLines(r.out, 111, 10_000);
    // The partial line comes when the rotated file is closed (after its grace period): compare without order.
    expect((await delivered(r.out)).sort()).toEqual([...range("p", 0, 100), ...range("q", 0, 10), "no newline at the end"].sort());
    await r.stop();
  });

  test("restarts from the beginning after a truncation and says so", async () => {
    const { root, logs } = await setup();
    const f = join(logs, "t.log");
    await writeFile(f, numbered("old", 0, 200));
    const r = await startAgent(root, taildir(logs, "t\\.log"));
    await waitForLines(r.out, 200);
    await truncate(f, 0);
    await waitFor("truncation noticed", () => r.logs.some((l) => l.includes("was truncated")));
    await appendFile(f, numbered("new", 0, 50));
    await waitForLines(r.out, 250);
    expect(await delivered(r.out)).toEqual([...range("old", 0, 200), ...range("new", 0, 50)]);
    await r.stop();
  });

  test("drains a deleted file to its end before closing it", async () => {
    const { root, logs } = await setup();
    const f = join(logs, "d.log");
    await writeFile(f, numbered("d", 0, 3000));
    const r = await startAgent(root, taildir(logs, "d\\.log", ["batchSize = 10"]));
    await waitForLines(r.out, 1);
    await unlink(f);
    await waitForLines(r.out, 3000);
    expect(await delivered(r.out)).toEqual(range("d", 0, 3000));
    await waitFor("deleted file forgotten", () => r.agent.sources.get("r1")!.source.gauges!().OpenFiles === 0, 5000);
    await r.stop();
  });

  test("logrotate create mode: every line once, across several rotations", async () => {
    const { root, logs } = await setup();
    const f = join(logs, "app.log");
    await writeFile(f, "");
    const conf = join(root, "lr.conf");
    await writeFile(conf, `${f} {\n  rotate 5\n  create\n  missingok\n}\n`);
    const r = await startAgent(root, taildir(logs, "app\\.log"));
    let n = 0;
    for (let round = 0; round < 3; round++) {
      // The source is behind when logrotate renames the file: the old file's end is read after the rename.
      for (let k = 0; k < 5; k++) await appendFile(f, numbered("c", n, (n += 400)));
      const p = Bun.spawnSync(["logrotate", "-f", "-s", join(root, "lr.state"), conf]);
      expect(p.exitCode).toBe(0);
      await appendFile(f, numbered("c", n, (n += 40)));
      // Rotations are far apart in real life: the new file is seen before it is rotated in turn.
      await waitForLines(r.out, n);
    }
    await waitForLines(r.out, n);
    await Bun.sleep(300);
    expect(await delivered(r.out)).toEqual(range("c", 0, n));
    await r.stop();
  });

  test("logrotate copytruncate mode: the unread end is taken from the copy, nothing lost or repeated", async () => {
    const { root, logs } = await setup();
    const f = join(logs, "app.log");
    await writeFile(f, "");
    const conf = join(root, "lr.conf");
    await writeFile(conf, `${f} {\n  rotate 5\n  copytruncate\n  missingok\n}\n`);
    // A small channel and small sink batches keep the source behind when logrotate copies and truncates.
    const r = await startAgent(root, taildir(logs, "app\\.log", ["batchSize = 10", "readBufferSize = 4k"]), {
      channel: ["capacity = 20", "transactionCapacity = 10", "keep-alive = 1"],
      sink: ["sink.batchSize = 10"],
    });
    let n = 0;
    for (let round = 0; round < 3; round++) {
      const first = n;
      await appendFile(f, numbered("t", n, (n += 3000)));
      // The source has started on this round's lines and is behind when logrotate copies and truncates.
      await waitFor("reading started", async () => (await delivered(r.out)).includes(`t${first}`));
      const p = Bun.spawnSync(["logrotate", "-f", "-s", join(root, "lr.state"), conf]);
      expect(p.exitCode).toBe(0);
      await appendFile(f, numbered("t", n, (n += 100)));
      await waitForLines(r.out, n, 30_000);
    }
    await Bun.sleep(300);
    expect(await delivered(r.out)).toEqual(range("t", 0, n));
    expect(r.logs.some((l) => l.includes("is the copy of"))).toBe(true);
    await r.stop();
  });
});

describe("TAILDIR positions", () => {
  test("resumes from a Flume-written position file", async () => {
    const { root, logs } = await setup();
    const f = join(logs, "app.log");
    const head = numbered("f", 0, 100);
    await writeFile(f, head + numbered("f", 100, 150));
    const st = await stat(f);
    const pos = join(root, "flume-pos.json");
    await writeFile(pos, `[{"inode":${st.ino},"pos":${Buffer.byteLength(head)},"file":"${f}"}]`);
    const r = await startAgent(root, taildir(logs, "app\\.log", [`positionFile = ${pos}`]));
    await waitForLines(r.out, 50);
    await Bun.sleep(300);
    expect(await delivered(r.out)).toEqual(range("f", 100, 150));
    await r.stop();
    const saved = JSON.parse(await readFile(pos, "utf8"));
    expect(saved[0]).toMatchObject({ inode: st.ino, pos: (await stat(f)).size, file: f });
  });

  test("reads a file from its start when its inode was reused by a file with a different first line", async () => {
    const { root, logs } = await setup();
    await initCrc32c();
    const f = join(logs, "app.log");
    await writeFile(f, numbered("new", 0, 30));
    const st = await stat(f);
    const pos = join(root, "pos.json");
    // What sluice saved for the old file that had this inode: another fingerprint, an offset inside the new file.
    await writeFile(pos, formatPositions([{ inode: st.ino, dev: st.dev, pos: 40, file: f, fp: 0x12345678, fplen: 64 }]));
    const r = await startAgent(root, taildir(logs, "app\\.log", [`positionFile = ${pos}`]));
    await waitForLines(r.out, 30);
    expect(await delivered(r.out)).toEqual(range("new", 0, 30));
    expect(r.logs.some((l) => l.includes("reuses the inode"))).toBe(true);
    await r.stop();
  });

  test("refuses to start on a corrupt position file, naming it and the way to recover", async () => {
    const { root, logs } = await setup();
    const pos = join(root, "pos.json");
    await writeFile(pos, '[{"inode":1,"pos":');
    await expect(startAgent(root, taildir(logs, "x", [`positionFile = ${pos}`]))).rejects.toThrow(`position file ${pos} is corrupt`);
    await writeFile(pos, '[{"inode":1,"pos":5,"file":"/x","sluice":1,"dev":1,"fp":"00000000","fplen":0,"crc":1}]');
    await expect(startAgent(root, taildir(logs, "x", [`positionFile = ${pos}`]))).rejects.toThrow("fails its CRC check");
  });

  describe("a corrupt position file with a temp file beside it", () => {
    /** A position file covering 20 delivered lines of app.log; 10 more lines appended after. */
    async function saved() {
      const { root, logs } = await setup();
      const f = join(logs, "app.log");
      await writeFile(f, numbered("a", 0, 20));
      const pos = join(root, "pos.json");
      const keys = taildir(logs, "app\\.log", [`positionFile = ${pos}`]);
      const r = await startAgent(root, keys);
      await waitForLines(r.out, 20);
      await r.stop();
      await appendFile(f, numbered("a", 20, 30));
      const good = await readFile(pos, "utf8");
      const tmp = join(root, ".pos.json.tmp");
      return { root, keys, pos, tmp, good, out: r.out };
    }
    const hourAgo = () => new Date(Date.now() - 3_600_000);

    test("a stale temp (older than the file) is not used: start refuses, naming both files and how to recover", async () => {
      const s = await saved();
      await writeFile(s.tmp, "[\n\n]\n");
      await utimes(s.tmp, hourAgo(), hourAgo());
      await writeFile(s.pos, '[{"inode":1,"pos":');
      const err = await startAgent(s.root, s.keys).catch((e: Error) => e);
      expect(err).toBeInstanceOf(Error);
      const msg = (err as Error).message;
      expect(msg).toContain(`position file ${s.pos} is corrupt`);
      expect(msg).toContain(`its temp file ${s.tmp} cannot stand in for it (it is stale`);
      expect(msg).toContain(`mv ${s.pos} ${s.pos}.bad; mv ${s.tmp} ${s.tmp}.bad`);
      // Nothing was re-read from offset 0.
      expect(await delivered(s.out)).toEqual(range("a", 0, 20));
    });

    test("a truncated temp is not used: start refuses, naming both files", async () => {
      const s = await saved();
      await writeFile(s.pos, '[{"inode":1,"pos":');
      await utimes(s.pos, hourAgo(), hourAgo());
      await writeFile(s.tmp, s.good.slice(0, s.good.length - 5));
      const err = await startAgent(s.root, s.keys).catch((e: Error) => e);
      expect((err as Error).message).toContain(`its temp file ${s.tmp} cannot stand in for it (it is incomplete or corrupt`);
      // The refused start left both files as they were.
      expect(await readFile(s.pos, "utf8")).toBe('[{"inode":1,"pos":');
      expect(await readFile(s.tmp, "utf8")).toBe(s.good.slice(0, s.good.length - 5));
      await writeFile(s.tmp, "");
      const err2 = await startAgent(s.root, s.keys).catch((e: Error) => e);
      expect((err2 as Error).message).toContain("it is empty");
      expect(await delivered(s.out)).toEqual(range("a", 0, 20));
    });

    test("a complete, valid temp newer than the file is used, with a warning, and reading resumes where it says", async () => {
      const s = await saved();
      await writeFile(s.pos, '[{"inode":1,"pos":');
      await utimes(s.pos, hourAgo(), hourAgo());
      await writeFile(s.tmp, s.good);
      const r = await startAgent(s.root, s.keys);
      await waitForLines(r.out, 30);
      await Bun.sleep(200);
      expect(await delivered(s.out)).toEqual(range("a", 0, 30));
      expect(r.logs.some((l) => l.includes(`using its complete temp file ${s.tmp}`))).toBe(true);
      await r.stop();
    });
  });

  test("status reads the position file with no agent running: offset, size and lag per file", async () => {
    const { root, logs } = await setup();
    const f = join(logs, "s.log");
    await writeFile(f, numbered("s", 0, 10));
    const keys = taildir(logs, "s\\.log");
    const r = await startAgent(root, keys);
    await waitForLines(r.out, 10);
    await r.stop();
    await appendFile(f, "more\n");
    const cfg = { filegroups: ["g1"], filegroupPaths: { g1: { value: `${logs}/s\\.log`, line: 1 } }, headers: {} } as never;
    const rep = await taildirSourceType.inspect!(
      { ...(cfg as object), positionFile: undefined } as never,
      { agent: "a1", name: "r1", type: "TAILDIR", log: getLogger("t"), stateDir: join(root, "state", "a1", "r1"), once: false },
    );
    expect(rep.items![0]).toMatchObject({ file: f, offset: (await stat(f)).size - 5, lag: 5 });
  });

  test("cron mode reads every file to its current end, then reports done", async () => {
    const { root, logs } = await setup();
    await writeFile(join(logs, "a.log"), numbered("a", 0, 120));
    await writeFile(join(logs, "b.log"), numbered("b", 0, 80));
    const r = await startAgent(root, taildir(logs, ".*\\.log"), { once: true });
    await Promise.race([r.agent.sourcesFinished(), Bun.sleep(10_000)]);
    await waitForLines(r.out, 200);
    await r.stop();
    expect((await delivered(r.out)).length).toBe(200);
  });
});

describe("TAILDIR bad input", () => {
  test("skips a directory and a FIFO that match the pattern, with a warning, and reads the rest", async () => {
    const { root, logs } = await setup();
    await mkdir(join(logs, "dir.log"));
    Bun.spawnSync(["mkfifo", join(logs, "fifo.log")]);
    await writeFile(join(logs, "ok.log"), "fine\n");
    const r = await startAgent(root, taildir(logs, ".*\\.log"));
    await waitForLines(r.out, 1);
    await waitFor("warnings", () => r.logs.some((l) => l.includes("dir.log") && l.includes("not a regular file")) && r.logs.some((l) => l.includes("fifo.log")));
    await appendFile(join(logs, "ok.log"), "still\n");
    expect(await waitForLines(r.out, 2)).toEqual(["fine", "still"]);
    await r.stop();
  });

  test("keeps running when its directory vanishes, and reads it again when it comes back", async () => {
    const { root, logs } = await setup();
    await writeFile(join(logs, "v.log"), "one\n");
    const r = await startAgent(root, taildir(logs, "v\\.log"));
    await waitForLines(r.out, 1);
    await rm(logs, { recursive: true });
    await waitFor("the warning", () => r.logs.some((l) => l.includes(`directory ${logs} is not readable`)));
    await mkdir(logs);
    await writeFile(join(logs, "v.log"), "two\n");
    expect(await waitForLines(r.out, 2)).toEqual(["one", "two"]);
    await r.stop();
  });
});

describe("file source configuration", () => {
  test("lists every TAILDIR and spooldir key problem with file:line, key and the values", async () => {
    const text = [
      "a1.sources = r1 r2", "a1.channels = c1", "a1.sinks = k1",
      "a1.sources.r1.type = TAILDIR", "a1.sources.r1.channels = c1", "a1.sources.r1.filegroups = g1 g2",
      "a1.sources.r1.filegroups.g1 = relative/app.log", "a1.sources.r1.headers.g9.host = x", "a1.sources.r1.maxBackoffSleep = 10",
      "a1.sources.r2.type = spooldir", "a1.sources.r2.channels = c1", "a1.sources.r2.spoolDir = /tmp/s",
      "a1.sources.r2.inputCharset = UTF-16", "a1.sources.r2.deserializer.outputCharset = latin1",
      "a1.channels.c1.type = memory", "a1.sinks.k1.type = null", "a1.sinks.k1.channel = c1",
    ].join("\n");
    const { problems } = buildAgentSpec(text, "x.conf");
    const lines = problems.map((p) => `${p.where} ${p.key} ${p.message}`);
    // A relative group path is Flume's too: resolved against the working directory, not a problem.
    expect(lines.some((l) => l.includes("filegroups.g1"))).toBe(false);
    expect(lines.some((l) => l.startsWith("x.conf:6 a1.sources.r1.filegroups") && l.includes(`file group "g2" has no path`))).toBe(true);
    expect(lines.some((l) => l.startsWith("x.conf:8 a1.sources.r1.headers.g9.host"))).toBe(true);
    expect(lines).toContainEqual("x.conf:9 a1.sources.r1.maxBackoffSleep maxBackoffSleep (10 ms) must be ≥ backoffSleepIncrement (1000 ms)");
    expect(lines.some((l) => l.startsWith("x.conf:13 a1.sources.r2.inputCharset") && l.includes("UTF-16"))).toBe(true);
    expect(lines.some((l) => l.startsWith("x.conf:14 a1.sources.r2.deserializer.outputCharset"))).toBe(true);
  });
});

async function readAll(out: string): Promise<string> {
  return (await delivered(out)).map((l) => l + "\n").join("");
}
