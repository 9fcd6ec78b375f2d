// Flume types that need a server sluice does not run beside (HDFS, Kafka, HBase, Elasticsearch…): the message names
// what works today — forwarding over avro to a Flume collector tier — by short name and by class name.

import { describe, expect, test } from "bun:test";
import { lookupType } from "../../src/registry.ts";

describe("unsupported server types", () => {
  for (const [kind, name, server] of [
    ["sink", "hdfs", "HDFS"],
    ["sink", "org.apache.flume.sink.hdfs.HDFSEventSink", "HDFS"],
    ["sink", "kafka", "Kafka"],
    ["sink", "hbase2", "HBase"],
    ["sink", "asynchbase", "HBase"],
    ["sink", "org.apache.flume.sink.elasticsearch.ElasticSearchSink", "Elasticsearch"],
    ["sink", "hive", "Hive"],
  ] as const) {
    test(`sink ${name} points to an avro sink and a Flume collector that writes to ${server}`, () => {
      const r = lookupType(kind, name);
      expect(r.ok).toBe(false);
      if (r.ok) return;
      expect(r.message).toContain(`it writes to ${server}. What works today: forward to a Flume collector tier`);
      expect(r.message).toContain("an avro sink here (type = avro");
    });
  }

  test("a kafka or jms source points to a Flume agent forwarding to an avro source here", () => {
    for (const name of ["kafka", "org.apache.flume.source.kafka.KafkaSource", "jms"]) {
      const r = lookupType("source", name);
      expect(!r.ok && r.message).toContain("What works today: let a Flume agent read");
      expect(!r.ok && r.message).toContain("forward to an avro source here (type = avro)");
    }
  });

  test("a kafka channel points to the file channel", () => {
    const r = lookupType("channel", "kafka");
    expect(!r.ok && r.message).toContain("Use a file channel");
  });

  test("the edge sources are types now, by short and by class name", () => {
    for (const [name, canonical] of [
      ["EXEC", "exec"],
      ["org.apache.flume.source.NetcatSource", "netcat"],
      ["netcatudp", "netcatudp"],
      ["org.apache.flume.source.SyslogTcpSource", "syslogtcp"],
      ["org.apache.flume.source.SyslogUDPSource", "syslogudp"],
      ["org.apache.flume.source.MultiportSyslogTCPSource", "multiport_syslogtcp"],
    ]) {
      const r = lookupType("source", name!);
      expect(r.ok && r.canonical).toBe(canonical!);
    }
  });
});
