// The cursor a TAILDIR source commits with each batch (src/sources/taildir/cursor.ts) and the channel processor's rules
// for it: carried to every durable channel, used only when every channel is durable, the smallest offset of all wins.

import { describe, expect, onTestFinished, test } from "bun:test";
import { ChannelProcessor, type ChannelSelector, type Interceptor } from "../../src/core/channel-processor.ts";
import type { Channel } from "../../src/core/channel.ts";
import { MemoryChannel } from "../../src/channels/memory.ts";
import { ReplicatingSelector } from "../../src/selectors/replicating.ts";
import { CURSOR_MAX_BYTES, CursorBuilder, decodeCursor, resumeRecords } from "../../src/sources/taildir/cursor.ts";
import type { PositionRecord } from "../../src/sources/taildir/position-file.ts";
import type { TailFile } from "../../src/sources/taildir/reader.ts";
import { getLogger } from "../../src/util/log.ts";
import { tempDir } from "../helpers/index.ts";
import { drain, events, openFile } from "../channels/file-helpers.ts";

const log = { ...getLogger("test"), warn: () => {}, error: () => {} } as ReturnType<typeof getLogger>;

/** The fields of a TailFile the builder reads. */
function file(dev: number, ino: number, path: string, fp = 0xabcd, len = 1024): TailFile {
  return { dev, ino, path, fp: { crc: fp, len }, deleted: false } as unknown as TailFile;
}

function cursorOf(entries: Array<[TailFile, number]>): Uint8Array {
  const b = new CursorBuilder();
  let c: Uint8Array = new Uint8Array();
  for (const [tf, end] of entries) c = b.after(tf, end);
  return c;
}

describe("TAILDIR cursor encoding", () => {
  test("a cursor names every file put so far at the end of its last batch, and decodes to position records", () => {
    const a = file(2049, 11, "/var/log/app.log");
    const b = file(2049, 12, "/var/log/app.log.1", 0x1234, 300);
    const builder = new CursorBuilder();
    builder.seed([{ inode: 13, pos: 77, file: "/var/log/app.log.2", dev: 2049, fp: 5, fplen: 1024 }]);
    builder.after(a, 100);
    builder.after(b, 40);
    const c = builder.after(a, 250);
    expect(decodeCursor(c)).toEqual([
      { inode: 13, pos: 77, file: "/var/log/app.log.2", dev: 2049, fp: 5, fplen: 1024 },
      { inode: 12, pos: 40, file: "/var/log/app.log.1", dev: 2049, fp: 0x1234, fplen: 300 },
      { inode: 11, pos: 250, file: "/var/log/app.log", dev: 2049, fp: 0xabcd, fplen: 1024 },
    ]);
  });

  test("a renamed file or a changed fingerprint is re-encoded; a deleted file is left out; the cursor stays within 64 KiB", () => {
    const a = file(1, 1, "/l/app.log", 1, 10);
    const b = new CursorBuilder();
    b.after(a, 10);
    a.path = "/l/app.log.1";
    a.fp = { crc: 2, len: 20 };
    expect(decodeCursor(b.after(a, 20))).toEqual([{ inode: 1, pos: 20, file: "/l/app.log.1", dev: 1, fp: 2, fplen: 20 }]);
    (a as { deleted: boolean }).deleted = true;
    const other = file(1, 2, "/l/app.log");
    expect(decodeCursor(b.after(other, 5))).toEqual([{ inode: 2, pos: 5, file: "/l/app.log", dev: 1, fp: 0xabcd, fplen: 1024 }]);
    // 3000 files with long paths: the least recently put are left to the position file.
    let last: Uint8Array = new Uint8Array();
    for (let i = 0; i < 3000; i++) last = b.after(file(1, 100 + i, `/l/${"x".repeat(40)}-${i}.log`), i);
    expect(last.length).toBeLessThanOrEqual(CURSOR_MAX_BYTES);
    const recs = decodeCursor(last) as PositionRecord[];
    expect(recs.at(-1)).toMatchObject({ inode: 3099, pos: 2999 });
    expect(recs.length).toBeLessThan(3000);
  });

  test("a damaged cursor is refused with a reason, never trusted: bad version, a count the bytes cannot hold, a cut path", () => {
    const good = cursorOf([[file(1, 1, "/l/app.log"), 9]]);
    expect(decodeCursor(good)).toHaveLength(1);
    const badVersion = good.slice();
    badVersion[0] = 9;
    expect(decodeCursor(badVersion)).toBe("unknown version 9");
    const hugeCount = good.slice();
    new DataView(hugeCount.buffer).setUint32(4, 0xffffffff, true);
    expect(decodeCursor(hugeCount)).toContain("declares 4294967295 entries");
    expect(decodeCursor(good.subarray(0, good.length - 3))).toContain("runs past the end");
    expect(decodeCursor(new Uint8Array(3))).toContain("too short");
  });
});

describe("TAILDIR resume from committed cursors", () => {
  const rec = (inode: number, pos: number, fp = 0xabcd, fplen = 1024): PositionRecord => ({ inode, pos, file: `/l/f${inode}`, dev: 1, fp, fplen });

  test("a cursor ahead of the position file moves its record forward; a file the position file lacks is added", () => {
    const c = cursorOf([[file(1, 1, "/l/f1"), 500], [file(1, 2, "/l/f2"), 40]]);
    const r = resumeRecords([rec(1, 300), rec(3, 10)], [c], log.warn);
    expect(r.resumed).toBe(2);
    expect(r.records.map((x) => [x.inode, x.pos])).toEqual([[1, 500], [3, 10], [2, 40]]);
  });

  test("a position record ahead of the cursor, or of a different content of the same inode, is kept", () => {
    const c = cursorOf([[file(1, 1, "/l/f1"), 500], [file(1, 2, "/l/f2", 0x1111), 900]]);
    const r = resumeRecords([rec(1, 700), rec(2, 100, 0x2222)], [c], log.warn);
    expect(r.resumed).toBe(0);
    expect(r.records.map((x) => [x.inode, x.pos])).toEqual([[1, 700], [2, 100]]);
  });

  test("with several channels a file resumes from the smallest offset; a file one channel does not name keeps its record", () => {
    const c1 = cursorOf([[file(1, 1, "/l/f1"), 500], [file(1, 2, "/l/f2"), 80]]);
    const c2 = cursorOf([[file(1, 1, "/l/f1"), 450]]);
    const r = resumeRecords([rec(1, 100), rec(2, 20)], [c1, c2], log.warn);
    expect(r.records.map((x) => [x.inode, x.pos])).toEqual([[1, 450], [2, 20]]);
  });

  test("an unusable cursor leaves the position file alone, with a warning", () => {
    const warned: string[] = [];
    const r = resumeRecords([rec(1, 100)], [new Uint8Array([7, 0, 0, 0, 0, 0, 0, 0])], (m) => warned.push(m));
    expect(r.records).toEqual([rec(1, 100)]);
    expect(warned.join()).toContain("unusable (unknown version 7)");
  });
});

describe("channel processor and source cursors", () => {
  const cursor = (s: string) => ({ source: "r1", cursor: new TextEncoder().encode(s) });
  const text = (b: Uint8Array | undefined) => (b === undefined ? undefined : new TextDecoder().decode(b));

  async function fileChannels(n: number): Promise<Channel[]> {
    const out: Channel[] = [];
    for (let i = 0; i < n; i++) {
      const ch = await openFile(await tempDir());
      onTestFinished(() => ch.stop());
      out.push(ch);
    }
    return out;
  }

  test("only when every channel is durable may a source resume from cursors: a memory channel beside a file channel says no", async () => {
    const [f] = await fileChannels(1);
    const m = new MemoryChannel("m1", { capacity: 100, transactionCapacity: 100, byteCapacity: 0, byteCapacityBufferPercentage: 20, "keep-alive": 0 });
    expect(new ChannelProcessor(new ReplicatingSelector([f!]), [], log).cursorsDurable).toBe(true);
    const mixed = new ChannelProcessor(new ReplicatingSelector([f!, m]), [], log);
    expect(mixed.cursorsDurable).toBe(false);
    expect(mixed.committedCursors("r1")).toBeUndefined();
  });

  test("a cursor reaches every file channel: with the events, alone where the selector routes none, and when a filter drops the batch", async () => {
    const [a, b] = await fileChannels(2);
    // Routes everything to `a`: `b` gets only cursors.
    const onlyA: ChannelSelector = { channels: [a!, b!], route: (events) => [{ channel: a!, events, optional: false }] };
    let dropAll = false;
    const filter: Interceptor = { intercept: (es) => (dropAll ? [] : es) };
    const p = new ChannelProcessor(onlyA, [filter], log);
    expect(p.committedCursors("r1")).toBeUndefined(); // nothing committed yet
    expect(await p.putBatch(events(0, 5), undefined, cursor("f:5"))).toBe("ok");
    expect(p.committedCursors("r1")!.map(text)).toEqual(["f:5", "f:5"]);
    dropAll = true;
    expect(await p.putBatch(events(5, 5), undefined, cursor("f:10"))).toBe("ok");
    expect(p.committedCursors("r1")!.map(text)).toEqual(["f:10", "f:10"]);
    expect(await drain(a!)).toEqual(["e0", "e1", "e2", "e3", "e4"]);
    expect(await drain(b!)).toEqual([]);
  });
});
