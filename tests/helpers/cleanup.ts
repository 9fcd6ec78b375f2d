// Preloaded by bunfig.toml: after the last test file, kills what the tests spawned, stops their servers, unmounts and
// removes their temp dirs (see runCleanups in tests/helpers/index.ts).
import { afterAll } from "bun:test";
import { runCleanups } from "./index.ts";

afterAll(runCleanups);
