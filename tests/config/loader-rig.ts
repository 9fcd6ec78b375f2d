// The loader as the config tests call it: the lines of one file in, the typed spec or its problems out.

import { buildAgentSpec } from "../../src/config/load.ts";
import { formatProblem } from "../../src/core/errors.ts";

/** The smallest whole agent: seq → memory → logger, as a1 with r1, c1 and k1. */
export const SEQ_TO_LOGGER: readonly string[] = [
  "a1.sources = r1",
  "a1.channels = c1",
  "a1.sinks = k1",
  "a1.sources.r1.type = seq",
  "a1.sources.r1.channels = c1",
  "a1.channels.c1.type = memory",
  "a1.sinks.k1.type = logger",
  "a1.sinks.k1.channel = c1",
];

/** build (the loader's result) and errors (its problems as the user sees them) for a file named `file`. */
export function loaderFor(file: string, defaultAgent?: string) {
  const build = (lines: readonly string[], agent = defaultAgent) => buildAgentSpec(lines.join("\n") + "\n", file, agent);
  const errors = (lines: readonly string[], agent = defaultAgent) => build(lines, agent).problems.map(formatProblem);
  return { build, errors };
}
