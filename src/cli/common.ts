// Options and helpers shared by the commands: config loading with warnings, state directory, logging flags.

import os from "node:os";
import { join } from "node:path";
import { loadAgentConfig } from "../config/load.ts";
import type { AgentSpec } from "../core/spec.ts";
import { UsageError } from "../core/errors.ts";
import { configureLogging, getLogger, type Level, type LogFormat } from "../util/log.ts";

export const LOG_OPTIONS = {
  "log-level": { type: "string", default: "info" },
  "log-format": { type: "string", default: "text" },
} as const;

export const CONFIG_OPTIONS = {
  "conf-file": { type: "string", short: "f" },
  name: { type: "string", short: "n" },
} as const;

export function applyLogOptions(values: { "log-level"?: string; "log-format"?: string }): void {
  const level = (values["log-level"] ?? "info").toLowerCase();
  const format = (values["log-format"] ?? "text").toLowerCase();
  if (!["debug", "info", "warn", "error"].includes(level)) throw new UsageError(`--log-level must be debug, info, warn or error, got "${values["log-level"]}"`);
  if (!["text", "json"].includes(format)) throw new UsageError(`--log-format must be text or json, got "${values["log-format"]}"`);
  configureLogging({ level: level as Level, format: format as LogFormat });
}

/** Loads the agent's config; warnings go to the log. Throws ConfigError or UsageError. */
export async function loadConfig(values: { "conf-file"?: string; name?: string }): Promise<AgentSpec> {
  const file = values["conf-file"];
  if (!file) throw new UsageError("missing -f FILE (the agent's config file)");
  const spec = await loadAgentConfig(file, values.name);
  const log = getLogger("config");
  for (const w of spec.warnings) log.warn(w);
  return spec;
}

/** `--state-dir`, else $SLUICE_STATE_DIR, else /var/lib/sluice as root and ~/.sluice otherwise. */
export function resolveStateDir(flag?: string): string {
  if (flag) return flag;
  const env = process.env.SLUICE_STATE_DIR;
  if (env) return env;
  return process.getuid?.() === 0 ? "/var/lib/sluice" : join(os.homedir(), ".sluice");
}
