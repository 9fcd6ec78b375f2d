// Command-line parsing for every command: node:util parseArgs, with its errors turned into one plain usage line
// (parseArgs' own messages carry a code such as ERR_PARSE_ARGS_UNKNOWN_OPTION and differ between runtimes).

import { closest } from "../core/keys.ts";
import { UsageError } from "../core/errors.ts";

interface OptionSpec {
  type: "string" | "boolean";
  short?: string;
  multiple?: boolean;
  default?: string | boolean | string[] | boolean[];
}

/** The spelling of an option for messages: `-f/--conf-file`. */
function spelling(name: string, o: OptionSpec): string {
  return `${o.short ? `-${o.short}/` : ""}--${name}`;
}

/** Runs `parse` (a parseArgs call over `options`) and rethrows its errors as one-line UsageErrors with a hint. */
export function parseOrUsage<T>(options: Record<string, OptionSpec>, parse: () => T): T {
  try {
    return parse();
  } catch (err) {
    const code = (err as { code?: string }).code;
    if (typeof code !== "string" || !code.startsWith("ERR_PARSE_ARGS")) throw err;
    const message = (err as Error).message;
    const quoted = /'([^']+)'/.exec(message)?.[1] ?? "";
    if (code === "ERR_PARSE_ARGS_UNKNOWN_OPTION") {
      const given = quoted.replace(/^-+/, "").split("=")[0]!;
      const names = Object.keys(options);
      const hint = given.length > 1 ? closest(given, names) : undefined;
      throw new UsageError(`unknown option ${quoted || "given"}${hint ? `; did you mean --${hint}?` : ""}`);
    }
    if (code === "ERR_PARSE_ARGS_INVALID_OPTION_VALUE") {
      const name = Object.keys(options).find((n) => quoted.includes(`--${n}`));
      if (name && options[name]!.type === "string") throw new UsageError(`${spelling(name, options[name]!)} needs a value`);
      if (name) throw new UsageError(`--${name} takes no value`);
      throw new UsageError(`an option is missing its value or has one it does not take`);
    }
    if (code === "ERR_PARSE_ARGS_UNEXPECTED_POSITIONAL") {
      throw new UsageError(`unexpected argument "${quoted}": options come as --name VALUE (a value with spaces needs quotes)`);
    }
    throw new UsageError(message.replace(/\s*\(ERR_PARSE_ARGS[A-Z_]*\)/, ""));
  }
}
