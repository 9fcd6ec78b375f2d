// A wake-up signal: waiters park with a bound, notify() releases every current waiter. Channels use it to wake sinks
// when a put commits (and puts when room frees up); sources use it to end a backoff sleep when a watch fires.

export class Signal {
  private waiters: Array<() => void> = [];

  /** Resolves at the next notify(), or after `ms`, whichever is first. */
  wait(ms: number): Promise<void> {
    return new Promise((resolve) => {
      const t = setTimeout(() => {
        const i = this.waiters.indexOf(done);
        if (i >= 0) this.waiters.splice(i, 1);
        resolve();
      }, ms);
      const done = () => {
        clearTimeout(t);
        resolve();
      };
      this.waiters.push(done);
    });
  }

  notify(): void {
    if (this.waiters.length === 0) return;
    const w = this.waiters;
    this.waiters = [];
    for (const f of w) f();
  }
}

/**
 * Waits up to `ms` for `fits()`, re-checking at each notify() of `signal`, and runs `claim()` in the same synchronous
 * step as the check that passed: two waiters woken together can never both take the same room. False when `ms`
 * passes or `go()` turns false first.
 */
export async function claimWithin(signal: Signal, ms: number, fits: () => boolean, claim: () => void, go: () => boolean = () => true): Promise<boolean> {
  const deadline = Date.now() + ms;
  for (;;) {
    if (fits()) {
      claim();
      return true;
    }
    const left = deadline - Date.now();
    if (left <= 0 || !go()) return false;
    await signal.wait(left);
  }
}
