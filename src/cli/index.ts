// Command dispatch: `sluice <command> [options]`. Turns every expected failure into one clear line and an exit code.

import { ConfigError, describeError, formatProblem, SluiceError } from "../core/errors.ts";
import { runtimeVersion } from "../runtime.ts";
import { getLogger } from "../util/log.ts";
import { agentCommand } from "./agent.ts";
import { EXIT_CONFIG, EXIT_OK, EXIT_RUNTIME } from "./exit-codes.ts";
import { validateCommand } from "./validate.ts";
import { statusCommand } from "./status.ts";
import { serviceCommand } from "./service.ts";
import { topCommand } from "./top.ts";
import { VERSION } from "../version.ts";

export const HELP = `sluice ${VERSION} — a single-binary edge log collector (Flume's Source → Channel → Sink model)

usage: sluice <command> [options]

commands:
  agent -f FILE [-n NAME]      run an agent from a Flume-format properties file
  validate -f FILE [-n NAME]   check a config file: every error with file:line and key (exit 2), or OK and the graph
  status -f FILE [-n NAME]     the agent's state on disk (offsets, lag, backlog, lock holder), running or not; --json
  top --metrics-port N         a live view of a running agent (events/s, channel fill, sink state, bytes behind); q quits
  service print systemd|launchd|cron -f FILE [-n NAME]
                               a service file for this machine (this binary's path and the config filled in)
  version                      print the version
  help                         this text; \`sluice <command> --help\` for a command's options

exit codes: 0 ok, 1 runtime failure, 2 bad usage or config, 3 --once could not deliver everything in time`;

type Command = (argv: string[], out: (s: string) => void) => Promise<number>;

const COMMANDS: Record<string, Command> = {
  agent: agentCommand,
  validate: validateCommand,
  status: statusCommand,
  service: serviceCommand,
  top: topCommand,
  version: async (_argv, out) => {
    out(`sluice ${VERSION} (${runtimeVersion()})`);
    return EXIT_OK;
  },
  help: async (_argv, out) => {
    out(HELP);
    return EXIT_OK;
  },
};

export async function main(argv: string[], out: (s: string) => void = (s) => console.log(s)): Promise<number> {
  const [cmd, ...rest] = argv;
  if (cmd === undefined || cmd === "--help" || cmd === "-h") {
    out(HELP);
    return cmd === undefined ? EXIT_CONFIG : EXIT_OK;
  }
  if (cmd === "--version" || cmd === "-V") return COMMANDS.version!(rest, out);
  const command = COMMANDS[cmd];
  if (!command) {
    process.stderr.write(`sluice: unknown command "${cmd}" (commands: ${Object.keys(COMMANDS).join(", ")}); see sluice --help\n`);
    return EXIT_CONFIG;
  }
  try {
    return await command(rest, out);
  } catch (err) {
    if (err instanceof ConfigError) {
      for (const w of err.warnings) process.stderr.write(`warning: ${w}\n`);
      for (const p of err.problems) process.stderr.write(`error: ${formatProblem(p)}\n`);
      return EXIT_CONFIG;
    }
    if (err instanceof SluiceError && err.code === "USAGE") {
      process.stderr.write(`sluice ${cmd}: ${describeError(err)} (see sluice ${cmd} --help)\n`);
      return EXIT_CONFIG;
    }
    process.stderr.write(`sluice ${cmd}: ${describeError(err)}\n`);
    getLogger().debug(String((err as Error)?.stack));
    return EXIT_RUNTIME;
  }
}
