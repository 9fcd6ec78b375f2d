import { describe, expect, test } from "bun:test";
import { mkdir, open, readdir, readFile, stat, truncate, utimes, writeFile } from "node:fs/promises";
import { join } from "node:path";
import { channelContract } from "./contract.ts";
import { crashImage, drain, events, fileConfig, log, names, openFile, put } from "./file-helpers.ts";
import { onCleanup, tempDir } from "../helpers/index.ts";
import { FileChannel, fileChannelType } from "../../src/channels/file/index.ts";
import { recover } from "../../src/channels/file/replay.ts";
import { AckTracker } from "../../src/core/ack.ts";
import { ChannelProcessor } from "../../src/core/channel-processor.ts";
import { CorruptLogError, DiskFullError } from "../../src/core/errors.ts";
import { makeEvent } from "../../src/core/event.ts";
import { ReplicatingSelector } from "../../src/selectors/replicating.ts";

channelContract("file", async (o) => {
  const dir = await tempDir("sluice-file-");
  return new FileChannel("c1", fileConfig(dir, { capacity: o.capacity, transactionCapacity: o.transactionCapacity, "keep-alive": o.keepAliveMs }), dir, log);
});

async function segments(dir: string): Promise<string[]> {
  return (await readdir(join(dir, "data"))).filter((n) => n.startsWith("log-")).sort();
}

describe("file channel recovery", () => {
  test("replays committed puts and takes after a crash without a clean stop", async () => {
    const dir = await tempDir();
    const ch = await openFile(dir);
    for (let i = 0; i < 10; i++) await put(ch, events(i * 10, 10));
    const tx = ch.begin();
    expect((await tx.take(30)).length).toBe(30);
    await tx.commit();
    const img = await crashImage(dir, join(await tempDir(), "img"));
    await ch.stop();
    const back = await openFile(img);
    expect(back.gauges().ChannelBytes).toBe(names(30, 70).join("").length);
    expect(await drain(back)).toEqual(names(30, 70));
    await back.stop();
  });

  test("replays a WAL larger than its read chunk, with records straddling chunk boundaries", async () => {
    const dir = await tempDir();
    const ch = await openFile(dir, { checkpointOnClose: false });
    const body = (i: number) => makeEvent(`${i}`.padEnd(997, "."));
    for (let i = 0; i < 12_000; i += 120) await put(ch, Array.from({ length: 120 }, (_, k) => body(i + k)));
    const img = await crashImage(dir, join(await tempDir(), "img"));
    await ch.stop();
    const back = await openFile(img, { cacheBytes: 0 });
    expect(back.size()).toBe(12_000);
    const got = await drain(back, 1000);
    expect(got.map((s) => Number(s.replace(/\.+$/, "")))).toEqual(Array.from({ length: 12_000 }, (_, i) => i));
    await back.stop();
  }, 30_000);

  test("a checkpoint written while a take is open brings the taken events back after a crash", async () => {
    const dir = await tempDir();
    const ch = await openFile(dir);
    await put(ch, [makeEvent("a"), makeEvent("b"), makeEvent("c")]);
    const tx = ch.begin();
    expect((await tx.take(1)).map((e) => new TextDecoder().decode(e.body))).toEqual(["a"]);
    await ch.checkpoint(true);
    const img1 = await crashImage(dir, join(await tempDir(), "img1"));
    await tx.commit();
    const img2 = await crashImage(dir, join(await tempDir(), "img2"));
    await ch.stop();
    const c1 = await openFile(img1);
    expect(await drain(c1)).toEqual(["a", "b", "c"]);
    await c1.stop();
    const c2 = await openFile(img2);
    expect(await drain(c2)).toEqual(["b", "c"]);
    await c2.stop();
  });

  test("a checkpoint written while puts are committing loses none of them", async () => {
    const dir = await tempDir();
    const ch = await openFile(dir);
    const commits = [];
    for (let i = 0; i < 20; i++) {
      const tx = ch.begin();
      tx.put(events(i * 5, 5));
      commits.push(tx.commit());
      if (i % 7 === 0) commits.push(ch.checkpoint(true));
    }
    await Promise.all(commits);
    const img = await crashImage(dir, join(await tempDir(), "img"));
    await ch.stop();
    const back = await openFile(img);
    expect((await drain(back)).sort()).toEqual(names(0, 100).sort());
    await back.stop();
  });

  test("a take committed while an earlier put is still being fsynced, then a checkpoint, recovers exactly", async () => {
    const dir = await tempDir();
    const ch = await openFile(dir);
    await put(ch, events(0, 10));
    const img = join(await tempDir(), "img");
    for (let round = 0; round < 5; round++) {
      const pending = put(ch, events(100 + round * 10, 10)); // its fsync is under way…
      const tx = ch.begin();
      await tx.take(2); // …while this take commits (written, applied) and a checkpoint snapshots the state
      await tx.commit();
      const ck = ch.checkpoint(true);
      await Promise.all([pending, ck]);
    }
    await crashImage(dir, img);
    const expected = names(100, 50); // e0..e9 were taken, two per round
    await ch.stop();
    const back = await openFile(img);
    expect(back.gauges().ChannelBytes).toBe(expected.join("").length);
    expect(await drain(back)).toEqual(expected);
    await back.stop();
  });

  test("restarts from the checkpoint plus the WAL written after it", async () => {
    const dir = await tempDir();
    const ch = await openFile(dir);
    await put(ch, events(0, 10));
    await ch.checkpoint(true);
    await put(ch, events(10, 10));
    const tx = ch.begin();
    await tx.take(15);
    await tx.commit();
    const img = await crashImage(dir, join(await tempDir(), "img"));
    await ch.stop();
    const back = await openFile(img);
    expect(back.size()).toBe(5);
    expect(back.gauges().ChannelBytes).toBe(names(15, 5).join("").length);
    expect(await drain(back)).toEqual(names(15, 5));
    await back.stop();
  });

  test("truncates a torn last record at every byte offset and keeps everything committed before it", async () => {
    const dir = await tempDir();
    const ch = await openFile(dir, { checkpointOnClose: false });
    await put(ch, events(0, 3));
    await put(ch, [makeEvent("last!", { h: "v" })]);
    await ch.stop();
    const [seg] = await segments(dir);
    const path = join(dir, "data", seg!);
    const size = (await stat(path)).size;
    // The last record: 8-byte header + 36-byte fixed payload (version 2: cursors length 0) + 8-byte event frame +
    // headers + body.
    const lastLen = 8 + 36 + 8 + JSON.stringify({ h: "v" }).length + 5;
    const root = await tempDir();
    for (let cut = size - lastLen; cut < size; cut++) {
      const img = await crashImage(dir, join(root, `cut-${cut}`));
      await truncate(join(img, "data", seg!), cut);
      const back = await openFile(img);
      expect((await stat(join(img, "data", seg!))).size).toBe(size - lastLen);
      expect(await drain(back)).toEqual(names(0, 3));
      await back.stop();
    }
  });

  test("refuses to start on a corrupt record in the middle, naming segment and offset, unless told to skip it", async () => {
    const dir = await tempDir();
    const ch = await openFile(dir, { checkpointOnClose: false });
    await put(ch, events(0, 5, "first-"));
    await put(ch, events(0, 5, "middle-"));
    await put(ch, events(0, 5, "last-"));
    await ch.stop();
    const [seg] = await segments(dir);
    const path = join(dir, "data", seg!);
    const bytes = await readFile(path);
    const at = bytes.indexOf(Buffer.from("middle-2"));
    expect(at).toBeGreaterThan(0);
    const fh = await open(path, "r+");
    await fh.write(Buffer.from("X"), 0, 1, at);
    await fh.close();
    const refused = new FileChannel("c1", fileConfig(dir), dir, log);
    const err = await refused.start().then(() => undefined, (e) => e);
    expect(err).toBeInstanceOf(CorruptLogError);
    expect(String(err.message)).toContain(path);
    expect(String(err.message)).toMatch(/at offset \d+/);
    expect(String(err.message)).toContain("skipCorruptRecords");
    const skipping = await openFile(dir, { skipCorruptRecords: true });
    expect(await drain(skipping)).toEqual([...names(0, 5, "first-"), ...names(0, 5, "last-")]);
    // Counted, not only logged: one record (a put batch whose event count cannot be read) dropped on purpose.
    expect(skipping.counters.dropped.values()).toEqual({ EventsDropped: 1, "EventsDropped.skipCorruptRecords (records)": 1 });
    await skipping.stop();
  });

  test("falls back to the backup checkpoint, then to a full replay, when checkpoints are damaged", async () => {
    const dir = await tempDir();
    const backup = join(dir, "backup");
    const ch = await openFile(dir, { useDualCheckpoints: true, backupCheckpointDir: backup });
    await put(ch, events(0, 10));
    const tx = ch.begin();
    await tx.take(4);
    await tx.commit();
    await ch.stop();
    await writeFile(join(dir, "checkpoint", "checkpoint"), "garbage");
    let back = await openFile(dir, { useDualCheckpoints: true, backupCheckpointDir: backup, checkpointOnClose: false });
    expect(back.size()).toBe(6);
    await back.stop();
    await writeFile(join(dir, "checkpoint", "checkpoint"), "garbage");
    await writeFile(join(backup, "checkpoint"), "garbage too");
    back = await openFile(dir, { useDualCheckpoints: true, backupCheckpointDir: backup });
    expect(await drain(back)).toEqual(names(4, 6));
    await back.stop();
  });
});

describe("file channel checkpoint corrupt, with a temp file beside it", () => {
  /** A stopped channel with 6 pending events and its checkpoint; the checkpoint's bytes and temp path. */
  async function saved() {
    const dir = await tempDir();
    const ch = await openFile(dir);
    await put(ch, events(0, 10));
    const tx = ch.begin();
    await tx.take(4);
    await tx.commit();
    await ch.stop();
    const main = join(dir, "checkpoint", "checkpoint");
    return { dir, main, tmp: join(dir, "checkpoint", ".checkpoint.tmp"), good: await readFile(main) };
  }
  const hourAgo = () => new Date(Date.now() - 3_600_000);
  const recoverDir = (dir: string) =>
    recover({ name: "c1", checkpointDir: join(dir, "checkpoint"), dataDirs: [join(dir, "data")], maxRecordBytes: 1 << 20, skipCorruptRecords: false, readOnly: true, log });

  test("a complete, valid temp newer than the checkpoint is used, and says so", async () => {
    const s = await saved();
    await writeFile(s.main, "garbage");
    await utimes(s.main, hourAgo(), hourAgo());
    await writeFile(s.tmp, s.good);
    const r = await recoverDir(s.dir);
    expect(r.checkpoint?.source).toBe("primary");
    expect(r.notes.join("\n")).toContain(`using its complete temp file ${s.tmp}`);
    const back = await openFile(s.dir);
    expect(await drain(back)).toEqual(names(4, 6));
    await back.stop();
  });

  test("a stale or truncated temp is not used: the fallback to a full replay names both files, and nothing is lost", async () => {
    const s = await saved();
    await writeFile(s.tmp, s.good);
    await utimes(s.tmp, hourAgo(), hourAgo());
    await writeFile(s.main, "garbage");
    let r = await recoverDir(s.dir);
    expect(r.checkpoint).toBeUndefined();
    expect(r.notes.join("\n")).toContain(`${s.main} is unusable`);
    expect(r.notes.join("\n")).toContain(`its temp file ${s.tmp} cannot stand in for it (it is stale`);
    await utimes(s.main, hourAgo(), hourAgo());
    await writeFile(s.tmp, s.good.subarray(0, s.good.length - 4));
    r = await recoverDir(s.dir);
    expect(r.checkpoint).toBeUndefined();
    expect(r.notes.join("\n")).toContain(`its temp file ${s.tmp} cannot stand in for it (it is incomplete or corrupt`);
    const back = await openFile(s.dir);
    expect(await drain(back)).toEqual(names(4, 6));
    await back.stop();
  });
});

describe("file channel segments and disk", () => {
  test("concurrent commits share write rounds and fsyncs (group commit)", async () => {
    const dir = await tempDir();
    const ch = await openFile(dir);
    const before = ch.walStats();
    await Promise.all(Array.from({ length: 50 }, (_, i) => put(ch, events(i * 10, 10))));
    const after = ch.walStats();
    expect(ch.size()).toBe(500);
    expect(after.rounds - before.rounds).toBeLessThan(10);
    expect(after.fsyncs - before.fsyncs).toBeLessThan(10);
    await ch.stop();
  });

  test("spreads segments over several dataDirs and recovers from all of them", async () => {
    const dir = await tempDir();
    const dataDirs = [join(dir, "d1"), join(dir, "d2")];
    const ch = await openFile(dir, { dataDirs, maxFileSize: 65_536, checkpointOnClose: false });
    const big = (i: number) => makeEvent(`${i}`.padEnd(2000, "."));
    for (let i = 0; i < 200; i += 10) await put(ch, Array.from({ length: 10 }, (_, k) => big(i + k)));
    const img = await crashImage(dir, join(await tempDir(), "img"));
    await ch.stop();
    expect((await readdir(join(img, "d1"))).some((n) => n.startsWith("log-"))).toBe(true);
    expect((await readdir(join(img, "d2"))).some((n) => n.startsWith("log-"))).toBe(true);
    // Reordered and extended dataDirs still find every segment.
    const back = await openFile(img, { dataDirs: [join(img, "d2"), join(img, "d3"), join(img, "d1")] });
    expect((await drain(back, 13)).map((s) => Number(s.replace(/\.+$/, "")))).toEqual(Array.from({ length: 200 }, (_, i) => i));
    await back.stop();
  });

  test("a disk below minimumRequiredSpace refuses new puts but keeps committed events deliverable", async () => {
    const dir = await tempDir();
    const ch = await openFile(dir);
    await put(ch, events(0, 20));
    await ch.stop();
    const full = await openFile(dir, { minimumRequiredSpace: 2 ** 50 });
    await expect(put(full, events(20, 5))).rejects.toBeInstanceOf(DiskFullError);
    expect(await drain(full)).toEqual(names(0, 20));
    await full.stop();
  });

  test("rolls segments, reads uncached events back from disk in order, and deletes drained segments", async () => {
    const dir = await tempDir();
    const ch = await openFile(dir, { maxFileSize: 65_536, cacheBytes: 0 });
    const big = (i: number) => makeEvent(`${i}`.padEnd(1000, "."));
    for (let i = 0; i < 200; i += 10) await put(ch, Array.from({ length: 10 }, (_, k) => big(i + k)));
    expect((await segments(dir)).length).toBeGreaterThan(2);
    const got = await drain(ch, 7);
    expect(got.map((s) => Number(s.replace(/\.+$/, "")))).toEqual(Array.from({ length: 200 }, (_, i) => i));
    await ch.checkpoint(true);
    expect((await segments(dir)).length).toBe(1);
    await ch.stop();
  });

  test("reads many small uncached records back in order with their headers, also after takes were logged between them", async () => {
    const dir = await tempDir();
    const ch = await openFile(dir, { cacheBytes: 0 });
    for (let i = 0; i < 300; i++) {
      await put(ch, [makeEvent(`e${i}`, { n: String(i) })]);
      if (i % 50 === 49) expect((await drain(ch, 20, 20)).length).toBe(20); // TAKE records between the PUTs
    }
    const tx = ch.begin();
    const got = await tx.take(100);
    await tx.commit();
    expect(got.map((e) => e.headers.n)).toEqual(Array.from({ length: 100 }, (_, i) => String(120 + i)));
    const rest = await drain(ch, 50);
    expect(rest.length).toBe(300 - 6 * 20 - 100);
    await ch.stop();
  });

  test("refuses puts with a recoverable DiskFullError below minimumRequiredSpace; the source is told to back off", async () => {
    const dir = await tempDir();
    const ch = await openFile(dir, { minimumRequiredSpace: 2 ** 50 });
    const tx = ch.begin();
    tx.put(events(0, 3));
    const err = await tx.commit().then(() => undefined, (e) => e);
    expect(err).toBeInstanceOf(DiskFullError);
    expect(err.recoverable).toBe(true);
    expect(err.message).toContain("minimumRequiredSpace");
    expect(err.message).toContain(join(dir, "data"));
    const processor = new ChannelProcessor(new ReplicatingSelector([ch]), [], log);
    expect(await processor.putBatch(events(0, 3))).toBe("full");
    expect(ch.size()).toBe(0);
    await ch.stop();
  });

  test("a second channel on the same checkpointDir is refused naming the holder; a dead or pre-reboot holder's lock is taken over", async () => {
    const dir = await tempDir();
    const a = await openFile(dir);
    const b = new FileChannel("c2", fileConfig(dir), dir, log);
    await expect(b.start()).rejects.toThrow(/already used by channel c1/);
    await a.stop();
    // A live process (pid 1) holds it: refused, naming the pid.
    await writeFile(join(dir, "checkpoint", "in_use.lock"), JSON.stringify({ pid: 1 }));
    await expect(new FileChannel("c3", fileConfig(dir), dir, log).start()).rejects.toThrow(/in use by another process \(pid 1,/);
    // The same pid written before a reboot (another boot id) is stale: taken over.
    await writeFile(join(dir, "checkpoint", "in_use.lock"), JSON.stringify({ pid: 1, bootId: "an-earlier-boot" }));
    const c = await openFile(dir);
    await c.stop();
    await writeFile(join(dir, "checkpoint", "in_use.lock"), JSON.stringify({ pid: 999_999 }));
    const d = await openFile(dir);
    await d.stop();
  });

  test("with fsyncPerTransaction = false a batch is safe only after the fsync that covers it", async () => {
    const dir = await tempDir();
    const ch = await openFile(dir, { fsyncPerTransaction: false, fsyncInterval: 200 });
    expect(ch.durable).toBe(false);
    const safe: number[] = [];
    const tracker = new AckTracker<number>((c) => safe.push(c));
    const ack = tracker.issue(1);
    await put(ch, events(0, 5), ack);
    ack.release();
    expect(safe).toEqual([]);
    await tracker.whenIdle(3000);
    expect(safe).toEqual([1]);
    await ch.stop();
  });

  test("inspect reports the backlog, segments and checkpoint age without changing anything", async () => {
    const dir = await tempDir();
    const ch = await openFile(dir);
    await put(ch, events(0, 7));
    const cfg = fileConfig(dir);
    const ctx = { agent: "a1", name: "c1", type: "file", log, stateDir: dir, once: false };
    const r = await fileChannelType.inspect!(cfg, ctx);
    expect(r.summary.events).toBe(7);
    expect(r.summary.segments).toBe(1);
    expect(r.summary.lockedByPid).toBe(process.pid);
    expect(typeof r.summary.checkpointAgeMs).toBe("number");
    expect(ch.gauges().ChannelBytes).toBe(events(0, 7).reduce((s, e) => s + e.body.byteLength, 0));
    await ch.stop();
  });
});

describe("file channel memory", () => {
  test("the record cache never holds more than cacheBytes, however large the backlog, and every event still arrives in order", async () => {
    const dir = await tempDir();
    const budget = 16 * 1024;
    const ch = await openFile(dir, { cacheBytes: budget });
    let peak = 0;
    for (let i = 0; i < 200; i++) {
      await put(ch, events(i * 50, 50));
      peak = Math.max(peak, ch.gauges().CacheBytes!);
    }
    expect(peak).toBeGreaterThan(0);
    expect(peak).toBeLessThanOrEqual(budget);
    expect(await drain(ch, 37)).toEqual(names(0, 10_000));
    expect(ch.gauges().CacheBytes).toBe(0);
    await ch.stop();
  });

  test("takes smaller than a put batch, with rollbacks between them, deliver each event of a record once and in order", async () => {
    const dir = await tempDir();
    for (const cacheBytes of [0, 1 << 20]) {
      const ch = await openFile(join(dir, String(cacheBytes)), { cacheBytes });
      await put(ch, events(0, 100).map((e, i) => ({ ...e, headers: { i: String(i % 3) } })));
      const got: string[] = [];
      for (let k = 0; k < 100; ) {
        const tx = ch.begin();
        const part = await tx.take(7);
        if (k % 3 === 0) {
          await tx.rollback();
          k++;
          continue;
        }
        await tx.commit();
        for (const e of part) got.push(`${new TextDecoder().decode(e.body)}/${e.headers.i}`);
        if (part.length === 0) break;
        k++;
      }
      got.push(...(await drain(ch)).map((b) => `${b}/?`));
      const bodies = got.map((g) => g.split("/")[0]);
      expect(bodies).toEqual(names(0, 100));
      for (const g of got) if (!g.endsWith("/?")) expect(g.split("/")[1]).toBe(String(Number(g.slice(1).split("/")[0]) % 3));
      await ch.stop();
    }
  });
});

describe("file channel on a really full disk", () => {
  /** A 1 MiB tmpfs (tests run as root); undefined where mounting is not allowed. */
  async function tinyDisk(): Promise<string | undefined> {
    const at = join(await tempDir(), "fs");
    await mkdir(at);
    const r = Bun.spawnSync(["mount", "-t", "tmpfs", "-o", "size=1m", "tmpfs", at]);
    if (r.exitCode !== 0) return undefined;
    onCleanup(() => Bun.spawnSync(["umount", at]));
    return at;
  }

  test("puts fail with a clear error when the disk fills, committed events survive, and puts resume once drained segments go", async () => {
    const fs = await tinyDisk();
    if (!fs) return console.warn("skipped: cannot mount a tmpfs here");
    const ch = await openFile(fs, { maxFileSize: 65_536, minimumRequiredSpace: 0 });
    const big = (i: number) => makeEvent(`${i}`.padEnd(1000, "."));
    let committed = 0;
    let failure: unknown;
    for (let i = 0; i < 300 && !failure; i++) {
      await put(ch, Array.from({ length: 10 }, (_, k) => big(committed + k))).then(() => (committed += 10), (e) => (failure = e));
    }
    expect(failure).toBeDefined();
    expect(String((failure as Error).message)).toMatch(/ENOSPC|no space|minimumRequiredSpace|kept for the next checkpoint/i);
    expect((failure as { recoverable?: boolean }).recoverable).toBe(true);
    expect(ch.size()).toBe(committed);
    const got = await drain(ch, 100);
    expect(got.map((s) => Number(s.replace(/\.+$/, "")))).toEqual(Array.from({ length: committed }, (_, i) => i));
    await ch.checkpoint(true);
    await put(ch, [big(0)]);
    expect(ch.size()).toBe(1);
    await ch.stop();
  });

  test("a minimumRequiredSpace margin refuses puts with DiskFullError before the disk is full", async () => {
    const fs = await tinyDisk();
    if (!fs) return console.warn("skipped: cannot mount a tmpfs here");
    const ch = await openFile(fs, { minimumRequiredSpace: 600 * 1024 });
    let failure: unknown;
    for (let i = 0; i < 100 && !failure; i++) await put(ch, [makeEvent("x".repeat(20_000))]).catch((e) => (failure = e));
    expect(failure).toBeInstanceOf(DiskFullError);
    expect(ch.size()).toBeGreaterThan(0);
    await ch.stop();
  });
});

describe("file channel configuration", () => {
  test("validation quotes the keys and values of every cross-field problem", async () => {
    const { buildAgentSpec } = await import("../../src/config/load.ts");
    const conf = [
      "a1.sources = r1", "a1.channels = c1 c2", "a1.sinks = k1",
      "a1.sources.r1.type = seq", "a1.sources.r1.channels = c1 c2",
      "a1.channels.c1.type = org.apache.flume.channel.file.FileChannel", "a1.channels.c1.capacity = 100", "a1.channels.c1.transactionCapacity = 1000",
      "a1.channels.c1.checkpointDir = /tmp/x", "a1.channels.c1.dataDirs = /tmp/y, /tmp/x",
      "a1.channels.c2.type = dual", "a1.channels.c2.overflowCapacity = 10", "a1.channels.c2.transactionCapacity = 100",
      "a1.sinks.k1.type = null", "a1.sinks.k1.channel = c1",
    ].join("\n");
    const { problems } = buildAgentSpec(conf, "t.conf");
    const text = problems.map((p) => `${p.key}: ${p.message}`).join("\n");
    expect(text).toContain("transactionCapacity (1000) must be ≤ capacity (100)");
    expect(text).toContain("checkpointDir (/tmp/x) must not also be one of dataDirs");
    expect(text).toContain("transactionCapacity (100) must be ≤ overflowCapacity (10)");
  });
});
