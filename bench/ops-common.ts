// Shared by the operations benchmarks: the binary under test (dist/sluice, built if missing), temp dirs, and the
// one-JSON-line-per-figure output that bench/run.ts collects into its table.

import { existsSync } from "node:fs";
import { mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join, resolve } from "node:path";

export const ROOT = resolve(import.meta.dir, "..");
/** The binary under test: $SLUICE_BIN (to compare builds), else dist/sluice. */
export const BIN = process.env.SLUICE_BIN ?? join(ROOT, "dist/sluice");

/** The binary under test; dist/sluice is built with `make build` when it is not there yet. */
export async function ensureBinary(): Promise<string> {
  if (!existsSync(BIN) && !process.env.SLUICE_BIN) {
    const p = Bun.spawn(["make", "build"], { cwd: ROOT, stdout: "ignore", stderr: "inherit" });
    if ((await p.exited) !== 0) throw new Error("make build failed");
  }
  return BIN;
}

export async function withTempDir<T>(prefix: string, f: (dir: string) => Promise<T>): Promise<T> {
  const dir = await mkdtemp(join(tmpdir(), prefix));
  try {
    return await f(dir);
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
}

export function report(bench: string, metric: string, value: number, goal?: string): void {
  console.log(JSON.stringify({ bench, metric, value, ...(goal ? { goal } : {}) }));
}

/**
 * Memory of a process in bytes from Linux /proc: `rss` (VmRSS, what `ps` shows), `anon` (RssAnon: private heap and
 * stacks) and `file` (RssFile: pages of the executable and libraries, shared and reclaimable).
 */
export async function rssOf(pid: number): Promise<{ rss: number; anon: number; file: number } | undefined> {
  const text = await Bun.file(`/proc/${pid}/status`).text().catch(() => "");
  const kb = (k: string) => Number(new RegExp(`${k}:\\s+(\\d+) kB`).exec(text)?.[1] ?? NaN) * 1024;
  return text ? { rss: kb("VmRSS"), anon: kb("RssAnon"), file: kb("RssFile") } : undefined;
}

export function median(xs: number[]): number {
  const s = [...xs].sort((a, b) => a - b);
  return s[Math.floor(s.length / 2)]!;
}
