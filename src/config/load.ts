// Flume's agent layout → a typed agent spec. Unlike Flume, which drops a broken component and starts the rest,
// this collects every problem (file:line, key, what is wrong) and the agent refuses to start until all are fixed.

import { readFile } from "node:fs/promises";
import type { Kind } from "../core/component-type.ts";
import { ConfigError, describeError, type ConfigProblem } from "../core/errors.ts";
import { lookupType } from "../registry.ts";
import type { AgentSpec, GroupSpec, Resolved, SinkSpec, SourceSpec } from "../core/spec.ts";
import { closest, parseKeys, type ComponentConfig, type RawValue } from "../core/keys.ts";
import { parseProperties } from "./properties.ts";

const SECTIONS = ["sources", "channels", "sinks", "sinkgroups"] as const;
type Section = (typeof SECTIONS)[number];
const KIND_OF: Record<Section, string> = { sources: "source", channels: "channel", sinks: "sink", sinkgroups: "sink group" };

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

export function buildAgentSpec(text: string, file: string, agentName?: string): BuildResult {
  const problems: ConfigProblem[] = [];
  const warnings: string[] = [];
  const { props, duplicates } = parseProperties(text);
  const at = (line?: number) => (line ? `${file}:${line}` : file);

  const agents = agentNames(props.keys());
  let agent = agentName;
  if (agents.length === 0) {
    problems.push({ where: file, message: "no agent is defined (expected keys such as a1.sources = r1, a1.channels = c1, a1.sinks = k1)" });
    return { problems, warnings };
  }
  if (agent === undefined) {
    if (agents.length > 1) {
      problems.push({ where: file, message: `the file defines several agents (${agents.join(", ")}): choose one with -n NAME` });
      return { problems, warnings };
    }
    agent = agents[0]!;
  } else if (!agents.includes(agent)) {
    const hint = closest(agent, agents);
    problems.push({ where: file, message: `agent "${agent}" is not defined in this file (defined: ${agents.join(", ")})${hint ? `; did you mean "${hint}"?` : ""}` });
    return { problems, warnings };
  }
  const prefix = `${agent}.`;

  for (const occurrences of duplicates) {
    if (!occurrences[0]!.key.startsWith(prefix)) continue;
    warnings.push(`${at(occurrences.at(-1)!.line)}: ${occurrences[0]!.key} is set ${occurrences.length} times (lines ${occurrences.map((o) => o.line).join(", ")}); the last one wins`);
  }

  // Split the agent's keys into section lists and per-component key maps.
  const lists = new Map<Section, RawValue>();
  const comps: Record<Section, Map<string, Map<string, RawValue>>> = { sources: new Map(), channels: new Map(), sinks: new Map(), sinkgroups: new Map() };
  for (const p of props.values()) {
    if (!p.key.startsWith(prefix)) continue;
    const rest = p.key.slice(prefix.length);
    const dot = rest.indexOf(".");
    const section = (dot < 0 ? rest : rest.slice(0, dot)) as Section;
    if (!(SECTIONS as readonly string[]).includes(section)) {
      warnings.push(`${at(p.line)}: ${p.key} is not a key sluice knows (an agent has ${SECTIONS.join(", ")}); ignored`);
      continue;
    }
    if (dot < 0) {
      lists.set(section, { value: p.value, line: p.line });
      continue;
    }
    const sub = rest.slice(dot + 1);
    const dot2 = sub.indexOf(".");
    if (dot2 <= 0) {
      warnings.push(`${at(p.line)}: ${p.key} names no key of a component (expected ${prefix}${section}.NAME.KEY); ignored`);
      continue;
    }
    const name = sub.slice(0, dot2);
    let m = comps[section].get(name);
    if (!m) comps[section].set(name, (m = new Map()));
    m.set(sub.slice(dot2 + 1), { value: p.value, line: p.line });
  }

  const listed: Record<Section, string[]> = { sources: [], channels: [], sinks: [], sinkgroups: [] };
  for (const section of SECTIONS) {
    const raw = lists.get(section);
    if (!raw) continue;
    const names = raw.value.split(/\s+/).filter(Boolean);
    const seen = new Set<string>();
    for (const n of names) {
      if (seen.has(n)) problems.push({ where: at(raw.line), key: prefix + section, message: `"${n}" is listed twice` });
      seen.add(n);
    }
    listed[section] = [...seen];
    for (const n of seen) {
      if (!comps[section].has(n)) {
        if (section === "sinkgroups") problems.push({ where: at(raw.line), key: `${prefix}${section}.${n}.sinks`, message: `sink group "${n}" is listed but has no sinks` });
        else problems.push({ where: at(raw.line), key: `${prefix}${section}.${n}.type`, message: `${KIND_OF[section]} "${n}" is listed but has no type` });
      }
    }
  }
  for (const section of ["sources", "channels", "sinks"] as const) {
    if (!lists.has(section)) {
      if (section === "sinks" && comps.sinks.size === 0) continue;
      problems.push({ where: file, key: prefix + section, message: `not set: agent ${agent} needs a list of ${section} (e.g. ${prefix}${section} = ${section[0]}1)` });
    }
  }

  // Components defined but in no list: a typed one would silently never run (an error); stray keys are a warning.
  for (const section of SECTIONS) {
    for (const [name, keys] of comps[section]) {
      if (listed[section].includes(name)) continue;
      const typed = section === "sinkgroups" ? keys.get("sinks") : keys.get("type");
      const hint = closest(name, listed[section]);
      if (typed) {
        problems.push({ where: at(typed.line), key: `${prefix}${section}.${name}`, message: `${KIND_OF[section]} "${name}" is defined but not listed in ${prefix}${section} (${listed[section].join(" ") || "empty"}), so it would never run${hint ? `; did you mean "${hint}"?` : ""}` });
      } else {
        const first = [...keys.values()][0]!;
        warnings.push(`${at(first.line)}: keys of ${KIND_OF[section]} "${name}" are ignored: no such ${KIND_OF[section]} in ${prefix}${section}${hint ? `; did you mean "${hint}"?` : ""}`);
      }
    }
  }

  const compConfig = (kind: string, name: string, keyPrefix: string, keys: Map<string, RawValue>): ComponentConfig => ({ kind, name, prefix: keyPrefix, file, props: keys });

  /** Resolves type + keys of one component (or sub-component: interceptor, selector, processor). */
  const resolve = (kind: Kind, cc: ComponentConfig, typeKey: string, defaultType: string | undefined, claimed: (k: string) => boolean, ctx: import("../core/component-type.ts").CheckContext & { line?: number } = {}): Resolved | undefined => {
    const raw = cc.props.get(typeKey);
    const typeName = raw?.value ?? defaultType;
    // A key with no line of its own (a default) is reported at the component's type line, else its first key.
    const first = Math.min(...[...cc.props.values()].map((v) => v.line));
    const home = raw?.line ?? (Number.isFinite(first) ? first : ctx.line);
    if (!typeName) {
      problems.push({ where: at(home), key: cc.prefix + typeKey, message: `${cc.kind} "${cc.name}" has no type` });
      return undefined;
    }
    const found = lookupType(kind, typeName);
    if (!found.ok) {
      problems.push({ where: at(raw?.line), key: cc.prefix + typeKey, message: found.message });
      return undefined;
    }
    const before = problems.length;
    const { config, unknown } = parseKeys(found.type.keys, cc, problems, (k) => k === typeKey || claimed(k) || (found.type.dynamicKeys?.(k) ?? false));
    for (const k of unknown) {
      const hint = closest(k, Object.keys(found.type.keys));
      warnings.push(`${at(cc.props.get(k)?.line)}: ${cc.prefix}${k} is not a key of ${found.canonical} ${cc.kind}s; ignored${hint ? ` (did you mean ${hint}?)` : ""}`);
    }
    if (problems.length === before) {
      const report = (k: string, message: string) => problems.push({ where: at(cc.props.get(k)?.line ?? home), key: cc.prefix + k, message });
      found.type.check?.(config, report, ctx);
    }
    return { name: cc.name, kind, typeName: found.canonical, type: found.type, config, comp: cc };
  };

  /** Keys under `sub.` of a component, as a component config of their own. */
  const subConfig = (parent: ComponentConfig, sub: string, kind: string, name: string): ComponentConfig => {
    const keys = new Map<string, RawValue>();
    for (const [k, v] of parent.props) if (k.startsWith(sub + ".")) keys.set(k.slice(sub.length + 1), v);
    return compConfig(kind, name, `${parent.prefix}${sub}.`, keys);
  };

  const channelSet = new Set(listed.channels);
  const channels: Resolved[] = [];
  for (const name of listed.channels) {
    const keys = comps.channels.get(name);
    if (!keys) continue;
    const r = resolve("channel", compConfig("channel", name, `${prefix}channels.${name}.`, keys), "type", undefined, () => false);
    if (r) channels.push(r);
  }

  const used = new Set<string>();
  const sources: SourceSpec[] = [];
  for (const name of listed.sources) {
    const keys = comps.sources.get(name);
    if (!keys) continue;
    const cc = compConfig("source", name, `${prefix}sources.${name}.`, keys);
    const chRaw = keys.get("channels");
    let chNames: string[] = [];
    if (!chRaw) {
      const single = keys.get("channel");
      problems.push({ where: at(single?.line), key: `${cc.prefix}channels`, message: single ? `sources take "channels" (plural), not "channel"` : `source "${name}" is bound to no channel` });
    } else {
      chNames = chRaw.value.split(/\s+/).filter(Boolean);
      if (chNames.length === 0) problems.push({ where: at(chRaw.line), key: `${cc.prefix}channels`, message: `source "${name}" is bound to no channel` });
      for (const c of chNames) {
        if (!channelSet.has(c)) problems.push({ where: at(chRaw.line), key: `${cc.prefix}channels`, message: `channel "${c}" is not in ${prefix}channels (${listed.channels.join(" ") || "empty"})` });
        used.add(c);
      }
    }
    const claimed = (k: string) => k === "channels" || k === "channel" || k === "interceptors" || k.startsWith("interceptors.") || k.startsWith("selector.");
    const r = resolve("source", cc, "type", undefined, claimed, { channels: chNames });
    const selector = resolve("selector", subConfig(cc, "selector", "selector", `${name}.selector`), "type", "replicating", () => false, { channels: chNames, line: chRaw?.line });
    const interceptors: Resolved[] = [];
    const iRaw = keys.get("interceptors");
    for (const iname of iRaw?.value.split(/\s+/).filter(Boolean) ?? []) {
      const ic = subConfig(cc, `interceptors.${iname}`, "interceptor", iname);
      if (ic.props.size === 0) {
        problems.push({ where: at(iRaw!.line), key: `${cc.prefix}interceptors.${iname}.type`, message: `interceptor "${iname}" is listed but has no type` });
        continue;
      }
      const ir = resolve("interceptor", ic, "type", undefined, () => false);
      if (ir) interceptors.push(ir);
    }
    if (r && selector) sources.push({ ...r, channels: chNames, selector, interceptors });
  }

  const sinkSet = new Set(listed.sinks);
  const sinks: SinkSpec[] = [];
  for (const name of listed.sinks) {
    const keys = comps.sinks.get(name);
    if (!keys) continue;
    const cc = compConfig("sink", name, `${prefix}sinks.${name}.`, keys);
    const chRaw = keys.get("channel");
    let channel = "";
    if (!chRaw) {
      const plural = keys.get("channels");
      problems.push({ where: at(plural?.line), key: `${cc.prefix}channel`, message: plural ? `sinks take "channel" (singular): a sink drains exactly one channel` : `sink "${name}" is bound to no channel` });
    } else {
      const names = chRaw.value.split(/\s+/).filter(Boolean);
      if (names.length !== 1) problems.push({ where: at(chRaw.line), key: `${cc.prefix}channel`, message: `a sink drains exactly one channel, got ${names.length} (${chRaw.value})` });
      channel = names[0] ?? "";
      if (channel && !channelSet.has(channel)) problems.push({ where: at(chRaw.line), key: `${cc.prefix}channel`, message: `channel "${channel}" is not in ${prefix}channels (${listed.channels.join(" ") || "empty"})` });
      used.add(channel);
    }
    const r = resolve("sink", cc, "type", undefined, (k) => k === "channel" || k === "channels");
    if (r) sinks.push({ ...r, channel });
  }

  const groups: GroupSpec[] = [];
  const grouped = new Map<string, string>();
  for (const name of listed.sinkgroups) {
    const keys = comps.sinkgroups.get(name);
    if (!keys) continue;
    const cc = compConfig("sink group", name, `${prefix}sinkgroups.${name}.`, keys);
    const sRaw = keys.get("sinks");
    const members = sRaw?.value.split(/\s+/).filter(Boolean) ?? [];
    if (members.length === 0) problems.push({ where: at(sRaw?.line), key: `${cc.prefix}sinks`, message: `sink group "${name}" lists no sinks` });
    for (const s of members) {
      if (!sinkSet.has(s)) problems.push({ where: at(sRaw!.line), key: `${cc.prefix}sinks`, message: `sink "${s}" is not in ${prefix}sinks (${listed.sinks.join(" ") || "empty"})` });
      else if (grouped.has(s)) problems.push({ where: at(sRaw!.line), key: `${cc.prefix}sinks`, message: `sink "${s}" is already in sink group "${grouped.get(s)}"; a sink belongs to one group` });
      else grouped.set(s, name);
    }
    for (const k of keys.keys()) {
      if (k !== "sinks" && !k.startsWith("processor.")) warnings.push(`${at(keys.get(k)!.line)}: ${cc.prefix}${k} is not a sink group key (sinks, processor.*); ignored`);
    }
    const processor = resolve("sinkprocessor", subConfig(cc, "processor", "sink processor", name), "type", "default", () => false, { sinks: members, line: sRaw?.line });
    if (processor) groups.push({ name, sinks: members, processor });
  }

  for (const c of listed.channels) {
    if (!used.has(c)) warnings.push(`${file}: channel "${c}" is used by no source and no sink`);
  }

  const spec: AgentSpec = { agent, file, channels, sources, sinks, groups, warnings };
  return { spec: problems.length === 0 ? spec : undefined, problems, warnings };
}
