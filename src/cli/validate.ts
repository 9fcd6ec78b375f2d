// `sluice validate -f FILE [-n NAME]`: prints every problem (exit 2) or OK and a summary of the graph (exit 0).

import { parseArgs } from "node:util";
import { parseOrUsage } from "./args.ts";
import { readFile } from "node:fs/promises";
import { buildAgentSpec } from "../config/load.ts";
import type { AgentSpec } from "../core/spec.ts";
import { describeError, formatProblem, UsageError } from "../core/errors.ts";
import { CONFIG_OPTIONS } from "./common.ts";
import { checkPaths } from "./path-checks.ts";
import { EXIT_CONFIG, EXIT_OK } from "./exit-codes.ts";

export const VALIDATE_HELP = `usage: sluice validate -f FILE [-n NAME]

Checks a config file without starting anything: prints every problem with file:line and key (exit 2),
or OK and a summary of the agent's graph (exit 0). Besides the keys and the graph, it checks the paths the file
names: directories that must exist and be readable, directories and files the agent creates or writes (or their
parent), certificate files. Warnings (ignored keys, unused channels) are printed either way.`;

export async function validateCommand(argv: string[], out: (s: string) => void): Promise<number> {
  const options = { ...CONFIG_OPTIONS, help: { type: "boolean", short: "h" } } as const;
  const { values } = parseOrUsage(options, () => parseArgs({ args: argv, options, strict: true }));
  if (values.help) {
    out(VALIDATE_HELP);
    return EXIT_OK;
  }
  const file = values["conf-file"];
  if (!file) throw new UsageError("missing -f FILE (the config file to check)");
  let text: string;
  try {
    text = await readFile(file, "utf8");
  } catch (err) {
    out(`${file}: cannot read config file: ${describeError(err)}`);
    return EXIT_CONFIG;
  }
  const built = buildAgentSpec(text, file, values.name);
  const { spec, warnings } = built;
  // Paths are checked only for a file that is otherwise valid: the components' keys must parse first.
  const problems = built.problems.length > 0 || !spec ? built.problems : await checkPaths(spec);
  for (const w of warnings) out(`warning: ${w}`);
  if (problems.length > 0 || !spec) {
    for (const p of problems) out(`error: ${formatProblem(p)}`);
    out(`${problems.length} error${problems.length === 1 ? "" : "s"} in ${file}`);
    return EXIT_CONFIG;
  }
  out(`OK: ${summarize(spec)}`);
  return EXIT_OK;
}

export function summarize(spec: AgentSpec): string {
  const lines = [`agent ${spec.agent} (${spec.file})`];
  for (const s of spec.sources) {
    const extra = [s.interceptors.length ? `interceptors ${s.interceptors.map((i) => `${i.name}:${i.typeName}`).join(" ")}` : "", s.selector.typeName !== "replicating" ? `selector ${s.selector.typeName}` : ""].filter(Boolean).join(", ");
    lines.push(`  source  ${s.name} (${s.typeName}) -> ${s.channels.join(" ")}${extra ? ` [${extra}]` : ""}`);
  }
  for (const c of spec.channels) lines.push(`  channel ${c.name} (${c.typeName})`);
  for (const k of spec.sinks) lines.push(`  sink    ${k.name} (${k.typeName}) <- ${k.channel}`);
  for (const g of spec.groups) lines.push(`  group   ${g.name} (${g.processor.typeName}): ${g.sinks.join(" ")}`);
  return lines.join("\n");
}
