// What the three syslog sources share: their common keys (Flume's names), the checks on them, and the decoder that
// turns a connection's or a datagram's bytes into events with Flume's syslog headers.

import { key, type ConfigOf, type RawValue } from "../../core/keys.ts";
import type { Event } from "../../core/event.ts";
import { checkExcludedProtocols } from "../../avro/tls.ts";
import { hostnameOf } from "../net/hostname.ts";
import { tcpConnectionKeys, type ConnectionDecoder, type TcpConnection } from "../net/tcp.ts";
import { SyslogFramer } from "./framing.ts";
import { parseKeepFields, parseSyslog, STATUS_HEADER, type KeepFields, type ParseOptions } from "./parse.ts";

/** Flume's SyslogUtils.DEFAULT_SIZE and MIN_SIZE. */
export const DEFAULT_EVENT_SIZE = 2500;
export const MIN_EVENT_SIZE = 10;

export const syslogCommonKeys = {
  host: key.string("address to listen on (Flume: every interface; sluice: loopback unless you ask)", { default: "127.0.0.1", aliases: ["bind"] }),
  eventSize: key.int("largest message in bytes; a longer one is cut into pieces, the first flagged `flume.syslog.status = Incomplete`", { default: DEFAULT_EVENT_SIZE, min: MIN_EVENT_SIZE }),
  keepFields: key.string("header fields kept in the body: `none`, `all` (the message as received), or any of `priority version timestamp hostname`", { default: "none" }),
  clientIPHeader: key.string("header to put the sender's IP address in"),
  clientHostnameHeader: key.string("header to put the sender's host name in (a reverse lookup, at most 1 s, cached)"),
  format: key.prefixed("Flume's custom `format.regex`/`format.search`/`format.replace`/`format.dateFormat`; not supported by sluice (a config error)"),
};

export const syslogTcpExtraKeys = {
  ssl: key.bool("serve TLS (RFC 5425) with ssl-cert and ssl-key", { default: false }),
  "ssl-cert": key.string("sluice: PEM file of the server certificate chain (Flume: keystore)"),
  "ssl-key": key.string("sluice: PEM file of the private key (Flume: keystore)"),
  "exclude-protocols": key.list("TLS versions not to accept, space-separated", { default: ["SSLv3"] }),
  portHeader: key.string("header to put the port the message arrived on in"),
  batchSize: key.int("events per channel transaction", { default: 100, min: 1 }),
  ...tcpConnectionKeys,
};

type Common = ConfigOf<typeof syslogCommonKeys>;

export function checkSyslogCommon(cfg: Common, report: (key: string, message: string) => void): void {
  const k = parseKeepFields(cfg.keepFields);
  if (typeof k === "string") report("keepFields", k);
  const fmt = Object.keys(cfg.format as Record<string, RawValue>);
  if (fmt.length > 0) report(`format.${fmt[0]}`, "Flume's custom syslog formats (format.*) are not supported by sluice; it parses RFC 5424 and RFC 3164");
}

/** TLS keys of the TCP sources: PEM files as the avro source takes them. */
export function checkSyslogTls(cfg: ConfigOf<typeof syslogTcpExtraKeys>, report: (key: string, message: string) => void): void {
  if (!cfg.ssl) return;
  if (!cfg["ssl-cert"]) report("ssl-cert", "required when ssl = true (a PEM certificate file; Flume's keystore is a Java key store sluice does not read)");
  if (!cfg["ssl-key"]) report("ssl-key", "required when ssl = true (a PEM private key file)");
  checkExcludedProtocols(cfg["exclude-protocols"], report);
}

export function keepFieldsOf(cfg: Common): KeepFields {
  const k = parseKeepFields(cfg.keepFields);
  return typeof k === "string" ? { all: false, priority: false, version: false, timestamp: false, hostname: false } : k;
}

/** Headers of the peer (and port) that every event of a connection or datagram gets. */
export interface PeerHeaders {
  clientIPHeader?: string;
  clientHostnameHeader?: string;
  portHeader?: string;
}

/** Adds the peer headers to events just parsed (their header maps are their own). */
export function addPeerHeaders(events: Event[], h: PeerHeaders, ip: string, hostname: string | undefined, port: number): void {
  for (const e of events) {
    if (h.clientIPHeader) e.headers[h.clientIPHeader] = ip;
    if (h.clientHostnameHeader) e.headers[h.clientHostnameHeader] = hostname ?? ip;
    if (h.portHeader) e.headers[h.portHeader] = String(port);
  }
}

/** Counts and describes, for one warning, the bad messages of a read or datagram. */
export class BadInput {
  invalid = 0;
  incomplete = 0;
  badCounts = 0;

  /** Tallies an event just parsed (Invalid or Incomplete). */
  see(e: Event): void {
    const status = e.headers[STATUS_HEADER];
    if (status === "Invalid") this.invalid++;
    else if (status === "Incomplete") this.incomplete++;
  }

  /** One line for what was seen since the last call (undefined when all was well), then starts over. */
  take(eventSize: number): string | undefined {
    const parts: string[] = [];
    if (this.invalid > 0) parts.push(`${this.invalid} message(s) without a valid <PRI> or not valid in the port's charset, kept with flume.syslog.status = Invalid`);
    if (this.incomplete > 0) parts.push(`${this.incomplete} message(s) longer than eventSize (${eventSize}), cut and flagged Incomplete`);
    if (this.badCounts > 0) parts.push(`${this.badCounts} frame(s) starting with digits but no octet count (\`LEN SP MSG\`), taken as newline-framed`);
    this.invalid = this.incomplete = this.badCounts = 0;
    return parts.length > 0 ? parts.join("; ") : undefined;
  }
}

/**
 * A TCP connection's decoder: RFC 6587 framing, Flume's parse, the peer headers. `validate` (multiport's charset)
 * may mark a message Invalid. Bad messages are kept (Flume's status header says what is wrong) and reported once per
 * read through `warn`, naming the peer.
 */
export function syslogConnectionDecoder(
  conn: TcpConnection,
  o: { eventSize: number; parse: ParseOptions; headers: PeerHeaders; validate?: (msg: Uint8Array, port: number) => boolean; warn: (message: string) => void; onInvalid: (n: number) => void },
): ConnectionDecoder {
  const framer = new SyslogFramer(o.eventSize);
  const bad = new BadInput();
  let hostname: string | undefined;
  let events: Event[] = [];
  const emit = (msg: Uint8Array, incomplete: boolean) => {
    const e: Event = o.validate && !o.validate(msg, conn.localPort) ? { headers: { [STATUS_HEADER]: "Invalid" }, body: msg } : parseSyslog(msg, incomplete, o.parse);
    bad.see(e);
    events.push(e);
  };
  const take = (): Event[] => {
    const out = events;
    events = [];
    addPeerHeaders(out, o.headers, conn.remoteAddress, hostname, conn.localPort);
    bad.badCounts += framer.badCounts;
    framer.badCounts = 0;
    if (bad.invalid > 0) o.onInvalid(bad.invalid);
    const what = bad.take(o.eventSize);
    if (what) o.warn(`${conn.peer} sent ${what}`);
    return out;
  };
  return {
    ready: o.headers.clientHostnameHeader ? hostnameOf(conn.remoteAddress).then((h) => void (hostname = h)) : undefined,
    data(chunk) {
      framer.push(chunk, emit);
      return take();
    },
    end() {
      framer.end(emit);
      return take();
    },
  };
}
