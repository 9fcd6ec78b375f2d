// A source wired to a real memory channel, for the network and exec source tests: build, start, drain, stop.

import { ChannelProcessor } from "../../src/core/channel-processor.ts";
import type { Event } from "../../src/core/event.ts";
import type { Source } from "../../src/core/source.ts";
import { MemoryChannel, memoryKeys } from "../../src/channels/memory.ts";
import { ReplicatingSelector } from "../../src/selectors/replicating.ts";
import type { Logger } from "../../src/util/log.ts";
import { onCleanup } from "../helpers/index.ts";
import { cfg } from "../helpers/rig.ts";

export { cfg };

/** A logger that keeps its warnings and errors (for "one clear line naming the peer" checks). */
export function recordingLogger(): { log: Logger; lines: string[] } {
  const lines: string[] = [];
  const log: Logger = {
    debug: () => {},
    info: (m) => lines.push(`INFO ${m}`),
    warn: (m) => lines.push(`WARN ${m}`),
    error: (m) => lines.push(`ERROR ${m}`),
    child: () => log,
  };
  return { log, lines };
}

export interface Rig<S extends Source> {
  source: S;
  channel: MemoryChannel;
  lines: string[];
  /** Takes everything in the channel now. */
  drain(): Promise<Event[]>;
  /** Drains until `n` events were taken in all (bounded), returning them. */
  collect(n: number, timeoutMs?: number): Promise<Event[]>;
}

export async function rig<S extends Source>(
  make: (processor: ChannelProcessor, log: Logger) => S,
  channel: Record<string, string | number> = {},
): Promise<Rig<S>> {
  const ch = new MemoryChannel("c1", cfg(memoryKeys, { capacity: 10_000, transactionCapacity: 1000, ...channel }));
  await ch.start();
  const { log, lines } = recordingLogger();
  const processor = new ChannelProcessor(new ReplicatingSelector([ch]), [], log);
  const source = make(processor, log);
  await source.start();
  onCleanup(async () => {
    await source.stop();
    await ch.stop();
  });
  const takeMax = Number(channel.transactionCapacity ?? 1000);
  const drain = async () => {
    const tx = ch.begin();
    const events = await tx.take(takeMax);
    await tx.commit();
    return events;
  };
  return {
    source,
    channel: ch,
    lines,
    drain,
    async collect(n, timeoutMs = 10_000) {
      const out: Event[] = [];
      const deadline = Date.now() + timeoutMs;
      while (out.length < n) {
        out.push(...(await drain()));
        if (out.length >= n) break;
        if (Date.now() > deadline) throw new Error(`timed out: ${out.length} of ${n} events after ${timeoutMs} ms`);
        await Bun.sleep(5);
      }
      return out;
    },
  };
}

export const text = (e: Event) => new TextDecoder().decode(e.body);

/** Runs a command to completion (bounded) with stdin, returning its exit code and output. */
export async function run(cmd: string[], input?: string | Uint8Array, timeoutMs = 10_000): Promise<{ code: number; stdout: string; stderr: string }> {
  const p = Bun.spawn(cmd, { stdin: input === undefined ? "ignore" : "pipe", stdout: "pipe", stderr: "pipe" });
  if (input !== undefined) {
    const w = p.stdin as unknown as { write(d: string | Uint8Array): void; end(): void };
    w.write(input);
    w.end();
  }
  const timer = setTimeout(() => p.kill(9), timeoutMs);
  const [code, stdout, stderr] = await Promise.all([p.exited, new Response(p.stdout).text(), new Response(p.stderr).text()]);
  clearTimeout(timer);
  return { code, stdout, stderr };
}
