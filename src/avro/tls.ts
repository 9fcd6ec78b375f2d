// TLS settings from Flume's keys: trust store and certificates as PEM files (sluice's stand-in for Java key
// stores), `exclude-protocols` mapped to node:tls version bounds.

import { readFileSync } from "node:fs";
import type tls from "node:tls";
import { describeError, ValueError } from "../core/errors.ts";

const VERSIONS = ["TLSv1", "TLSv1.1", "TLSv1.2", "TLSv1.3"] as const;
type Version = (typeof VERSIONS)[number];
/** Never go below what the runtime accepts by default; exclude-protocols can only narrow it. */
const FLOOR: Version = "TLSv1.2";

/** min/max versions left after `exclude-protocols` (SSLv3 and unknown names exclude nothing we would offer). */
export function versionBounds(excluded: readonly string[]): { minVersion: Version; maxVersion: Version } {
  const ex = new Set(excluded.map((s) => s.toLowerCase()));
  const allowed = VERSIONS.slice(VERSIONS.indexOf(FLOOR)).filter((v) => !ex.has(v.toLowerCase()));
  if (allowed.length === 0) throw new ValueError(`excludes every TLS version sluice offers (${VERSIONS.slice(VERSIONS.indexOf(FLOOR)).join(", ")})`, { key: "exclude-protocols" });
  return { minVersion: allowed[0]!, maxVersion: allowed[allowed.length - 1]! };
}

/** A config check's half of versionBounds: reports `exclude-protocols` that leave no TLS version. */
export function checkExcludedProtocols(excluded: readonly string[], report: (key: string, message: string) => void): void {
  try {
    versionBounds(excluded);
  } catch (msg) {
    report("exclude-protocols", msg instanceof ValueError ? msg.detail : describeError(msg));
  }
}

/** Reads a PEM file named by `key`; the error names the key and the path. */
export function readPem(path: string, keyName: string): string {
  try {
    return readFileSync(path, "utf8");
  } catch (err) {
    throw new ValueError(`cannot read: ${describeError(err)}`, { key: keyName, value: path, cause: err });
  }
}

export function clientTls(o: { trustAll: boolean; truststore?: string; exclude: readonly string[] }): tls.ConnectionOptions {
  return {
    rejectUnauthorized: !o.trustAll,
    ...(o.truststore ? { ca: readPem(o.truststore, "truststore") } : {}),
    ...versionBounds(o.exclude),
  };
}

export function serverTls(o: { cert: string; key: string; exclude: readonly string[] }): tls.TlsOptions {
  return { cert: readPem(o.cert, "ssl-cert"), key: readPem(o.key, "ssl-key"), ...versionBounds(o.exclude) };
}
