// Checks the paths a config names before anything starts (`validate`, and `agent` before it builds the graph): each
// component's key table says how it uses a path (`use: "readableDir"` …, see core/keys.ts PathUse), so this file
// knows no component. Every problem names file:line, the key and the value. Only keys written in the file are
// checked: default paths under the state directory are created by the agent.

import { constants } from "node:fs";
import { access, stat } from "node:fs/promises";
import { dirname, resolve } from "node:path";
import type { AgentSpec, Resolved } from "../core/spec.ts";
import type { KeySpec, PathUse, RawValue } from "../core/keys.ts";
import type { ConfigProblem } from "../core/errors.ts";

/** Every component of the spec, interceptors, selectors and sink processors included. */
function components(spec: AgentSpec): Resolved[] {
  return [
    ...spec.sources.flatMap((s) => [s, s.selector, ...s.interceptors]),
    ...spec.channels,
    ...spec.sinks,
    ...spec.groups.map((g) => g.processor),
  ];
}

async function can(path: string, mode: number): Promise<boolean> {
  return access(path, mode).then(() => true, () => false);
}

/** The nearest existing ancestor of a missing path must be a directory we may create entries in. */
async function creatable(path: string): Promise<string | undefined> {
  let dir = dirname(resolve(path));
  for (;;) {
    const st = await stat(dir).catch(() => undefined);
    if (st) {
      if (!st.isDirectory()) return `cannot be created: ${dir} is not a directory`;
      if (!(await can(dir, constants.W_OK | constants.X_OK))) return `cannot be created: ${dir} is not writable`;
      return undefined;
    }
    const up = dirname(dir);
    if (up === dir) return undefined;
    dir = up;
  }
}

/** What is wrong with `path` for `use`, or undefined. */
export async function checkPath(path: string, use: PathUse): Promise<string | undefined> {
  const st = await stat(path).catch((err: NodeJS.ErrnoException) => err);
  if (st instanceof Error) {
    if (st.code !== "ENOENT" && st.code !== "ENOTDIR") return `cannot be examined: ${st.message}`;
    switch (use) {
      case "readableDir":
        return "no such directory";
      case "readableFile":
        return "no such file";
      case "createdDir":
        return creatable(path);
      case "writtenFile":
        return creatable(path);
    }
  }
  switch (use) {
    case "readableDir":
      if (!st.isDirectory()) return "is not a directory";
      return (await can(path, constants.R_OK | constants.X_OK)) ? undefined : "is a directory sluice may not read (permission denied)";
    case "createdDir":
      if (!st.isDirectory()) return "exists and is not a directory";
      return (await can(path, constants.W_OK | constants.X_OK)) ? undefined : "is a directory sluice may not write in (permission denied)";
    case "readableFile":
      if (st.isDirectory()) return "is a directory, not a file";
      return (await can(path, constants.R_OK)) ? undefined : "is a file sluice may not read (permission denied)";
    case "writtenFile":
      if (st.isDirectory()) return "is a directory; the key names a file";
      return (await can(path, constants.R_OK | constants.W_OK)) ? undefined : "is a file sluice may not write (permission denied)";
  }
}

/** Problems with every path key written in the file, each with file:line, the key and the value. */
export async function checkPaths(spec: AgentSpec): Promise<ConfigProblem[]> {
  const problems: ConfigProblem[] = [];
  for (const r of components(spec)) {
    for (const [name, d] of Object.entries(r.type.keys as KeySpec)) {
      if (!d.use) continue;
      let raw: RawValue | undefined;
      let spelled = name;
      for (const n of [name, ...(d.aliases ?? [])]) {
        raw = r.comp.props.get(n);
        spelled = n;
        if (raw) break;
      }
      if (!raw) continue;
      const parsed: unknown = r.config[name];
      const values = Array.isArray(parsed) ? (parsed as string[]) : typeof parsed === "string" ? [parsed] : [];
      for (const v of values) {
        if (v.trim() === "") continue;
        const wrong = await checkPath(v, d.use);
        if (wrong) problems.push({ where: `${r.comp.file}:${raw.line}`, message: `${r.comp.prefix}${spelled} = ${v}: ${wrong}` });
      }
    }
  }
  return problems;
}
