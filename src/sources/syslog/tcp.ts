// Flume's syslogtcp (SyslogTcpSource) and multiport_syslogtcp (MultiportSyslogTCPSource): syslog over TCP, RFC 5424
// and RFC 3164 messages, newline or octet-counted framing (RFC 6587) chosen per message. One implementation serves
// both; multiport adds its list of ports and a charset per port. A full channel pauses the connection (the sender
// blocks), so nothing received is dropped for lack of room.

import type { ChannelProcessor } from "../../core/channel-processor.ts";
import { defineType } from "../../core/component-type.ts";
import type { Source } from "../../core/source.ts";
import { key, type ConfigOf, type RawValue } from "../../core/keys.ts";
import { SourceCounters } from "../../core/counters.ts";
import type { Logger } from "../../util/log.ts";
import { serverTls } from "../../avro/tls.ts";
import { TcpSourceServer } from "../net/tcp.ts";
import { RateLimitedWarn } from "../net/warn.ts";
import { checkSyslogCommon, checkSyslogTls, keepFieldsOf, syslogCommonKeys, syslogConnectionDecoder, syslogTcpExtraKeys } from "./common.ts";
import { charsetChecker, checkCharset } from "../net/charset.ts";

export const syslogTcpKeys = {
  port: key.int("TCP port (0 = any free port)", { required: true, min: 0, max: 65535 }),
  ...syslogCommonKeys,
  ...syslogTcpExtraKeys,
};

export const multiportSyslogTcpKeys = {
  ports: key.list("space-separated TCP ports", { required: true }),
  ...syslogCommonKeys,
  ...syslogTcpExtraKeys,
  "charset.default": key.string("charset messages must be valid in (one that keeps ASCII as ASCII); a message that is not gets `flume.syslog.status = Invalid`", { default: "UTF-8" }),
  "charset.port": key.prefixed("`charset.port.<port>`: the charset of one port"),
  readBufferBytes: key.int("Flume's MINA read buffer; accepted and ignored", { default: 1024, min: 1 }),
  numProcessors: key.int("Flume's MINA processor threads; accepted and ignored", { default: 0, min: 0 }),
};

type TcpCfg = ConfigOf<typeof syslogTcpKeys>;
type MultiCfg = ConfigOf<typeof multiportSyslogTcpKeys>;

export class SyslogTcpSource implements Source {
  readonly counters = new SourceCounters();
  readonly server: TcpSourceServer;

  constructor(
    readonly name: string,
    readonly type: string,
    cfg: TcpCfg | MultiCfg,
    ports: number[],
    processor: ChannelProcessor,
    log: Logger,
    multiport: boolean,
    validate?: (msg: Uint8Array, port: number) => boolean,
  ) {
    const warner = new RateLimitedWarn(log);
    const parse = {
      keepFields: keepFieldsOf(cfg),
      // Flume's two parsers name these two headers differently.
      priorityHeader: multiport ? "Priority" : "priority",
      versionHeader: multiport ? "Version" : "version",
    };
    const headers = { clientIPHeader: cfg.clientIPHeader, clientHostnameHeader: cfg.clientHostnameHeader, portHeader: cfg.portHeader };
    this.server = new TcpSourceServer({
      label: type,
      host: cfg.host,
      ports,
      maxConnections: cfg.maxConnections,
      idleTimeoutMs: cfg.idleTimeout,
      batchSize: cfg.batchSize,
      processor,
      counters: this.counters,
      log,
      tls: cfg.ssl ? serverTls({ cert: cfg["ssl-cert"]!, key: cfg["ssl-key"]!, exclude: cfg["exclude-protocols"] }) : undefined,
      open: (conn) =>
        syslogConnectionDecoder(conn, {
          eventSize: cfg.eventSize,
          parse,
          headers,
          validate,
          warn: (m) => warner.warn(m),
          onInvalid: (n) => (this.counters.EventReadFail += n),
        }),
    });
  }

  /** The ports actually bound (differ from the configured ones where those were 0). */
  get ports(): number[] {
    return this.server.ports;
  }

  async start(): Promise<void> {
    await this.server.start();
  }

  stop(): Promise<void> {
    return this.server.stop();
  }
}

export const syslogTcpSourceType = defineType({
  kind: "source",
  names: ["syslogtcp", "org.apache.flume.source.SyslogTcpSource"],
  keys: syslogTcpKeys,
  check(cfg, report) {
    checkSyslogCommon(cfg, report);
    checkSyslogTls(cfg, report);
  },
  create: (cfg, ctx, deps) => new SyslogTcpSource(ctx.name, "syslogtcp", cfg, [cfg.port], deps.processor, ctx.log, false),
});

function portsOf(cfg: MultiCfg): { ports: number[]; bad?: string } {
  const ports: number[] = [];
  for (const p of cfg.ports) {
    const n = Number(p);
    if (!/^\d+$/.test(p) || n > 65535) return { ports, bad: p };
    ports.push(n);
  }
  return { ports };
}

export const multiportSyslogTcpSourceType = defineType({
  kind: "source",
  names: ["multiport_syslogtcp", "org.apache.flume.source.MultiportSyslogTCPSource"],
  keys: multiportSyslogTcpKeys,
  check(cfg, report) {
    checkSyslogCommon(cfg, report);
    checkSyslogTls(cfg, report);
    const { ports, bad } = portsOf(cfg);
    if (bad !== undefined) report("ports", `"${bad}" is not a port number (0-65535); ports are separated by spaces`);
    else if (new Set(ports).size !== ports.length) report("ports", `a port is listed twice in "${cfg.ports.join(" ")}"`);
    checkCharset(cfg["charset.default"], (m) => report("charset.default", m));
    for (const [port, v] of Object.entries(cfg["charset.port"] as Record<string, RawValue>)) {
      if (!ports.includes(Number(port))) report(`charset.port.${port}`, `port ${port} is not in ports (${cfg.ports.join(" ")})`);
      checkCharset(v.value, (m) => report(`charset.port.${port}`, m));
    }
  },
  create(cfg, ctx, deps) {
    const perPort = new Map(Object.entries(cfg["charset.port"] as Record<string, RawValue>).map(([p, v]) => [Number(p), v.value]));
    return new SyslogTcpSource(ctx.name, "multiport_syslogtcp", cfg, portsOf(cfg).ports, deps.processor, ctx.log, true, charsetChecker(cfg["charset.default"], perPort));
  },
});
