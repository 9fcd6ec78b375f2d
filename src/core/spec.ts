// The typed agent spec: what config/load.ts builds from a properties file and core/agent.ts builds the graph from.
// It lives in core so the agent depends on nothing above it.

import type { ComponentType, Kind } from "./component-type.ts";
import type { ComponentConfig } from "./keys.ts";

/** A component whose type was found and whose keys parsed. */
export interface Resolved {
  name: string;
  kind: Kind;
  /** Canonical type name. */
  typeName: string;
  // deno-lint-ignore no-explicit-any
  type: ComponentType<any, any>;
  // deno-lint-ignore no-explicit-any
  config: any;
  comp: ComponentConfig;
}

export interface SourceSpec extends Resolved {
  channels: string[];
  selector: Resolved;
  interceptors: Resolved[];
}

export interface SinkSpec extends Resolved {
  channel: string;
}

export interface GroupSpec {
  name: string;
  sinks: string[];
  processor: Resolved;
}

export interface AgentSpec {
  agent: string;
  file: string;
  channels: Resolved[];
  sources: SourceSpec[];
  sinks: SinkSpec[];
  groups: GroupSpec[];
  warnings: string[];
}
