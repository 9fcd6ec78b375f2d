// Soak: a writer appends --rate lines/s of 200 B and rotates every --rotate-s the way numbered logrotate does
// (`rotate 30`: app.log.k → app.log.k+1, the oldest deleted, app.log → app.log.1, 20 late lines to the old
// descriptor, a new app.log), `dist/sluice agent` tails app.log and its rotated names (TAILDIR) through one channel
// type into an http sink (ndjson, batch 1000), and a receiver in another process records every line's sequence
// number. One agent per channel type (memory, spillablememory, file), side by side, each with its own writer and
// receiver. Reports per channel: lines written, duplicates, lost, the agent's RSS over time (VmRSS sampled every
// second) and its slope after warm-up (least squares, MiB per minute; the goal is flat).
// Run: node_modules/.bin/bun bench/taildir-soak.ts [--minutes 1] [--rotate-s 5] [--rate 5000] [--channels memory,spillablememory,file]
//      `make soak` runs it for 10 minutes with rotation every 30 s (SOAK_MINUTES=… to change).

import { mkdir, writeFile } from "node:fs/promises";
import { join } from "node:path";
import { parseArgs } from "node:util";
import { ensureBinary, ROOT, rssOf, withTempDir } from "./ops-common.ts";
import { writerArgs } from "./taildir-rotation-common.ts";

const BUN = join(ROOT, "node_modules/.bin/bun");
const MIB = 1024 * 1024;
/** The receiver's answer to GET /stats. */
interface Stats {
  unique: number;
  duplicates: number;
  requests: number;
}

/** The receiver process: records the sequence number of every line it is sent (ndjson bodies `L<seq> …`). */
function receiver(): void {
  let seen = new Uint8Array(1 << 20);
  let unique = 0;
  let duplicates = 0;
  let requests = 0;
  const marker = '"body":"L';
  const server = Bun.serve({
    port: 0,
    hostname: "127.0.0.1",
    async fetch(req) {
      if (req.method === "GET") return Response.json({ unique, duplicates, requests } satisfies Stats);
      const text = await req.text();
      requests++;
      for (let at = text.indexOf(marker); at >= 0; at = text.indexOf(marker, at + marker.length)) {
        const seq = parseInt(text.slice(at + marker.length, at + marker.length + 12), 10);
        while (seq >= seen.length) {
          const grown = new Uint8Array(seen.length * 2);
          grown.set(seen);
          seen = grown;
        }
        if (seen[seq]) duplicates++;
        else unique++;
        seen[seq] = 1;
      }
      return new Response(null, { status: 200 });
    },
  });
  process.stdout.write(`${server.port}\n`);
}

function channelKeys(type: string, dir: string): string[] {
  const c = "a1.channels.c1";
  if (type === "memory") return [`${c}.type = memory`, `${c}.capacity = 100000`, `${c}.transactionCapacity = 1000`];
  const file = [`${c}.checkpointDir = ${dir}/checkpoint`, `${c}.dataDirs = ${dir}/data`, `${c}.transactionCapacity = 1000`];
  if (type === "file") return [`${c}.type = file`, `${c}.capacity = 1000000`, ...file];
  return [`${c}.type = spillablememory`, `${c}.memoryCapacity = 10000`, `${c}.overflowCapacity = 1000000`, ...file];
}

/** Least-squares slope of y over x. */
function slope(xs: number[], ys: number[]): number {
  const n = xs.length;
  if (n < 2) return 0;
  const mx = xs.reduce((a, b) => a + b, 0) / n;
  const my = ys.reduce((a, b) => a + b, 0) / n;
  let num = 0;
  let den = 0;
  for (let i = 0; i < n; i++) {
    num += (xs[i]! - mx) * (ys[i]! - my);
    den += (xs[i]! - mx) ** 2;
  }
  return den === 0 ? 0 : num / den;
}

async function firstLine(s: ReadableStream<Uint8Array>): Promise<string> {
  const reader = s.getReader();
  let text = "";
  while (!text.includes("\n")) {
    const { value, done } = await reader.read();
    if (done) break;
    text += new TextDecoder().decode(value);
  }
  reader.releaseLock();
  return text.trim();
}

async function soak(bin: string, type: string, o: { minutes: number; rotateS: number; rate: number }): Promise<void> {
  await withTempDir(`sluice-soak-${type}-`, async (dir) => {
    const logs = join(dir, "logs");
    await mkdir(logs);
    const recv = Bun.spawn([BUN, import.meta.path, "--receiver"], { stdout: "pipe", stderr: "inherit" });
    const port = Number(await firstLine(recv.stdout as ReadableStream<Uint8Array>));
    const conf = join(dir, "agent.conf");
    await writeFile(conf, [
      "a1.sources = r1", "a1.channels = c1", "a1.sinks = k1",
      "a1.sources.r1.type = TAILDIR", "a1.sources.r1.channels = c1", "a1.sources.r1.filegroups = g1",
      `a1.sources.r1.filegroups.g1 = ${logs}/app[.]log([.][0-9]+)?`, "a1.sources.r1.batchSize = 1000",
      ...channelKeys(type, join(dir, "channel")),
      "a1.sinks.k1.type = http", "a1.sinks.k1.channel = c1", `a1.sinks.k1.endpoint = http://127.0.0.1:${port}/`,
      "a1.sinks.k1.format = ndjson", "a1.sinks.k1.batchSize = 1000",
    ].join("\n") + "\n");
    const agent = Bun.spawn([bin, "agent", "-f", conf, "-n", "a1", "--state-dir", join(dir, "state"), "--log-level", "warn"], { stdout: "ignore", stderr: "inherit" });
    const writer = Bun.spawn([BUN, join(ROOT, "bench/taildir-rotation-common.ts"), ...writerArgs({ dir: logs, seconds: o.minutes * 60, rate: o.rate, rotateMs: o.rotateS * 1000, keep: 30 })], { stdout: "pipe", stderr: "inherit" });
    const t0 = Date.now();
    const samples: Array<{ s: number; mib: number }> = [];
    let peak = 0;
    const sampler = setInterval(async () => {
      const m = await rssOf(agent.pid);
      if (!m) return;
      samples.push({ s: (Date.now() - t0) / 1000, mib: m.rss / MIB });
      peak = Math.max(peak, m.rss / MIB);
    }, 1000);
    const writerOut = await new Response(writer.stdout).text();
    const { lines: written, rotations } = JSON.parse(writerOut) as { lines: number; rotations: number };
    const stats = async () => (await (await fetch(`http://127.0.0.1:${port}/stats`)).json()) as Stats;
    // Drain: every line in, then a little longer so a late re-read would show.
    const deadline = Date.now() + 60_000;
    let st = await stats();
    while (st.unique < written && Date.now() < deadline && agent.exitCode === null) {
      await Bun.sleep(250);
      st = await stats();
    }
    await Bun.sleep(3000);
    st = await stats();
    clearInterval(sampler);
    const crashed = agent.exitCode !== null;
    agent.kill("SIGTERM");
    const code = await agent.exited;
    recv.kill();
    await recv.exited;
    const warm = Math.min(60, (o.minutes * 60) / 4);
    const after = samples.filter((x) => x.s >= warm && x.s <= o.minutes * 60);
    const perMin = slope(after.map((x) => x.s), after.map((x) => x.mib)) * 60;
    const every = Math.max(1, Math.round((o.minutes * 60) / 10));
    const series = samples.filter((x, i) => i % every === 0).map((x) => Math.round(x.mib)).join(" ");
    const name = `taildir-soak ${type}`;
    const line = (metric: string, value: string | number, goal?: string) => console.log(JSON.stringify({ bench: name, metric, value, ...(goal ? { goal } : {}) }));
    line(`${o.minutes} min, ${o.rate} lines/s of 200 B, rotation every ${o.rotateS} s (rotate 30, ${rotations} rotations) → ${type} → http: lines written`, written);
    line("duplicates / lost", `${st.duplicates} / ${written - st.unique}`, "0 / 0");
    line(`agent ${crashed ? `CRASHED (exit ${code})` : "exit after SIGTERM"}`, code, "0");
    line(`RSS MiB every ${every} s`, series);
    line(`RSS MiB after ${Math.round(warm)} s warm-up: first / last / peak`, `${Math.round(after[0]?.mib ?? 0)} / ${Math.round(after.at(-1)?.mib ?? 0)} / ${Math.round(peak)}`);
    line("RSS slope after warm-up, MiB/min", perMin.toFixed(2), "flat (|slope| ≤ 0.5)");
    if (st.duplicates > 0 || st.unique < written || crashed) process.exitCode = 1;
  });
}

const { values: v } = parseArgs({
  options: {
    receiver: { type: "boolean", default: false },
    minutes: { type: "string", default: "1" },
    "rotate-s": { type: "string", default: "5" },
    rate: { type: "string", default: "5000" },
    channels: { type: "string", default: "memory,spillablememory,file" },
  },
});
if (v.receiver) {
  receiver();
} else {
  const bin = await ensureBinary();
  const o = { minutes: Number(v.minutes), rotateS: Number(v["rotate-s"]), rate: Number(v.rate) };
  // Side by side: 5 000 lines/s is ~1 MiB/s per agent, far from what the machine can do, and the run takes as long
  // as one channel's.
  await Promise.all(v.channels!.split(",").map((t) => soak(bin, t.trim(), o)));
}
