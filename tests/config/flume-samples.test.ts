// Flume's own sample configurations (from its User Guide): sluice accepts what it supports, and names what it does
// not implement as unsupported rather than failing on an "unknown" type.

import { describe, expect, test } from "bun:test";
import { readdirSync, readFileSync } from "node:fs";
import { join } from "node:path";
import { buildAgentSpec } from "../../src/config/load.ts";
import { formatProblem } from "../../src/core/errors.ts";

const DIR = join(import.meta.dir, "flume-samples");
const UNSUPPORTED: Record<string, string> = {
  "10-hdfs.conf": 'sink type "hdfs" is a Flume type that sluice does not implement; it writes to HDFS. What works today: forward to a Flume collector tier',
};

describe("Flume's sample configs", () => {
  for (const name of readdirSync(DIR).filter((f) => f.endsWith(".conf")).sort()) {
    const expected = UNSUPPORTED[name];
    test(expected ? `${name} is refused, naming the unsupported type` : `${name} is accepted`, () => {
      const { spec, problems, warnings } = buildAgentSpec(readFileSync(join(DIR, name), "utf8"), name);
      const errs = problems.map(formatProblem);
      if (expected) {
        expect(errs).toHaveLength(1);
        expect(errs[0]).toContain(expected);
      } else {
        expect(errs).toEqual([]);
        expect(spec).toBeDefined();
        if (name === "04-taildir.conf") expect(warnings.join("\n")).toContain('keys of source "ri" are ignored');
      }
    });
  }
});
