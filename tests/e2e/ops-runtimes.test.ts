// The operations layer on every runtime sluice ships for: the compiled binary (`bun build --compile`) and Deno run the
// metrics endpoint (prom-client inside), the state lock and cron mode like Bun does.

import { describe, expect, test } from "bun:test";
import { mkdir } from "node:fs/promises";
import { join } from "node:path";
import parsePrometheusTextFormat from "parse-prometheus-text-format";
import { BUN, DENO, MAIN, ROOT, freePort, runSluice, spawnSluice, tempDir, waitFor, writeConfig } from "../helpers/index.ts";
import { delivered, expectedLines, getJson, logFile, stateArgs, tailConfig, writeLines } from "./ops-helpers.ts";

async function scenario(bin: string[]) {
  const dir = await tempDir();
  const logs = join(dir, "logs");
  await mkdir(logs);
  const out = join(dir, "out");
  const state = join(dir, "state");
  const conf = await writeConfig(dir, tailConfig({ logs, out }));
  await writeLines(logFile(logs), 0, 300);

  // Cron mode delivers everything and exits 0.
  const once = await runSluice([...stateArgs(conf, state), "--once"], { bin, timeoutMs: 60_000 });
  expect(once.code).toBe(0);
  expect((await delivered(out)).size).toBe(300);

  // A running agent serves Prometheus text that parses, and holds the lock against a second agent.
  const port = await freePort();
  const agent = spawnSluice([...stateArgs(conf, state), "--metrics-port", String(port)], { bin });
  const base = `http://127.0.0.1:${port}`;
  await waitFor("the metrics endpoint", () => fetch(`${base}/health`).then((r) => r.status === 200, () => false), 60_000, 100);
  await writeLines(logFile(logs), 300, 400);
  await waitFor("400 lines", async () => (await delivered(out)).size >= 400, 20_000, 50);
  const text = await (await fetch(`${base}/metrics/prometheus`)).text();
  const fams = parsePrometheusTextFormat(text);
  expect(fams.find((f) => f.name === "sluice_sink_event_drain_success_total")?.metrics[0]?.value).toBe("100");
  expect(fams.some((f) => f.name === "process_resident_memory_bytes")).toBe(true);
  expect((await getJson(`${base}/metrics`)).body["SOURCE.r1"].Type).toBe("SOURCE");
  const second = await runSluice(stateArgs(conf, state), { bin, timeoutMs: 60_000 });
  expect(second.code).toBe(1);
  expect(second.stderr).toContain(`pid ${agent.proc.pid}`);
  agent.kill("SIGTERM");
  expect(await agent.exited).toBe(0);
  const got = await delivered(out);
  for (const l of expectedLines(0, 400)) expect(got.has(l)).toBe(true);
}

describe("operations on every runtime", () => {
  test("the compiled binary runs cron mode, the lock and the metrics endpoint (prom-client bundled)", async () => {
    const dir = await tempDir();
    const bin = join(dir, "sluice");
    // A private build: dist/sluice belongs to other tests that may be running it.
    const b = Bun.spawnSync([BUN, "build", "--compile", "--minify", MAIN, "--outfile", bin], { cwd: ROOT, stdout: "pipe", stderr: "pipe" });
    expect(b.exitCode).toBe(0);
    await scenario([bin]);
  }, 90_000);

  test("Deno runs cron mode, the lock and the metrics endpoint", async () => {
    await scenario([DENO, "run", "-A", MAIN]);
  }, 90_000);
});
