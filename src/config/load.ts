// Flume's agent layout → a typed agent spec. Unlike Flume, which drops a broken component and starts the rest,
// this collects every problem (file:line, key, what is wrong) and the agent refuses to start until all are fixed.

import { readFile } from "node:fs/promises";
import type { CheckContext, Kind } from "../core/component-type.ts";
import { ConfigError, describeError, type ConfigProblem } from "../core/errors.ts";
import { lookupType } from "../registry.ts";
import type { AgentSpec, GroupSpec, Resolved, SinkSpec, SourceSpec } from "../core/spec.ts";
import { closest, parseKeys, relativePaths, resolvePath, type ComponentConfig, type KeySpec, type RawValue } from "../core/keys.ts";
import { parseProperties } from "./properties.ts";

const SECTIONS = ["sources", "channels", "sinks", "sinkgroups"] as const;
type Section = (typeof SECTIONS)[number];
const KIND_OF: Record<Section, string> = { sources: "source", channels: "channel", sinks: "sink", sinkgroups: "sink group" };
/**
 * The keys by which a source (events per put) or a sink (events per take) sets its transaction size; whichever of these
 * a component's key block has must fit each of its channels' transactionCapacity, or every such transaction fails.
 */
const BATCH_KEYS = ["batchSize", "batch-size", "sink.batchSize"] as const;

/** Reads and checks a config file; throws ConfigError listing every problem. */
export async function loadAgentConfig(file: string, agent?: string): Promise<AgentSpec> {
  let text: string;
  try {
    text = await readFile(file, "utf8");
  } catch (err) {
    throw new ConfigError([{ where: file, message: `cannot read config file: ${describeError(err)}` }]);
  }
  const { spec, problems, warnings } = buildAgentSpec(text, file, agent);
  if (problems.length > 0 || !spec) throw new ConfigError(problems, warnings);
  return spec;
}

/** The names of the agents a file defines (first key segment before sources/channels/sinks/sinkgroups). */
export function agentNames(props: Iterable<string>): string[] {
  const names = new Set<string>();
  for (const k of props) {
    const parts = k.split(".");
    if (parts.length >= 2 && (SECTIONS as readonly string[]).includes(parts[1]!)) names.add(parts[0]!);
  }
  return [...names].sort();
}

export interface BuildResult {
  spec?: AgentSpec;
  problems: ConfigProblem[];
  warnings: string[];
}

/**
 * Builds the spec in steps, each its own method below: choose the agent; split its keys into the section lists and
 * per-component key maps (the graph); read the lists; check what is defined but not listed; then per component its
 * type, keys and own check (resolve), with the cross-field checks of the graph (bindings to channels) beside them;
 * then the sink groups. Every step reports through refuse() (a problem: the agent will not start) or warn().
 */
export function buildAgentSpec(text: string, file: string, agentName?: string): BuildResult {
  const { props, duplicates } = parseProperties(text);
  const b = new SpecBuilder(file);
  const agent = b.chooseAgent(agentNames(props.keys()), agentName);
  if (agent === undefined) return { problems: b.problems, warnings: b.warnings };
  b.prefix = `${agent}.`;
  b.warnDuplicates(duplicates);
  const graph = b.splitSections(props.values());
  const listed = b.readLists(graph, agent);
  b.checkUnlisted(graph, listed);
  const channels = b.channels(graph, listed);
  const used = new Set<string>();
  const sources = b.sources(graph, listed, used);
  const sinks = b.sinks(graph, listed, used);
  const groups = b.groups(graph, listed);
  b.checkBatchSizes(channels, sources, sinks);
  b.warnUnusedChannels(listed, used);
  b.sortWarnings();
  const spec: AgentSpec = { agent, file, channels, sources, sinks, groups, warnings: b.warnings };
  return { spec: b.problems.length === 0 ? spec : undefined, problems: b.problems, warnings: b.warnings };
}

/** The agent's keys split by section: the list (`a1.sources = r1 r2`) and each component's own keys. */
interface Graph {
  lists: Map<Section, RawValue>;
  comps: Record<Section, Map<string, Map<string, RawValue>>>;
}

type Listed = Record<Section, string[]>;

type ResolveContext = CheckContext & { line?: number };

class SpecBuilder {
  readonly problems: ConfigProblem[] = [];
  readonly warnings: string[] = [];
  /** `a1.`, once the agent is chosen. */
  prefix = "";

  constructor(private readonly file: string) {}

  at(line?: number): string {
    return line ? `${this.file}:${line}` : this.file;
  }

  /** A problem: the agent will not start. `line` absent means the file as a whole. */
  refuse(line: number | undefined, key: string | undefined, message: string): void {
    this.problems.push(key === undefined ? { where: this.at(line), message } : { where: this.at(line), key, message });
  }

  /** Warnings in file order (those without a line last), as a reader goes through the file. */
  sortWarnings(): void {
    const head = `${this.file}:`;
    const line = (w: string) => (w.startsWith(head) ? Number(/^(\d+): /.exec(w.slice(head.length))?.[1] ?? Infinity) : Infinity);
    this.warnings.sort((a, b) => line(a) - line(b));
  }

  /** A warning: logged (and printed by validate), the agent starts. */
  warn(line: number | undefined, message: string): void {
    this.warnings.push(`${this.at(line)}: ${message}`);
  }

  // ---- the agent and its graph -------------------------------------------------------------------------------

  chooseAgent(agents: string[], wanted: string | undefined): string | undefined {
    if (agents.length === 0) {
      this.refuse(undefined, undefined, "no agent is defined (expected keys such as a1.sources = r1, a1.channels = c1, a1.sinks = k1)");
      return undefined;
    }
    if (wanted === undefined) {
      if (agents.length > 1) {
        this.refuse(undefined, undefined, `the file defines several agents (${agents.join(", ")}): choose one with -n NAME`);
        return undefined;
      }
      return agents[0]!;
    }
    if (!agents.includes(wanted)) {
      const hint = closest(wanted, agents);
      this.refuse(undefined, undefined, `agent "${wanted}" is not defined in this file (defined: ${agents.join(", ")})${hint ? `; did you mean "${hint}"?` : ""}`);
      return undefined;
    }
    return wanted;
  }

  warnDuplicates(duplicates: ReturnType<typeof parseProperties>["duplicates"]): void {
    for (const occurrences of duplicates) {
      if (!occurrences[0]!.key.startsWith(this.prefix)) continue;
      // The same line written twice (a copy-paste) changes nothing: no warning.
      if (occurrences.every((o) => o.value === occurrences[0]!.value)) continue;
      this.warn(occurrences.at(-1)!.line, `${occurrences[0]!.key} is set ${occurrences.length} times (lines ${occurrences.map((o) => o.line).join(", ")}); the last one wins`);
    }
  }

  /** Splits the agent's keys into section lists and per-component key maps. */
  splitSections(props: Iterable<{ key: string; value: string; line: number }>): Graph {
    const prefix = this.prefix;
    const graph: Graph = { lists: new Map(), comps: { sources: new Map(), channels: new Map(), sinks: new Map(), sinkgroups: new Map() } };
    for (const p of props) {
      if (!p.key.startsWith(prefix)) continue;
      const rest = p.key.slice(prefix.length);
      const dot = rest.indexOf(".");
      const section = (dot < 0 ? rest : rest.slice(0, dot)) as Section;
      if (!(SECTIONS as readonly string[]).includes(section)) {
        this.warn(p.line, `${p.key} is not a key sluice knows (an agent has ${SECTIONS.join(", ")}); ignored`);
        continue;
      }
      if (dot < 0) {
        graph.lists.set(section, { value: p.value, line: p.line });
        continue;
      }
      const sub = rest.slice(dot + 1);
      const dot2 = sub.indexOf(".");
      if (dot2 <= 0) {
        this.warn(p.line, `${p.key} names no key of a component (expected ${prefix}${section}.NAME.KEY); ignored`);
        continue;
      }
      const name = sub.slice(0, dot2);
      let m = graph.comps[section].get(name);
      if (!m) graph.comps[section].set(name, (m = new Map()));
      m.set(sub.slice(dot2 + 1), { value: p.value, line: p.line });
    }
    return graph;
  }

  /** The names each section lists (duplicates reported once, dropped), and lists that must exist but do not. */
  readLists({ lists, comps }: Graph, agent: string): Listed {
    const prefix = this.prefix;
    const listed: Listed = { sources: [], channels: [], sinks: [], sinkgroups: [] };
    for (const section of SECTIONS) {
      const raw = lists.get(section);
      if (!raw) continue;
      const seen = new Set<string>();
      for (const n of this.names(raw, prefix + section)) {
        if (seen.has(n)) this.refuse(raw.line, prefix + section, `"${n}" is listed twice`);
        seen.add(n);
      }
      if (section === "sinks") {
        // Flume logs a sink group's name in the sink list and drops the entry; so do we.
        const groups = new Set([...comps.sinkgroups.keys(), ...splitNames(lists.get("sinkgroups")?.value ?? "")]);
        for (const n of seen) {
          if (comps.sinks.has(n) || !groups.has(n)) continue;
          this.warn(raw.line, `${prefix}sinks lists "${n}", which is a sink group (${prefix}sinkgroups); the entry is dropped, as Flume drops it`);
          seen.delete(n);
        }
      }
      listed[section] = [...seen];
      for (const n of seen) {
        if (comps[section].has(n)) continue;
        if (section === "sinkgroups") this.refuse(raw.line, `${prefix}${section}.${n}.sinks`, `sink group "${n}" is listed but has no sinks`);
        else this.refuse(raw.line, `${prefix}${section}.${n}.type`, `${KIND_OF[section]} "${n}" is listed but has no type`);
      }
    }
    for (const section of ["sources", "channels", "sinks"] as const) {
      if (lists.has(section)) continue;
      if (section === "sinks" && comps.sinks.size === 0) continue;
      this.refuse(undefined, prefix + section, `not set: agent ${agent} needs a list of ${section} (e.g. ${prefix}${section} = ${section[0]}1)`);
    }
    return listed;
  }

  /** Components defined but in no list: they do not run, as in Flume; a warning names each. */
  checkUnlisted({ comps }: Graph, listed: Listed): void {
    const prefix = this.prefix;
    for (const section of SECTIONS) {
      for (const [name, keys] of comps[section]) {
        if (listed[section].includes(name)) continue;
        const typed = section === "sinkgroups" ? keys.get("sinks") : keys.get("type");
        const hint = closest(name, listed[section]);
        if (typed) {
          // Flume ignores it, and people keep spare definitions: a warning, not a refusal.
          this.warn(typed.line, `${KIND_OF[section]} "${name}" is defined but not listed in ${prefix}${section} (${listed[section].join(" ") || "empty"}), so it does not run (Flume ignores it too)${hint ? `; did you mean "${hint}"?` : ""}`);
        } else {
          const first = [...keys.values()][0]!;
          this.warn(first.line, `keys of ${KIND_OF[section]} "${name}" are ignored: no such ${KIND_OF[section]} in ${prefix}${section}${hint ? `; did you mean "${hint}"?` : ""}`);
        }
      }
    }
  }

  warnUnusedChannels(listed: Listed, used: ReadonlySet<string>): void {
    for (const c of listed.channels) {
      if (!used.has(c)) this.warn(undefined, `channel "${c}" is used by no source and no sink`);
    }
  }

  // ---- one component: type, keys, own check ------------------------------------------------------------------

  compConfig(kind: string, name: string, keyPrefix: string, keys: Map<string, RawValue>): ComponentConfig {
    return { kind, name, prefix: keyPrefix, file: this.file, props: keys };
  }

  /** Keys under `sub.` of a component, as a component config of their own. */
  subConfig(parent: ComponentConfig, sub: string, kind: string, name: string): ComponentConfig {
    const keys = new Map<string, RawValue>();
    for (const [k, v] of parent.props) if (k.startsWith(sub + ".")) keys.set(k.slice(sub.length + 1), v);
    return this.compConfig(kind, name, `${parent.prefix}${sub}.`, keys);
  }

  /** Resolves type + keys of one component (or sub-component: interceptor, selector, processor) and runs its check. */
  resolve(kind: Kind, cc: ComponentConfig, defaultType: string | undefined, claimed: (k: string) => boolean, ctx: ResolveContext = {}): Resolved | undefined {
    const typeKey = "type";
    const raw = cc.props.get(typeKey);
    const typeName = raw?.value ?? defaultType;
    // A key with no line of its own (a default) is reported at the component's type line, else its first key.
    const first = Math.min(...[...cc.props.values()].map((v) => v.line));
    const home = raw?.line ?? (Number.isFinite(first) ? first : ctx.line);
    if (!typeName) {
      this.refuse(home, cc.prefix + typeKey, `${cc.kind} "${cc.name}" has no type`);
      return undefined;
    }
    const found = lookupType(kind, typeName);
    if (!found.ok) {
      this.refuse(raw?.line, cc.prefix + typeKey, found.message);
      return undefined;
    }
    const before = this.problems.length;
    const { config, unknown } = parseKeys(found.type.keys, cc, this.problems, (k) => k === typeKey || claimed(k) || (found.type.dynamicKeys?.(k) ?? false));
    for (const k of unknown) {
      const hint = closest(k, Object.keys(found.type.keys));
      this.warn(cc.props.get(k)?.line, `${cc.prefix}${k} is not a key of ${found.canonical} ${cc.kind}s; ignored${hint ? ` (did you mean ${hint}?)` : ""}`);
    }
    this.warnRelativePaths(found.type.keys, cc);
    if (this.problems.length === before) {
      const report = (k: string, message: string) => this.refuse(cc.props.get(k)?.line ?? home, cc.prefix + k, message);
      const warn = (k: string, message: string) => this.warn(cc.props.get(k)?.line ?? home, `${cc.prefix}${k}: ${message}`);
      found.type.check?.(config, report, { ...ctx, warn });
    }
    return { name: cc.name, kind, typeName: found.canonical, type: found.type, config, comp: cc };
  }

  /** Path keys given a relative path: Flume resolves them against the working directory, and so do we; say so. */
  private warnRelativePaths(spec: KeySpec, cc: ComponentConfig): void {
    for (const [name, d] of Object.entries(spec)) {
      for (const spelled of [name, ...(d.aliases ?? [])]) {
        const raw = cc.props.get(spelled);
        if (!raw) continue;
        const rel = relativePaths(d, raw.value);
        if (rel.length === 0) continue;
        // `~/x` is no home directory to Java either: Flume reads it as the relative directory "~".
        const tilde = rel.some((p) => p.startsWith("~")) ? "; ~ is not expanded (by Flume neither): write the home directory out" : "";
        this.warn(raw.line, `${cc.prefix}${spelled} = ${raw.value} is a relative path: resolved against the working directory as ${rel.map(resolvePath).join(", ")} (as Flume does; an absolute path does not depend on where the agent is started${tilde})`);
      }
    }
  }

  /**
   * A list's names (Flume splits on whitespace). Commas are a common slip (`a1.sinks = k1, k2`): one problem says so,
   * and the names are taken as meant, so no cascade of "not listed" / "no type" errors follows.
   */
  names(raw: RawValue, key: string): string[] {
    if (!raw.value.includes(",")) return splitNames(raw.value);
    const meant = raw.value.split(/[\s,]+/).filter(Boolean);
    const odd = splitNames(raw.value).filter((n) => n.includes(","));
    this.refuse(raw.line, key, `"${raw.value}": Flume splits lists on whitespace, so the commas become part of the names (${odd.map((n) => `"${n}"`).join(", ")}); write ${key} = ${meant.join(" ")}`);
    return meant;
  }

  /** The line a component starts at (its first key): where a missing key is reported. */
  firstLine(cc: ComponentConfig): number | undefined {
    const first = Math.min(...[...cc.props.values()].map((v) => v.line));
    return Number.isFinite(first) ? first : undefined;
  }

  // ---- the components of each section, with their bindings -----------------------------------------------------

  channels({ comps }: Graph, listed: Listed): Resolved[] {
    const out: Resolved[] = [];
    for (const name of listed.channels) {
      const keys = comps.channels.get(name);
      if (!keys) continue;
      const r = this.resolve("channel", this.compConfig("channel", name, `${this.prefix}channels.${name}.`, keys), undefined, () => false);
      if (r) out.push(r);
    }
    return out;
  }

  sources({ comps }: Graph, listed: Listed, used: Set<string>): SourceSpec[] {
    const out: SourceSpec[] = [];
    for (const name of listed.sources) {
      const keys = comps.sources.get(name);
      if (!keys) continue;
      const cc = this.compConfig("source", name, `${this.prefix}sources.${name}.`, keys);
      const chRaw = keys.get("channels");
      const chNames = this.sourceChannels(cc, chRaw, listed, used);
      const claimed = (k: string) => k === "channels" || k === "channel" || k === "interceptors" || k.startsWith("interceptors.") || k.startsWith("selector.");
      const r = this.resolve("source", cc, undefined, claimed, { channels: chNames });
      const selector = this.resolve("selector", this.subConfig(cc, "selector", "selector", `${name}.selector`), "replicating", () => false, { channels: chNames, line: chRaw?.line });
      const interceptors = this.interceptors(cc);
      if (r && selector) out.push({ ...r, channels: chNames, selector, interceptors });
    }
    return out;
  }

  /** A source's `channels`: present, not empty, each one listed. */
  private sourceChannels(cc: ComponentConfig, chRaw: RawValue | undefined, listed: Listed, used: Set<string>): string[] {
    if (!chRaw) {
      const single = cc.props.get("channel");
      const hint = `set ${cc.prefix}channels = ${listed.channels[0] ?? "c1"}`;
      this.refuse(single?.line ?? this.firstLine(cc), `${cc.prefix}channels`, single ? `sources take "channels" (plural), not "channel"` : `source "${cc.name}" is bound to no channel (${hint})`);
      return [];
    }
    const chNames = this.names(chRaw, `${cc.prefix}channels`);
    if (chNames.length === 0) this.refuse(chRaw.line, `${cc.prefix}channels`, `source "${cc.name}" is bound to no channel`);
    for (const c of chNames) {
      if (!listed.channels.includes(c)) this.refuse(chRaw.line, `${cc.prefix}channels`, `channel "${c}" is not in ${this.prefix}channels (${listed.channels.join(" ") || "empty"})`);
      used.add(c);
    }
    return chNames;
  }

  private interceptors(cc: ComponentConfig): Resolved[] {
    const out: Resolved[] = [];
    const iRaw = cc.props.get("interceptors");
    for (const iname of iRaw ? this.names(iRaw, `${cc.prefix}interceptors`) : []) {
      const ic = this.subConfig(cc, `interceptors.${iname}`, "interceptor", iname);
      if (ic.props.size === 0) {
        this.refuse(iRaw!.line, `${cc.prefix}interceptors.${iname}.type`, `interceptor "${iname}" is listed but has no type`);
        continue;
      }
      const ir = this.resolve("interceptor", ic, undefined, () => false);
      if (ir) out.push(ir);
    }
    return out;
  }

  sinks({ comps }: Graph, listed: Listed, used: Set<string>): SinkSpec[] {
    const out: SinkSpec[] = [];
    for (const name of listed.sinks) {
      const keys = comps.sinks.get(name);
      if (!keys) continue;
      const cc = this.compConfig("sink", name, `${this.prefix}sinks.${name}.`, keys);
      const channel = this.sinkChannel(cc, listed, used);
      const r = this.resolve("sink", cc, undefined, (k) => k === "channel" || k === "channels");
      if (r) out.push({ ...r, channel });
    }
    return out;
  }

  /** A sink's `channel`: exactly one, listed. */
  private sinkChannel(cc: ComponentConfig, listed: Listed, used: Set<string>): string {
    const chRaw = cc.props.get("channel");
    if (!chRaw) {
      const plural = cc.props.get("channels");
      const hint = `set ${cc.prefix}channel = ${listed.channels[0] ?? "c1"}`;
      this.refuse(plural?.line ?? this.firstLine(cc), `${cc.prefix}channel`, plural ? `sinks take "channel" (singular): a sink drains exactly one channel` : `sink "${cc.name}" is bound to no channel (${hint})`);
      return "";
    }
    const names = this.names(chRaw, `${cc.prefix}channel`);
    if (names.length !== 1) this.refuse(chRaw.line, `${cc.prefix}channel`, `a sink drains exactly one channel, got ${names.length} (${chRaw.value})`);
    const channel = names[0] ?? "";
    if (channel && !listed.channels.includes(channel)) this.refuse(chRaw.line, `${cc.prefix}channel`, `channel "${channel}" is not in ${this.prefix}channels (${listed.channels.join(" ") || "empty"})`);
    used.add(channel);
    return channel;
  }

  /**
   * Each source's and sink's batch (BATCH_KEYS) against the transactionCapacity of every channel it puts into or takes
   * from. Reported at the batch key's line when it is set, else at the channel's transactionCapacity line (the one who
   * lowered it), else at the component's type line.
   */
  checkBatchSizes(channels: readonly Resolved[], sources: readonly SourceSpec[], sinks: readonly SinkSpec[]): void {
    const byName = new Map(channels.map((c) => [c.name, c]));
    const pairs = [...sources.map((s) => [s, s.channels] as const), ...sinks.map((k) => [k, [k.channel]] as const)];
    for (const [r, chNames] of pairs) {
      const key = BATCH_KEYS.find((k) => k in r.type.keys && typeof r.config[k] === "number");
      if (key === undefined) continue;
      const batch = r.config[key] as number;
      const spelled = [key, ...((r.type.keys as KeySpec)[key]!.aliases ?? [])];
      const setAt = spelled.map((k) => r.comp.props.get(k)?.line).find((l) => l !== undefined);
      for (const c of chNames) {
        const ch = byName.get(c);
        const capacity = ch?.config.transactionCapacity;
        if (typeof capacity !== "number" || batch <= capacity) continue;
        const line = setAt ?? ch!.comp.props.get("transactionCapacity")?.line ?? r.comp.props.get("type")?.line;
        this.refuse(
          line,
          r.comp.prefix + key,
          `${key} (${batch}) must be ≤ the channel ${c}'s transactionCapacity (${capacity}): every larger ${r.kind === "source" ? "put" : "take"} would fail; lower ${key} or raise ${ch!.comp.prefix}transactionCapacity`,
        );
      }
    }
  }

  // ---- sink groups ---------------------------------------------------------------------------------------------

  groups({ comps }: Graph, listed: Listed): GroupSpec[] {
    const out: GroupSpec[] = [];
    const grouped = new Map<string, string>();
    for (const name of listed.sinkgroups) {
      const keys = comps.sinkgroups.get(name);
      if (!keys) continue;
      const cc = this.compConfig("sink group", name, `${this.prefix}sinkgroups.${name}.`, keys);
      const sRaw = keys.get("sinks");
      const members = sRaw ? this.names(sRaw, `${cc.prefix}sinks`) : [];
      if (members.length === 0) this.refuse(sRaw?.line, `${cc.prefix}sinks`, `sink group "${name}" lists no sinks`);
      for (const s of members) {
        if (!listed.sinks.includes(s)) this.refuse(sRaw!.line, `${cc.prefix}sinks`, `sink "${s}" is not in ${this.prefix}sinks (${listed.sinks.join(" ") || "empty"})`);
        else if (grouped.has(s)) this.refuse(sRaw!.line, `${cc.prefix}sinks`, `sink "${s}" is already in sink group "${grouped.get(s)}"; a sink belongs to one group`);
        else grouped.set(s, name);
      }
      for (const k of keys.keys()) {
        if (k !== "sinks" && !k.startsWith("processor.")) this.warn(keys.get(k)!.line, `${cc.prefix}${k} is not a sink group key (sinks, processor.*); ignored`);
      }
      const processor = this.resolve("sinkprocessor", this.subConfig(cc, "processor", "sink processor", name), "default", () => false, { sinks: members, line: sRaw?.line });
      if (processor) out.push({ name, sinks: members, processor });
    }
    return out;
  }
}

/** Flume's lists: names separated by whitespace. */
function splitNames(raw: string): string[] {
  return raw.split(/\s+/).filter(Boolean);
}
