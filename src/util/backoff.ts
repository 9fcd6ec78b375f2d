// Capped exponential backoff with full jitter (AWS's "full jitter"): spreads retries of many agents apart.

/** The exponential bound for retry number `attempt` (0-based): min(cap, base·2^attempt). */
export function backoffCeiling(attempt: number, baseMs: number, capMs: number): number {
  return Math.min(capMs, baseMs * 2 ** Math.min(attempt, 30));
}

/** Delay before retry number `attempt` (0-based): random in [0, backoffCeiling], at least 10 ms. */
export function backoffDelay(attempt: number, baseMs: number, capMs: number): number {
  return Math.max(10, Math.floor(Math.random() * backoffCeiling(attempt, baseMs, capMs)));
}

export function sleep(ms: number): Promise<void> {
  return new Promise((r) => setTimeout(r, ms));
}
