// Benchmark: how long decoding one large Avro RPC call (an appendBatch of maxFrameBytes, 32 MiB by default) holds the
// event loop: Reader.events() in one piece vs Reader.eventsSliced() (the avro source's path), the largest gap between
// 1 ms ticks while it runs.
// Run: node_modules/.bin/bun bench/avro-frame-lag.ts [MiB]   (default 32)

import { encodeEvents, Reader } from "../src/avro/codec.ts";
import type { Event } from "../src/core/event.ts";
import { report } from "./ops-common.ts";

const MIB = Number(process.argv[2] ?? 32);
const body = new Uint8Array(200).fill(0x61);
const n = Math.floor((MIB * 1048576) / 230);
const events: Event[] = Array.from({ length: n }, (_, i) => ({ headers: { seq: String(i) }, body }));
const pack = encodeEvents(events);

async function maxGapDuring(work: () => unknown): Promise<number> {
  let maxGap = 0;
  let last = performance.now();
  const tick = setInterval(() => {
    const now = performance.now();
    maxGap = Math.max(maxGap, now - last);
    last = now;
  }, 1);
  await Bun.sleep(5);
  last = performance.now();
  await work();
  await Bun.sleep(5);
  clearInterval(tick);
  return Math.max(maxGap, performance.now() - last);
}

const mib = (pack.byteLength / 1048576).toFixed(1);
report("avro-frame-lag", `appendBatch of ${n} events, ${mib} MiB: longest hold ms, whole`, Math.round(await maxGapDuring(() => new Reader(pack).events())));
report("avro-frame-lag", `appendBatch of ${n} events, ${mib} MiB: longest hold ms, sliced`, Math.round(await maxGapDuring(() => new Reader(pack).eventsSliced())), "≤ 50");
