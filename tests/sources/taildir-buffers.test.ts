// The lifetime of TAILDIR's reused read buffers: lines are views of a slab, and a slab is overwritten only once
// nothing can read those views any more — every batch with lines in it safe, no queued line left in it, and no put
// of it retried (a channel may still hold the first attempt).

import { describe, expect, test } from "bun:test";
import { stat, writeFile } from "node:fs/promises";
import { join } from "node:path";
import type { Ack } from "../../src/core/ack.ts";
import { TailFile, type TakenBatch, type TailOptions } from "../../src/sources/taildir/reader.ts";
import { SlabPool } from "../../src/util/lines.ts";
import { onCleanup, tempDir } from "../helpers/index.ts";
import { delivered, numbered, range, startAgent, waitForLines } from "./taildir-harness.ts";

const SLAB = 4096;
const opts: TailOptions = { batchSize: 10, maxLineLength: 1024, overlong: "truncate", readBytes: SLAB, byteOffsetHeader: false, emitPartialOnIdle: false };
const text = (b: TakenBatch) => b.events.map((e) => new TextDecoder().decode(e.body));

/** A TailFile over `lines` numbered lines (~20 B each: ~200 lines per 4 KiB slab), reading through `pool`. */
async function tailFile(lines: number, pool: SlabPool): Promise<TailFile> {
  const dir = await tempDir("sluice-taildir-buffers-");
  const path = join(dir, "app.log");
  await writeFile(path, numbered("line-number-", 0, lines));
  const st = await stat(path);
  const tf = new TailFile(path, st.dev, st.ino, "g1", 0, {}, opts, () => {}, pool);
  await tf.open();
  onCleanup(() => tf.close());
  tf.size = st.size;
  return tf;
}

/** Takes every batch the file has, issuing one Ack each (released at once with `safe`: a sink that keeps up). */
async function takeAll(tf: TailFile, safe = false): Promise<Array<{ b: TakenBatch; ack: Ack; lines: string[] }>> {
  const out = [];
  for (;;) {
    let b = tf.takeBatch();
    if (!b) {
      await tf.fill(Date.now());
      b = tf.takeBatch();
    }
    if (!b) return out;
    const ack = tf.issue(b);
    out.push({ b, ack, lines: text(b) });
    if (safe) ack.release();
  }
}

describe("TAILDIR read buffers", () => {
  test("a slab is not overwritten while a batch with lines in it is unsafe, and is reused once all are safe", async () => {
    const pool = new SlabPool(SLAB, 4);
    const tf = await tailFile(2000, pool);
    const taken = await takeAll(tf);
    // Nothing safe yet: every read needed a slab of its own, and every line still reads as it was read.
    expect(pool.reused).toBe(0);
    expect(pool.allocated).toBeGreaterThan(5);
    for (const t of taken) expect(text(t.b)).toEqual(t.lines);
    expect(taken.flatMap((t) => t.lines)).toEqual(range("line-number-", 0, 2000));
    // Safe in order: the slabs come back to the pool, and a new read takes one of them.
    for (const t of taken) t.ack.release();
    expect(tf.safeOffset).toBe(tf.size);
    await writeFile(tf.path, numbered("more-", 0, 3000), { flag: "a" });
    tf.size = (await stat(tf.path)).size;
    const more = await takeAll(tf);
    expect(pool.reused).toBeGreaterThan(0);
    expect(more.flatMap((t) => t.lines)).toEqual(range("more-", 0, 3000));
  });

  test("a slab still viewed by a queued line or an unsafe later batch is not reused when an earlier batch turns safe", async () => {
    const pool = new SlabPool(SLAB, 4);
    const tf = await tailFile(400, pool);
    const taken = await takeAll(tf);
    // The first batch is safe; the others (in the same slabs) are not.
    taken[0]!.ack.release();
    await writeFile(tf.path, numbered("next-", 0, 2000), { flag: "a" });
    tf.size = (await stat(tf.path)).size;
    const more = await takeAll(tf);
    expect(pool.reused).toBe(0);
    for (const t of [...taken.slice(1), ...more]) expect(text(t.b)).toEqual(t.lines);
  });

  test("a batch whose put was retried gives up its slabs for good: they are never handed out again", async () => {
    const pool = new SlabPool(SLAB, 64);
    const tf = await tailFile(150, pool); // one slab
    await tf.fill(Date.now());
    const b = tf.takeBatch()!;
    const first = { b, lines: text(b) };
    // The first attempt was refused (its Ack cancelled); the retry gets a new Ack and is accepted.
    tf.issue(b).cancel();
    tf.issue(b).release();
    for (const t of await takeAll(tf)) t.ack.release();
    expect(tf.safeOffset).toBe(tf.size);
    await writeFile(tf.path, numbered("after-", 0, 3000), { flag: "a" });
    tf.size = (await stat(tf.path)).size;
    const after = await takeAll(tf, true);
    expect(after.flatMap((t) => t.lines)).toEqual(range("after-", 0, 3000));
    // Reads went on through reused slabs, but never the abandoned one: the retried batch reads as it was read.
    expect(pool.reused).toBeGreaterThan(0);
    expect(text(first.b)).toEqual(first.lines);
  });

  test("end to end through a memory channel with 4 KiB reads: every line byte for byte while slabs are reused", async () => {
    const root = await tempDir("sluice-taildir-buffers-");
    const logs = join(root, "logs");
    await (await import("node:fs/promises")).mkdir(logs);
    // Lines of many lengths, so lines cross slab boundaries at every offset.
    let body = "";
    const want: string[] = [];
    for (let i = 0; i < 20_000; i++) {
      const l = `L${i}-` + "abcdefghij".repeat(i % 37);
      want.push(l);
      body += l + "\n";
    }
    await writeFile(join(logs, "app.log"), body);
    const r = await startAgent(root, ["type = TAILDIR", "filegroups = g1", `filegroups.g1 = ${logs}/app[.]log`, "batchSize = 50", "readBufferSize = 4k", "backoffSleepIncrement = 50", "maxBackoffSleep = 200"], {
      channel: ["capacity = 500", "transactionCapacity = 50"],
      sink: ["sink.batchSize = 50"],
    });
    await waitForLines(r.out, want.length, 30_000);
    const pool = (r.agent.sources.get("r1")!.source as unknown as { discovery: { pool?: SlabPool } }).discovery.pool;
    await r.stop();
    expect(await delivered(r.out)).toEqual(want);
    expect(pool).toBeDefined();
    expect(pool!.reused).toBeGreaterThan(10);
  }, 60_000);
});
