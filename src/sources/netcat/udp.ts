// Flume's netcatudp (NetcatUdpSource): each datagram is one event, its body the bytes up to the first newline, with
// the sender in a header (`/ip:port`, as Java prints a socket address). UDP cannot push back: while a channel is
// full datagrams wait in a bounded queue; beyond it they are dropped and counted.

import type { ChannelProcessor } from "../../core/channel-processor.ts";
import { defineType } from "../../core/component-type.ts";
import type { Source } from "../../core/source.ts";
import { key, type ConfigOf } from "../../core/keys.ts";
import type { Logger } from "../../util/log.ts";
import { SourceCounters } from "../../core/counters.ts";
import { UdpSourceServer, udpQueueKeys, udpQueueOf } from "../net/udp.ts";

export const netcatUdpKeys = {
  bind: key.string("address to listen on (Flume: every interface; sluice: loopback unless you ask)", { default: "127.0.0.1" }),
  port: key.int("UDP port (0 = any free port)", { required: true, min: 0, max: 65535 }),
  remoteAddress: key.string("name of the header to put the sender (`/ip:port`) in", { default: "REMOTE_ADDRESS" }),
  ...udpQueueKeys,
};
type Cfg = ConfigOf<typeof netcatUdpKeys>;

const NL = 0x0a;

export class NetcatUdpSource implements Source {
  readonly type = "netcatudp";
  readonly counters = new SourceCounters();
  readonly server: UdpSourceServer;

  constructor(
    readonly name: string,
    cfg: Cfg,
    processor: ChannelProcessor,
    log: Logger,
  ) {
    const header = cfg.remoteAddress;
    this.server = new UdpSourceServer({
      label: this.type,
      host: cfg.bind,
      port: cfg.port,
      ...udpQueueOf(cfg),
      processor,
      counters: this.counters,
      log,
      toEvent: (d) => {
        const nl = d.bytes.indexOf(NL);
        const address = d.address.replace(/^::ffff:/, "");
        return { headers: { [header]: `/${address}:${d.port}` }, body: nl < 0 ? d.bytes : d.bytes.subarray(0, nl) };
      },
    });
  }

  get port(): number {
    return this.server.port;
  }

  async start(): Promise<void> {
    await this.server.start();
  }

  stop(): Promise<void> {
    return this.server.stop();
  }
}

export const netcatUdpSourceType = defineType({
  kind: "source",
  names: ["netcatudp", "org.apache.flume.source.NetcatUdpSource"],
  keys: netcatUdpKeys,
  create: (cfg, ctx, deps) => new NetcatUdpSource(ctx.name, cfg, deps.processor, ctx.log),
});
