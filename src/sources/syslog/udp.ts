// Flume's syslogudp (SyslogUDPSource): one RFC 5424 or RFC 3164 message per datagram, Flume's headers. UDP cannot
// push back: while a channel is full datagrams wait in a bounded queue, beyond it they are dropped and counted.

import type { ChannelProcessor } from "../../core/channel-processor.ts";
import { defineType } from "../../core/component-type.ts";
import type { Source } from "../../core/source.ts";
import { key, type ConfigOf } from "../../core/keys.ts";
import type { Logger } from "../../util/log.ts";
import { SourceCounters } from "../../core/counters.ts";
import { hostnameOf } from "../net/hostname.ts";
import { UdpSourceServer, udpQueueKeys, udpQueueOf, type Datagram } from "../net/udp.ts";
import { addPeerHeaders, BadInput, checkSyslogCommon, keepFieldsOf, syslogCommonKeys } from "./common.ts";
import { RateLimitedWarn } from "../net/warn.ts";
import { parseSyslog, type ParseOptions } from "./parse.ts";

export const syslogUdpKeys = {
  port: key.int("UDP port (0 = any free port)", { required: true, min: 0, max: 65535 }),
  ...syslogCommonKeys,
  portHeader: key.string("sluice: header to put the port the message arrived on in"),
  ...udpQueueKeys,
};
type Cfg = ConfigOf<typeof syslogUdpKeys>;

const NL = 0x0a;
/** Sender names kept for clientHostnameHeader (hostnameOf keeps its own bounded cache behind this one). */
const MAX_NAMES = 1024;
const CR = 0x0d;

export class SyslogUdpSource implements Source {
  readonly type = "syslogudp";
  readonly counters = new SourceCounters();
  readonly server: UdpSourceServer;
  private readonly names = new Map<string, string>();
  private readonly bad = new BadInput();
  private readonly warner: RateLimitedWarn;

  constructor(
    readonly name: string,
    private readonly cfg: Cfg,
    processor: ChannelProcessor,
    log: Logger,
  ) {
    this.warner = new RateLimitedWarn(log);
    const parse: ParseOptions = { keepFields: keepFieldsOf(cfg), priorityHeader: "priority", versionHeader: "version" };
    this.server = new UdpSourceServer({
      label: this.type,
      host: cfg.host,
      port: cfg.port,
      ...udpQueueOf(cfg),
      processor,
      counters: this.counters,
      log,
      toEvent: (d) => this.toEvent(d, parse),
    });
  }

  get port(): number {
    return this.server.port;
  }

  private toEvent(d: Datagram, parse: ParseOptions) {
    let msg = d.bytes;
    // A sender's trailing newline is framing (logger and rsyslog send none; some scripts do).
    if (msg.length > 0 && msg[msg.length - 1] === NL) msg = msg.subarray(0, msg.length - 1);
    if (msg.length > 0 && msg[msg.length - 1] === CR) msg = msg.subarray(0, msg.length - 1);
    const incomplete = msg.length > this.cfg.eventSize;
    // Flume keeps the first eventSize bytes of a longer datagram (Incomplete) and drops the rest: a datagram
    // cannot be continued.
    if (incomplete) msg = msg.subarray(0, this.cfg.eventSize);
    const e = parseSyslog(msg, incomplete, parse);
    let host: string | undefined;
    if (this.cfg.clientHostnameHeader) {
      host = this.names.get(d.address);
      // The lookup runs in the background; until it answers, the address stands in for the name.
      if (host === undefined) void hostnameOf(d.address).then((h) => this.names.size < MAX_NAMES && this.names.set(d.address, h));
    }
    addPeerHeaders([e], this.cfg, d.address.replace(/^::ffff:/, ""), host, this.server.port);
    this.bad.see(e);
    if (this.bad.invalid > 0) this.counters.EventReadFail++;
    const what = this.bad.take(this.cfg.eventSize);
    if (what) this.warner.warn(`${d.address}:${d.port} sent ${what}`);
    return e;
  }

  async start(): Promise<void> {
    await this.server.start();
  }

  stop(): Promise<void> {
    return this.server.stop();
  }
}

export const syslogUdpSourceType = defineType({
  kind: "source",
  names: ["syslogudp", "org.apache.flume.source.SyslogUDPSource"],
  keys: syslogUdpKeys,
  check: (cfg, report) => checkSyslogCommon(cfg, report),
  create: (cfg, ctx, deps) => new SyslogUdpSource(ctx.name, cfg, deps.processor, ctx.log),
});
