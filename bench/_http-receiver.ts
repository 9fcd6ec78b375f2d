// The receiving end of bench/http-tail.ts, run as its own process: an HTTP server that takes NDJSON requests of
// Flume events ({"headers":{…},"body":"…"} per line, gzip or not) and checks every line with LineCheck.
// Prints {"port": N} once listening; GET /stats answers the counts so far.
// Run: bun bench/_http-receiver.ts <expected lines>

import { Buffer } from "node:buffer";
import { gunzip } from "node:zlib";
import { promisify } from "node:util";
import { LineCheck } from "./lines-common.ts";

const gunzipAsync = promisify(gunzip);
const check = new LineCheck(Number(process.argv[2]));
let requests = 0;
let bytes = 0;
const BODY_KEY = Buffer.from('"body":"');

function take(buf: Buffer): void {
  let s = 0;
  while (s < buf.length) {
    let e = buf.indexOf(0x0a, s);
    if (e < 0) e = buf.length;
    const k = buf.indexOf(BODY_KEY, s);
    // Fast path: `…"body":"<raw line>"}` with nothing escaped in the line (tryAdd compares every byte, so an escape
    // fails it); anything else is decoded properly.
    const from = k + BODY_KEY.length;
    const to = e - 2;
    if (k >= 0 && k < e && buf[to] === 0x22 && buf[to + 1] === 0x7d && check.tryAdd(buf, from, to)) {
      // counted
    } else {
      try {
        const body = Buffer.from((JSON.parse(buf.toString("utf8", s, e)) as { body: string }).body);
        check.add(body, 0, body.length);
      } catch {
        check.add(buf, s, s);
      }
    }
    s = e + 1;
  }
}

const server = Bun.serve({
  port: 0,
  hostname: "127.0.0.1",
  maxRequestBodySize: 256 * 1024 * 1024,
  async fetch(req) {
    if (req.method === "GET") {
      return Response.json({ requests, bytes, distinct: check.distinct, duplicates: check.duplicates, bad: check.bad, firstBad: check.firstBad });
    }
    let body = Buffer.from(await req.arrayBuffer());
    if (req.headers.get("content-encoding") === "gzip") body = await gunzipAsync(body);
    requests++;
    bytes += body.length;
    take(body);
    return new Response("ok");
  },
});
console.log(JSON.stringify({ port: server.port }));
