import { describe, expect, test } from "bun:test";
import { parseProperties } from "../../src/config/properties.ts";

const get = (text: string, k: string) => parseProperties(text).props.get(k);

describe("Java properties syntax", () => {
  test("skips # and ! comments and blank lines, and keeps each key's line", () => {
    const p = parseProperties("# comment\n\n! another\na1.sources = r1\n");
    expect(p.props.size).toBe(1);
    expect(get("# c\n\na.b = v\n", "a.b")).toEqual({ key: "a.b", value: "v", line: 3 });
  });

  test("accepts =, : and whitespace as separators", () => {
    const p = parseProperties("a=1\nb : 2\nc 3\nd\t4\n");
    expect([...p.props.values()].map((x) => [x.key, x.value])).toEqual([["a", "1"], ["b", "2"], ["c", "3"], ["d", "4"]]);
  });

  test("joins continuation lines and drops the next line's leading whitespace", () => {
    const p = parseProperties("a1.sinks = k1 \\\n    k2 \\\n  k3\nnext = x\n");
    expect(p.props.get("a1.sinks")!.value).toBe("k1 k2 k3");
    expect(p.props.get("a1.sinks")!.line).toBe(1);
    expect(p.props.get("next")!.line).toBe(4);
  });

  test("unescapes \\t \\n \\\\ and \\uXXXX, and escaped separators in keys", () => {
    const p = parseProperties("key\\ with\\=sep = tab\\there\\nnl back\\\\slash \\u00e9\\u0041\n");
    expect(p.props.get("key with=sep")!.value).toBe("tab\there\nnl back\\slash éA");
  });

  test("the last value of a repeated key wins and every occurrence is reported", () => {
    const p = parseProperties("a = 1\nb = 2\na = 3\n");
    expect(p.props.get("a")!.value).toBe("3");
    expect(p.duplicates.map((d) => d.map((o) => o.line))).toEqual([[1, 3]]);
  });

  test("trims trailing whitespace from values as Flume does", () => {
    expect(get("a = v   \n", "a")!.value).toBe("v");
  });
});
