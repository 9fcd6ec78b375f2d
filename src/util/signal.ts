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
