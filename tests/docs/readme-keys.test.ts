// README's key tables follow the components' key blocks: every key of every registered type has a row.

import { describe, expect, test } from "bun:test";
import { readFileSync } from "node:fs";
import { join } from "node:path";
import { allTypes } from "../../src/registry.ts";
import type { Kind } from "../../src/core/component-type.ts";
import type { KeySpec } from "../../src/core/keys.ts";
import { ROOT } from "../helpers/index.ts";

const readme = readFileSync(join(ROOT, "README.md"), "utf8");
const KINDS: Kind[] = ["source", "channel", "sink", "sinkprocessor", "interceptor", "selector"];

describe("README", () => {
  for (const kind of KINDS) {
    for (const t of allTypes(kind)) {
      test(`documents every key of the ${t.names[0]} ${kind}`, () => {
        const escape = (k: string) => k.replace(/[.*+?^${}()|[\]\\]/g, "\\$&");
        const missing = Object.entries(t.keys as KeySpec)
          .map(([name, d]) => (d.prefix ? { k: `${d.under ?? name}.`, re: new RegExp(`[|\`/ .]${escape(`${d.under ?? name}.`)}`) } : { k: name, re: new RegExp(`[|\`/ .]${escape(name)}[|\` ]`) }))
          .filter(({ re }) => !re.test(readme))
          .map(({ k }) => k);
        expect(missing).toEqual([]);
      });
    }
  }
});
