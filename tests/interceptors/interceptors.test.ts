import { describe, expect, test } from "bun:test";
import { parseKeys, type KeySpec, type ConfigOf } from "../../src/core/keys.ts";
import { buildAgentSpec } from "../../src/config/load.ts";
import { emptyHeaders, makeEvent, type Event } from "../../src/core/event.ts";
import { HostInterceptor, hostKeys, localAddress } from "../../src/interceptors/host.ts";
import { RegexExtractorInterceptor, regexExtractorKeys, compileDatePattern } from "../../src/interceptors/regex-extractor.ts";
import { RegexFilterInterceptor, regexFilterKeys } from "../../src/interceptors/regex-filter.ts";
import { RemoveHeaderInterceptor, removeHeaderKeys } from "../../src/interceptors/remove-header.ts";
import { SearchReplaceInterceptor, searchReplaceKeys } from "../../src/interceptors/search-replace.ts";
import { StaticInterceptor, staticKeys } from "../../src/interceptors/static.ts";
import { TimestampInterceptor, timestampKeys } from "../../src/interceptors/timestamp.ts";
import { UuidInterceptor, uuidKeys } from "../../src/interceptors/uuid.ts";
import { hostName } from "../../src/runtime.ts";

function cfg<S extends KeySpec>(spec: S, props: Record<string, string> = {}): ConfigOf<S> {
  const problems: unknown[] = [];
  const map = new Map(Object.entries(props).map(([k, v]) => [k, { value: v, line: 1 }]));
  const { config } = parseKeys(spec, { kind: "interceptor", name: "i1", prefix: "", file: "t", props: map }, problems as never[]);
  expect(problems).toEqual([]);
  return config;
}

const text = (e: Event) => new TextDecoder().decode(e.body);
/** Events that share one frozen header map, as sources hand them out. */
const shared = (...bodies: string[]) => bodies.map((b) => makeEvent(b, emptyHeaders()));

describe("timestamp", () => {
  test("stamps every event with the current epoch milliseconds without touching a shared map", () => {
    const before = Date.now();
    const events = new TimestampInterceptor(cfg(timestampKeys)).intercept(shared("a", "b"));
    const t = Number(events[0]!.headers.timestamp);
    expect(t).toBeGreaterThanOrEqual(before);
    expect(t).toBeLessThanOrEqual(Date.now());
    expect(emptyHeaders()).toEqual({});
  });

  test("preserveExisting keeps a timestamp already set; headerName renames the header", () => {
    const e = makeEvent("x", { ts: "1" });
    new TimestampInterceptor(cfg(timestampKeys, { headerName: "ts", preserveExisting: "true" })).intercept([e]);
    expect(e.headers.ts).toBe("1");
    new TimestampInterceptor(cfg(timestampKeys, { headerName: "ts" })).intercept([e]);
    expect(e.headers.ts).not.toBe("1");
  });
});

describe("host", () => {
  test("adds the IP address by default and the host name with useIP = false", () => {
    const [a] = new HostInterceptor(cfg(hostKeys)).intercept(shared("a"));
    expect(a!.headers.host).toBe(localAddress());
    const [b] = new HostInterceptor(cfg(hostKeys, { useIP: "false", hostHeader: "hn" })).intercept(shared("b"));
    expect(b!.headers.hn).toBe(hostName());
  });
});

describe("static", () => {
  test("adds the key and keeps an existing value unless preserveExisting is false", () => {
    const events = [makeEvent("a", { env: "old" }), ...shared("b")];
    new StaticInterceptor(cfg(staticKeys, { key: "env", value: "prod" })).intercept(events);
    expect(events.map((e) => e.headers.env)).toEqual(["old", "prod"]);
    new StaticInterceptor(cfg(staticKeys, { key: "env", value: "prod", preserveExisting: "false" })).intercept(events);
    expect(events.map((e) => e.headers.env)).toEqual(["prod", "prod"]);
  });
});

describe("remove_header", () => {
  test("removes by name, by list and by a regex on whole names, copying a shared map instead of mutating it", () => {
    const common = { keep: "1", drop: "2", a: "3", b: "4", "x-trace": "5", "x-span": "6", prex: "7" };
    const e1 = makeEvent("1", common);
    const e2 = makeEvent("2", common);
    new RemoveHeaderInterceptor(cfg(removeHeaderKeys, { withName: "drop", fromList: "a , b", matching: "x-.*" })).intercept([e1, e2]);
    expect(e1.headers).toEqual({ keep: "1", prex: "7" });
    expect(e2.headers).toEqual({ keep: "1", prex: "7" });
    expect(Object.keys(common).length).toBe(7);
  });
});

describe("uuid", () => {
  test("gives each event its own id, with a prefix, preserving an existing one", () => {
    const events = [...shared("a", "b"), makeEvent("c", { id: "mine" })];
    new UuidInterceptor(cfg(uuidKeys, { prefix: "edge1-" })).intercept(events);
    expect(events[0]!.headers.id).toMatch(/^edge1-[0-9a-f-]{36}$/);
    expect(events[1]!.headers.id).not.toBe(events[0]!.headers.id);
    expect(events[2]!.headers.id).toBe("mine");
  });
});

describe("regex_filter", () => {
  test("keeps matching events, or drops them with excludeEvents", () => {
    const events = () => shared("GET /a 200", "GET /b 500", "POST /c 200");
    const keep = new RegexFilterInterceptor(cfg(regexFilterKeys, { regex: " 200$" })).intercept(events());
    expect(keep.map(text)).toEqual(["GET /a 200", "POST /c 200"]);
    const drop = new RegexFilterInterceptor(cfg(regexFilterKeys, { regex: "^GET", excludeEvents: "true" })).intercept(events());
    expect(drop.map(text)).toEqual(["POST /c 200"]);
  });

  test("the default .* keeps everything without decoding", () => {
    const batch = shared("a", "b");
    expect(new RegexFilterInterceptor(cfg(regexFilterKeys)).intercept(batch)).toBe(batch);
  });
});

describe("regex_extractor", () => {
  test("turns the groups of the first match into headers, one serializer per group", () => {
    const i = new RegexExtractorInterceptor(
      cfg(regexExtractorKeys, { regex: "(\\d+):(\\d+):(\\d+)", serializers: "s1 s2 s3", "serializers.s1.name": "one", "serializers.s2.name": "two", "serializers.s3.name": "three" }),
    );
    const [a, b] = i.intercept(shared("1:2:3 and 4:5:6", "no digits"));
    expect(a!.headers).toEqual({ one: "1", two: "2", three: "3" });
    expect(b!.headers).toEqual({});
  });

  test("a millis serializer parses the group with its date pattern", () => {
    const i = new RegexExtractorInterceptor(
      cfg(regexExtractorKeys, {
        regex: "^(\\d\\d\\d\\d-\\d\\d-\\d\\d \\d\\d:\\d\\d:\\d\\d [+-]\\d{4})",
        serializers: "ts",
        "serializers.ts.name": "timestamp",
        "serializers.ts.type": "org.apache.flume.interceptor.RegexExtractorInterceptorMillisSerializer",
        "serializers.ts.pattern": "yyyy-MM-dd HH:mm:ss Z",
      }),
    );
    const [e] = i.intercept(shared("2024-03-01 12:30:15 +0100 something happened"));
    expect(e!.headers.timestamp).toBe(String(Date.UTC(2024, 2, 1, 11, 30, 15)));
    expect(compileDatePattern("dd/MM/yyyy")("31/12/2023")).toBe(String(new Date(2023, 11, 31).getTime()));
    expect(compileDatePattern("yyyy-MM-dd")("not a date")).toBeUndefined();
  });
});

describe("search_replace", () => {
  test("replaces every match in the body, with groups", () => {
    const i = new SearchReplaceInterceptor(cfg(searchReplaceKeys, { searchPattern: "password=(\\S+)", replaceString: "password=***" }));
    const [a, b] = i.intercept(shared("user=a password=x1 password=y2", "clean"));
    expect(text(a!)).toBe("user=a password=*** password=***");
    expect(text(b!)).toBe("clean");
    const swap = new SearchReplaceInterceptor(cfg(searchReplaceKeys, { searchPattern: "(\\w+)@(\\w+)", replaceString: "$2 at $1" }));
    expect(text(swap.intercept(shared("me@host"))[0]!)).toBe("host at me");
  });

  test("leaves the input batch as it was, so a retried batch is not rewritten twice", () => {
    const i = new SearchReplaceInterceptor(cfg(searchReplaceKeys, { searchPattern: "^", replaceString: "[t]:" }));
    const batch = shared("line");
    expect(text(i.intercept(batch)[0]!)).toBe("[t]:line");
    expect(text(batch[0]!)).toBe("line");
    expect(text(i.intercept(batch)[0]!)).toBe("[t]:line");
  });

  test("ISO-8859-1 bodies keep every byte, 0x80-0x9F included", () => {
    const i = new SearchReplaceInterceptor(cfg(searchReplaceKeys, { searchPattern: "a", replaceString: "X", charset: "ISO-8859-1" }));
    const [out] = i.intercept([makeEvent(new Uint8Array([0x61, 0x80, 0x9f, 0xe9]))]);
    expect([...out!.body]).toEqual([0x58, 0x80, 0x9f, 0xe9]);
  });

  test("UTF-16 (big-endian, as Java reads it without a byte-order mark) round-trips", () => {
    const i = new SearchReplaceInterceptor(cfg(searchReplaceKeys, { searchPattern: "b", replaceString: "é", charset: "UTF-16" }));
    const [out] = i.intercept([makeEvent(new Uint8Array([0, 0x61, 0, 0x62]))]);
    expect([...out!.body]).toEqual([0, 0x61, 0, 0xe9]);
  });
});

describe("interceptor configuration", () => {
  const base = ["a1.sources = r1", "a1.channels = c1", "a1.sinks = k1", "a1.sources.r1.type = seq", "a1.sources.r1.channels = c1", "a1.channels.c1.type = memory", "a1.sinks.k1.type = null", "a1.sinks.k1.channel = c1"];

  test("accepts Flume's class names and chains interceptors in order", () => {
    const { problems, spec } = buildAgentSpec(
      [
        ...base,
        "a1.sources.r1.interceptors = i1 i2 i3",
        "a1.sources.r1.interceptors.i1.type = org.apache.flume.interceptor.TimestampInterceptor$Builder",
        "a1.sources.r1.interceptors.i2.type = org.apache.flume.sink.solr.morphline.UUIDInterceptor$Builder",
        "a1.sources.r1.interceptors.i3.type = REGEX_FILTER",
        "a1.sources.r1.interceptors.i3.regex = ^5",
      ].join("\n"),
      "t.conf",
    );
    expect(problems).toEqual([]);
    expect(spec!.sources[0]!.interceptors.map((i) => i.typeName)).toEqual(["timestamp", "uuid", "regex_filter"]);
  });

  test("reports a bad regex and a regex_extractor without serializers with file, line and key", () => {
    const { problems } = buildAgentSpec(
      [
        ...base,
        "a1.sources.r1.interceptors = i1 i2",
        "a1.sources.r1.interceptors.i1.type = regex_filter",
        "a1.sources.r1.interceptors.i1.regex = (unclosed",
        "a1.sources.r1.interceptors.i2.type = regex_extractor",
        "a1.sources.r1.interceptors.i2.regex = (\\d+)",
      ].join("\n"),
      "t.conf",
    );
    const text = problems.map((p) => `${p.where}: ${p.key}: ${p.message}`).join("\n");
    expect(text).toMatch(/t\.conf:11: a1\.sources\.r1\.interceptors\.i1\.regex: invalid regular expression/);
    expect(text).toMatch(/a1\.sources\.r1\.interceptors\.i2\.serializers: no serializers/);
  });
});
