// Small pieces of the component test rigs: a typed config from plain key/value pairs, and per-file cleanups.

import { afterAll, expect } from "bun:test";
import { parseKeys, type ConfigOf, type KeySpec } from "../../src/core/keys.ts";

/** The typed config of `spec` for these properties, as a config file would give it; fails the test on any problem. */
export function cfg<S extends KeySpec>(spec: S, props: Record<string, string | number | boolean>): ConfigOf<S> {
  const problems: unknown[] = [];
  const map = new Map(Object.entries(props).map(([k, v]) => [k, { value: String(v), line: 1 }]));
  const { config } = parseKeys(spec, { kind: "test", name: "t", prefix: "", file: "t", props: map }, problems as never[]);
  expect(problems).toEqual([]);
  return config;
}

/**
 * A list of stops run (newest first) when the calling test file ends: servers and components a file starts are gone
 * before the next file runs, unlike onCleanup, which waits for the end of the whole run.
 */
export function stopsAtFileEnd(): Array<() => unknown> {
  const stops: Array<() => unknown> = [];
  afterAll(async () => {
    for (const s of stops.splice(0).reverse()) await s();
  });
  return stops;
}
