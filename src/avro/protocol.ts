// Flume's AvroSourceProtocol exactly as Java hashes it (../shared/spec/avro/AvroSourceProtocol.avpr, 1334 bytes, no
// trailing newline), the handshake record types, and the hashes a server recognises without a protocol round trip.

import avro from "avsc";
import type { Reader } from "./codec.ts";
import { AvroProtocolError } from "./errors.ts";

/** The compact JSON Java's Protocol.toString() prints for flume.avdl (Flume 1.9–1.11); its MD5 is the handshake hash. */
export const PROTOCOL_TEXT =
  "{\"protocol\":\"AvroSourceProtocol\",\"namespace\":\"org.apache.flume.source.avro\",\"doc\":\"* Licensed to the Apache Software Foundation (ASF) under one\\n * or more contributor license agreements.  See the NOTICE file\\n * distributed with this work for additional information\\n * regarding copyright ownership.  The ASF licenses this file\\n * to you under the Apache License, Version 2.0 (the\\n * \\\"License\\\"); you may not use this file except in compliance\\n * with the License.  You may obtain a copy of the License at\\n *\\n * http://www.apache.org/licenses/LICENSE-2.0\\n *\\n * Unless required by applicable law or agreed to in writing,\\n * software distributed under the License is distributed on an\\n * \\\"AS IS\\\" BASIS, WITHOUT WARRANTIES OR CONDITIONS OF ANY\\n * KIND, either express or implied.  See the License for the\\n * specific language governing permissions and limitations\\n * under the License.\",\"types\":[{\"type\":\"enum\",\"name\":\"Status\",\"symbols\":[\"OK\",\"FAILED\",\"UNKNOWN\"]},{\"type\":\"record\",\"name\":\"AvroFlumeEvent\",\"fields\":[{\"name\":\"headers\",\"type\":{\"type\":\"map\",\"values\":\"string\"}},{\"name\":\"body\",\"type\":\"bytes\"}]}],\"messages\":{\"append\":{\"request\":[{\"name\":\"event\",\"type\":\"AvroFlumeEvent\"}],\"response\":\"Status\"},\"appendBatch\":{\"request\":[{\"name\":\"events\",\"type\":{\"type\":\"array\",\"items\":\"AvroFlumeEvent\"}}],\"response\":\"Status\"}}}";

const service = avro.Service.forProtocol(JSON.parse(PROTOCOL_TEXT));

/** MD5 of PROTOCOL_TEXT (`86aadae2c45474c0fe93ffd0f2350a65`): what Java Flume 1.9–1.11 announces. */
export const PROTOCOL_HASH: Uint8Array = new Uint8Array(service.hash);

/**
 * The same protocol as printed by Avro ≥ 1.11.1's IDL (doc comment without its `* ` prefixes): identical messages, a
 * different hash. Known up front so such a client needs no NONE round trip (README "The protocol and its MD5").
 */
export const ALT_PROTOCOL_HASH_HEX = "8076c53714e01f6e2c1deb9544e7b1fe";

export function hex(b: Uint8Array): string {
  let s = "";
  for (let i = 0; i < b.length; i++) s += b[i]!.toString(16).padStart(2, "0");
  return s;
}

// Schemas as plain JSON (avsc's typings are stricter than the schemas it accepts).
// deno-lint-ignore no-explicit-any
const MD5: any = { type: "fixed", name: "MD5", namespace: "org.apache.avro.ipc", size: 16 };
// deno-lint-ignore no-explicit-any
const META: any = ["null", { type: "map", values: "bytes" }];

/** Avro's HandshakeRequest (org.apache.avro.ipc). */
export const handshakeRequestType = avro.Type.forSchema({
  type: "record",
  name: "HandshakeRequest",
  namespace: "org.apache.avro.ipc",
  fields: [
    { name: "clientHash", type: MD5 },
    { name: "clientProtocol", type: ["null", "string"] },
    { name: "serverHash", type: "MD5" },
    { name: "meta", type: META },
  ],
});

/** Avro's HandshakeResponse. */
export const handshakeResponseType = avro.Type.forSchema({
  type: "record",
  name: "HandshakeResponse",
  namespace: "org.apache.avro.ipc",
  fields: [
    { name: "match", type: { type: "enum", name: "HandshakeMatch", symbols: ["BOTH", "CLIENT", "NONE"] } },
    { name: "serverProtocol", type: ["null", "string"] },
    { name: "serverHash", type: ["null", MD5] },
    { name: "meta", type: META },
  ],
});

export interface HandshakeRequest {
  clientHash: Uint8Array;
  clientProtocol: string | null;
  serverHash: Uint8Array;
  meta: Record<string, Uint8Array> | null;
}

export interface HandshakeResponse {
  match: "BOTH" | "CLIENT" | "NONE";
  serverProtocol: string | null;
  serverHash: Uint8Array | null;
  meta: Record<string, Uint8Array> | null;
}

/**
 * Whether a client's protocol text (sent after a NONE) declares Flume's messages with the shapes we read: then its
 * hash is as good as ours. A protocol with other messages is refused rather than misread.
 */
export function isCompatibleProtocol(text: string): boolean {
  try {
    const remote = avro.Service.forProtocol(JSON.parse(text));
    const shape = (m: { requestType: avro.Type; responseType: avro.Type }) => JSON.stringify([m.requestType.schema(), m.responseType.schema()]);
    // appendBatch must be there; append, when declared, must match too (the server decodes both).
    for (const name of ["appendBatch", "append"]) {
      const theirs = remote.message(name);
      if (!theirs) {
        if (name === "appendBatch") return false;
        continue;
      }
      if (shape(theirs) !== shape(service.message(name)!)) return false;
    }
    return true;
  } catch {
    return false;
  }
}

const MATCHES = ["BOTH", "CLIENT", "NONE"] as const;

/** Java's client request: meta is always an empty map (`02 00`), clientProtocol only after a NONE. */
export function encodeHandshakeRequest(serverHash: Uint8Array, withProtocol: boolean): Uint8Array {
  return new Uint8Array(
    handshakeRequestType.toBuffer({
      clientHash: Buffer.from(PROTOCOL_HASH),
      clientProtocol: withProtocol ? PROTOCOL_TEXT : null,
      serverHash: Buffer.from(serverHash),
      meta: {},
    }),
  );
}

/** BOTH is `00 00 00 00`; anything else carries our protocol and hash so the client can adapt. */
export function encodeHandshakeResponse(match: HandshakeResponse["match"]): Uint8Array {
  const full = match !== "BOTH";
  return new Uint8Array(
    handshakeResponseType.toBuffer({
      match,
      serverProtocol: full ? PROTOCOL_TEXT : null,
      serverHash: full ? Buffer.from(PROTOCOL_HASH) : null,
      meta: null,
    }),
  );
}

export function readHandshakeRequest(r: Reader): HandshakeRequest {
  const clientHash = r.fixed(16);
  const clientProtocol = r.union(2) === 1 ? r.string() : null;
  const serverHash = r.fixed(16);
  const meta = r.union(2) === 1 ? r.bytesMap() : null;
  return { clientHash, clientProtocol, serverHash, meta };
}

export function readHandshakeResponse(r: Reader): HandshakeResponse {
  const m = r.long();
  const match = MATCHES[m];
  if (match === undefined) throw new AvroProtocolError(`unknown handshake match ${m}`);
  const serverProtocol = r.union(2) === 1 ? r.string() : null;
  const serverHash = r.union(2) === 1 ? r.fixed(16) : null;
  const meta = r.union(2) === 1 ? r.bytesMap() : null;
  return { match, serverProtocol, serverHash, meta };
}

export function sameHash(a: Uint8Array, b: Uint8Array): boolean {
  if (a.byteLength !== b.byteLength) return false;
  for (let i = 0; i < a.byteLength; i++) if (a[i] !== b[i]) return false;
  return true;
}
