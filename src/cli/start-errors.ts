// A component that could not start, told the way config errors are: the place in the file, the key and its value
// first (`agent.conf:5: a1.sources.r1.port = 34141: address already in use on 127.0.0.1`), from the errno code or
// path of the cause. Anything it cannot pin on a key still names the component and its type.

import type { AgentSpec, Resolved } from "../core/spec.ts";
import type { KeySpec } from "../core/keys.ts";
import { ComponentError, describeError, ValueError } from "../core/errors.ts";

interface Cause {
  code?: string;
  path?: string;
  message?: string;
}

/** The innermost cause that carries an errno code or a path (sources may wrap the runtime's error). */
function rootCause(err: unknown): unknown {
  let e: unknown = err;
  for (let i = 0; i < 8 && e && typeof e === "object"; i++) {
    const c = e as Cause & { cause?: unknown };
    if (c.code || c.path) return e;
    if (!c.cause) break;
    e = c.cause;
  }
  return err;
}

/** The component a ComponentError names (`source r1`, `sink k1` — a sink group's processor under its group's name). */
function find(spec: AgentSpec, component: string): Resolved | undefined {
  const [kind, name] = component.split(" ", 2);
  if (kind === "source") return spec.sources.find((s) => s.name === name);
  if (kind === "channel") return spec.channels.find((c) => c.name === name);
  return spec.sinks.find((s) => s.name === name) ?? spec.groups.find((g) => g.name === name)?.processor;
}

/** `file:line: a1.sources.r1.port = 34141` for a key written in the file, or the key alone. */
function place(r: Resolved, key: string): string {
  const raw = r.comp.props.get(key);
  return raw ? `${r.comp.file}:${raw.line}: ${r.comp.prefix}${key} = ${raw.value}` : `${r.comp.prefix}${key} = ${String(r.config[key])}`;
}

const LISTEN_ERRORS: Record<string, (bind: string, port: number) => string> = {
  EADDRINUSE: (bind) => `address already in use${bind ? ` on ${bind}` : ""}`,
  EACCES: (_bind, port) => `permission denied${port > 0 && port < 1024 ? " (ports below 1024 need root or CAP_NET_BIND_SERVICE)" : ""}`,
};

/** One line for a start failure; the component, key and value first when the cause points at one. */
export function describeStartError(err: unknown, spec: AgentSpec): string {
  if (!(err instanceof ComponentError) || err.phase !== "start") return describeError(err);
  const r = find(spec, err.component);
  if (!r) return describeError(err);
  // The component said which key (a ValueError): its place in the file goes first.
  if (err.cause instanceof ValueError && err.cause.key) return `${place(r, err.cause.key)}: ${err.cause.detail}`;
  const cause = rootCause(err.cause) as Cause;
  const keys = r.type.keys as KeySpec;
  const code = cause?.code;
  if (code && "port" in keys) {
    const bind = typeof r.config.bind === "string" ? r.config.bind : "";
    const listen = LISTEN_ERRORS[code];
    if (listen) return `${place(r, "port")}: ${listen(bind, Number(r.config.port))}`;
    if (code === "EADDRNOTAVAIL" && "bind" in keys) return `${place(r, "bind")}: no such address on this machine`;
  }
  if (cause?.path) {
    for (const [key, d] of Object.entries(keys)) {
      if (!d.use) continue;
      const v: unknown = r.config[key];
      const values = Array.isArray(v) ? v : [v];
      if (values.some((p) => typeof p === "string" && p !== "" && (cause.path === p || cause.path!.startsWith(p.endsWith("/") ? p : `${p}/`)))) {
        return `${place(r, key)}: ${describeError(cause)}`;
      }
    }
  }
  // A component's own message that quotes a path key's value (spooldir: "… is not a readable directory").
  const message = describeError(err.cause);
  for (const [key, d] of Object.entries(keys)) {
    const v: unknown = r.config[key];
    if (d.use && typeof v === "string" && v.length > 1 && message.includes(v)) return `${place(r, key)}: ${message}`;
  }
  return `${r.comp.prefix.replace(/\.$/, "")} (${r.typeName}): ${message}`;
}
