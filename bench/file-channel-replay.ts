// Benchmark: file channel restart time with a large backlog (default 1 GiB of 200-byte events, batch 1000).
//  - "checkpoint": clean stop (checkpointOnClose), restart loads the checkpoint and replays nothing;
//  - "full replay": no checkpoint covers the backlog (as after kill -9 before the first checkpoint), every WAL
//    record is read and CRC-checked. Page cache warm unless /proc/sys/vm/drop_caches is writable (then also cold).
// Goal (issue 3): <= 5 s for 1 GiB. Run: node_modules/.bin/bun bench/file-channel-replay.ts [MiB]   (default $BENCH_MIB, else 1024)

import { mkdtemp, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { FileChannel, fileChannelKeys, type FileChannelConfig } from "../src/channels/file/index.ts";
import type { Event } from "../src/core/event.ts";
import { configureLogging, getLogger } from "../src/util/log.ts";
import { benchMiB } from "./lines-common.ts";

configureLogging({ level: "warn" });
const MIB = benchMiB(1024);
const BODY = 200;
const BATCH = 1000;
const log = getLogger("bench");

function config(dir: string, over: Partial<FileChannelConfig>): FileChannelConfig {
  const d = Object.fromEntries(Object.entries(fileChannelKeys).map(([k, v]) => [k, v.default])) as FileChannelConfig;
  return { ...d, checkpointDir: join(dir, "ckpt"), dataDirs: [join(dir, "data")], transactionCapacity: BATCH, capacity: 100_000_000, checkpointInterval: 3_600_000, minimumRequiredSpace: 0, ...over };
}

const buf = new Uint8Array(BODY * BATCH).fill(0x62);
const batch: Event[] = Array.from({ length: BATCH }, (_, i) => ({ headers: {}, body: buf.subarray(i * BODY, (i + 1) * BODY) }));

async function dropCaches(): Promise<boolean> {
  try {
    await writeFile("/proc/sys/vm/drop_caches", "3\n");
    return true;
  } catch {
    return false;
  }
}

async function timeStart(dir: string, over: Partial<FileChannelConfig>): Promise<{ ms: number; size: number }> {
  const ch = new FileChannel("c1", config(dir, { checkpointOnClose: false, cacheBytes: 0, ...over }), dir, log);
  const t0 = performance.now();
  await ch.start();
  const ms = performance.now() - t0;
  const size = ch.size();
  await ch.stop();
  return { ms, size };
}

const dir = await mkdtemp(join(tmpdir(), "sluice-bench-replay-"));
const events = Math.floor((MIB * 1024 * 1024) / BODY / BATCH) * BATCH;
{
  const ch = new FileChannel("c1", config(dir, { checkpointOnClose: false, cacheBytes: 0 }), dir, log);
  await ch.start();
  const t0 = performance.now();
  const inflight: Promise<void>[] = [];
  for (let i = 0; i < events; i += BATCH) {
    const tx = ch.begin();
    tx.put(batch);
    inflight.push(tx.commit());
    if (inflight.length >= 4) await inflight.shift();
  }
  await Promise.all(inflight);
  const secs = (performance.now() - t0) / 1000;
  await ch.stop();
  console.log(JSON.stringify({ bench: "file-channel-replay fill", metric: "MiB/s", value: Math.round(MIB / secs) }));
}
const full = await timeStart(dir, {});
if (full.size !== events) throw new Error(`replayed ${full.size} events, expected ${events}`);
console.log(JSON.stringify({ bench: `file-channel-replay full replay ${MIB} MiB (warm cache)`, metric: "ms", value: Math.round(full.ms), goal: "<= 5000" }));
// That start wrote a checkpoint covering the whole backlog: the next start replays nothing.
const ck = await timeStart(dir, {});
console.log(JSON.stringify({ bench: `file-channel-replay from checkpoint ${MIB} MiB backlog`, metric: "ms", value: Math.round(ck.ms), goal: "<= 5000" }));
await rm(join(dir, "ckpt", "checkpoint"));
if (await dropCaches()) {
  const cold = await timeStart(dir, {});
  console.log(JSON.stringify({ bench: `file-channel-replay full replay ${MIB} MiB (cold cache)`, metric: "ms", value: Math.round(cold.ms), goal: "<= 5000" }));
}
await rm(dir, { recursive: true, force: true });
