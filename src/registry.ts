// The one place that knows component type names: Flume's short names (case-insensitive) and class names map to
// each component's type definition. Add a component by adding its type to the list of its kind below.

import type { ComponentType, Kind } from "./core/component-type.ts";
import { memoryChannelType } from "./channels/memory.ts";
import { fileChannelType } from "./channels/file/index.ts";
import { spillableChannelType } from "./channels/spillable.ts";
import { seqSourceType } from "./sources/seq.ts";
import { taildirSourceType } from "./sources/taildir/index.ts";
import { spoolDirSourceType } from "./sources/spooldir/index.ts";
import { fileRollSinkType } from "./sinks/file-roll.ts";
import { loggerSinkType } from "./sinks/logger.ts";
import { nullSinkType } from "./sinks/null.ts";
import { avroSinkType } from "./sinks/avro.ts";
import { avroSourceType } from "./sources/avro.ts";
import { replicatingSelectorType } from "./selectors/replicating.ts";
import { defaultSinkProcessorType } from "./sinkgroups/default.ts";
import { httpSourceType } from "./sources/http/index.ts";
import { httpSinkType } from "./sinks/http/index.ts";
import { failoverSinkProcessorType } from "./sinkgroups/failover.ts";
import { loadBalanceSinkProcessorType } from "./sinkgroups/load-balance.ts";
import { timestampInterceptorType } from "./interceptors/timestamp.ts";
import { hostInterceptorType } from "./interceptors/host.ts";
import { staticInterceptorType } from "./interceptors/static.ts";
import { removeHeaderInterceptorType } from "./interceptors/remove-header.ts";
import { uuidInterceptorType } from "./interceptors/uuid.ts";
import { regexFilterInterceptorType } from "./interceptors/regex-filter.ts";
import { regexExtractorInterceptorType } from "./interceptors/regex-extractor.ts";
import { searchReplaceInterceptorType } from "./interceptors/search-replace.ts";
import { multiplexingSelectorType } from "./selectors/multiplexing.ts";
import { execSourceType } from "./sources/exec/index.ts";
import { netcatSourceType } from "./sources/netcat/index.ts";
import { netcatUdpSourceType } from "./sources/netcat/udp.ts";
import { multiportSyslogTcpSourceType, syslogTcpSourceType } from "./sources/syslog/tcp.ts";
import { syslogUdpSourceType } from "./sources/syslog/udp.ts";

// deno-lint-ignore no-explicit-any
type AnyType = ComponentType<any, any>;

const TYPES: Record<Kind, AnyType[]> = {
  channel: [memoryChannelType, fileChannelType, spillableChannelType],
  source: [
    seqSourceType, taildirSourceType, spoolDirSourceType, avroSourceType, httpSourceType,
    execSourceType, netcatSourceType, netcatUdpSourceType, syslogTcpSourceType, syslogUdpSourceType, multiportSyslogTcpSourceType,
  ],
  sink: [loggerSinkType, nullSinkType, fileRollSinkType, avroSinkType, httpSinkType],
  sinkprocessor: [defaultSinkProcessorType, failoverSinkProcessorType, loadBalanceSinkProcessorType],
  interceptor: [
    timestampInterceptorType,
    hostInterceptorType,
    staticInterceptorType,
    removeHeaderInterceptorType,
    uuidInterceptorType,
    regexFilterInterceptorType,
    regexExtractorInterceptorType,
    searchReplaceInterceptorType,
  ],
  selector: [replicatingSelectorType, multiplexingSelectorType],
};

/** Flume types sluice does not implement: named as unsupported rather than unknown. */
const UNSUPPORTED: Record<Kind, string[]> = {
  source: ["jms", "thrift", "kafka", "scribe", "twitter", "irc", "legacy"],
  channel: ["jdbc", "kafka", "pseudotxnmemory"],
  sink: ["hdfs", "hive", "hbase", "hbase2", "asynchbase", "elasticsearch", "kafka", "thrift", "irc", "morphline_solr", "kite", "dataset", "http_file"],
  sinkprocessor: [],
  interceptor: ["morphline"],
  selector: [],
};

/** Flume types that talk to a server sluice does not speak (name → the server): the message says what works today. */
const SERVER_TYPES: Record<string, string> = {
  hdfs: "HDFS", hive: "Hive", hbase: "HBase", hbase2: "HBase", asynchbase: "HBase", elasticsearch: "Elasticsearch",
  kafka: "Kafka", jms: "a JMS broker", morphline_solr: "Solr", kite: "Kite/Hadoop", dataset: "Kite/Hadoop",
};

function serverHint(kind: Kind, short: string, cls: string): string {
  // The longest name first: hbase2 before hbase.
  const hit = Object.keys(SERVER_TYPES)
    .sort((a, b) => b.length - a.length)
    .find((u) => u === short || cls.startsWith(u.replace(/_/g, "")));
  if (!hit) return "";
  const server = SERVER_TYPES[hit]!;
  if (kind === "sink") {
    return `; it writes to ${server}. What works today: forward to a Flume collector tier that keeps its ${hit} sink — an avro sink here (type = avro, hostname and port of the collector's avro source) speaks Flume's Avro RPC exactly, plain, deflate and ssl`;
  }
  if (kind === "source") {
    return `; it reads from ${server}. What works today: let a Flume agent read ${server} and forward to an avro source here (type = avro), which speaks Flume's Avro RPC exactly, plain, deflate and ssl`;
  }
  if (kind === "channel") return `; it keeps events in ${server}. Use a file channel (durable on local disk) or forward over avro to a Flume tier that has it`;
  return "";
}

const byName = new Map<string, AnyType>();
for (const [kind, list] of Object.entries(TYPES)) {
  for (const t of list) {
    for (const n of t.names) byName.set(`${kind}:${n.toLowerCase()}`, t);
  }
}

export type Lookup = { ok: true; type: AnyType; canonical: string } | { ok: false; message: string };

/** Finds a type of `kind` by a Flume short name (any case) or class name. */
export function lookupType(kind: Kind, name: string): Lookup {
  const t = byName.get(`${kind}:${name.trim().toLowerCase()}`);
  if (t) return { ok: true, type: t, canonical: t.names[0]! };
  const short = name.trim().toLowerCase();
  const cls = short.split(".").pop() ?? short;
  // A class outside Flume's packages (com.cloudera.flume.source.TwitterSource, a company's own sink) is a plugin.
  if (short.includes(".") && !short.startsWith("org.apache.flume.")) {
    return { ok: false, message: `${kind} type "${name}" is a third-party class, not part of Apache Flume; sluice cannot load Java classes${serverHint(kind, short, cls)} (supported: ${knownNames(kind)})` };
  }
  if (UNSUPPORTED[kind].some((u) => u === short || cls.startsWith(u.replace(/_/g, "")))) {
    return { ok: false, message: `${kind} type "${name}" is a Flume type that sluice does not implement${serverHint(kind, short, cls)} (supported: ${knownNames(kind)})` };
  }
  return { ok: false, message: `unknown ${kind} type "${name}" (known: ${knownNames(kind)})` };
}

export function knownNames(kind: Kind): string {
  return TYPES[kind].map((t) => t.names[0]).join(", ");
}

export function allTypes(kind: Kind): readonly AnyType[] {
  return TYPES[kind];
}
