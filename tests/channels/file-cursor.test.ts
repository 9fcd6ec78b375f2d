// Source cursors committed with their batches (issue 11: no duplicates between a file source and a file channel), and
// the older (version 1) WAL and checkpoint formats, written before cursors existed, read as before.

import { describe, expect, test } from "bun:test";
import { mkdir, readdir, stat, truncate, writeFile } from "node:fs/promises";
import { join } from "node:path";
import { crashImage, drain, events, names, openFile } from "./file-helpers.ts";
import { BUN, tempDir, waitFor } from "../helpers/index.ts";
import type { Channel } from "../../src/core/channel.ts";
import { SluiceError } from "../../src/core/errors.ts";
import { crc32c, initCrc32c } from "../../src/util/crc.ts";

const enc = new TextEncoder();
const dec = new TextDecoder();
const cur = (s: string) => enc.encode(s);
const text = (b: Uint8Array | undefined) => (b === undefined ? undefined : dec.decode(b));

async function putWithCursor(ch: Channel, from: number, n: number, source: string, cursor: string): Promise<void> {
  const tx = ch.begin();
  tx.put(events(from, n), undefined, { source, cursor: cur(cursor) });
  await tx.commit();
}

async function onlySegment(dir: string): Promise<string> {
  const segs = (await readdir(join(dir, "data"))).filter((n) => n.startsWith("log-")).sort();
  return join(dir, "data", segs[segs.length - 1]!);
}

describe("file channel source cursors", () => {
  test("a cursor committed with its batch survives kill -9, from the WAL and from a checkpoint; the last one per source wins", async () => {
    const dir = await tempDir();
    const ch = await openFile(dir, { checkpointOnClose: false });
    await putWithCursor(ch, 0, 10, "r1", "file-a:100");
    await putWithCursor(ch, 10, 10, "r2", "file-b:7");
    await ch.checkpoint(true);
    await putWithCursor(ch, 20, 10, "r1", "file-a:200");
    // Two puts of one source in one transaction: the later cursor is the one committed.
    const tx = ch.begin();
    tx.put(events(30, 5), undefined, { source: "r1", cursor: cur("file-a:250") });
    tx.put(events(35, 5), undefined, { source: "r1", cursor: cur("file-a:300") });
    await tx.commit();
    expect(text(ch.committedCursor("r1"))).toBe("file-a:300");
    const img = await crashImage(dir, join(await tempDir(), "img"));
    await ch.stop();
    const back = await openFile(img);
    expect(text(back.committedCursor("r1"))).toBe("file-a:300");
    expect(text(back.committedCursor("r2"))).toBe("file-b:7");
    expect(back.committedCursor("r3")).toBeUndefined();
    expect(await drain(back)).toEqual(names(0, 40));
    // Taking everything does not forget where the sources were; a restart from the new checkpoint keeps them.
    await back.stop();
    const again = await openFile(img);
    expect(text(again.committedCursor("r1"))).toBe("file-a:300");
    expect(text(again.committedCursor("r2"))).toBe("file-b:7");
    await again.stop();
  });

  test("a cursor with no events (a batch the interceptors dropped whole) is committed too", async () => {
    const dir = await tempDir();
    const ch = await openFile(dir, { checkpointOnClose: false });
    await putWithCursor(ch, 0, 3, "r1", "a:3");
    const tx = ch.begin();
    tx.put([], undefined, { source: "r1", cursor: cur("a:9") });
    await tx.commit();
    expect(ch.size()).toBe(3);
    const img = await crashImage(dir, join(await tempDir(), "img"));
    await ch.stop();
    const back = await openFile(img);
    expect(text(back.committedCursor("r1"))).toBe("a:9");
    expect(await drain(back)).toEqual(names(0, 3));
    await back.stop();
  });

  test("a torn last record loses its batch and its cursor together: the source resumes before that batch", async () => {
    const dir = await tempDir();
    const ch = await openFile(dir, { checkpointOnClose: false });
    await putWithCursor(ch, 0, 5, "r1", "a:5");
    const before = (await stat(await onlySegment(dir))).size;
    await putWithCursor(ch, 5, 5, "r1", "a:10");
    const img = await crashImage(dir, join(await tempDir(), "img"));
    await ch.stop();
    const seg = await onlySegment(img);
    await truncate(seg, (await stat(seg)).size - 3);
    const back = await openFile(img);
    expect((await stat(seg)).size).toBe(before);
    expect(text(back.committedCursor("r1"))).toBe("a:5");
    expect(await drain(back)).toEqual(names(0, 5));
    await back.stop();
  });

  test("a source reading many files keeps one cursor per file key, and an empty cursor forgets one, also across a restart", async () => {
    const dir = await tempDir();
    const ch = await openFile(dir, { checkpointOnClose: false });
    await putWithCursor(ch, 0, 2, "r1/ino-1", "100");
    await putWithCursor(ch, 2, 2, "r1/ino-2", "40");
    await ch.checkpoint(true);
    const tx = ch.begin();
    tx.put([], undefined, { source: "r1/ino-1", cursor: new Uint8Array(0) });
    await tx.commit();
    await putWithCursor(ch, 4, 2, "r1/ino-3", "7");
    expect([...ch.committedCursors().keys()].sort()).toEqual(["r1/ino-2", "r1/ino-3"]);
    const img = await crashImage(dir, join(await tempDir(), "img"));
    await ch.stop();
    const back = await openFile(img);
    expect(new Map([...back.committedCursors()].map(([k, v]) => [k, text(v)]))).toEqual(new Map([["r1/ino-2", "40"], ["r1/ino-3", "7"]]));
    await back.stop();
  });

  test("a cursor longer than 64 KiB fails its put with a typed error naming the source, and nothing is committed", async () => {
    const dir = await tempDir();
    const ch = await openFile(dir);
    const tx = ch.begin();
    tx.put(events(0, 2), undefined, { source: "r1", cursor: new Uint8Array(64 * 1024 + 1) });
    const err = await tx.commit().then(() => undefined, (e) => e);
    expect(err).toBeInstanceOf(SluiceError);
    expect(String(err.message)).toContain("source r1");
    expect(ch.size()).toBe(0);
    expect(ch.committedCursor("r1")).toBeUndefined();
    await ch.stop();
  });

  test("memory-held channels ignore cursors and have no committed cursor", async () => {
    const { MemoryChannel } = await import("../../src/channels/memory.ts");
    const ch = new MemoryChannel("m", { capacity: 10, transactionCapacity: 10, byteCapacity: 0, byteCapacityBufferPercentage: 20, "keep-alive": 10 });
    await ch.start();
    await putWithCursor(ch, 0, 2, "r1", "x");
    expect((ch as Channel).committedCursor).toBeUndefined();
    expect(ch.size()).toBe(2);
    await ch.stop();
  });
});

/**
 * A PUT record of an older format, checksummed with CRC32C. Version 1 (before cursors): payload byte 1 was 0 and the
 * events followed the 32-byte fixed part. Version 2: format byte 2 and an (empty) cursors section before the events.
 */
function oldPut(format: 1 | 2, txid: number, bodies: string[]): Uint8Array {
  const bs = bodies.map((b) => enc.encode(b));
  const fixed = format === 1 ? 32 : 36;
  const plen = fixed + bs.reduce((n, b) => n + 8 + b.byteLength, 0);
  const rec = new Uint8Array(8 + plen);
  const v = new DataView(rec.buffer);
  v.setUint8(8, 1);
  if (format === 2) v.setUint8(9, 2);
  v.setFloat64(12, txid, true);
  v.setFloat64(20, Date.now(), true);
  v.setUint32(28, bs.length, true);
  v.setFloat64(32, bs.reduce((n, b) => n + b.byteLength, 0), true);
  let at = 8 + fixed;
  for (const b of bs) {
    v.setUint32(at + 4, b.byteLength, true);
    rec.set(b, at + 8);
    at += 8 + b.byteLength;
  }
  v.setUint32(0, plen, true);
  v.setUint32(4, crc32c(rec.subarray(8)), true);
  return rec;
}

function v1SegmentHeader(id: number, version = 1): Uint8Array {
  const b = new Uint8Array(16);
  const v = new DataView(b.buffer);
  v.setUint32(0, 0x4c574c53, true);
  v.setUint16(4, version, true);
  v.setUint32(8, id, true);
  v.setUint32(12, crc32c(b.subarray(0, 12)), true);
  return b;
}

/** A version-1 checkpoint: no cursors section. */
function v1Checkpoint(pos: { seg: number; off: number }, runs: { seg: number; off: number; len: number; start: number; end: number }[], bytes: number): Uint8Array {
  const buf = new Uint8Array(40 + runs.length * 28 + 4);
  const v = new DataView(buf.buffer);
  v.setUint32(0, 0x50434c53, true);
  v.setUint16(4, 1, true);
  v.setUint32(8, pos.seg, true);
  v.setUint32(12, pos.off, true);
  v.setFloat64(16, Date.now(), true);
  v.setFloat64(24, bytes, true);
  v.setUint32(32, pos.seg + 1, true);
  v.setUint32(36, runs.length, true);
  let at = 40;
  for (const r of runs) {
    v.setUint32(at, r.seg, true);
    v.setUint32(at + 4, r.off, true);
    v.setUint32(at + 8, r.len, true);
    v.setUint32(at + 12, r.start, true);
    v.setUint32(at + 16, r.end, true);
    v.setFloat64(at + 20, Date.now(), true);
    at += 28;
  }
  v.setUint32(at, crc32c(buf.subarray(0, at)), true);
  return buf;
}

describe("file channel source cursors under kill -9", () => {
  test("a writer resuming from the committed cursor after each kill -9 leaves every number exactly once, in order", async () => {
    const dir = await tempDir();
    const total = 30_000;
    const writer = join(import.meta.dir, "cursor-writer.ts");
    let killed = 0;
    for (let run = 0; run < 6; run++) {
      const p = Bun.spawn([BUN, writer, dir, String(total)], { stdout: "pipe", stderr: "inherit" });
      let out = "";
      void (async () => {
        for await (const chunk of p.stdout) out += new TextDecoder().decode(chunk);
      })();
      await waitFor("writer start", () => out.includes("resuming") || p.exitCode !== null, 20_000);
      // Kill it after a random number of its commits (1 to 150 batches of 20), never after a fixed time: six runs
      // stop well short of the total, so every run is cut by a kill -9 at whatever point of a commit it is.
      const start = Number(/resuming at (\d+)/.exec(out)?.[1] ?? 0);
      const target = Math.min(total, start + 20 * (1 + Math.floor(Math.random() * 150)));
      const reached = () => [...out.matchAll(/at (\d+)\n/g)].some((m) => Number(m[1]) >= target);
      await waitFor("writer progress", () => reached() || p.exitCode !== null, 20_000, 5);
      if (p.exitCode === null) {
        p.kill("SIGKILL");
        killed++;
      }
      await p.exited;
    }
    expect(killed).toBeGreaterThanOrEqual(5);
    const last = Bun.spawn([BUN, writer, dir, String(total)], { stdout: "ignore", stderr: "inherit" });
    expect(await last.exited).toBe(0);
    const ch = await openFile(dir);
    expect(text(ch.committedCursor("w"))).toBe(String(total));
    const got = await drain(ch, 1000, total + 1000);
    expect(got.length).toBe(total);
    expect(got).toEqual(Array.from({ length: total }, (_, i) => String(i)));
    await ch.stop();
  }, 60_000);
});

describe("file channel older formats", () => {
  test("reads a version-2 segment (records checksummed with CRC32C) with no checkpoint, then appends in the current version", async () => {
    await initCrc32c();
    const dir = await tempDir();
    await mkdir(join(dir, "data"), { recursive: true });
    await mkdir(join(dir, "checkpoint"), { recursive: true });
    const a = oldPut(2, 1, ["e0", "e1"]);
    const b = oldPut(2, 2, ["e2"]);
    const seg = new Uint8Array(16 + a.byteLength + b.byteLength);
    seg.set(v1SegmentHeader(1, 2), 0);
    seg.set(a, 16);
    seg.set(b, 16 + a.byteLength);
    await writeFile(join(dir, "data", "log-0000000001"), seg);
    const ch = await openFile(dir);
    expect(ch.size()).toBe(3);
    await putWithCursor(ch, 3, 2, "r1", "new");
    expect(await drain(ch)).toEqual(["e0", "e1", "e2", "e3", "e4"]);
    await ch.stop();
    const back = await openFile(dir);
    expect(text(back.committedCursor("r1"))).toBe("new");
    expect(back.size()).toBe(0);
    await back.stop();
  });

  test("reads a version-1 segment and checkpoint (written before cursors), then appends in the current version", async () => {
    await initCrc32c();
    const dir = await tempDir();
    await mkdir(join(dir, "data"), { recursive: true });
    await mkdir(join(dir, "checkpoint"), { recursive: true });
    const a = oldPut(1, 1, ["e0", "e1", "e2"]);
    const b = oldPut(1, 2, ["e3", "e4"]);
    const seg = new Uint8Array(16 + a.byteLength + b.byteLength);
    seg.set(v1SegmentHeader(1), 0);
    seg.set(a, 16);
    seg.set(b, 16 + a.byteLength);
    await writeFile(join(dir, "data", "log-0000000001"), seg);
    // The checkpoint covers the first record (its events still queued); the second is replayed after it.
    await writeFile(join(dir, "checkpoint", "checkpoint"), v1Checkpoint({ seg: 1, off: 16 + a.byteLength }, [{ seg: 1, off: 16, len: a.byteLength, start: 1, end: 3 }], 4));
    const ch = await openFile(dir);
    expect(ch.size()).toBe(4);
    expect(ch.committedCursor("r1")).toBeUndefined();
    await putWithCursor(ch, 5, 2, "r1", "new");
    expect(await drain(ch)).toEqual(["e1", "e2", "e3", "e4", "e5", "e6"]);
    await ch.stop();
    const back = await openFile(dir);
    expect(text(back.committedCursor("r1"))).toBe("new");
    expect(back.size()).toBe(0);
    await back.stop();
  });
});
