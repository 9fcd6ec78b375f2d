// Service files: the shipped ones equal what `sluice service print` generates for the default paths; the systemd
// unit passes `systemd-analyze verify` (Debian's systemd), the launchd plist is well-formed XML (xmllint), and
// `make install PREFIX=…` installs the binary and files that still verify.

import { describe, expect, test } from "bun:test";
import { existsSync } from "node:fs";
import { copyFile, mkdir, readFile, writeFile } from "node:fs/promises";
import { join } from "node:path";
import { ROOT, runSluice, tempDir } from "../helpers/index.ts";

async function run(cmd: string[], cwd = ROOT): Promise<{ code: number; out: string }> {
  const p = Bun.spawn(cmd, { cwd, stdout: "pipe", stderr: "pipe" });
  const [out, err] = await Promise.all([new Response(p.stdout).text(), new Response(p.stderr).text()]);
  return { code: await p.exited, out: out + err };
}

/** A valid agent config at <dir>/etc/sluice.conf (the shipped demo config). */
async function config(): Promise<{ dir: string; conf: string }> {
  const dir = await tempDir();
  await mkdir(join(dir, "etc"));
  const conf = join(dir, "etc", "sluice.conf");
  await copyFile(join(ROOT, "conf/sluice.conf"), conf);
  return { dir, conf };
}

async function print(kind: string, conf: string, extra: string[] = []): Promise<string> {
  const r = await runSluice(["service", "print", kind, "-f", conf, ...extra]);
  expect(r.code).toBe(0);
  return r.stdout;
}

describe("service files", () => {
  test("the shipped files are what `service print` generates for the default paths", async () => {
    const { conf } = await config();
    const bin = ["--bin", "/usr/local/bin/sluice"];
    const systemd = (await print("systemd", conf, bin)).replaceAll(conf, "/etc/sluice/sluice.conf");
    expect(systemd).toBe(await readFile(join(ROOT, "conf/systemd/sluice.service"), "utf8"));
    const launchd = (await print("launchd", conf, bin)).replaceAll(conf, "/usr/local/etc/sluice/sluice.conf");
    expect(launchd).toBe(await readFile(join(ROOT, "conf/launchd/io.sluice.agent.a1.plist"), "utf8"));
    const cron = (await print("cron", conf, [...bin, "--user", "root", "--state-dir", "/var/lib/sluice"])).replaceAll(conf, "/etc/sluice/sluice.conf");
    expect(cron).toBe(await readFile(join(ROOT, "conf/cron/sluice.cron"), "utf8"));
  });

  test("the systemd unit restarts on failure, stops later than the drain, keeps a state directory, and reloads with SIGHUP", async () => {
    const unit = await readFile(join(ROOT, "conf/systemd/sluice.service"), "utf8");
    expect(unit).toContain("Restart=on-failure");
    expect(unit).toContain("StateDirectory=sluice");
    expect(unit).toContain("ExecReload=/bin/kill -HUP $MAINPID");
    const stopSec = Number(/TimeoutStopSec=(\d+)s/.exec(unit)![1]);
    const drainSec = Number(/--drain-timeout (\d+)s/.exec(unit)![1]);
    expect(stopSec).toBeGreaterThan(drainSec);
  });

  test("a generated unit for this machine names this sluice by absolute path and passes systemd-analyze verify", async () => {
    const { dir, conf } = await config();
    const unit = await print("systemd", conf, ["-n", "a1"]);
    expect(unit).toMatch(/^ExecStart=\/\S+ /m);
    expect(unit).toContain(`-f ${conf} -n a1`);
    const path = join(dir, "sluice.service");
    await writeFile(path, unit);
    const v = await run(["systemd-analyze", "verify", path]);
    expect(v.out).toBe("");
    expect(v.code).toBe(0);
  });

  test("make install PREFIX=… installs the binary and a unit that passes systemd-analyze verify", async () => {
    if (!existsSync(join(ROOT, "dist/sluice"))) expect((await run(["make", "build"])).code).toBe(0);
    const dir = await tempDir();
    const prefix = join(dir, "prefix");
    // -o build: install what dist/ holds, without rebuilding it under tests that may be running it.
    const m = await run(["make", "-o", "build", "install", `PREFIX=${prefix}`]);
    expect(m.code).toBe(0);
    expect((await run([join(prefix, "bin/sluice"), "version"])).out).toContain("sluice ");
    const unit = join(prefix, "share/sluice/systemd/sluice.service");
    expect(await readFile(unit, "utf8")).toContain(`ExecStart=${prefix}/bin/sluice agent`);
    const v = await run(["systemd-analyze", "verify", unit]);
    expect(v.out).toBe("");
    expect(v.code).toBe(0);
    expect((await run(["xmllint", "--noout", join(prefix, "share/sluice/launchd/io.sluice.agent.a1.plist")])).code).toBe(0);
    expect(await readFile(join(prefix, "share/sluice/cron/sluice"), "utf8")).toContain(`root ${prefix}/bin/sluice agent`);
  }, 60_000);

  test("the launchd plist is well-formed XML with KeepAlive, RunAtLoad, ThrottleInterval and log paths", async () => {
    const { dir, conf } = await config();
    const shipped = join(ROOT, "conf/launchd/io.sluice.agent.a1.plist");
    const generated = join(dir, "gen.plist");
    await writeFile(generated, await print("launchd", conf));
    for (const f of [shipped, generated]) {
      const x = await run(["xmllint", "--noout", f]);
      expect(x.out).toBe("");
      expect(x.code).toBe(0);
    }
    const text = await readFile(shipped, "utf8");
    for (const k of ["KeepAlive", "RunAtLoad", "ThrottleInterval", "StandardOutPath", "StandardErrorPath", "ProgramArguments"]) expect(text).toContain(`<key>${k}</key>`);
  });

  test("the cron line runs --once every minute", async () => {
    const text = await readFile(join(ROOT, "conf/cron/sluice.cron"), "utf8");
    expect(text).toMatch(/^\* \* \* \* \* root \/usr\/local\/bin\/sluice agent .*--once/m);
  });

  test("service print refuses an invalid config and an unknown kind with exit 2", async () => {
    const { dir } = await config();
    const bad = join(dir, "bad.conf");
    await writeFile(bad, "a1.sources = r1\n");
    expect((await runSluice(["service", "print", "systemd", "-f", bad])).code).toBe(2);
    const { conf } = await config();
    const r = await runSluice(["service", "print", "upstart", "-f", conf]);
    expect(r.code).toBe(2);
    expect(r.stderr).toContain("systemd, launchd or cron");
  });
});
