// Syslog: the parser alone (RFC 5424 and RFC 3164 messages of ~200 B, Flume's headers), and syslogtcp end to end
// (one TCP client → syslogtcp → memory channel → a taking loop), in one process.
// Run: node_modules/.bin/bun bench/syslog.ts [messages]

import { connect } from "node:net";
import { parseKeys } from "../src/core/keys.ts";
import { ChannelProcessor } from "../src/core/channel-processor.ts";
import { MemoryChannel, memoryKeys } from "../src/channels/memory.ts";
import { ReplicatingSelector } from "../src/selectors/replicating.ts";
import { parseKeepFields, parseSyslog, type KeepFields } from "../src/sources/syslog/parse.ts";
import { SyslogTcpSource, syslogTcpKeys } from "../src/sources/syslog/tcp.ts";
import { configureLogging, getLogger } from "../src/util/log.ts";

configureLogging({ level: "error" });
const N = Number(process.argv[2] ?? 200_000);
const enc = new TextEncoder();
const pad = "x".repeat(120);
const msgs = [
  enc.encode(`<165>1 2026-12-03T22:14:15.003Z host.example.com app 1234 ID47 [sd@1 a="1"] message ${pad}`),
  enc.encode(`<34>Dec  3 22:14:15 host.example.com su[1234]: 'su root' failed ${pad}`),
];
const bytesPer = (msgs[0]!.length + msgs[1]!.length) / 2;
const opts = { keepFields: parseKeepFields("none") as KeepFields, priorityHeader: "priority", versionHeader: "version" };

let t0 = performance.now();
let sink = 0;
for (let i = 0; i < N; i++) sink += parseSyslog(msgs[i & 1]!, false, opts).body.length;
let s = (performance.now() - t0) / 1000;
console.log(JSON.stringify({ bench: "syslog", metric: `parser, ~${Math.round(bytesPer)} B messages (5424 and 3164 alternating): messages/s (MiB/s)`, value: `${Math.round(N / s)} (${((N * bytesPer) / s / 2 ** 20).toFixed(0)})` }));
if (sink === 0) throw new Error("nothing parsed");

function cfg<S extends Parameters<typeof parseKeys>[0]>(spec: S, props: Record<string, string>) {
  const map = new Map(Object.entries(props).map(([k, v]) => [k, { value: v, line: 1 }]));
  return parseKeys(spec, { kind: "bench", name: "b", prefix: "", file: "b", props: map }, []).config;
}

const ch = new MemoryChannel("c1", cfg(memoryKeys, { capacity: "100000", transactionCapacity: "1000" }));
await ch.start();
const processor = new ChannelProcessor(new ReplicatingSelector([ch]), [], getLogger("bench"));
const src = new SyslogTcpSource("s1", "syslogtcp", cfg(syslogTcpKeys, { port: "0", batchSize: "1000" }), [0], processor, getLogger("bench"), false);
await src.start();
const line = new Uint8Array([...msgs[0]!, 0x0a]);
const chunk = new Uint8Array(line.length * 1000);
for (let i = 0; i < 1000; i++) chunk.set(line, i * line.length);
t0 = performance.now();
const sock = connect(src.ports[0]!, "127.0.0.1");
await new Promise<void>((r) => sock.once("connect", () => r()));
void (async () => {
  for (let sent = 0; sent < N; sent += 1000) {
    if (!sock.write(chunk)) await new Promise<void>((r) => sock.once("drain", () => r()));
  }
})();
let taken = 0;
const sent = Math.ceil(N / 1000) * 1000;
// Bounded: a line the source loses would otherwise leave this loop waiting for ever.
const tcpDeadline = performance.now() + 120_000;
while (taken < sent && performance.now() < tcpDeadline) {
  const tx = ch.begin();
  const got = await tx.take(1000);
  await tx.commit();
  taken += got.length;
  if (got.length === 0) await new Promise((r) => setImmediate(r));
}
if (taken !== sent) {
  console.error(`syslog: syslogtcp stored ${taken} of ${sent} lines sent within 120 s`);
  process.exit(1);
}
s = (performance.now() - t0) / 1000;
console.log(JSON.stringify({ bench: "syslog", metric: `syslogtcp end to end, ${line.length} B RFC 5424 lines, batch 1000: events/s (MiB/s)`, value: `${Math.round(taken / s)} (${((taken * line.length) / s / 2 ** 20).toFixed(0)})` }));
sock.destroy();
await src.stop();
await ch.stop();

// syslogudp: one sender in this process, datagrams of the same message, as fast as the socket takes them; what
// arrives per second and what the kernel or the queue dropped.
{
  const { SyslogUdpSource, syslogUdpKeys } = await import("../src/sources/syslog/udp.ts");
  const dgram = await import("node:dgram");
  const ch2 = new MemoryChannel("c2", cfg(memoryKeys, { capacity: "100000", transactionCapacity: "1000" }));
  await ch2.start();
  const p2 = new ChannelProcessor(new ReplicatingSelector([ch2]), [], getLogger("bench"));
  const udp = new SyslogUdpSource("u1", cfg(syslogUdpKeys, { port: "0", batchSize: "1000" }), p2, getLogger("bench"));
  await udp.start();
  const tx = dgram.createSocket("udp4");
  const M = Math.min(N, 100_000);
  let taken2 = 0;
  let lastTake = 0;
  const t1 = performance.now();
  const drainer = (async () => {
    while (performance.now() - t1 < 30_000) {
      const t = ch2.begin();
      const got = await t.take(1000);
      await t.commit();
      taken2 += got.length;
      if (got.length > 0) lastTake = performance.now();
      if (taken2 + udp.counters.dropped.total >= M) break;
      if (got.length === 0) await new Promise((r) => setTimeout(r, 1));
    }
  })();
  for (let i = 0; i < M; i++) {
    tx.send(msgs[0]!, udp.port, "127.0.0.1");
    if (i % 200 === 0) await new Promise((r) => setImmediate(r));
  }
  await Promise.race([drainer, new Promise((r) => setTimeout(r, 3000))]);
  // Until the last datagram stored: the wait for datagrams that never come (lost in the kernel) is not counted.
  const s2 = (lastTake - t1) / 1000;
  console.log(JSON.stringify({ bench: "syslog", metric: `syslogudp, ${msgs[0]!.length} B datagrams, one sender: stored/s, of ${M} sent (lost in the kernel, dropped by the queue)`, value: `${Math.round(taken2 / s2)} (${M - taken2 - udp.counters.dropped.total}, ${udp.counters.dropped.total})` }));
  tx.close();
  await udp.stop();
  await ch2.stop();
}
