// Flume's netcat source (NetcatSource): every line received on a TCP connection is one event, answered `OK` once it
// is committed (ack-every-event). A line longer than max-line-length (newline included, as in Flume) is answered
// `FAILED: Event exceeds the maximum length (N chars, including newline)` and the connection is closed. A full
// channel pauses the connection — Flume answers FAILED and drops the line; sluice makes the sender wait instead.

import type { ChannelProcessor } from "../../core/channel-processor.ts";
import { defineType } from "../../core/component-type.ts";
import { emptyHeaders, type Event } from "../../core/event.ts";
import type { Source } from "../../core/source.ts";
import { key, type ConfigOf } from "../../core/keys.ts";
import { SourceCounters } from "../../core/counters.ts";
import type { Logger } from "../../util/log.ts";
import { LineSplitter } from "../../util/lines.ts";
import { checkCharset } from "../net/charset.ts";
import { TcpSourceServer, tcpConnectionKeys, type ConnectionDecoder, type TcpConnection } from "../net/tcp.ts";

export const netcatKeys = {
  bind: key.string("address to listen on (Flume: required; sluice: loopback unless you ask)", { default: "127.0.0.1" }),
  port: key.int("TCP port (0 = any free port)", { required: true, min: 0, max: 65535 }),
  "ack-every-event": key.bool("answer `OK` for every line once it is committed", { default: true }),
  "max-line-length": key.int("longest line in bytes, newline included; longer is answered FAILED and the connection closed", { default: 512, min: 2 }),
  encoding: key.string("Flume's character set of the lines; sluice keeps the bytes as received (UTF-8 and ASCII-compatible charsets)", { default: "utf-8" }),
  batchSize: key.int("sluice: lines per channel transaction (at most)", { default: 100, min: 1 }),
  ...tcpConnectionKeys,
};
type Cfg = ConfigOf<typeof netcatKeys>;

const OK = "OK\n";

function netcatDecoder(conn: TcpConnection, cfg: Cfg, counters: SourceCounters): ConnectionDecoder {
  // The newline counts against Flume's max-line-length, so a line holds one byte less.
  const max = cfg["max-line-length"] - 1;
  const splitter = new LineSplitter({ maxLineLength: max, overlong: "truncate" });
  let failed = false;
  const tooLong = () => {
    failed = true;
    counters.EventReadFail++;
    conn.close(`sent a line longer than max-line-length (${cfg["max-line-length"]})`, `FAILED: Event exceeds the maximum length (${cfg["max-line-length"]} chars, including newline)\n`);
  };
  return {
    data(chunk) {
      if (failed) return [];
      const events: Event[] = [];
      splitter.push(chunk, (line, _s, _e, truncated) => {
        if (failed) return;
        if (truncated) return tooLong();
        events.push({ headers: emptyHeaders(), body: line });
      });
      // Flume gives up as soon as its buffer is full without a newline: no waiting for an endless line.
      if (!failed && splitter.pendingBytes > max) tooLong();
      // Lines before the long one are still stored (and answered) as in Flume.
      return events;
    },
    end() {
      // A last line without its newline: Flume never sees it as a line; neither does sluice (nothing answered it).
      return [];
    },
    committed(n) {
      if (cfg["ack-every-event"]) conn.write(OK.repeat(n));
    },
  };
}

export class NetcatSource implements Source {
  readonly type = "netcat";
  readonly counters = new SourceCounters();
  readonly server: TcpSourceServer;

  constructor(
    readonly name: string,
    private readonly cfg: Cfg,
    processor: ChannelProcessor,
    log: Logger,
  ) {
    this.server = new TcpSourceServer({
      label: this.type,
      host: cfg.bind,
      ports: [cfg.port],
      maxConnections: cfg.maxConnections,
      idleTimeoutMs: cfg.idleTimeout,
      batchSize: cfg.batchSize,
      processor,
      counters: this.counters,
      log,
      open: (conn) => netcatDecoder(conn, cfg, this.counters),
    });
  }

  get port(): number {
    return this.server.ports[0] ?? this.cfg.port;
  }

  async start(): Promise<void> {
    await this.server.start();
  }

  stop(): Promise<void> {
    return this.server.stop();
  }
}

export const netcatSourceType = defineType({
  kind: "source",
  names: ["netcat", "org.apache.flume.source.NetcatSource"],
  keys: netcatKeys,
  check: (cfg, report) => checkCharset(cfg.encoding, (m) => report("encoding", m)),
  create: (cfg, ctx, deps) => new NetcatSource(ctx.name, cfg, deps.processor, ctx.log),
});
