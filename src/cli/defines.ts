// Flume's Java system-property spelling on the command line (`-Dflume.monitoring.type=http -Dflume.monitoring.port=N`,
// `-Dflume.root.logger=DEBUG,console`), so a Flume user's start script keeps working. parseArgs cannot take `-Dk=v`,
// so these are split off the argument list first.

import { UsageError } from "../core/errors.ts";
import { isJvmOption } from "./flume-args.ts";

export interface Defines {
  /** `flume.monitoring.type=http` was given. */
  monitoring?: "http";
  monitoringPort?: number;
  /** Level from `flume.root.logger=LEVEL,appender`. */
  logLevel?: string;
  warnings: string[];
  /** Flags accepted for Flume's sake that sluice has no use for: one line each at start. */
  notes: string[];
}

/** Flume's HTTP monitoring port when only the type is given (its MonitorService default). */
export const FLUME_DEFAULT_MONITORING_PORT = 41414;

/** Removes `-Dkey=value` (or `-D key=value`) and Java VM options (`-Xmx1g`) from argv and interprets the -D ones sluice knows. */
export function splitDefines(argv: string[]): { rest: string[]; defines: Defines } {
  const rest: string[] = [];
  const raw = new Map<string, string>();
  const jvm: string[] = [];
  for (let i = 0; i < argv.length; i++) {
    const a = argv[i]!;
    if (isJvmOption(a)) {
      jvm.push(a);
      continue;
    }
    if (!a.startsWith("-D")) {
      rest.push(a);
      continue;
    }
    const body = a.length > 2 ? a.slice(2) : argv[++i];
    if (body === undefined) throw new UsageError("-D needs key=value (e.g. -Dflume.monitoring.type=http)");
    const eq = body.indexOf("=");
    if (eq <= 0) throw new UsageError(`-D${body}: expected key=value (e.g. -Dflume.monitoring.port=34545)`);
    raw.set(body.slice(0, eq).trim(), body.slice(eq + 1).trim());
  }
  const d: Defines = { warnings: [], notes: [] };
  for (const a of jvm) d.notes.push(`${a}: a Java VM option; sluice has no JVM, ignored`);
  for (const [k, v] of raw) {
    switch (k) {
      case "flume.monitoring.type":
        if (v.toLowerCase() !== "http" && v !== "org.apache.flume.instrumentation.http.HTTPMetricsServer") {
          throw new UsageError(`-Dflume.monitoring.type=${v}: sluice serves only http monitoring (Ganglia and custom reporters are not supported)`);
        }
        d.monitoring = "http";
        break;
      case "flume.monitoring.port": {
        const n = Number(v);
        if (!Number.isInteger(n) || n < 0 || n > 65535) throw new UsageError(`-Dflume.monitoring.port=${v}: expected a port number 0-65535`);
        d.monitoringPort = n;
        break;
      }
      case "flume.root.logger": {
        const level = v.split(",")[0]!.trim().toLowerCase();
        const map: Record<string, string> = { trace: "debug", debug: "debug", info: "info", warn: "warn", error: "error", fatal: "error" };
        if (map[level]) d.logLevel = map[level];
        else d.warnings.push(`-Dflume.root.logger=${v}: unknown level "${level}"; ignored`);
        break;
      }
      case "flume.log.dir":
      case "flume.log.file":
      case "log4j.configurationFile":
      case "log4j.configuration":
        d.notes.push(`-D${k}: sluice has no log files of its own (it logs to stderr; --log-format json for collectors); ignored`);
        break;
      default:
        d.warnings.push(`-D${k}=${v} is not a property sluice knows; ignored`);
    }
  }
  if (d.monitoringPort !== undefined && !d.monitoring) {
    d.warnings.push("-Dflume.monitoring.port is ignored without -Dflume.monitoring.type=http (as in Flume)");
    d.monitoringPort = undefined;
  }
  if (d.monitoring && d.monitoringPort === undefined) d.monitoringPort = FLUME_DEFAULT_MONITORING_PORT;
  return { rest, defines: d };
}
