// Lets the event loop run I/O and timers between slices of a long decode.

import { setImmediate } from "node:timers";

/**
 * Resolves on the loop's next turn, after pending I/O. setImmediate, not setTimeout(0): the timer's minimum delay
 * (about 1 ms) cost every large request that much and halved bench/http.ts.
 */
export function yieldToLoop(): Promise<void> {
  return new Promise<void>((resolve) => setImmediate(resolve));
}
