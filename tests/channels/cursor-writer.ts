// A stand-in for a file source, run as its own process by file-cursor.test.ts: it resumes from the file channel's
// committed cursor (here: the next number to send) and puts numbered batches, each with its cursor, until `total`.
// After each commit it prints `at <next>`, so the test can kill it at a point of its progress rather than of the clock
// (on a fast disk the whole run takes less time than a timed kill would wait).
// Usage: bun tests/channels/cursor-writer.ts <dir> <total>

import { FileChannel } from "../../src/channels/file/index.ts";
import { makeEvent } from "../../src/core/event.ts";
import { fileConfig, log } from "./file-helpers.ts";

const [dir, totalArg] = process.argv.slice(2);
const total = Number(totalArg);
const BATCH = 20;
const ch = new FileChannel("c1", fileConfig(dir!, { checkpointInterval: 200, maxFileSize: 65_536 }), dir!, log);
await ch.start();
const committed = ch.committedCursor("w");
let next = committed ? Number(new TextDecoder().decode(committed)) : 0;
console.log(`resuming at ${next}`);
while (next < total) {
  const n = Math.min(BATCH, total - next);
  const tx = ch.begin();
  tx.put(Array.from({ length: n }, (_, i) => makeEvent(String(next + i))), undefined, { source: "w", cursor: new TextEncoder().encode(String(next + n)) });
  await tx.commit();
  next += n;
  console.log(`at ${next}`);
}
await ch.stop();
console.log("done");
