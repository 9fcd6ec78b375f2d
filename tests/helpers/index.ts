// Test helpers: temp dirs, spawning real agents (bun main.ts or dist/sluice), bounded waiting, reading outputs.
// Everything a test starts is registered for cleanup; every wait has a deadline.

import { mkdtemp, readdir, readFile, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join, resolve } from "node:path";
import { createServer } from "node:net";

export const ROOT = resolve(import.meta.dir, "../..");
export const BUN = join(ROOT, "node_modules/.bin/bun");
export const DENO = join(ROOT, "node_modules/.bin/deno");
export const MAIN = join(ROOT, "main.ts");

const cleanups: Array<() => Promise<unknown> | unknown> = [];

/**
 * Runs every registered cleanup (newest first). Called by tests/helpers/cleanup.ts, which bunfig.toml preloads so
 * that it runs once after all test files: this module is evaluated once per run, so an afterAll here would belong
 * to the first file that imports it only, and what later files started would never be cleaned up.
 */
export async function runCleanups(): Promise<void> {
  for (const c of cleanups.splice(0).reverse()) await Promise.resolve(c()).catch(() => {});
}

/** Registers a cleanup to run after the test run. */
export function onCleanup(fn: () => Promise<unknown> | unknown): void {
  cleanups.push(fn);
}

/** A fresh temp dir, removed after the test run. */
export async function tempDir(prefix = "sluice-test-"): Promise<string> {
  const d = await mkdtemp(join(tmpdir(), prefix));
  onCleanup(() => rm(d, { recursive: true, force: true }));
  return d;
}

/** Polls `pred` every `everyMs` until it returns a truthy value or `timeoutMs` passes (then throws with `what`). */
export async function waitFor<T>(what: string, pred: () => T | Promise<T>, timeoutMs = 10_000, everyMs = 25): Promise<NonNullable<T>> {
  const deadline = Date.now() + timeoutMs;
  let last: unknown;
  for (;;) {
    try {
      const v = await pred();
      if (v) return v as NonNullable<T>;
    } catch (err) {
      last = err;
    }
    if (Date.now() > deadline) throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}${last ? `: ${String(last)}` : ""}`);
    await Bun.sleep(everyMs);
  }
}

/** A free TCP port on 127.0.0.1. */
export function freePort(): Promise<number> {
  return new Promise((res, rej) => {
    const s = createServer();
    s.unref();
    s.on("error", rej);
    s.listen(0, "127.0.0.1", () => {
      const port = (s.address() as { port: number }).port;
      s.close(() => res(port));
    });
  });
}

/** Writes a config file (lines joined with \n) into dir and returns its path. */
export async function writeConfig(dir: string, lines: string[] | string, name = "agent.conf"): Promise<string> {
  const p = join(dir, name);
  await writeFile(p, Array.isArray(lines) ? lines.join("\n") + "\n" : lines);
  return p;
}

/** Every line of every file in dir (sorted by name), without the empty tail. */
export async function readAllLines(dir: string): Promise<string[]> {
  let names: string[];
  try {
    names = (await readdir(dir)).sort();
  } catch {
    return [];
  }
  const out: string[] = [];
  for (const n of names) {
    const text = await readFile(join(dir, n), "utf8").catch(() => "");
    for (const l of text.split("\n")) if (l.length > 0) out.push(l);
  }
  return out;
}

export interface Spawned {
  proc: ReturnType<typeof Bun.spawn>;
  /** Everything the process wrote to stderr so far. */
  stderr(): string;
  stdout(): string;
  /** Resolves with the exit code. */
  exited: Promise<number>;
  kill(signal?: NodeJS.Signals | number): void;
}

/**
 * Spawns `sluice <args>`: `bun main.ts` by default, or a given binary (dist/sluice). Output is collected;
 * the process is killed (-9) after the file's tests if still running.
 */
export function spawnSluice(args: string[], opts: { bin?: string[]; cwd?: string; env?: Record<string, string> } = {}): Spawned {
  const cmd = [...(opts.bin ?? [BUN, MAIN]), ...args];
  const proc = Bun.spawn(cmd, {
    cwd: opts.cwd ?? ROOT,
    env: { ...process.env, ...opts.env },
    stdout: "pipe",
    stderr: "pipe",
    stdin: "ignore",
  });
  let err = "";
  let out = "";
  const dec = new TextDecoder();
  const pump = async (s: ReadableStream<Uint8Array>, onText: (t: string) => void) => {
    for await (const chunk of s) onText(dec.decode(chunk, { stream: true }));
  };
  const done = Promise.all([
    pump(proc.stderr as ReadableStream<Uint8Array>, (t) => (err += t)),
    pump(proc.stdout as ReadableStream<Uint8Array>, (t) => (out += t)),
  ]).catch(() => {});
  onCleanup(() => {
    if (proc.exitCode === null) proc.kill(9);
  });
  return {
    proc,
    stderr: () => err,
    stdout: () => out,
    exited: proc.exited.then(async (c) => {
      await done;
      return c;
    }),
    kill: (signal = "SIGTERM") => proc.kill(signal as number),
  };
}

/** Runs `sluice <args>` to completion (bounded) and returns its exit code and output. */
export async function runSluice(args: string[], opts: { bin?: string[]; cwd?: string; env?: Record<string, string>; timeoutMs?: number } = {}): Promise<{ code: number; stdout: string; stderr: string }> {
  const s = spawnSluice(args, opts);
  const timer = setTimeout(() => s.kill(9), opts.timeoutMs ?? 30_000);
  const code = await s.exited;
  clearTimeout(timer);
  return { code, stdout: s.stdout(), stderr: s.stderr() };
}
