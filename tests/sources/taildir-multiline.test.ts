import { describe, expect, test } from "bun:test";
import { mkdir, writeFile } from "node:fs/promises";
import { join } from "node:path";
import { snapshot } from "../../src/metrics/snapshot.ts";
import { MultilineAggregator, type MultilineOptions } from "../../src/sources/taildir/multiline.ts";
import { tempDir, waitFor } from "../helpers/index.ts";
import { startAgent, waitForLines } from "./taildir-harness.ts";

const enc = new TextEncoder();
const dec = new TextDecoder();

/** Feeds lines (offsets as if each line were followed by \n) and returns [record, start, end, truncated]. */
function run(lines: string[], o: Partial<MultilineOptions> & { pattern: RegExp }, flushAtEnd = true) {
  const m = new MultilineAggregator({ negate: false, match: "after", maxLines: 500, maxBytes: 1 << 20, timeoutMs: 5000, ...o });
  const out: Array<[string, number, number, boolean]> = [];
  const emit = (b: Uint8Array, s: number, e: number, t: boolean) => out.push([dec.decode(b), s, e, t]);
  let at = 0;
  for (const l of lines) {
    const b = enc.encode(l);
    m.push(b, at, at + b.length + 1, false, emit, 0);
    at += b.length + 1;
  }
  if (flushAtEnd) m.flush(emit);
  return { out, pending: m.pending, dropped: m.takeDropped() };
}

describe("multiline records", () => {
  test("match after: continuation lines (matching) join the line before", () => {
    const { out } = run(["E1", " at a", " at b", "E2", "E3", " at c"], { pattern: /^\s/ });
    expect(out.map((o) => o[0])).toEqual(["E1\n at a\n at b", "E2", "E3\n at c"]);
    expect(out[0]!.slice(1)).toEqual([0, 15, false]);
  });

  test("match after with negate: lines not matching the start pattern join the line before", () => {
    const { out } = run(["[1] start", "cont", "more", "[2] next"], { pattern: /^\[\d+\]/, negate: true });
    expect(out.map((o) => o[0])).toEqual(["[1] start\ncont\nmore", "[2] next"]);
  });

  test("match before: a line ending in a backslash continues into the next", () => {
    const { out } = run(["one \\", "two \\", "three", "four"], { pattern: /\\$/, match: "before" });
    expect(out.map((o) => o[0])).toEqual(["one \\\ntwo \\\nthree", "four"]);
  });

  test("holds a record until a line that does not belong arrives (or a flush)", () => {
    const { out, pending } = run(["E1", " at a"], { pattern: /^\s/ }, false);
    expect(out).toEqual([]);
    expect(pending).toBe(true);
  });

  test("caps a record at maxLines and marks it truncated, keeping its end offset", () => {
    const { out, dropped } = run(["E", " 1", " 2", " 3", " 4", "F"], { pattern: /^\s/, maxLines: 3 });
    expect(out[0]).toEqual(["E\n 1\n 2", 0, 14, true]);
    expect(out[1]![0]).toBe("F");
    expect(dropped).toBe(2);
  });

  test("an agent counts the lines its multiline cap dropped as EventsDropped of the source, with the reason", async () => {
    const root = await tempDir("sluice-ml-drop-");
    const logs = join(root, "logs");
    await mkdir(logs);
    await writeFile(join(logs, "app.log"), ["E", " 1", " 2", " 3", " 4", "F", "G", ""].join("\n"));
    const r = await startAgent(root, ["type = TAILDIR", "filegroups = g1", `filegroups.g1 = ${logs}/app\\.log`, "multiline.pattern = ^[ ]", "multiline.maxLines = 3", "multiline.timeout = 100"]);
    // Records: "E\n 1\n 2" (truncated, " 3" and " 4" dropped), "F", "G": five delivered lines.
    await waitForLines(r.out, 5);
    const src = await waitFor("the drop counted", () => snapshot(r.agent).find((c) => c.kind === "SOURCE" && c.values.EventsDropped === 2));
    expect(src.values["EventsDropped.multiline cap (lines)"]).toBe(2);
    await r.stop();
  }, 20_000);
});
