// Every source runs the source contract (contract.ts). A new source joins with one line below.

import { appendFile, rename, writeFile } from "node:fs/promises";
import { mkdirSync } from "node:fs";
import { join } from "node:path";
import { AvroRpcClient } from "../../src/avro/client.ts";
import { makeEvent } from "../../src/core/event.ts";
import { configureLogging } from "../../src/util/log.ts";
import { bodyOf, sourceContract } from "./contract.ts";

configureLogging({ level: "error" });

const range = (from: number, n: number) => Array.from({ length: n }, (_, i) => from + i);
const lines = (from: number, n: number) => range(from, n).map((i) => bodyOf(i) + "\n").join("");

sourceContract("seq", { kind: "generates", keys: (total, batch) => ["type = seq", `totalEvents = ${total}`, `batchSize = ${batch}`] });

sourceContract("TAILDIR", {
  kind: "rereads",
  keys: (dir, batch) => ["type = TAILDIR", "filegroups = f1", `filegroups.f1 = ${dir}/app[.]log`, `batchSize = ${batch}`, "backoffSleepIncrement = 20ms", "maxBackoffSleep = 100ms"],
  write: (dir, from, n) => appendFile(join(dir, "app.log"), lines(from, n)),
});

sourceContract("spooldir", {
  kind: "rereads",
  keys: (dir, batch) => {
    mkdirSync(join(dir, "spool"), { recursive: true });
    return ["type = spooldir", `spoolDir = ${dir}/spool`, `batchSize = ${batch}`, "pollDelay = 20ms", "maxBackoff = 100ms"];
  },
  // A complete file appears at once (written aside, then renamed in), as the spooldir contract requires.
  write: async (dir, from, n) => {
    const aside = join(dir, `part-${from}.tmp`);
    await writeFile(aside, lines(from, n));
    await rename(aside, join(dir, "spool", `part-${String(from).padStart(6, "0")}.log`));
  },
});

sourceContract("http", {
  kind: "replies",
  keys: (port) => ["type = http", "bind = 127.0.0.1", `port = ${port}`],
  send: async (port, from, n) => {
    const res = await fetch(`http://127.0.0.1:${port}/`, { method: "POST", headers: { "Content-Type": "application/json" }, body: JSON.stringify(range(from, n).map((i) => ({ headers: {}, body: bodyOf(i) }))) });
    await res.arrayBuffer();
    return res.status === 200;
  },
});

sourceContract("avro", {
  kind: "replies",
  keys: (port) => ["type = avro", "bind = 127.0.0.1", `port = ${port}`],
  send: async (port, from, n) => {
    const c = new AvroRpcClient({ host: "127.0.0.1", port, connectTimeoutMs: 5000, requestTimeoutMs: 5000, limits: { maxPackBytes: 1 << 20, maxBuffers: 16 } });
    await c.connect();
    try {
      return (await c.appendBatch(range(from, n).map((i) => makeEvent(bodyOf(i))))) === "OK";
    } finally {
      c.close();
    }
  },
});
