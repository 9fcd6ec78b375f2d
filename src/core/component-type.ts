// The shape of a registered component type: its kind, names, key table, cross-field check and factory.
// Each component file exports one of these; src/registry.ts lists them all.

import type { ConfigOf, KeySpec } from "./keys.ts";
import type { Channel } from "./channel.ts";
import type { ChannelProcessor, ChannelSelector, Interceptor } from "./channel-processor.ts";
import type { ComponentContext } from "./component.ts";
import type { Sink, SinkProcessor } from "./sink.ts";
import type { Source } from "./source.ts";

export interface KindMap {
  source: { deps: { processor: ChannelProcessor }; out: Source };
  channel: { deps: Record<string, never>; out: Channel };
  sink: { deps: { channel: Channel }; out: Sink };
  sinkprocessor: { deps: { sinks: Sink[] }; out: SinkProcessor };
  interceptor: { deps: Record<string, never>; out: Interceptor };
  selector: { deps: { channels: Channel[] }; out: ChannelSelector };
}
export type Kind = keyof KindMap;

export interface ComponentType<K extends Kind = Kind, S extends KeySpec = KeySpec> {
  readonly kind: K;
  /** Canonical short name first, then aliases (matched case-insensitively), then Flume class names. */
  readonly names: readonly string[];
  readonly keys: S;
  /** Key names of the component's own that the loader must not report as unknown (rare: dynamic keys). */
  readonly dynamicKeys?: (key: string) => boolean;
  /**
   * Cross-field rules, checked once at load. `report(key, message)` names the offending key (relative to the
   * component); quote the keys and their values in the message.
   */
  check?(cfg: ConfigOf<S>, report: (key: string, message: string) => void, ctx: CheckContext): void;
  create(cfg: ConfigOf<S>, ctx: ComponentContext, deps: KindMap[K]["deps"]): KindMap[K]["out"] | Promise<KindMap[K]["out"]>;
  /**
   * Read-only look at the component's state on disk, for `sluice status`: must work whether or not an agent runs
   * (never lock, write or repair anything). Components without persistent state leave it out.
   */
  inspect?(cfg: ConfigOf<S>, ctx: ComponentContext): Promise<InspectReport>;
}

type Cell = string | number | boolean | null;

/** What `sluice status` shows for a component: a summary line, and rows per item (tailed file, spool file…). */
export interface InspectReport {
  summary: Record<string, Cell>;
  items?: Array<Record<string, Cell>>;
}

/** What a check may know about the graph around the component. */
export interface CheckContext {
  /** For sources and selectors: the names of the channels the source writes to. */
  channels?: readonly string[];
  /** For sink processors: the names of the group's sinks. */
  sinks?: readonly string[];
  /** A warning about `key` (relative to the component): logged and printed by validate; the agent starts. */
  warn?: (key: string, message: string) => void;
}

/** Identity helper that keeps the key table's types for the factory and the check. */
export function defineType<K extends Kind, S extends KeySpec>(t: ComponentType<K, S>): ComponentType<K, S> {
  return t;
}
