// Capped exponential backoff with full jitter (AWS's "full jitter"): spreads retries of many agents apart.

/** Delay before retry number `attempt` (0-based): random in [0, min(cap, base·2^attempt)], at least 10 ms. */
export function backoffDelay(attempt: number, baseMs: number, capMs: number): number {
  const ceiling = Math.min(capMs, baseMs * 2 ** Math.min(attempt, 30));
  return Math.max(10, Math.floor(Math.random() * ceiling));
}

export function sleep(ms: number): Promise<void> {
  return new Promise((r) => setTimeout(r, ms));
}
