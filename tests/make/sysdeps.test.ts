// `make sysdeps` on a busy machine (tests/helpers/sysdeps.sh): it waits for an apt/dpkg lock another process holds,
// saying who holds it, and a package it cannot install is named with the tests that need it while the run goes on.

import { describe, expect, test } from "bun:test";
import { existsSync, readFileSync } from "node:fs";
import { join } from "node:path";
import { ROOT, tempDir } from "../helpers/index.ts";

const SCRIPT = join(ROOT, "tests/helpers/sysdeps.sh");
const FRONTEND = "/var/lib/dpkg/lock-frontend";
// Holding the lock as apt does (fcntl, not flock: the two do not see each other on Linux) needs root and python3.
const canHold = process.getuid?.() === 0 && existsSync("/usr/bin/python3") && existsSync("/usr/bin/apt-get") && existsSync("/usr/bin/lslocks");

async function script(args: string[], env: Record<string, string>): Promise<{ code: number; out: string; ms: number }> {
  const t0 = Date.now();
  const p = Bun.spawn(["bash", SCRIPT, ...args], { env: { ...process.env, ...env }, stdout: "pipe", stderr: "pipe" });
  const timer = setTimeout(() => p.kill(9), 60_000);
  const [code, out, err] = await Promise.all([p.exited, new Response(p.stdout).text(), new Response(p.stderr).text()]);
  clearTimeout(timer);
  return { code, out: out + err, ms: Date.now() - t0 };
}

describe("make sysdeps", () => {
  test("with every package present it does nothing and says nothing", async () => {
    const r = await script(["bash:bash"], {});
    expect(r).toMatchObject({ code: 0, out: "" });
  });

  test.skipIf(!canHold)("waits for a held dpkg lock, names its holder, then names the tests a missing package leaves failing and goes on", async () => {
    const dir = await tempDir();
    const report = join(dir, "missing");
    const holder = Bun.spawn(["python3", "-c", `import fcntl,os,sys,time\nfd=os.open("${FRONTEND}",os.O_RDWR|os.O_CREAT)\nfcntl.lockf(fd,fcntl.LOCK_EX)\nprint("held",flush=True)\ntime.sleep(3)`], { stdout: "pipe" });
    const reader = (holder.stdout as ReadableStream<Uint8Array>).getReader();
    expect(new TextDecoder().decode((await reader.read()).value)).toContain("held");
    const r = await script(["sluice-test-no-such-package:socat"], { SYSDEPS_NO_UPDATE: "1", SYSDEPS_LOCK_TIMEOUT: "30", SYSDEPS_REPORT: report });
    await holder.exited;
    expect(r.code).toBe(0);
    expect(r.out).toMatch(/sysdeps: \/var\/lib\/dpkg\/lock-frontend is held by process \d+ \(python3\); waiting up to 30 s/);
    // It waited for the holder rather than failing at once.
    expect(r.ms).toBeGreaterThanOrEqual(2000);
    expect(r.out).toMatch(/could not install sluice-test-no-such-package \(provides socat\): these tests will fail: .*tests\/sources\/netcat\.test\.ts tests\/sources\/syslog\.test\.ts/);
    expect(readFileSync(report, "utf8")).toContain("could not install sluice-test-no-such-package");
  }, 60_000);
});
