// The spillable memory channel (Flume's SpillableMemoryChannel, Meituan's "DualChannel"): serves from memory while
// the backlog is small and spills to an embedded file channel when memory is full.
//
// Order: memory takes puts only while the overflow holds nothing (no event, no put in flight); once a put spills,
// every put goes to the overflow until it has drained completely. So every event in memory is older than every
// event on disk, takes simply drain memory first, and order is strictly FIFO across the two parts — also across a
// restart, because stop() moves the memory part to the *head* of the file part.
//
// Safety: events in memory hold their batch's Ack (core/ack.ts) until a sink's take commits, like the memory channel;
// spilled events are durable at commit. Unlike Flume, a crash loses nothing: what memory held was never
// acknowledged to its source, which reads it again. On stop the memory part is written durably to the overflow and
// its Acks are released, so the sources can persist their final positions.

import { releaseRuns, type Ack } from "../core/ack.ts";
import { BaseTransaction, type Channel, type Transaction } from "../core/channel.ts";
import { claimWithin, Signal } from "../util/signal.ts";
import type { ComponentContext } from "../core/component.ts";
import { defineType } from "../core/component-type.ts";
import { ChannelClosedError, ChannelFullError, describeError } from "../core/errors.ts";
import { bodyBytes, type Event } from "../core/event.ts";
import { key, type ConfigOf } from "../core/keys.ts";
import { ChannelCounters } from "../core/counters.ts";
import { Deque } from "../util/deque.ts";
import type { Logger } from "../util/log.ts";
import { totalMemoryBytes } from "../runtime.ts";
import { checkDirs, FileChannel, fileChannelKeys, resolveDirs, type FileTransaction } from "./file/index.ts";
import { inspectFileChannel } from "./file/inspect.ts";

/** Like the memory channel: no JVM heap to size byteCapacity from, so a tenth of physical memory. */
const DEFAULT_BYTE_CAPACITY_FRACTION = 0.1;

const { capacity: _fileCapacity, ...overflowKeys } = fileChannelKeys;

export const spillableKeys = {
  memoryCapacity: key.int("events held in memory (0 = every event goes to the overflow)", { default: 10_000, min: 0 }),
  overflowCapacity: key.int("events held in the overflow file channel (0 = memory only)", { default: 100_000_000, min: 0 }),
  overflowTimeout: key.duration("how long a put waits for room in memory before spilling to the overflow", { default: 3000, unit: "s" }),
  overflowDeactivationThreshold: key.int("percent of memory that must be free (and the overflow drained) before puts return to memory", { default: 5, min: 0, max: 100 }),
  byteCapacity: key.bytes("maximum body bytes in memory (0 = no byte limit)", { defaultText: "10 % of physical memory", min: 0 }),
  byteCapacityBufferPercentage: key.int("percent of byteCapacity kept free for headers and overhead", { default: 20, min: 0, max: 99 }),
  avgEventSize: key.int("accepted for Flume compatibility; sluice counts each event's real body size", { default: 500, min: 1 }),
  ...overflowKeys,
};
export type SpillableConfig = ConfigOf<typeof spillableKeys>;

export class SpillableChannel implements Channel {
  /** False: memory holds Acks. Only a spillable channel with memoryCapacity 0 is as durable as its overflow. */
  readonly durable: boolean;
  readonly counters = new ChannelCounters();
  readonly overflow?: FileChannel;
  private readonly mem: Deque<Event>;
  private readonly memAcks: Deque<Ack | undefined>;
  private memBytes = 0;
  /** Events taken from memory by open transactions (they still occupy memory until committed). */
  private memTaken = 0;
  private readonly byteLimit: number;
  private overflowActive = false;
  /** Put commits on their way into the overflow: memory must not take puts while any is pending. */
  private overflowPuts = 0;
  private readonly signal = new Signal();
  private readonly room = new Signal();
  private open = false;

  constructor(
    readonly name: string,
    readonly config: SpillableConfig,
    stateDir: string,
    private readonly log: Logger,
    readonly type = "spillablememory",
  ) {
    const cap = config.byteCapacity ?? Math.floor(totalMemoryBytes() * DEFAULT_BYTE_CAPACITY_FRACTION);
    this.byteLimit = cap === 0 ? Infinity : Math.floor(cap * (1 - config.byteCapacityBufferPercentage / 100));
    this.mem = new Deque(Math.min(config.memoryCapacity, 4096));
    this.memAcks = new Deque(Math.min(config.memoryCapacity, 4096));
    if (config.overflowCapacity > 0) {
      this.overflow = new FileChannel(`${name}.overflow`, { ...config, capacity: config.overflowCapacity }, stateDir, log);
    }
    this.durable = config.memoryCapacity === 0 && (this.overflow?.durable ?? false);
  }

  async start(): Promise<void> {
    await this.overflow?.start();
    // A backlog left on disk is older than anything new: keep putting behind it until it drains.
    this.overflowActive = (this.overflow?.pending() ?? 0) > 0;
    this.open = true;
    this.counters.StartTime = Date.now();
  }

  /**
   * Moves what memory still holds to the head of the overflow (durably, in order) and releases its Acks, then stops
   * the overflow. If that fails the events stay unacknowledged, so their sources read them again after a restart.
   */
  async stop(): Promise<void> {
    if (!this.open) return;
    this.open = false;
    this.signal.notify();
    this.room.notify();
    if (this.overflow && this.mem.length > 0) {
      const n = this.mem.length;
      const events = this.mem.shift(n);
      const acks = this.memAcks.shift(n);
      try {
        await this.overflow.putFront(events);
        this.memBytes -= bodyBytes(events);
        releaseRuns(acks);
        this.log.info(`channel ${this.name}: moved ${n} events from memory to the overflow at shutdown`);
      } catch (err) {
        this.log.warn(`channel ${this.name}: could not move ${n} events from memory to disk at shutdown (${describeError(err)}); their sources will read them again`);
      }
    }
    await this.overflow?.stop();
    this.counters.StopTime = Date.now();
  }

  size(): number {
    return this.mem.length + (this.overflow?.size() ?? 0);
  }

  capacity(): number {
    return this.config.memoryCapacity + this.config.overflowCapacity;
  }

  waitForEvents(ms: number): Promise<void> {
    return this.size() > 0 ? Promise.resolve() : this.signal.wait(ms);
  }

  gauges(): Record<string, number> {
    const g: Record<string, number> = { ...(this.overflow?.gauges() ?? {}) };
    g.ChannelBytes = this.memBytes + (g.ChannelBytes ?? 0);
    // Memory keeps no timestamps and holds the oldest events: the overflow's age would understate it.
    if (this.mem.length > 0) delete g.OldestEventAgeMs;
    g.MemoryChannelSize = this.mem.length;
    g.OverflowChannelSize = this.overflow?.size() ?? 0;
    g.OverflowActive = this.overflowActive ? 1 : 0;
    return g;
  }

  begin(): Transaction {
    if (!this.open) throw new ChannelClosedError(this.name);
    return new SpillableTransaction(this);
  }

  private memFits(n: number, b: number): boolean {
    const held = this.mem.length + this.memTaken;
    return held + n <= this.config.memoryCapacity && (this.memBytes + b <= this.byteLimit || this.memBytes === 0);
  }

  /** Memory is used again once the overflow has nothing (so nothing on disk is older) and enough memory is free. */
  private maybeDeactivate(): void {
    if (!this.overflowActive || this.overflowPuts > 0 || (this.overflow?.pending() ?? 0) > 0) return;
    const free = this.config.memoryCapacity - this.mem.length - this.memTaken;
    if (free * 100 >= this.config.overflowDeactivationThreshold * this.config.memoryCapacity) this.overflowActive = false;
  }

  /** @internal */
  async commitPuts(batches: readonly (readonly Event[])[], acks: readonly (Ack | undefined)[], n: number): Promise<void> {
    if (!this.open) throw new ChannelClosedError(this.name);
    let b = 0;
    for (const batch of batches) b += bodyBytes(batch);
    this.maybeDeactivate();
    const memWait = this.overflow ? this.config.overflowTimeout : this.config["keep-alive"];
    // A batch bigger than memory as a whole could wait forever: it goes straight to the overflow.
    const couldFit = n <= this.config.memoryCapacity;
    const toMemory = () => {
      for (let i = 0; i < batches.length; i++) {
        const batch = batches[i]!;
        this.mem.pushAll(batch);
        this.memAcks.fill(acks[i], batch.length);
        acks[i]?.hold(batch.length);
      }
      this.memBytes += b;
      this.counters.EventPutSuccessCount += n;
      this.signal.notify();
    };
    // Memory room is claimed in the same step as the check; the wait ends early if the overflow becomes active.
    const fits = () => !this.overflowActive && this.memFits(n, b);
    if (!this.overflowActive && couldFit && (await claimWithin(this.room, memWait, fits, toMemory, () => this.open && !this.overflowActive))) return;
    if (!this.overflow) {
      throw new ChannelFullError(this.name, `no room in memory for ${n} events within keep-alive (size ${this.size()}/${this.capacity()}; overflowCapacity is 0)`);
    }
    if (!this.overflowActive) {
      this.overflowActive = true;
      this.log.info(`channel ${this.name}: memory full (${this.mem.length}/${this.config.memoryCapacity} events), spilling to the overflow`);
    }
    this.overflowPuts++;
    try {
      const tx = this.overflow.begin();
      for (let i = 0; i < batches.length; i++) tx.put(batches[i]!, acks[i]);
      await tx.commit();
    } finally {
      this.overflowPuts--;
    }
    this.counters.EventPutSuccessCount += n;
    this.signal.notify();
  }

  /** @internal Memory first (older), then the overflow. */
  async take(tx: SpillableTransaction, max: number): Promise<Event[]> {
    let out: Event[] = [];
    const fromMem = Math.min(max, this.mem.length);
    if (fromMem > 0) {
      out = this.mem.shift(fromMem);
      const acks = this.memAcks.shift(fromMem);
      if (tx.memEvents.length === 0) {
        tx.memEvents = out.slice();
        tx.memAcks = acks;
      } else {
        for (let i = 0; i < out.length; i++) tx.memEvents.push(out[i]!);
        for (let i = 0; i < acks.length; i++) tx.memAcks.push(acks[i]);
      }
      this.memTaken += fromMem;
    }
    // Only when the overflow holds something: the common case (memory only) opens no file transaction at all.
    if (out.length < max && this.overflow && this.mem.length === 0 && this.overflow.size() > 0) {
      tx.fileTx ??= this.overflow.begin() as FileTransaction;
      const more = await tx.fileTx.take(max - out.length);
      if (more.length > 0) out = out.length === 0 ? more : out.concat(more);
    }
    return out;
  }

  /** @internal The overflow's take is logged first; if that fails, both parts roll back. */
  async commitTakes(tx: SpillableTransaction): Promise<void> {
    if (tx.fileTx) {
      try {
        await tx.fileTx.commit();
      } catch (err) {
        this.rollbackTakes(tx);
        throw err;
      }
      this.counters.EventTakeSuccessCount += tx.fileTx.runs.reduce((s, r) => s + r.end - r.start, 0);
    }
    const k = tx.memEvents.length;
    if (k > 0) {
      this.memTaken -= k;
      this.memBytes -= bodyBytes(tx.memEvents);
      this.counters.EventTakeSuccessCount += k;
      releaseRuns(tx.memAcks);
    }
    this.maybeDeactivate();
    this.room.notify();
  }

  /** @internal */
  rollbackTakes(tx: SpillableTransaction): void {
    if (tx.memEvents.length > 0) {
      this.memTaken -= tx.memEvents.length;
      this.mem.unshiftAll(tx.memEvents);
      this.memAcks.unshiftAll(tx.memAcks);
      tx.memEvents = [];
      tx.memAcks = [];
    }
    void tx.fileTx?.rollback();
    this.signal.notify();
  }
}

class SpillableTransaction extends BaseTransaction {
  memEvents: Event[] = [];
  memAcks: (Ack | undefined)[] = [];
  fileTx?: FileTransaction;

  constructor(private readonly ch: SpillableChannel) {
    super(ch.name, ch.config.transactionCapacity, ch.counters);
  }

  protected takeNow(max: number): Promise<Event[]> {
    return this.ch.take(this, max);
  }

  protected commitPuts(): Promise<void> {
    return this.ch.commitPuts(this.batches, this.acks, this.putCount);
  }

  protected async commitTakes(): Promise<void> {
    if (this.takenCount > 0 || this.fileTx) await this.ch.commitTakes(this);
  }

  protected rollbackTakes(): void {
    this.ch.rollbackTakes(this);
  }
}

export const spillableChannelType = defineType({
  kind: "channel",
  names: ["spillablememory", "dual", "org.apache.flume.channel.SpillableMemoryChannel"],
  keys: spillableKeys,
  check(cfg, report) {
    if (cfg.memoryCapacity === 0 && cfg.overflowCapacity === 0) report("memoryCapacity", "memoryCapacity (0) and overflowCapacity (0) leave no room for any event");
    if (cfg.overflowCapacity > 0 && cfg.transactionCapacity > cfg.overflowCapacity) {
      report("transactionCapacity", `transactionCapacity (${cfg.transactionCapacity}) must be ≤ overflowCapacity (${cfg.overflowCapacity})`);
    }
    if (cfg.overflowCapacity === 0 && cfg.transactionCapacity > cfg.memoryCapacity) {
      report("transactionCapacity", `transactionCapacity (${cfg.transactionCapacity}) must be ≤ memoryCapacity (${cfg.memoryCapacity}) when overflowCapacity is 0`);
    }
    checkDirs({ ...cfg, capacity: cfg.overflowCapacity }, report);
  },
  create(cfg, ctx: ComponentContext) {
    return new SpillableChannel(ctx.name, cfg, ctx.stateDir, ctx.log);
  },
  /** What `sluice status` shows is the overflow on disk; the memory part lives only inside a running agent. */
  inspect: (cfg, ctx) => {
    const fileCfg = { ...cfg, capacity: cfg.overflowCapacity };
    return inspectFileChannel(resolveDirs(fileCfg, ctx.stateDir), fileCfg, ctx);
  },
});
