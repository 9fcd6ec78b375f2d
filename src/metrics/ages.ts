// The age of the oldest event in each channel (OldestEventAgeMs), derived from the counters alone, so no channel
// keeps a timestamp per event: channels are FIFO, so the oldest event held is the (takes + 1)-th put, and it was put
// when the put count first went past today's take count. A sampler records (time, puts) once a second; the oldest
// event's age is the time since the first sample whose puts exceed the takes now (to within one sample). Samples no
// event still held can need are pruned, and at most MAX_SAMPLES are kept (an older event shows as at least that old).
// Events a durable channel held from before this process started (size > puts − takes) are as old as the process.

import type { Agent } from "../core/agent.ts";

export const AGE_SAMPLE_MS = 1000;
/** One hour of samples per channel at most. */
const MAX_SAMPLES = 3600;

interface Sample {
  t: number;
  puts: number;
}

export class ChannelAges {
  private readonly history = new Map<string, Sample[]>();
  private agent?: Agent;
  private since = Date.now();

  /** Records the put counts of `agent`'s channels (a new agent, after a reload, starts the history afresh). */
  sample(agent: Agent | undefined, now = Date.now()): void {
    if (agent !== this.agent) {
      this.agent = agent;
      this.history.clear();
      this.since = now;
    }
    if (!agent) return;
    for (const [name, ch] of agent.channels) {
      let h = this.history.get(name);
      if (!h) this.history.set(name, (h = []));
      const puts = ch.counters.EventPutSuccessCount;
      if (h.length === 0 || h[h.length - 1]!.puts !== puts) h.push({ t: now, puts });
      // Keep the last sample at or below the takes (it bounds the oldest event's put time) and everything after it.
      const takes = ch.counters.EventTakeSuccessCount;
      let drop = 0;
      while (drop + 1 < h.length && h[drop + 1]!.puts <= takes) drop++;
      if (h.length - drop > MAX_SAMPLES) drop = h.length - MAX_SAMPLES;
      if (drop > 0) h.splice(0, drop);
    }
  }

  /** Milliseconds since the oldest event still in `channel` was put; 0 when it is empty. */
  oldestAgeMs(agent: Agent, channel: string, now = Date.now()): number {
    const ch = agent.channels.get(channel);
    if (!ch || ch.size() === 0) return 0;
    const puts = ch.counters.EventPutSuccessCount;
    const takes = ch.counters.EventTakeSuccessCount;
    if (ch.size() > puts - takes) return now - this.since;
    const h = this.history.get(channel) ?? [];
    const first = h.find((s) => s.puts > takes);
    return first ? now - first.t : 0;
  }
}
