// Flume's own `flume-ng agent` flags, so a Flume user's start line runs unchanged: `sluice agent --conf conf
// --conf-file example.conf --name a1 -Dflume.root.logger=INFO,console`. Flags sluice has no use for are accepted with
// one line each saying so; flags asking for something sluice cannot do (ZooKeeper configs, a dry run that prints a
// Java command) are usage errors that say what to do instead.

import { UsageError } from "../core/errors.ts";

/** parseArgs options for Flume's flags that `sluice agent` does not otherwise have. */
export const FLUME_AGENT_OPTIONS = {
  conf: { type: "string", short: "c" },
  classpath: { type: "string", short: "C" },
  "plugins-path": { type: "string" },
  "no-reload-conf": { type: "boolean" },
  dryrun: { type: "boolean", short: "d" },
  zkConnString: { type: "string", short: "z" },
  zkBasePath: { type: "string", short: "p" },
  "conf-uri": { type: "string", multiple: true },
  "conf-provider": { type: "string" },
  "conf-user": { type: "string" },
  "conf-password": { type: "string" },
} as const;

export interface FlumeFlagValues {
  conf?: string;
  classpath?: string;
  "plugins-path"?: string;
  "no-reload-conf"?: boolean;
  dryrun?: boolean;
  zkConnString?: string;
  zkBasePath?: string;
  "conf-uri"?: string[];
  "conf-provider"?: string;
  "conf-user"?: string;
  "conf-password"?: string;
  "conf-file"?: string;
  "reload-interval"?: string;
}

/**
 * Checks Flume's flags: returns one note per flag sluice accepts but has no use for, and the config file a
 * `--conf-uri file:…` names (Flume 1.10+); throws a UsageError for flags asking for what sluice cannot do.
 */
export function interpretFlumeFlags(v: FlumeFlagValues): { notes: string[]; confFile?: string } {
  const notes: string[] = [];
  if (v.dryrun) throw new UsageError("--dryrun: sluice has no Java command line to print; to check a config without starting it, run sluice validate -f FILE");
  if (v.zkConnString !== undefined || v.zkBasePath !== undefined) {
    throw new UsageError(`${v.zkConnString !== undefined ? "--zkConnString" : "--zkBasePath"}: sluice reads its configuration from a file only (-f FILE); ZooKeeper-stored configs are not supported`);
  }
  let confFile: string | undefined;
  const uris = v["conf-uri"] ?? [];
  if (uris.length > 1) throw new UsageError(`--conf-uri given ${uris.length} times: sluice runs one config file (-f FILE)`);
  if (uris.length === 1) {
    let url: URL;
    try {
      url = new URL(uris[0]!);
    } catch {
      throw new UsageError(`--conf-uri ${uris[0]}: not a URI (for a local file, use -f FILE)`);
    }
    if (url.protocol !== "file:") throw new UsageError(`--conf-uri ${uris[0]}: sluice reads a local file only; fetch it first and pass -f FILE`);
    if (v["conf-file"] !== undefined) throw new UsageError("--conf-uri and -f/--conf-file both given: pass one config file");
    confFile = decodeURIComponent(url.pathname);
  }
  for (const flag of ["conf-provider", "conf-user", "conf-password"] as const) {
    if (v[flag] !== undefined) throw new UsageError(`--${flag}: belongs to Flume's remote config providers, which sluice does not have; pass -f FILE`);
  }
  if (v["no-reload-conf"] && v["reload-interval"] !== undefined) throw new UsageError("--no-reload-conf and --reload-interval contradict each other: give one");
  if (v.conf !== undefined) notes.push(`--conf ${v.conf}: sluice has no use for Flume's conf directory (flume-env.sh, log4j); it logs to stderr (--log-level, -Dflume.root.logger)`);
  if (v.classpath !== undefined) notes.push(`--classpath: sluice loads no Java classes; ignored`);
  if (v["plugins-path"] !== undefined) notes.push(`--plugins-path: sluice has no plugins (its components are built in); ignored`);
  if (v["no-reload-conf"]) notes.push(`--no-reload-conf: sluice polls its config file only with --reload-interval (SIGHUP still reloads); nothing to turn off`);
  return { notes, confFile };
}

/** A Java VM option on Flume's command line (`-Xmx512m`, `-javaagent:…`): sluice has no JVM. */
export function isJvmOption(arg: string): boolean {
  return /^-(X|javaagent|agentlib|agentpath)/.test(arg);
}
