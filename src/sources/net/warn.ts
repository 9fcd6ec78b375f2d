// Warnings about peers (bad input, refused connections) at a bounded rate: a flood of bad clients costs a few log
// lines per second and one summary, never a line per packet.

import type { Logger } from "../../util/log.ts";

/** At most this many peer warnings per second; the rest are counted and summarised. */
const WARN_PER_SECOND = 10;

export class RateLimitedWarn {
  private windowStart = 0;
  private inWindow = 0;
  private suppressed = 0;

  constructor(private readonly log: Logger) {}

  warn(message: string): void {
    const now = Date.now();
    if (now - this.windowStart >= 1000) {
      this.flush();
      this.windowStart = now;
      this.inWindow = 0;
    }
    if (this.inWindow < WARN_PER_SECOND) {
      this.inWindow++;
      this.log.warn(message);
    } else {
      this.suppressed++;
    }
  }

  /** Logs how many warnings were left out since the last summary. */
  flush(): void {
    if (this.suppressed > 0) this.log.warn(`${this.suppressed} more such warnings in the last second were not logged`);
    this.suppressed = 0;
  }
}
