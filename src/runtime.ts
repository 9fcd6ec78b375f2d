// The only module that knows whether sluice runs on Bun or Deno. Everything else uses web standards and the
// `node:` built-ins both runtimes provide, plus what this module exports.

import os from "node:os";

declare const Bun: { version: string } | undefined;
declare const Deno: { version: { deno: string } } | undefined;

export const runtimeName: "bun" | "deno" | "node" =
  typeof Bun !== "undefined" ? "bun" : typeof Deno !== "undefined" ? "deno" : "node";

export function runtimeVersion(): string {
  if (typeof Bun !== "undefined") return `bun ${Bun.version}`;
  if (typeof Deno !== "undefined") return `deno ${Deno.version.deno}`;
  return `node ${process.version}`;
}

export function totalMemoryBytes(): number {
  return os.totalmem();
}

export function hostName(): string {
  return os.hostname();
}

/** Subscribes to a POSIX signal; returns an unsubscribe function. */
export function onSignal(signal: "SIGTERM" | "SIGINT" | "SIGHUP", handler: () => void): () => void {
  process.on(signal, handler);
  return () => process.off(signal, handler);
}

/** Resident set size in bytes. */
export function rssBytes(): number {
  return process.memoryUsage().rss;
}
