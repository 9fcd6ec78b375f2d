// What every component shares: a lifecycle, a name, and the context the agent hands its factory.

import type { Logger } from "../util/log.ts";

export interface Lifecycle {
  start(): Promise<void>;
  /** Stops within a bounded time; safe to call twice. */
  stop(): Promise<void>;
}

export interface ComponentContext {
  /** Agent name (`a1`). */
  agent: string;
  /** Component name (`c1`). */
  name: string;
  /** Canonical type name from the registry (`memory`, `TAILDIR`). */
  type: string;
  log: Logger;
  /**
   * Directory for this component's state when its own keys do not name one: `<state-dir>/<agent>/<name>`.
   * Created on demand by the component. Explicit Flume keys (positionFile, checkpointDir…) still win.
   */
  stateDir: string;
  /** Cron mode (`agent --once`): sources read to their current end, then report `done`. */
  once: boolean;
}
