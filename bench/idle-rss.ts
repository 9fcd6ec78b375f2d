// Benchmark: resident memory of an idle agent (dist/sluice). The agent tails an empty directory into a memory channel
// and a null sink; RSS is read from /proc after it settled (SETTLE_MS). Also with the metrics endpoint on, which loads
// prom-client. Goal: ≤ 40 MiB. Reported as VmRSS (what ps shows) and split into RssAnon (the process's own heap and
// stacks) and RssFile (pages of the ~90 MB Bun executable it touched: shared with other sluice processes and
// reclaimable by the kernel).
// Run: node_modules/.bin/bun bench/idle-rss.ts

import { mkdir, writeFile } from "node:fs/promises";
import { join } from "node:path";
import { ensureBinary, report, rssOf, withTempDir } from "./ops-common.ts";

const SETTLE_MS = 3000;

type Mem = { rss: number; anon: number; file: number };

async function idleRss(bin: string, dir: string, extra: string[]): Promise<Mem> {
  const logs = join(dir, "logs");
  await mkdir(logs, { recursive: true });
  const conf = join(dir, "idle.conf");
  await writeFile(conf, [
    "a1.sources = r1", "a1.channels = c1", "a1.sinks = k1",
    "a1.sources.r1.type = TAILDIR", "a1.sources.r1.channels = c1", "a1.sources.r1.filegroups = f1",
    `a1.sources.r1.filegroups.f1 = ${logs}/.*[.]log`,
    "a1.channels.c1.type = memory",
    "a1.sinks.k1.type = null", "a1.sinks.k1.channel = c1",
  ].join("\n") + "\n");
  const p = Bun.spawn([bin, "agent", "-f", conf, "--state-dir", join(dir, "state"), "--log-level", "warn", ...extra], { stdout: "ignore", stderr: "inherit" });
  await Bun.sleep(SETTLE_MS);
  if (extra.length > 0) await fetch(`http://127.0.0.1:${extra[1]}/metrics/prometheus`).then((r) => r.text()).catch(() => "");
  await Bun.sleep(200);
  const rss = (await rssOf(p.pid)) ?? { rss: NaN, anon: NaN, file: NaN };
  p.kill("SIGTERM");
  await p.exited;
  return rss;
}

const bin = await ensureBinary();
const MiB = 1024 * 1024;
await withTempDir("sluice-bench-rss-", async (dir) => {
  const plain = await idleRss(bin, dir, []);
  report("idle-rss", "idle agent RSS MiB (VmRSS)", Math.round(plain.rss / MiB), "<= 40");
  report("idle-rss", "  of which private (RssAnon) MiB", Math.round(plain.anon / MiB));
  report("idle-rss", "  of which executable pages (RssFile) MiB", Math.round(plain.file / MiB));
  const m = await idleRss(bin, join(dir, "m"), ["--metrics-port", "19517"]);
  report("idle-rss", "idle agent with --metrics-port, after one scrape, RSS MiB", Math.round(m.rss / MiB));
  report("idle-rss", "  of which private (RssAnon) MiB", Math.round(m.anon / MiB));
});
