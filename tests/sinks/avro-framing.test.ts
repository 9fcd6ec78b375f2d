import { describe, expect, test } from "bun:test";
import { AvroRpcClient } from "../../src/avro/client.ts";
import { makeEvent } from "../../src/core/event.ts";
import { onCleanup } from "../helpers/index.ts";
import { avroSource, drain, sourceOnly, startAgent, text } from "../avro/helpers.ts";

describe("avro appendBatch packs", () => {
  test("batches of changing sizes on one connection arrive whole and in order while the request buffer is reused", async () => {
    const agent = await startAgent(sourceOnly([], 100_000));
    const client = new AvroRpcClient({ host: "127.0.0.1", port: avroSource(agent).port, connectTimeoutMs: 5000, requestTimeoutMs: 5000, limits: { maxPackBytes: 1 << 20, maxBuffers: 16 } });
    onCleanup(() => client.close());
    // Sizes that cross Java's 8 KiB buffers at different places, bigger and smaller than the buffer kept from before.
    const sizes = [900, 100, 1, 500, 901, 37];
    const want: string[] = [];
    let n = 0;
    for (const size of sizes) {
      const batch = Array.from({ length: size }, () => {
        const s = `event ${n++} ${"x".repeat(n % 97)}`;
        want.push(s);
        return makeEvent(s, n % 3 === 0 ? { seq: String(n) } : {});
      });
      expect(await client.appendBatch(batch)).toBe("OK");
    }
    const got = await drain(agent.channels.get("c1")!);
    expect(got.map(text)).toEqual(want);
  });
});
