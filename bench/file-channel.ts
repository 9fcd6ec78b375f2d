// Benchmark: file channel put+take throughput with fsync per commit (the default), 200-byte events, batches of 100
// and 1000. Producers and one consumer run concurrently in one process, so puts and takes share group commits.
// Goal (issue 3): >= 200 k events/s (~40 MiB/s). Run: node_modules/.bin/bun bench/file-channel.ts [events]

import { mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { FileChannel, fileChannelKeys, type FileChannelConfig } from "../src/channels/file/index.ts";
import type { Channel } from "../src/core/channel.ts";
import type { Event } from "../src/core/event.ts";
import { configureLogging, getLogger } from "../src/util/log.ts";

configureLogging({ level: "warn" });
const TOTAL = Number(process.argv[2] ?? 2_000_000);
const BODY = 200;

function config(dir: string, batch: number): FileChannelConfig {
  const d = Object.fromEntries(Object.entries(fileChannelKeys).map(([k, v]) => [k, v.default])) as FileChannelConfig;
  return { ...d, checkpointDir: join(dir, "ckpt"), dataDirs: [join(dir, "data")], transactionCapacity: batch, capacity: 1_000_000 };
}

function makeBatch(n: number): Event[] {
  const buf = new Uint8Array(BODY * n).fill(0x61);
  return Array.from({ length: n }, (_, i) => ({ headers: {}, body: buf.subarray(i * BODY, (i + 1) * BODY) }));
}

async function producer(ch: Channel, batch: number, count: number): Promise<void> {
  for (let done = 0; done < count; done += batch) {
    const tx = ch.begin();
    tx.put(makeBatch(batch));
    await tx.commit();
  }
}

async function consumer(ch: Channel, batch: number, count: number): Promise<void> {
  let got = 0;
  while (got < count) {
    const tx = ch.begin();
    const ev = await tx.take(batch);
    await tx.commit();
    got += ev.length;
    if (ev.length === 0) await ch.waitForEvents(50);
  }
}

async function run(batch: number, producers: number): Promise<void> {
  const dir = await mkdtemp(join(tmpdir(), "sluice-bench-file-"));
  const ch = new FileChannel("c1", config(dir, batch), dir, getLogger("bench"));
  await ch.start();
  const per = Math.floor(TOTAL / producers / batch) * batch;
  const t0 = performance.now();
  await Promise.all([...Array.from({ length: producers }, () => producer(ch, batch, per)), consumer(ch, batch, per * producers)]);
  const secs = (performance.now() - t0) / 1000;
  const { rounds, fsyncs } = ch.walStats();
  await ch.stop();
  await rm(dir, { recursive: true, force: true });
  const n = per * producers;
  const label = `file-channel put+take fsync/commit batch ${batch}, ${producers} producer${producers > 1 ? "s" : ""}`;
  console.log(JSON.stringify({ bench: label, metric: "events/s", value: Math.round(n / secs), goal: ">= 200000", commits: (2 * n) / batch, rounds, fsyncs }));
  console.log(JSON.stringify({ bench: label, metric: "MiB/s", value: Math.round((n * BODY) / secs / 1024 / 1024) }));
}

await run(100, 1);
await run(100, 4);
await run(1000, 1);
await run(1000, 4);
