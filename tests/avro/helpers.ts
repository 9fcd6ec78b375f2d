// Helpers for the avro tests: in-process agents built from config lines, draining a channel, the Python peer.

import { join } from "node:path";
import { buildAgentSpec } from "../../src/config/load.ts";
import { Agent } from "../../src/core/agent.ts";
import type { Channel } from "../../src/core/channel.ts";
import type { Event } from "../../src/core/event.ts";
import type { AvroSource } from "../../src/sources/avro.ts";
import { configureLogging } from "../../src/util/log.ts";
import { onCleanup, tempDir, waitFor } from "../helpers/index.ts";

configureLogging({ level: process.env.SLUICE_TEST_LOG === "1" ? "debug" : "error" });

export const PYTHON = "/usr/bin/python3";
export const PEER = join(import.meta.dir, "flume_peer.py");

/** Builds and starts agent `a1` from config lines; stopped after the file's tests. */
export async function startAgent(lines: string[]): Promise<Agent> {
  const built = buildAgentSpec(lines.join("\n") + "\n", "test.conf", "a1");
  if (!built.spec) throw new Error(built.problems.map((p) => `${p.key ?? ""}: ${p.message}`).join("\n"));
  const agent = await Agent.build(built.spec, { stateDir: await tempDir() });
  await agent.start();
  onCleanup(() => agent.stop(0));
  return agent;
}

/** Config lines for `avro source r1 → memory c1` with extra source keys; no sink (tests take from c1). */
export function sourceOnly(extra: string[] = [], capacity = 10000): string[] {
  return [
    "a1.sources = r1", "a1.channels = c1",
    "a1.sources.r1.type = avro", "a1.sources.r1.bind = 127.0.0.1", "a1.sources.r1.port = 0", "a1.sources.r1.channels = c1",
    ...extra.map((l) => `a1.sources.r1.${l}`),
    "a1.channels.c1.type = memory", `a1.channels.c1.capacity = ${capacity}`, "a1.channels.c1.transactionCapacity = 1000",
  ];
}

export function avroSource(agent: Agent, name = "r1"): AvroSource {
  return agent.sources.get(name)!.source as AvroSource;
}

/** Takes (and commits) everything in the channel now. */
export async function drain(ch: Channel): Promise<Event[]> {
  const out: Event[] = [];
  for (;;) {
    const tx = ch.begin();
    const got = await tx.take(10);
    await tx.commit();
    if (got.length === 0) return out;
    out.push(...got);
  }
}

export const text = (e: Event) => new TextDecoder().decode(e.body);

/** Spawns the Python peer; `lines()` is what it printed so far. Killed after the file's tests. */
export function spawnPeer(args: string[]) {
  const proc = Bun.spawn([PYTHON, PEER, ...args], { stdout: "pipe", stderr: "pipe" });
  onCleanup(() => proc.kill(9));
  let out = "";
  let err = "";
  const dec = new TextDecoder();
  const pumps = Promise.all([
    (async () => {
      for await (const c of proc.stdout as ReadableStream<Uint8Array>) out += dec.decode(c, { stream: true });
    })(),
    (async () => {
      for await (const c of proc.stderr as ReadableStream<Uint8Array>) err += dec.decode(c, { stream: true });
    })(),
  ]).catch(() => {});
  return {
    proc,
    /** The exit code, once all output was read. */
    finished: proc.exited.then(async (code) => (await pumps, code)),
    lines: () => out.split("\n").filter((l) => l.length > 0),
    stderr: () => err,
    port: () => waitFor("the python peer's port", () => /^PORT (\d+)$/m.exec(out)?.[1], 10_000).then(Number),
  };
}

/** A self-signed certificate for 127.0.0.1 and localhost (PEM files in a temp dir). */
export async function selfSigned(): Promise<{ cert: string; key: string }> {
  const dir = await tempDir();
  const cert = join(dir, "cert.pem");
  const key = join(dir, "key.pem");
  const r = Bun.spawnSync(["openssl", "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-keyout", key, "-out", cert, "-days", "2",
    "-subj", "/CN=localhost", "-addext", "subjectAltName=IP:127.0.0.1,DNS:localhost"]);
  if (r.exitCode !== 0) throw new Error(`openssl failed: ${r.stderr.toString()}`);
  return { cert, key };
}
