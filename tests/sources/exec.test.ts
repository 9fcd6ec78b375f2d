// The exec source with real child processes: lines become events in batches, a full channel blocks the command on
// its pipe (nothing dropped), stop reaps the whole process group, restart honours restartThrottle, and the command
// dies with the agent even after kill -9.

import { describe, expect, test } from "bun:test";
import { existsSync, readFileSync } from "node:fs";
import { join } from "node:path";
import { ExecSource, execKeys } from "../../src/sources/exec/index.ts";
import { BUN, DENO, MAIN, onCleanup, spawnSluice, tempDir, waitFor, writeConfig } from "../helpers/index.ts";
import { cfg, rig, text } from "./net-rig.ts";

const exec = (props: Record<string, string | number | boolean>, channel: Record<string, string | number> = {}) =>
  rig((p, log) => new ExecSource("e1", cfg(execKeys, props), p, log), channel);

function alive(pid: number): boolean {
  try {
    process.kill(pid, 0);
  } catch {
    return false;
  }
  // A zombie still answers kill 0; it is dead for our purposes only once reaped, but we want "not running".
  const stat = existsSync(`/proc/${pid}/stat`) ? readFileSync(`/proc/${pid}/stat`, "utf8") : "";
  return !/^\d+ \(.*\) [ZX] /.test(stat);
}

describe("exec", () => {
  test("each line the command prints is an event; batchTimeout puts a batch that is not full", async () => {
    const r = await exec({ command: "printf 'a\\nb\\r\\nc'", shell: "/bin/sh -c", batchSize: 100, batchTimeout: 100 });
    const got = await r.collect(3);
    expect(got.map(text)).toEqual(["a", "b", "c"]);
    expect(r.source.counters.EventAcceptedCount).toBe(3);
  });

  test("without shell the command is split on whitespace, as Flume does", async () => {
    const r = await exec({ command: "echo  one   two", batchTimeout: 50 });
    expect((await r.collect(1)).map(text)).toEqual(["one two"]);
  });

  test("a full channel blocks the command on its pipe; once the channel drains every line arrives, in order", async () => {
    const dir = await tempDir();
    const done = join(dir, "done");
    const n = 20_000;
    // ~2 MB of output: far more than the pipe and the stream buffers hold together.
    const r = await exec(
      { command: `i=0; while [ $i -lt ${n} ]; do echo "line $i ${"x".repeat(90)}"; i=$((i+1)); done; touch ${done}`, shell: "/bin/sh -c", batchSize: 100, batchTimeout: 50 },
      { capacity: 200, transactionCapacity: 100 },
    );
    await waitFor("a full channel", () => r.channel.size() === 200);
    await Bun.sleep(500);
    // The command is stuck in write(): it has not finished, and nothing was taken past what fits.
    expect(existsSync(done)).toBe(false);
    expect(r.source.counters.EventAcceptedCount).toBe(200);
    const got = await r.collect(n, 60_000);
    expect(got.length).toBe(n);
    expect(got.every((e, i) => text(e).startsWith(`line ${i} `))).toBe(true);
    await waitFor("the command finished", () => existsSync(done));
  }, 90_000);

  test("stop with the channel still full gives up after stopTimeout, counting and logging once what is lost", async () => {
    const r = await exec({ command: "yes line", batchSize: 50, batchTimeout: 50, stopTimeout: 300 }, { capacity: 100, transactionCapacity: 50, "keep-alive": 1 });
    await waitFor("a full channel", () => r.channel.size() === 100);
    const t0 = Date.now();
    await r.source.stop();
    // SIGTERM now, at most one keep-alive (1 s) for a put in progress, then the rest of the pipe is given up at once.
    expect(Date.now() - t0).toBeLessThan(2500);
    const c = (r.source as ExecSource).counters;
    expect(c.dropped.total).toBeGreaterThan(0);
    expect(c.dropped.byReason.get("stopped with the channel full")).toBe(c.dropped.total);
    expect(c.EventAcceptedCount).toBe(100);
    expect(r.lines.filter((l) => l.startsWith("ERROR stopping:") && l.includes(`${c.dropped.total} lines printed by the command could not be stored`))).toHaveLength(1);
  });

  test("stop sends the process group SIGTERM and reaps it, pipelines included", async () => {
    const dir = await tempDir();
    const r = await exec({ command: `echo $$ > ${dir}/sh.pid; sleep 300 | cat & echo $! > ${dir}/bg.pid; echo up; wait`, shell: "/bin/sh -c", batchTimeout: 20 });
    expect((await r.collect(1)).map(text)).toEqual(["up"]);
    const shPid = Number(readFileSync(join(dir, "sh.pid"), "utf8"));
    const bgPid = Number(readFileSync(join(dir, "bg.pid"), "utf8"));
    const wrapper = (r.source as ExecSource).childPid!;
    expect([shPid, bgPid, wrapper].every(alive)).toBe(true);
    await r.source.stop();
    expect((r.source as ExecSource).childPid).toBeUndefined();
    await waitFor("every process of the group gone", () => ![shPid, bgPid, wrapper].some(alive), 3000);
  });

  test("a command that ignores SIGTERM is killed after stopTimeout", async () => {
    const dir = await tempDir();
    const r = await exec({ command: `trap '' TERM; echo $$ > ${dir}/pid; echo up; while :; do sleep 0.1; done`, shell: "/bin/sh -c", batchTimeout: 20, stopTimeout: 300 });
    await r.collect(1);
    const pid = Number(readFileSync(join(dir, "pid"), "utf8"));
    const t0 = Date.now();
    await r.source.stop();
    expect(Date.now() - t0).toBeGreaterThanOrEqual(250);
    await waitFor("the stubborn command gone", () => !alive(pid), 3000);
  });

  test("stop is bounded even when a process that left the group holds the output pipe open", async () => {
    const dir = await tempDir();
    const r = await exec({ command: `setsid sh -c 'echo $$ > ${dir}/stray; exec sleep 30' & echo up; wait`, shell: "/bin/sh -c", batchTimeout: 20, stopTimeout: 200 });
    await r.collect(1);
    const stray = await waitFor("the stray's pid", () => (existsSync(join(dir, "stray")) ? Number(readFileSync(join(dir, "stray"), "utf8")) : 0));
    onCleanup(() => {
      try {
        process.kill(stray, "SIGKILL");
      } catch {
        // gone
      }
    });
    const t0 = Date.now();
    await r.source.stop();
    expect(Date.now() - t0).toBeLessThan(3000);
    expect(r.lines.some((l) => l.includes("its output pipe is still open"))).toBe(true);
  });

  test("restart runs the command again after restartThrottle", async () => {
    const r = await exec({ command: "echo run", restart: true, restartThrottle: 300, batchTimeout: 20 });
    const t0 = Date.now();
    const got = await r.collect(3, 5000);
    const took = Date.now() - t0;
    expect(got.map(text)).toEqual(["run", "run", "run"]);
    // Two pauses of 300 ms between three runs.
    expect(took).toBeGreaterThanOrEqual(550);
    expect((r.source as ExecSource).gauges().ChildRestarts).toBeGreaterThanOrEqual(2);
  });

  test("without restart, an exit is logged with its code and a hint", async () => {
    const r = await exec({ command: "no-such-command-sluice-test", batchTimeout: 20 });
    await waitFor("the exit line", () => r.lines.find((l) => l.includes("exited with exit code 127 (command not found?)")));
  });

  test.each([
    ["Bun", [BUN, MAIN]],
    ["Deno", [DENO, "run", "-A", MAIN]],
  ] as Array<[string, string[]]>)("under %s, the command dies with the agent after kill -9", async (_name, bin) => {
    const dir = await tempDir();
    const out = join(dir, "out");
    const conf = await writeConfig(dir, [
      "a1.sources = e1",
      "a1.channels = c1",
      "a1.sinks = k1",
      "a1.sources.e1.type = exec",
      "a1.sources.e1.shell = /bin/sh -c",
      `a1.sources.e1.command = echo $$ > ${dir}/pid; exec sleep 300`,
      "a1.sources.e1.channels = c1",
      "a1.channels.c1.type = memory",
      "a1.sinks.k1.type = file_roll",
      `a1.sinks.k1.sink.directory = ${out}`,
      "a1.sinks.k1.channel = c1",
    ]);
    const agent = spawnSluice(["agent", "-f", conf, "-n", "a1", "--state-dir", join(dir, "state")], { bin });
    const pid = await waitFor("the command's pid", () => (existsSync(join(dir, "pid")) ? Number(readFileSync(join(dir, "pid"), "utf8")) : 0), 15_000);
    expect(alive(pid)).toBe(true);
    agent.kill("SIGKILL");
    await agent.exited;
    await waitFor("the command gone with the agent", () => !alive(pid), 5000);
  }, 30_000);
});
