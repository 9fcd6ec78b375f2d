// The edge sources in a real agent, under Bun and under Deno: syslog (logger), netcat (socat) and exec feed a file_roll
// sink, their counters show in /metrics under Flume's names, and `sluice validate` names each bad key with file:line.

import { describe, expect, test } from "bun:test";
import dgram from "node:dgram";
import { join } from "node:path";
import { BUN, DENO, MAIN, freePort, readAllLines, runSluice, spawnSluice, tempDir, waitFor, writeConfig } from "../helpers/index.ts";
import { run } from "../sources/net-rig.ts";

const RUNTIMES: Array<[string, string[]]> = [
  ["Bun", [BUN, MAIN]],
  ["Deno", [DENO, "run", "-A", MAIN]],
];

describe("edge sources in a running agent", () => {
  test.each(RUNTIMES)("under %s, logger, socat and a command deliver through one agent, and /metrics counts them per source", async (_name, bin) => {
    const dir = await tempDir();
    const out = join(dir, "out");
    const [tcp, udp, nc, metrics] = [await freePort(), await freePort(), await freePort(), await freePort()];
    const conf = await writeConfig(dir, [
      "a1.sources = st su nc ex",
      "a1.channels = c1",
      "a1.sinks = k1",
      "a1.sources.st.type = syslogtcp",
      `a1.sources.st.port = ${tcp}`,
      "a1.sources.su.type = syslogudp",
      `a1.sources.su.port = ${udp}`,
      "a1.sources.nc.type = netcat",
      `a1.sources.nc.port = ${nc}`,
      "a1.sources.ex.type = exec",
      "a1.sources.ex.command = echo from-exec",
      "a1.sources.ex.batchTimeout = 100",
      "a1.sources.st.channels = c1",
      "a1.sources.su.channels = c1",
      "a1.sources.nc.channels = c1",
      "a1.sources.ex.channels = c1",
      "a1.channels.c1.type = memory",
      "a1.sinks.k1.type = file_roll",
      `a1.sinks.k1.sink.directory = ${out}`,
      "a1.sinks.k1.sink.batchSize = 1",
      "a1.sinks.k1.channel = c1",
    ]);
    const agent = spawnSluice(["agent", "-f", conf, "-n", "a1", "--state-dir", join(dir, "state"), "--metrics-port", String(metrics)], { bin });
    await waitFor("the agent listening", () => agent.stderr().includes("agent a1 started"), 15_000);
    expect((await run(["logger", "-n", "127.0.0.1", "-P", String(tcp), "--tcp", "--octet-count", "--rfc5424", "-t", "t", "from-tcp"])).code).toBe(0);
    expect((await run(["logger", "-n", "127.0.0.1", "-P", String(udp), "--udp", "--rfc3164", "-t", "t", "from-udp"])).code).toBe(0);
    expect((await run(["socat", "-t", "2", "-", `TCP:127.0.0.1:${nc}`], "from-netcat\n")).stdout).toBe("OK\n");
    const lines = await waitFor("four lines in the sink", async () => {
      const l = await readAllLines(out);
      return l.length >= 4 ? l : undefined;
    }, 15_000);
    expect(lines).toHaveLength(4);
    expect(lines).toEqual(expect.arrayContaining([expect.stringMatching(/^t .*from-tcp$/), "t: from-udp", "from-exec", "from-netcat"]));
    const m = (await (await fetch(`http://127.0.0.1:${metrics}/metrics`)).json()) as Record<string, Record<string, string>>;
    for (const s of ["st", "su", "nc", "ex"]) expect(m[`SOURCE.${s}`]).toMatchObject({ EventAcceptedCount: "1", Type: "SOURCE" });
    expect(m["SOURCE.su"]!.EventsDropped).toBe("0");
    agent.kill("SIGTERM");
    expect(await agent.exited).toBe(0);
  }, 60_000);

  test("datagrams a full channel cannot take show in /metrics as EventsDropped with their reason", async () => {
    const dir = await tempDir();
    const [udp, dead, metrics] = [await freePort(), await freePort(), await freePort()];
    const conf = await writeConfig(dir, [
      "a1.sources = su",
      "a1.channels = c1",
      "a1.sinks = k1",
      "a1.sources.su.type = syslogudp",
      `a1.sources.su.port = ${udp}`,
      "a1.sources.su.maxQueued = 20",
      "a1.sources.su.batchSize = 10",
      "a1.sources.su.channels = c1",
      "a1.channels.c1.type = memory",
      "a1.channels.c1.capacity = 10",
      "a1.channels.c1.transactionCapacity = 10",
      // A sink that cannot deliver (nothing listens there): the channel stays full.
      "a1.sinks.k1.type = avro",
      "a1.sinks.k1.hostname = 127.0.0.1",
      `a1.sinks.k1.port = ${dead}`,
      // A take may not exceed the channel's transactionCapacity (refused at load otherwise).
      "a1.sinks.k1.batch-size = 10",
      "a1.sinks.k1.channel = c1",
    ]);
    const agent = spawnSluice(["agent", "-f", conf, "-n", "a1", "--state-dir", join(dir, "state"), "--metrics-port", String(metrics)]);
    await waitFor("the agent listening", () => agent.stderr().includes("agent a1 started"), 15_000);
    const sock = dgram.createSocket("udp4");
    for (let i = 0; i < 200; i++) sock.send(`<13>1 - - a - - - d${i}`, udp, "127.0.0.1");
    const m = await waitFor("drops in /metrics", async () => {
      const j = (await (await fetch(`http://127.0.0.1:${metrics}/metrics`)).json()) as Record<string, Record<string, string>>;
      return Number(j["SOURCE.su"]?.EventsDropped ?? 0) > 0 ? j["SOURCE.su"] : undefined;
    }, 15_000);
    sock.close();
    expect(Number(m["EventsDropped.channel full (maxQueued)"])).toBe(Number(m.EventsDropped));
    const prom = await (await fetch(`http://127.0.0.1:${metrics}/metrics/prometheus`)).text();
    expect(prom).toMatch(/sluice_source_events_dropped_by_reason_total\{[^}]*reason="channel full \(maxQueued\)"[^}]*\} [1-9]/);
    expect(agent.stderr()).toMatch(/dropped a datagram from 127\.0\.0\.1:\d+: channel full: maxQueued \(20\)/);
    agent.kill("SIGTERM");
    await agent.exited;
  }, 60_000);

  test("validate names each bad edge-source key with file and line", async () => {
    const dir = await tempDir();
    const conf = await writeConfig(dir, [
      "a1.sources = st mp ex",
      "a1.channels = c1",
      "a1.sinks = k1",
      "a1.sources.st.type = syslogtcp",
      "a1.sources.st.port = 5140",
      "a1.sources.st.keepFields = hostname colour",
      "a1.sources.st.ssl = true",
      "a1.sources.st.format.regex = (.*)",
      "a1.sources.mp.type = multiport_syslogtcp",
      "a1.sources.mp.ports = 5141 x",
      "a1.sources.mp.charset.default = UTF-16",
      "a1.sources.ex.type = exec",
      "a1.sources.ex.command = tail -F /var/log/x",
      "a1.sources.ex.charset = no-such-charset",
      "a1.sources.st.channels = c1",
      "a1.sources.mp.channels = c1",
      "a1.sources.ex.channels = c1",
      "a1.channels.c1.type = memory",
      "a1.sinks.k1.type = null",
      "a1.sinks.k1.channel = c1",
    ]);
    const r = await runSluice(["validate", "-f", conf, "-n", "a1"]);
    expect(r.code).not.toBe(0);
    const text = r.stdout + r.stderr;
    expect(text).toContain(`${conf}:6: a1.sources.st.keepFields: unknown field "colour"`);
    expect(text).toContain(`a1.sources.st.ssl-cert: required when ssl = true`);
    expect(text).toContain(`${conf}:8: a1.sources.st.format.regex: Flume's custom syslog formats`);
    expect(text).toContain(`${conf}:10: a1.sources.mp.ports: "x" is not a port number`);
    expect(text).toContain(`${conf}:11: a1.sources.mp.charset.default: charset "UTF-16" does not keep ASCII as ASCII`);
    expect(text).toContain(`${conf}:14: a1.sources.ex.charset: unknown charset "no-such-charset"`);
  }, 30_000);
});
