// In-process checks of the operations layer's small parts: Flume's -D spelling, Prometheus names, the periodic
// summary while a sink is down, and the health rules.

import { describe, expect, test } from "bun:test";
import { readFile, writeFile } from "node:fs/promises";
import { join } from "node:path";
import { splitDefines, FLUME_DEFAULT_MONITORING_PORT } from "../../src/cli/defines.ts";
import { metricName } from "../../src/metrics/prometheus.ts";
import { Supervisor } from "../../src/cli/supervisor.ts";
import { loadAgentConfig } from "../../src/config/load.ts";
import type { Logger } from "../../src/util/log.ts";
import { health } from "../../src/metrics/health.ts";
import { Backlog } from "../../src/cli/progress.ts";
import { tempDir, waitFor, writeConfig } from "../helpers/index.ts";

describe("Flume's -D properties", () => {
  test("-Dflume.monitoring.type=http -Dflume.monitoring.port=N become the metrics port, other options pass through", () => {
    const { rest, defines } = splitDefines(["-f", "x.conf", "-Dflume.monitoring.type=http", "-D", "flume.monitoring.port=34545", "-n", "a1"]);
    expect(rest).toEqual(["-f", "x.conf", "-n", "a1"]);
    expect(defines.monitoring).toBe("http");
    expect(defines.monitoringPort).toBe(34545);
  });

  test("the type alone uses Flume's default port; the port alone is ignored with a warning, as in Flume", () => {
    expect(splitDefines(["-Dflume.monitoring.type=HTTP"]).defines.monitoringPort).toBe(FLUME_DEFAULT_MONITORING_PORT);
    const d = splitDefines(["-Dflume.monitoring.port=1234"]).defines;
    expect(d.monitoringPort).toBeUndefined();
    expect(d.warnings.join()).toContain("ignored");
  });

  test("ganglia monitoring and malformed properties are usage errors naming the property", () => {
    expect(() => splitDefines(["-Dflume.monitoring.type=ganglia"])).toThrow("only http");
    expect(() => splitDefines(["-Dflume.monitoring.port=abc", "-Dflume.monitoring.type=http"])).toThrow("flume.monitoring.port=abc");
    expect(() => splitDefines(["-Dnovalue"])).toThrow("key=value");
  });

  test("-Dflume.root.logger=DEBUG,console sets the log level; unknown properties are warnings", () => {
    const d = splitDefines(["-Dflume.root.logger=DEBUG,console", "-Dfoo.bar=1"]).defines;
    expect(d.logLevel).toBe("debug");
    expect(d.warnings.join()).toContain("foo.bar");
  });
});

describe("Prometheus names", () => {
  test("Flume counters become _total counters, sizes and gauges stay gauges, times are seconds", () => {
    expect(metricName("SOURCE", "EventReceivedCount")).toEqual({ name: "sluice_source_event_received_total", counter: true, scale: 1 });
    expect(metricName("SOURCE", "ChannelWriteFail").name).toBe("sluice_source_channel_write_fail_total");
    expect(metricName("CHANNEL", "ChannelSize")).toEqual({ name: "sluice_channel_size", counter: false, scale: 1 });
    expect(metricName("CHANNEL", "ChannelFillPercentage").name).toBe("sluice_channel_fill_percentage");
    expect(metricName("CHANNEL", "OldestEventAgeMs").name).toBe("sluice_channel_oldest_event_age_ms");
    expect(metricName("SINK", "StartTime")).toEqual({ name: "sluice_sink_start_time_seconds", counter: false, scale: 0.001 });
    expect(metricName("SOURCE", "OpenConnectionCount").counter).toBe(false);
    expect(metricName("SOURCE", "BytesBehind").name).toBe("sluice_source_bytes_behind");
  });
});

describe("cron-mode progress", () => {
  test("the backlog is what was behind plus every growth; done is the backlog minus what is behind now", () => {
    const b = new Backlog();
    b.update(0, 0); // files not scanned yet
    b.update(1000, 0);
    expect([b.total, b.done]).toEqual([1000, 0]);
    b.update(400, 600);
    expect([b.total, b.done]).toEqual([1000, 600]);
    b.update(900, 700); // a file grew by 600 while 100 more became safe: seen as +500
    expect([b.total, b.done]).toEqual([1500, 600]);
    b.update(0, 1600); // more was read than the samples saw: the backlog is at least what was read
    expect([b.total, b.done]).toEqual([1600, 1600]);
  });
});

describe("supervisor", () => {
  test("while a sink is down it logs a periodic summary of what waits and why; /health says why", async () => {
    const dir = await tempDir();
    const blocked = join(dir, "blocked");
    await writeFile(blocked, "in the way\n");
    const conf = await writeConfig(dir, [
      "a1.sources = r1",
      "a1.channels = c1",
      "a1.sinks = k1",
      "a1.sources.r1.type = seq",
      "a1.sources.r1.totalEvents = 50",
      "a1.sources.r1.channels = c1",
      "a1.channels.c1.type = memory",
      "a1.sinks.k1.type = file_roll",
      "a1.sinks.k1.channel = c1",
      `a1.sinks.k1.sink.directory = ${blocked}`,
    ]);
    // The supervisor's own lines, captured without touching the process-wide log settings other test files use.
    const lines: string[] = [];
    const log: Logger = { debug: () => {}, info: (m) => lines.push(m), warn: (m) => lines.push(m), error: (m) => lines.push(m), child: () => log };
    const spec = await loadAgentConfig(conf);
    const sup = new Supervisor(spec, await readFile(conf, "utf8"), { file: conf, stateDir: join(dir, "state"), drainMs: 100, log, summaryIntervalMs: 300, onFatal: () => {} });
    try {
      await sup.start();
      await waitFor("two summaries", () => lines.filter((l) => l.includes("still down")).length >= 2, 10_000);
      const summary = lines.find((l) => l.includes("still down"))!;
      expect(summary).toContain("sink k1");
      expect(summary).toMatch(/\d+ in c1 waiting/);
      const h = health(sup.current(), sup.state());
      expect(h.ok).toBe(false);
      expect(h.reasons[0]).toContain("sink k1 is failing");
    } finally {
      await sup.stop(100);
    }
    expect(health(sup.current(), sup.state())).toMatchObject({ ok: false, reasons: ["agent is stopped"] });
  });
});

describe("did-you-mean hints", () => {
  test("names differing only in their number are other components, never suggested; typos are", async () => {
    const { closest } = await import("../../src/core/keys.ts");
    expect(closest("k3", ["k1", "k2"])).toBeUndefined();
    expect(closest("sink10", ["sink1"])).toBeUndefined();
    expect(closest("ri", ["r1"])).toBe("r1");
    expect(closest("chanel1", ["channel1"])).toBe("channel1");
  });
});

describe("the oldest event's age per channel", () => {
  test("is the time since the first sample whose puts exceed today's takes; 0 when empty; pruned as takes go on", async () => {
    const { ChannelAges } = await import("../../src/metrics/ages.ts");
    const counters = { EventPutSuccessCount: 0, EventTakeSuccessCount: 0 };
    let size = 0;
    const agent = { channels: new Map([["c1", { counters, size: () => size }]]) } as never;
    const ages = new ChannelAges();
    ages.sample(agent, 1000);
    counters.EventPutSuccessCount = 100; // 100 events put by t=2000
    size = 100;
    ages.sample(agent, 2000);
    counters.EventPutSuccessCount = 300;
    size = 300;
    ages.sample(agent, 3000);
    expect(ages.oldestAgeMs(agent, "c1", 5000)).toBe(3000); // the first 100 were put by 2000
    counters.EventTakeSuccessCount = 150; // the oldest now is the 151st, put between 2000 and 3000
    size = 150;
    ages.sample(agent, 4000);
    expect(ages.oldestAgeMs(agent, "c1", 5000)).toBe(2000);
    counters.EventTakeSuccessCount = 300;
    size = 0;
    expect(ages.oldestAgeMs(agent, "c1", 6000)).toBe(0);
  });
});
