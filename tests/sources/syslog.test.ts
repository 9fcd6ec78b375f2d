// The syslog sources: Flume's headers for RFC 5424 and RFC 3164, newline and octet-counted framing (RFC 6587), real
// clients (util-linux logger, socat), bad input, floods, and a full channel that pushes back instead of dropping.

import { describe, expect, test } from "bun:test";
import { connect, type Socket } from "node:net";
import dgram from "node:dgram";
import { SyslogFramer } from "../../src/sources/syslog/framing.ts";
import { parseKeepFields, parseSyslog, type KeepFields } from "../../src/sources/syslog/parse.ts";
import { multiportSyslogTcpKeys, SyslogTcpSource, syslogTcpKeys } from "../../src/sources/syslog/tcp.ts";
import { SyslogUdpSource, syslogUdpKeys } from "../../src/sources/syslog/udp.ts";
import { charsetChecker } from "../../src/sources/net/charset.ts";
import { freePort, waitFor } from "../helpers/index.ts";
import { cfg, rig, run, text } from "./net-rig.ts";
import { selfSigned } from "../avro/helpers.ts";

const enc = new TextEncoder();
const NONE = parseKeepFields("none") as KeepFields;
const opts = (keepFields: KeepFields = NONE) => ({ keepFields, priorityHeader: "priority", versionHeader: "version" });
const parse = (s: string, k?: KeepFields) => parseSyslog(enc.encode(s), false, opts(k));

describe("syslog parsing (Flume's SyslogUtils rules)", () => {
  test("an RFC 5424 message gets Facility, Severity, version, its own time with offset, host; the rest is the body", () => {
    const e = parse("<165>1 2003-10-11T22:14:15.003Z mymachine.example.com evntslog - ID47 [exampleSDID@32473 iut=\"3\"] An application event");
    expect(e.headers).toEqual({ Facility: "20", Severity: "5", priority: "165", version: "1", timestamp: String(Date.UTC(2003, 9, 11, 22, 14, 15, 3)), host: "mymachine.example.com" });
    expect(text(e)).toBe('evntslog - ID47 [exampleSDID@32473 iut="3"] An application event');
    const off = parse("<13>1 2003-08-24T05:14:15.000003-07:00 192.0.2.1 myproc 8710 - - hi");
    expect(off.headers.timestamp).toBe(String(Date.UTC(2003, 7, 24, 12, 14, 15, 0)));
  });

  test("an RFC 3164 message gets the current year in local time, rolled back when that would be over a month ahead", () => {
    const now = new Date(2026, 0, 5, 12, 0, 0).getTime();
    const e = parseSyslog(enc.encode("<34>Dec 31 22:14:15 mymachine su: 'su root' failed"), false, { ...opts(), now: () => now });
    expect(e.headers).toEqual({ Facility: "4", Severity: "2", priority: "34", timestamp: String(new Date(2025, 11, 31, 22, 14, 15).getTime()), host: "mymachine" });
    expect(text(e)).toBe("su: 'su root' failed");
    const single = parseSyslog(enc.encode("<34>Jan  5 11:00:00 h x"), false, { ...opts(), now: () => now });
    expect(single.headers.timestamp).toBe(String(new Date(2026, 0, 5, 11, 0, 0).getTime()));
  });

  test("a message without <PRI> is Invalid, Facility and Severity 0, the whole message its body", () => {
    for (const bad of ["hello world", "<>x", "<1234>x", "<1a>x"]) {
      const e = parse(bad);
      expect(e.headers).toEqual({ Facility: "0", Severity: "0", "flume.syslog.status": "Invalid" });
      expect(text(e)).toBe(bad);
    }
  });

  test("a <PRI> with a header that matches neither RFC keeps the whole message as body, and nil values give no header", () => {
    const e = parse("<13>just text");
    expect(e.headers).toEqual({ Facility: "1", Severity: "5", priority: "13" });
    expect(text(e)).toBe("<13>just text");
    const nil = parse("<13>1 - - app - - - msg");
    expect(nil.headers).toEqual({ Facility: "1", Severity: "5", priority: "13", version: "1" });
    expect(text(nil)).toBe("app - - - msg");
  });

  test("keepFields all keeps the message as received; a field list puts those fields back in Flume's order", () => {
    const msg = "<13>1 2020-01-01T00:00:00Z host app - - - msg";
    expect(text(parse(msg, parseKeepFields("true") as KeepFields))).toBe(msg);
    expect(text(parse(msg, parseKeepFields("hostname priority") as KeepFields))).toBe("<13>host app - - - msg");
    expect(text(parse(msg, parseKeepFields("priority version timestamp hostname") as KeepFields))).toBe(msg);
    expect(parseKeepFields("hostname colour")).toContain('unknown field "colour"');
  });
});

describe("RFC 6587 framing", () => {
  const frames = (chunks: string[], size = 100) => {
    const f = new SyslogFramer(size);
    const out: string[] = [];
    for (const c of chunks) f.push(enc.encode(c), (m, inc) => out.push((inc ? "~" : "") + new TextDecoder().decode(m)));
    f.end((m, inc) => out.push((inc ? "~" : "") + new TextDecoder().decode(m)));
    return out;
  };

  test("newline and octet-counted messages mix on one stream, split at any byte", () => {
    const stream = "<1>a\n10 <2>b\nc d e<3>c\r\n\n5 <4>dd";
    const want = ["<1>a", "<2>b\nc d e", "<3>c", "<4>dd"];
    expect(frames([stream])).toEqual(want);
    expect(frames([...stream])).toEqual(want);
  });

  test("a message longer than eventSize is passed on in pieces, the cut ones flagged incomplete, no byte lost", () => {
    expect(frames(["<1>" + "x".repeat(25) + "\n"], 10)).toEqual(["~<1>xxxxxxx", "~xxxxxxxxxx", "xxxxxxxx"]);
    // A declared count far beyond eventSize is not buffered: pieces go as they arrive.
    expect(frames(["30 <1>", "x".repeat(27)], 10)).toEqual(["~<1>xxxxxxx", "~xxxxxxxxxx", "xxxxxxxxxx"]);
  });

  test("random bytes in random reads never throw, never yield a message over eventSize, and lose no byte of a newline-framed stream", () => {
    let seed = 7;
    const rnd = (n: number) => (seed = (seed * 1103515245 + 12345) >>> 0) % n;
    const alphabet = enc.encode("<>0123456789 \nabcxyz-:T\r");
    for (let round = 0; round < 200; round++) {
      const size = 10 + rnd(40);
      const f = new SyslogFramer(size);
      const stream = Uint8Array.from({ length: 500 + rnd(2000) }, () => alphabet[rnd(alphabet.length)]!);
      let out = 0;
      const onMsg = (m: Uint8Array) => {
        if (m.length > size) throw new Error(`a message of ${m.length} bytes with eventSize ${size}`);
        parseSyslog(m, false, opts());
        out += m.length;
      };
      for (let at = 0; at < stream.length; ) {
        const n = 1 + rnd(64);
        f.push(stream.subarray(at, at + n), onMsg);
        expect(f.pendingBytes).toBeLessThanOrEqual(size + 9);
        at += n;
      }
      f.end(onMsg);
      expect(out).toBeGreaterThan(0);
    }
    // Without digits at a frame start, every byte but the newlines comes out.
    const f = new SyslogFramer(16);
    const stream = "<1>" + "ab\ncd ".repeat(300);
    let bytes = 0;
    for (let i = 0; i < stream.length; i += 7) f.push(enc.encode(stream.slice(i, i + 7)), (m) => (bytes += m.length));
    f.end((m) => (bytes += m.length));
    expect(bytes).toBe(stream.length - 300);
  });

  test("digits without an octet count's space are a newline-framed message", () => {
    const f = new SyslogFramer(100);
    const out: string[] = [];
    f.push(enc.encode("123abc\n1234567890123 x\n"), (m) => out.push(new TextDecoder().decode(m)));
    expect(out).toEqual(["123abc", "1234567890123 x"]);
    expect(f.badCounts).toBe(2);
  });
});

async function tcpRig(props: Record<string, string | number> = {}, channel: Record<string, string | number> = {}) {
  return rig((p, log) => new SyslogTcpSource("s1", "syslogtcp", cfg(syslogTcpKeys, { port: 0, ...props }), [0], p, log, false), channel);
}

function send(port: number, data: string | Uint8Array): Promise<Socket> {
  return new Promise((resolve, reject) => {
    const s = connect(port, "127.0.0.1", () => {
      s.write(data);
      resolve(s);
    });
    s.on("error", reject);
  });
}

describe("syslogtcp with real clients", () => {
  test("logger sends RFC 5424 and RFC 3164, newline-framed and octet-counted; every message arrives with Flume's headers", async () => {
    const r = await tcpRig({ clientIPHeader: "ip", clientHostnameHeader: "hn" });
    const port = r.source.ports[0]!;
    const base = ["logger", "-n", "127.0.0.1", "-P", String(port), "--tcp", "-t", "app", "-p", "local3.warning"];
    for (const args of [["--rfc5424"], ["--rfc3164"], ["--rfc5424", "--octet-count"], ["--rfc3164", "--octet-count"]]) {
      const res = await run([...base, ...args, `hello ${args.join(" ")}`]);
      expect(res.code).toBe(0);
    }
    const got = await r.collect(4);
    expect(got.map(text)).toEqual([
      expect.stringMatching(/^app .*hello --rfc5424$/),
      expect.stringMatching(/^app(\[\d+\])?: hello --rfc3164$/),
      expect.stringMatching(/^app .*hello --rfc5424 --octet-count$/),
      expect.stringMatching(/^app(\[\d+\])?: hello --rfc3164 --octet-count$/),
    ]);
    for (const e of got) {
      expect(e.headers).toMatchObject({ Facility: "19", Severity: "4", priority: "156", ip: "127.0.0.1", hn: "localhost" });
      expect(Math.abs(Number(e.headers.timestamp) - Date.now())).toBeLessThan(60_000);
      expect(e.headers.host).toBeTruthy();
      expect(e.headers["flume.syslog.status"]).toBeUndefined();
    }
  });

  test("garbage from socat becomes Invalid events and one warning naming the peer; the same connection then carries good messages", async () => {
    const r = await tcpRig();
    const port = r.source.ports[0]!;
    const garbage = Buffer.concat([Buffer.from([0, 1, 2, 0xff, 0xfe, 0x0a]), Buffer.from("no pri here\n<999999>x\n<13>1 - - ok - - - fine\n")]);
    const res = await run(["socat", "-t", "2", "-", `TCP:127.0.0.1:${port}`], garbage);
    expect(res.code).toBe(0);
    const got = await r.collect(4);
    expect(got.slice(0, 3).map((e) => e.headers["flume.syslog.status"])).toEqual(["Invalid", "Invalid", "Invalid"]);
    expect(got[3]!.headers["flume.syslog.status"]).toBeUndefined();
    expect(text(got[3]!)).toBe("ok - - - fine");
    expect(r.source.counters.EventReadFail).toBe(3);
    // One line per read naming the peer (the 90 bytes normally arrive in one read).
    expect(r.lines.some((l) => /^WARN 127\.0\.0\.1:\d+ sent \d message\(s\) without a valid <PRI>.*flume\.syslog\.status = Invalid/.test(l))).toBe(true);
  });

  test("an endless line costs eventSize bytes per piece: Incomplete pieces flow while the sender keeps sending", async () => {
    const r = await tcpRig({ eventSize: 100 });
    const s = await send(r.source.ports[0]!, "<13>" + "y".repeat(1000));
    const got = await r.collect(10);
    expect(got.every((e) => e.body.length === 100)).toBe(true);
    // The first piece is the cut message; the pieces after it start without <PRI>, so Flume's parser calls them Invalid.
    expect(got[0]!.headers["flume.syslog.status"]).toBe("Incomplete");
    expect(new Set(got.slice(1).map((e) => e.headers["flume.syslog.status"]))).toEqual(new Set(["Invalid"]));
    s.destroy();
  });

  test("a full channel pauses the connection: every message arrives once the channel drains, none dropped", async () => {
    const r = await tcpRig({ batchSize: 5 }, { capacity: 10, transactionCapacity: 5 });
    const n = 500;
    const lines = Array.from({ length: n }, (_, i) => `<13>1 - - app - - - m${i}\n`).join("");
    const s = await send(r.source.ports[0]!, lines);
    await waitFor("a full channel", () => r.channel.size() === 10);
    await Bun.sleep(200);
    expect(r.channel.size()).toBe(10);
    expect(r.source.counters.EventAcceptedCount).toBe(10);
    const got = await r.collect(n, 30_000);
    expect(got.map(text)).toEqual(Array.from({ length: n }, (_, i) => `app - - - m${i}`));
    expect(r.source.counters.EventAcceptedCount).toBe(n);
    s.destroy();
  }, 30_000);

  test("connections past maxConnections are closed on accept with one warning naming the peer", async () => {
    const r = await tcpRig({ maxConnections: 2 });
    const port = r.source.ports[0]!;
    const a = await send(port, "");
    const b = await send(port, "");
    await waitFor("two open", () => r.source.counters.OpenConnectionCount === 2);
    const c = await send(port, "<13>dropped?\n");
    await new Promise<void>((res) => c.once("close", () => res()));
    expect(r.source.server.refused).toBe(1);
    expect(r.lines.some((l) => /WARN refused 127\.0\.0\.1:\d+: maxConnections \(2\)/.test(l))).toBe(true);
    a.write("<13>1 - - a - - - still served\n");
    const got = await r.collect(1);
    expect(text(got[0]!)).toBe("a - - - still served");
    a.destroy();
    b.destroy();
  });

  test("a flood of 300 connections against maxConnections 50 is refused with a bounded number of warnings; a held connection keeps working", async () => {
    const r = await tcpRig({ maxConnections: 50 });
    const port = r.source.ports[0]!;
    const held = await send(port, "");
    await waitFor("the held connection", () => r.source.counters.OpenConnectionCount === 1);
    const flood = await Promise.all(Array.from({ length: 300 }, () => send(port, "<13>1 - - f - - - x\n").catch(() => undefined)));
    await waitFor("every extra connection refused", () => r.source.server.refused >= 249, 10_000);
    held.write("<13>1 - - h - - - held\n");
    // The 49 flood connections that found a slot are served too; the held one's message arrives among theirs.
    await waitFor("the held connection's message", async () => (await r.drain()).some((e) => text(e) === "h - - - held"));
    // At most 10 warnings a second, plus summaries: not one per refused connection.
    expect(r.lines.filter((l) => l.includes("refused")).length).toBeLessThanOrEqual(30);
    for (const s of flood) s?.destroy();
    held.destroy();
  }, 30_000);

  test("a client sending a byte at a time stalls nobody: another connection's messages go through meanwhile", async () => {
    const r = await tcpRig();
    const port = r.source.ports[0]!;
    const slow = await send(port, "");
    const msg = "<13>1 - - slow - - - trickled\n";
    let stop = false;
    const trickle = (async () => {
      for (const ch of msg) {
        if (stop) return;
        slow.write(ch);
        await Bun.sleep(10);
      }
    })();
    const fast = await send(port, Array.from({ length: 100 }, (_, i) => `<13>1 - - fast - - - ${i}\n`).join(""));
    const got = await r.collect(100, 2000);
    expect(got.every((e) => text(e).startsWith("fast"))).toBe(true);
    await trickle;
    stop = true;
    expect((await r.collect(1)).map(text)).toEqual(["slow - - - trickled"]);
    slow.destroy();
    fast.destroy();
  });

  test("a last message without its newline is an event when the sender closes", async () => {
    const r = await tcpRig();
    const res = await run(["socat", "-t", "1", "-", `TCP:127.0.0.1:${r.source.ports[0]}`], "<13>1 - - a - - - first\n<13>1 - - a - - - last");
    expect(res.code).toBe(0);
    expect((await r.collect(2)).map(text)).toEqual(["a - - - first", "a - - - last"]);
  });
});

describe("syslogtcp over TLS (RFC 5425)", () => {
  test("socat's TLS client delivers octet-counted messages; a plain-text client is refused with one warning naming it", async () => {
    const { cert, key } = await selfSigned();
    const r = await tcpRig({ ssl: "true", "ssl-cert": cert, "ssl-key": key });
    const port = r.source.ports[0]!;
    const msg = "<13>1 - - tls - - - secret";
    const res = await run(["socat", "-t", "2", "-", `OPENSSL:127.0.0.1:${port},verify=0`], `${msg.length} ${msg}`);
    expect(res.code).toBe(0);
    expect((await r.collect(1)).map(text)).toEqual(["tls - - - secret"]);
    await run(["socat", "-t", "1", "-", `TCP:127.0.0.1:${port}`], "<13>1 - - plain - - - x\n");
    await waitFor("the handshake warning", () => r.lines.find((l) => /WARN TLS handshake with 127\.0\.0\.1:\d+ failed/.test(l)));
    expect(await r.drain()).toEqual([]);
  });
});

describe("multiport_syslogtcp", () => {
  test("listens on every port, names the port in portHeader and marks a message invalid in its port's charset", async () => {
    const [p1, p2] = [await freePort(), await freePort()];
    const c = cfg(multiportSyslogTcpKeys, { ports: `${p1} ${p2}`, portHeader: "port" });
    const r = await rig((p, log) => new SyslogTcpSource("m1", "multiport_syslogtcp", c, [p1, p2], p, log, true, charsetChecker("UTF-8", new Map())));
    expect((await run(["logger", "-n", "127.0.0.1", "-P", String(p1), "--tcp", "--rfc5424", "one"])).code).toBe(0);
    expect((await run(["logger", "-n", "127.0.0.1", "-P", String(p2), "--tcp", "--octet-count", "--rfc3164", "two"])).code).toBe(0);
    await run(["socat", "-t", "1", "-", `TCP:127.0.0.1:${p2}`], Buffer.from([0x3c, 0x31, 0x33, 0x3e, 0xc3, 0x28, 0x0a]));
    const got = await r.collect(3);
    expect(got[0]!.headers).toMatchObject({ port: String(p1), Priority: "13", Version: "1" });
    expect(got[1]!.headers).toMatchObject({ port: String(p2), Priority: "13" });
    expect(got[2]!.headers).toMatchObject({ port: String(p2), "flume.syslog.status": "Invalid" });
  });
});

describe("syslogudp", () => {
  test("logger --udp messages in both formats arrive with Flume's headers", async () => {
    const r = await rig((p, log) => new SyslogUdpSource("u1", cfg(syslogUdpKeys, { port: 0, clientIPHeader: "ip" }), p, log));
    for (const f of ["--rfc5424", "--rfc3164"]) expect((await run(["logger", "-n", "127.0.0.1", "-P", String(r.source.port), "--udp", f, "-t", "t", `via ${f}`])).code).toBe(0);
    const got = await r.collect(2);
    expect(got.map(text)).toEqual([expect.stringMatching(/^t .*via --rfc5424$/), expect.stringMatching(/^t(\[\d+\])?: via --rfc3164$/)]);
    expect(got[0]!.headers).toMatchObject({ Facility: "1", Severity: "5", ip: "127.0.0.1" });
  });

  test("a datagram longer than eventSize keeps its first eventSize bytes, flagged Incomplete", async () => {
    const r = await rig((p, log) => new SyslogUdpSource("u1", cfg(syslogUdpKeys, { port: 0, eventSize: 50 }), p, log));
    const sock = dgram.createSocket("udp4");
    sock.send("<13>1 - - a - - - " + "z".repeat(500), r.source.port, "127.0.0.1");
    const [e] = await r.collect(1);
    sock.close();
    expect(e!.headers["flume.syslog.status"]).toBe("Incomplete");
    expect(text(e!)).toBe("a - - - " + "z".repeat(50 - "<13>1 - - a - - - ".length));
  });

  test("under a full channel datagrams beyond maxQueued are dropped and counted with the reason", async () => {
    const r = await rig((p, log) => new SyslogUdpSource("u1", cfg(syslogUdpKeys, { port: 0, maxQueued: 20, batchSize: 10 }), p, log), { capacity: 10, transactionCapacity: 10 });
    const sock = dgram.createSocket("udp4");
    for (let i = 0; i < 100; i++) sock.send(`<13>1 - - a - - - d${i}`, r.source.port, "127.0.0.1");
    await waitFor("drops counted", () => r.source.counters.dropped.total > 0);
    await waitFor("all received", () => r.source.counters.EventReceivedCount === 100, 5000);
    sock.close();
    expect(r.lines.some((l) => /WARN dropped a datagram from 127\.0\.0\.1:\d+: channel full/.test(l))).toBe(true);
    // Nothing else is lost: what is not dropped ends up in the channel once it drains.
    const got = await r.collect(100 - r.source.counters.dropped.total, 10_000);
    expect(got.length + r.source.counters.dropped.total).toBe(100);
    expect(r.source.counters.dropped.byReason.get("channel full (maxQueued)")).toBe(r.source.counters.dropped.total);
  });
});
