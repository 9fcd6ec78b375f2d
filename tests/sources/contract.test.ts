// Every source runs the source contract (contract.ts). A new source joins with one line below. Not here: the UDP
// sources (netcatudp, syslogudp), which by design drop datagrams beyond maxQueued while a channel is full (counted).

import { appendFile, rename, writeFile } from "node:fs/promises";
import { mkdirSync } from "node:fs";
import { join } from "node:path";
import { connect } from "node:net";
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

sourceContract("exec", { kind: "generates", keys: (total, batch) => ["type = exec", `command = seq 0 ${total - 1}`, `batchSize = ${batch}`, "batchTimeout = 20ms"] });

sourceContract("syslogtcp", {
  kind: "streams",
  body: (i) => `app: ${bodyOf(i)}`,
  keys: (port) => ["type = syslogtcp", "host = 127.0.0.1", `port = ${port}`, "batchSize = 10"],
  write: (port, from, n) => syslogLines(port, range(from, n).map((i) => `<13>Dec  3 12:00:00 edge app: ${bodyOf(i)}`)),
});

sourceContract("multiport_syslogtcp", {
  kind: "streams",
  body: (i) => `app: ${bodyOf(i)}`,
  keys: (port) => ["type = multiport_syslogtcp", "host = 127.0.0.1", `ports = ${port}`, "batchSize = 10"],
  write: (port, from, n) => syslogLines(port, range(from, n).map((i) => `<13>Dec  3 12:00:00 edge app: ${bodyOf(i)}`)),
});

sourceContract("netcat", {
  kind: "streams",
  keys: (port) => ["type = netcat", "bind = 127.0.0.1", `port = ${port}`, "batchSize = 10"],
  // Netcat answers each line once it is committed: the write is done when every line got its OK.
  write: (port, from, n) =>
    new Promise<void>((resolve, reject) => {
      let answers = "";
      const s = connect(port, "127.0.0.1", () => s.write(lines(from, n)));
      s.on("data", (d) => {
        answers += d.toString();
        const got = answers.split("\n").filter((l) => l !== "");
        if (got.some((l) => l !== "OK")) reject(new Error(`netcat answered ${got.find((l) => l !== "OK")}`));
        else if (got.length === n) {
          s.end();
          resolve();
        }
      });
      s.on("error", reject);
    }),
});

/** Writes lines down one TCP connection and closes it. */
function syslogLines(port: number, msgs: string[]): Promise<void> {
  return new Promise<void>((resolve, reject) => {
    const s = connect(port, "127.0.0.1", () => s.end(msgs.map((m) => m + "\n").join(""), () => resolve()));
    s.on("error", reject);
  });
}
