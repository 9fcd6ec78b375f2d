// Reverse lookup of a peer's address for clientHostnameHeader (Java's InetSocketAddress.getHostName): bounded in
// time, cached and bounded in entries, the address itself when no name is found (as Java does).

import dns from "node:dns";

/** A lookup may take this long before the address stands in for the name. */
const LOOKUP_TIMEOUT_MS = 1000;
/** Names kept (a UDP source sees many senders); the oldest goes first. */
const MAX_CACHED = 1024;

const cache = new Map<string, Promise<string>>();

export function hostnameOf(ip: string): Promise<string> {
  const hit = cache.get(ip);
  if (hit) return hit;
  const p = lookup(ip);
  if (cache.size >= MAX_CACHED) cache.delete(cache.keys().next().value!);
  cache.set(ip, p);
  return p;
}

async function lookup(ip: string): Promise<string> {
  if (ip === "127.0.0.1" || ip === "::1") return "localhost";
  let timer: ReturnType<typeof setTimeout> | undefined;
  const timeout = new Promise<string>((r) => (timer = setTimeout(() => r(ip), LOOKUP_TIMEOUT_MS)));
  const found = dns.promises
    .lookupService(ip, 0)
    .then((r) => r.hostname || ip)
    .catch(() => dns.promises.reverse(ip).then((names) => names[0] ?? ip))
    .catch(() => ip);
  const name = await Promise.race([found, timeout]);
  clearTimeout(timer);
  return name;
}
