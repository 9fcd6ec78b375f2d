// Every sink runs the sink contract (contract.ts) against a real destination. A new sink joins with one line below.

import { mkdir, readdir, readFile, rename, rm, writeFile } from "node:fs/promises";
import { join } from "node:path";
import { buildAgentSpec } from "../../src/config/load.ts";
import { Agent } from "../../src/core/agent.ts";
import { configureLogging } from "../../src/util/log.ts";
import { freePort, onCleanup } from "../helpers/index.ts";
import { sinkContract, type SinkHarness } from "./contract.ts";

configureLogging({ level: "error" });

const text = (b: Uint8Array) => new TextDecoder().decode(b);

sinkContract("null", { canFail: false, open: async (_dir, batch) => ({ keys: ["type = null", `batchSize = ${batch}`] }) });

sinkContract("logger", {
  canFail: false,
  open: async (_dir, batch) => {
    // The logger sink's destination is the log: capture its lines while the test runs.
    const lines: string[] = [];
    configureLogging({ level: "info", write: (l) => lines.push(l) });
    return {
      keys: ["type = logger", `batchSize = ${batch}`, "maxBytesToLog = 64"],
      delivered: async () => lines.flatMap((l) => /Event: \{ headers:\{.*\} body: (?:[0-9A-F]{2} )+(.*) \}$/.exec(l)?.slice(1) ?? []),
      close: () => configureLogging({ level: "error", write: (l) => process.stderr.write(l + "\n") }),
    };
  },
});

sinkContract("file_roll", {
  canFail: true,
  open: async (dir, batch) => {
    const out = join(dir, "out");
    const before = join(dir, "out-before");
    /** Lines of every file written, in the order the sink wrote them (files are <series>-<n>). */
    const linesIn = async (d: string) => {
      const names = (await readdir(d).catch(() => [] as string[])).sort((a, b) => Number(a.split("-").pop()) - Number(b.split("-").pop()));
      const out: string[] = [];
      for (const n of names) out.push(...(await readFile(join(d, n), "utf8")).split("\n").filter((l) => l !== ""));
      return out;
    };
    return {
      // A new file per take (rollInterval 1 ms), so a broken directory fails the next take.
      keys: ["type = file_roll", `sink.directory = ${out}`, `sink.batchSize = ${batch}`, "sink.rollInterval = 1ms"],
      delivered: async () => [...(await linesIn(before)), ...(await linesIn(out))],
      break: async () => {
        await rename(out, before);
        await writeFile(out, "a plain file where the directory should be");
        await Bun.sleep(10);
      },
      heal: () => rm(out),
    };
  },
});

sinkContract("http", httpHarness([]));
sinkContract("http (parallelRequests = 4)", httpHarness(["parallelRequests = 4"], true));

function httpHarness(extra: string[], unordered = false): SinkHarness {
  return {
    canFail: true,
    unordered,
    open: async (_dir, batch) => {
      const bodies: string[] = [];
      let broken = false;
      const port = await freePort();
      const server = Bun.serve({
        hostname: "127.0.0.1",
        port,
        async fetch(req) {
          const events = (await req.json()) as Array<{ body: string }>;
          if (broken) return new Response("down", { status: 503 });
          bodies.push(...events.map((e) => e.body));
          return new Response("ok");
        },
      });
      onCleanup(() => server.stop(true));
      return {
        keys: ["type = http", `endpoint = http://127.0.0.1:${port}/`, `batchSize = ${batch}`, "maxBackoff = 50ms", ...extra],
        delivered: async () => [...bodies],
        break: async () => void (broken = true),
        heal: async () => void (broken = false),
        close: () => server.stop(true),
      };
    },
  };
}

sinkContract("avro", {
  canFail: true,
  open: async (dir, batch) => {
    // The destination is a real avro source of another agent; broken = that agent stopped.
    const port = await freePort();
    const received: string[] = [];
    let receiver: Agent | undefined;
    const collect = async () => {
      const ch = receiver?.channels.get("c1");
      if (!ch) return;
      for (;;) {
        const tx = ch.begin();
        const got = await tx.take(100);
        await tx.commit();
        if (got.length === 0) return;
        received.push(...got.map((e) => text(e.body)));
      }
    };
    const start = async () => {
      const lines = [
        "a1.sources = r1", "a1.channels = c1",
        "a1.sources.r1.type = avro", "a1.sources.r1.bind = 127.0.0.1", `a1.sources.r1.port = ${port}`, "a1.sources.r1.channels = c1",
        "a1.channels.c1.type = memory", "a1.channels.c1.capacity = 10000", "a1.channels.c1.transactionCapacity = 1000",
      ];
      const built = buildAgentSpec(lines.join("\n") + "\n", "receiver.conf", "a1");
      receiver = await Agent.build(built.spec!, { stateDir: join(dir, "receiver-state") });
      await receiver.start();
      const r = receiver;
      onCleanup(() => r.stop(0));
    };
    await mkdir(join(dir, "receiver-state"), { recursive: true });
    await start();
    return {
      keys: ["type = avro", "hostname = 127.0.0.1", `port = ${port}`, `batch-size = ${batch}`, "connect-timeout = 500ms", "request-timeout = 1s"],
      delivered: async () => {
        await collect();
        return [...received];
      },
      break: async () => {
        await collect();
        await receiver!.stop(0);
        receiver = undefined;
      },
      heal: start,
      close: async () => {
        await receiver?.stop(0);
      },
    };
  },
});
