import { describe, expect, test } from "bun:test";
import { ValueError } from "../../src/core/errors.ts";
import { key, parseKeys, type ComponentConfig } from "../../src/core/keys.ts";
import type { ConfigProblem } from "../../src/core/errors.ts";

const comp = (props: Record<string, string>): ComponentConfig => ({
  kind: "channel",
  name: "c1",
  prefix: "a1.channels.c1.",
  file: "t.conf",
  props: new Map(Object.entries(props).map(([k, v], i) => [k, { value: v, line: i + 3 }])),
});

describe("typed key errors", () => {
  test("a key parser throws a ValueError, not a string", () => {
    const spec = { capacity: key.int("doc", { min: 1 }), ratio: key.number("doc"), on: key.bool("doc"), d: key.duration("doc", { unit: "s" }), b: key.bytes("doc"), e: key.enum("doc", ["a", "b"] as const), r: key.regex("doc") };
    for (const [name, raw] of [["capacity", "x"], ["capacity", "0"], ["ratio", "y"], ["on", "yes"], ["d", "3 weeks"], ["b", "lots"], ["e", "c"], ["r", "("]] as const) {
      let thrown: unknown;
      try {
        spec[name].parse(raw);
      } catch (e) {
        thrown = e;
      }
      expect(thrown).toBeInstanceOf(ValueError);
      expect((thrown as ValueError).code).toBe("CONFIG");
    }
  });

  test("parseKeys turns a ValueError into one problem with file:line, the full key and the parser's words", () => {
    const problems: ConfigProblem[] = [];
    parseKeys({ capacity: key.int("doc", { default: 10, min: 1 }), other: key.bool("doc", { default: false }) }, comp({ other: "true", capacity: "-5" }), problems);
    expect(problems).toEqual([{ where: "t.conf:4", key: "a1.channels.c1.capacity", message: "must be at least 1, got -5" }]);
  });

  test("a ValueError that knows its key and value names them first", () => {
    expect(new ValueError("cannot read: ENOENT", { key: "ssl-cert", value: "/x.pem" }).message).toBe("ssl-cert = /x.pem: cannot read: ENOENT");
    expect(new ValueError("no rules", { key: "ipFilterRules" }).message).toBe("ipFilterRules: no rules");
  });
});
