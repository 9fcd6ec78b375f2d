import { describe, expect, test } from "bun:test";
import { readdir, readFile, rm, writeFile } from "node:fs/promises";
import { join } from "node:path";
import { MemoryChannel } from "../../src/channels/memory.ts";
import { makeEvent } from "../../src/core/event.ts";
import { FileRollSink, type FileRollConfig } from "../../src/sinks/file-roll.ts";
import { getLogger } from "../../src/util/log.ts";
import { tempDir } from "../helpers/index.ts";

async function setup(dir: string, o: Partial<FileRollConfig> = {}) {
  const ch = new MemoryChannel("c1", { capacity: 1000, transactionCapacity: 100, byteCapacity: undefined, byteCapacityBufferPercentage: 20, "keep-alive": 10 });
  await ch.start();
  const cfg: FileRollConfig = {
    "sink.directory": dir,
    "sink.rollInterval": 30_000,
    "sink.pathManager": "DEFAULT",
    "sink.pathManager.prefix": "",
    "sink.pathManager.extension": "",
    "sink.serializer": "TEXT",
    "sink.serializer.appendNewline": true,
    "sink.serializer.syncIntervalBytes": 2_048_000,
    "sink.serializer.compressionCodec": "null",
    "sink.batchSize": 100,
    ...o,
  };
  const sink = new FileRollSink("k1", ch, cfg, getLogger("test"));
  await sink.start();
  const put = async (bodies: string[], headers: Record<string, string> = {}) => {
    const tx = ch.begin();
    tx.put(bodies.map((b) => makeEvent(b, headers)));
    await tx.commit();
  };
  return { ch, sink, put };
}

describe("file_roll sink", () => {
  test("writes each body and a newline, names files prefix<start>-<n>.ext", async () => {
    const dir = await tempDir();
    const { sink, put } = await setup(dir, { "sink.pathManager.prefix": "web-", "sink.pathManager.extension": "log" });
    await put(["one", "two"]);
    expect(await sink.process()).toBe("ready");
    expect(await sink.process()).toBe("empty");
    const files = await readdir(dir);
    expect(files).toHaveLength(1);
    expect(files[0]).toMatch(/^web-\d+-1\.log$/);
    expect(await readFile(join(dir, files[0]!), "utf8")).toBe("one\ntwo\n");
    await sink.stop();
  });

  test("HEADER_AND_TEXT writes the headers as Java's Map.toString before the body", async () => {
    const dir = await tempDir();
    const { sink, put } = await setup(dir, { "sink.serializer": "HEADER_AND_TEXT" });
    await put(["hello"], { host: "web-1", seq: "2" });
    await sink.process();
    const [f] = await readdir(dir);
    expect(await readFile(join(dir, f!), "utf8")).toBe("{host=web-1, seq=2} hello\n");
    await sink.stop();
  });

  test("rolls to a new file after rollInterval", async () => {
    const dir = await tempDir();
    const { sink, put } = await setup(dir, { "sink.rollInterval": 50 });
    await put(["a"]);
    await sink.process();
    await Bun.sleep(80);
    await put(["b"]);
    await sink.process();
    const files = (await readdir(dir)).sort();
    expect(files).toHaveLength(2);
    expect(await readFile(join(dir, files[1]!), "utf8")).toBe("b\n");
    await sink.stop();
  });

  test("a failing directory rolls the take back, keeps the events, and delivers them once it is fixed", async () => {
    const root = await tempDir();
    const dir = join(root, "out");
    await writeFile(dir, "a plain file where the directory should be");
    const { ch, sink, put } = await setup(dir);
    await put(["x", "y"]);
    await expect(sink.process()).rejects.toThrow(`cannot open ${dir}/`);
    expect(ch.size()).toBe(2);
    await rm(dir);
    expect(await sink.process()).toBe("ready");
    const [f] = await readdir(dir);
    expect(await readFile(join(dir, f!), "utf8")).toBe("x\ny\n");
    await sink.stop();
  });
});
