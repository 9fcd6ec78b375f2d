// Helpers for the file and spillable channel tests: configs from the key tables' defaults, a "kill -9 image" of a
// channel's directories (a copy taken while it runs: exactly what a killed process leaves on disk), small utilities.

import { cp } from "node:fs/promises";
import { join } from "node:path";
import { FileChannel, fileChannelKeys, type FileChannelConfig } from "../../src/channels/file/index.ts";
import { SpillableChannel, spillableKeys, type SpillableConfig } from "../../src/channels/spillable.ts";
import type { Channel } from "../../src/core/channel.ts";
import { makeEvent, type Event } from "../../src/core/event.ts";
import type { KeySpec, ConfigOf } from "../../src/core/keys.ts";
import { configureLogging, getLogger } from "../../src/util/log.ts";
import type { Ack } from "../../src/core/ack.ts";

function defaults<S extends KeySpec>(spec: S): ConfigOf<S> {
  return Object.fromEntries(Object.entries(spec).map(([k, d]) => [k, d.default])) as ConfigOf<S>;
}

configureLogging({ level: "error" });
export const log = getLogger("test");

export function fileConfig(dir: string, over: Partial<FileChannelConfig> = {}): FileChannelConfig {
  return { ...defaults(fileChannelKeys), checkpointDir: join(dir, "checkpoint"), dataDirs: [join(dir, "data")], minimumRequiredSpace: 0, ...over };
}

export function spillConfig(dir: string, over: Partial<SpillableConfig> = {}): SpillableConfig {
  return { ...defaults(spillableKeys), checkpointDir: join(dir, "checkpoint"), dataDirs: [join(dir, "data")], minimumRequiredSpace: 0, byteCapacity: 0, ...over };
}

export async function openFile(dir: string, over: Partial<FileChannelConfig> = {}): Promise<FileChannel> {
  const ch = new FileChannel("c1", fileConfig(dir, over), dir, log);
  await ch.start();
  return ch;
}

export async function openSpill(dir: string, over: Partial<SpillableConfig> = {}): Promise<SpillableChannel> {
  const ch = new SpillableChannel("s1", spillConfig(dir, over), dir, log);
  await ch.start();
  return ch;
}

/** Copies a live channel's directory: the image a kill -9 at this instant leaves behind. */
export async function crashImage(dir: string, to: string): Promise<string> {
  await cp(dir, to, { recursive: true });
  return to;
}

const dec = new TextDecoder();
export const body = (e: Event) => dec.decode(e.body);
export const events = (from: number, n: number, prefix = "e") => Array.from({ length: n }, (_, i) => makeEvent(`${prefix}${from + i}`));
export const names = (from: number, n: number, prefix = "e") => Array.from({ length: n }, (_, i) => `${prefix}${from + i}`);

export async function put(ch: Channel, batch: Event[], ack?: Ack): Promise<void> {
  const tx = ch.begin();
  tx.put(batch, ack);
  await tx.commit();
}

/** Takes and commits everything, in batches of `batch`; returns the bodies in order. */
export async function drain(ch: Channel, batch = 10, limit = 1_000_000): Promise<string[]> {
  const out: string[] = [];
  while (out.length < limit) {
    const tx = ch.begin();
    const got = await tx.take(batch);
    await tx.commit();
    if (got.length === 0) break;
    for (const e of got) out.push(body(e));
  }
  return out;
}
