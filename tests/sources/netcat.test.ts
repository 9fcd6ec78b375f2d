// netcat and netcatudp with real clients (socat): Flume's OK / FAILED replies, line limits, floods, and a full
// channel that makes a TCP sender wait instead of dropping its lines.

import { describe, expect, test } from "bun:test";
import { connect } from "node:net";
import { NetcatSource, netcatKeys } from "../../src/sources/netcat/index.ts";
import { NetcatUdpSource, netcatUdpKeys } from "../../src/sources/netcat/udp.ts";
import { ChannelProcessor } from "../../src/core/channel-processor.ts";
import { SluiceError } from "../../src/core/errors.ts";
import { ReplicatingSelector } from "../../src/selectors/replicating.ts";
import { waitFor } from "../helpers/index.ts";
import { cfg, recordingLogger, rig, run, text } from "./net-rig.ts";

const tcp = (props: Record<string, string | number | boolean> = {}, channel: Record<string, string | number> = {}) =>
  rig((p, log) => new NetcatSource("n1", cfg(netcatKeys, { port: 0, ...props }), p, log), channel);

describe("netcat", () => {
  test("each line from socat is one event, answered OK once committed", async () => {
    const r = await tcp();
    const res = await run(["socat", "-t", "2", "-", `TCP:127.0.0.1:${r.source.port}`], "one\ntwo\r\nthree\n");
    expect(res.stdout).toBe("OK\nOK\nOK\n");
    expect((await r.collect(3)).map(text)).toEqual(["one", "two\r", "three"]);
  });

  test("ack-every-event = false answers nothing", async () => {
    const r = await tcp({ "ack-every-event": false });
    const res = await run(["socat", "-t", "1", "-", `TCP:127.0.0.1:${r.source.port}`], "a\nb\n");
    expect(res.stdout).toBe("");
    expect((await r.collect(2)).map(text)).toEqual(["a", "b"]);
  });

  test("a line over max-line-length gets Flume's FAILED reply and closes the connection; the lines before it are kept", async () => {
    const r = await tcp({ "max-line-length": 10 });
    const res = await run(["socat", "-t", "2", "-", `TCP:127.0.0.1:${r.source.port}`], "123456789\n" + "x".repeat(50) + "\nafter\n");
    expect(res.stdout).toBe("OK\nFAILED: Event exceeds the maximum length (10 chars, including newline)\n");
    expect((await r.collect(1)).map(text)).toEqual(["123456789"]);
    await Bun.sleep(100);
    expect(await r.drain()).toEqual([]);
    expect(r.lines.some((l) => /WARN closed 127\.0\.0\.1:\d+: sent a line longer than max-line-length \(10\)/.test(l))).toBe(true);
    expect(r.source.counters.EventReadFail).toBe(1);
  });

  test("an endless line without newline is refused as soon as it passes the limit, not buffered", async () => {
    const r = await tcp({ "max-line-length": 100 });
    const s = connect(r.source.port, "127.0.0.1");
    let reply = "";
    s.on("data", (d) => (reply += d));
    const closed = new Promise<void>((res) => s.once("close", () => res()));
    s.on("error", () => {});
    s.write("y".repeat(5000));
    await closed;
    expect(reply).toContain("FAILED: Event exceeds the maximum length (100 chars");
  });

  test("a full channel makes the sender wait: no FAILED, no line lost, all answered OK after the drain", async () => {
    const r = await tcp({ batchSize: 5 }, { capacity: 10, transactionCapacity: 5 });
    const n = 300;
    const s = connect(r.source.port, "127.0.0.1");
    let oks = 0;
    s.on("data", (d) => (oks += String(d).split("OK\n").length - 1));
    s.write(Array.from({ length: n }, (_, i) => `l${i}\n`).join(""));
    await waitFor("a full channel", () => r.channel.size() === 10);
    await Bun.sleep(200);
    expect(oks).toBe(10);
    const got = await r.collect(n, 20_000);
    expect(got.map(text)).toEqual(Array.from({ length: n }, (_, i) => `l${i}`));
    await waitFor("every OK", () => oks === n);
    s.destroy();
  }, 30_000);

  test("idleTimeout closes a connection that sent nothing for that long, naming the peer", async () => {
    const r = await tcp({ idleTimeout: "200ms" });
    const s = connect(r.source.port, "127.0.0.1");
    s.on("error", () => {});
    s.on("data", () => {});
    const t0 = Date.now();
    s.write("x\n");
    await new Promise<void>((res) => s.once("close", () => res()));
    expect(Date.now() - t0).toBeGreaterThanOrEqual(150);
    expect(r.lines.some((l) => /WARN closed 127\.0\.0\.1:\d+: idle for 200 ms \(idleTimeout\)/.test(l))).toBe(true);
    expect((await r.collect(1)).map(text)).toEqual(["x"]);
  });

  test("connections past maxConnections are refused while the first ones are served", async () => {
    const r = await tcp({ maxConnections: 1 });
    const a = connect(r.source.port, "127.0.0.1");
    await waitFor("one open", () => r.source.counters.OpenConnectionCount === 1);
    const res = await run(["socat", "-t", "1", "-", `TCP:127.0.0.1:${r.source.port}`], "refused\n");
    expect(res.stdout).toBe("");
    a.write("served\n");
    expect((await r.collect(1)).map(text)).toEqual(["served"]);
    expect(r.source.server.refused).toBe(1);
    a.destroy();
  });
});

describe("netcatudp", () => {
  test("each datagram from socat is one event up to its first newline, with the sender in REMOTE_ADDRESS", async () => {
    const r = await rig((p, log) => new NetcatUdpSource("u1", cfg(netcatUdpKeys, { port: 0 }), p, log));
    const res = await run(["socat", "-u", "-", `UDP-SENDTO:127.0.0.1:${r.source.port}`], "hello udp\nignored tail");
    expect(res.code).toBe(0);
    const [e] = await r.collect(1);
    expect(text(e!)).toBe("hello udp");
    expect(e!.headers.REMOTE_ADDRESS).toMatch(/^\/127\.0\.0\.1:\d+$/);
  });
});

describe("a port already taken", () => {
  test("fails start with an IO error naming the address, for TCP and for UDP, and counts no start", async () => {
    const tcp = await rig((p, log) => new NetcatSource("n1", cfg(netcatKeys, { port: 0 }), p, log));
    const udp = await rig((p, log) => new NetcatUdpSource("u1", cfg(netcatUdpKeys, { port: 0 }), p, log));
    const { log } = recordingLogger();
    const processor = new ChannelProcessor(new ReplicatingSelector([tcp.channel]), [], log);
    const taken = [
      [new NetcatSource("n2", cfg(netcatKeys, { port: tcp.source.port }), processor, log), tcp.source.port],
      [new NetcatUdpSource("u2", cfg(netcatUdpKeys, { port: udp.source.port }), processor, log), udp.source.port],
    ] as const;
    for (const [second, port] of taken) {
      const err = await second.start().then(() => undefined, (e: unknown) => e);
      expect(err).toBeInstanceOf(SluiceError);
      expect((err as SluiceError).code).toBe("IO");
      expect((err as SluiceError).message).toMatch(new RegExp(`^cannot listen on (udp )?127\\.0\\.0\\.1:${port}: `));
      expect(second.counters.StartTime).toBe(0);
      await second.stop();
    }
  });
});
