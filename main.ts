// Entry point: hands argv to the CLI and sets the exit code.
import { main } from "./src/cli/index.ts";

const code = await main(process.argv.slice(2));
process.exit(code);
