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

import { StoreTransaction, type Channel, type ChannelStore, type Transaction } from "../core/channel.ts";
import { Signal } from "../util/signal.ts";
import type { Ack } from "../core/ack.ts";
import type { ComponentContext } from "../core/component.ts";
import { defineType } from "../core/component-type.ts";
import { ChannelClosedError, ChannelFullError, describeError } from "../core/errors.ts";
import type { Event } from "../core/event.ts";
import { key, type ConfigOf } from "../core/keys.ts";
import { ChannelCounters } from "../core/counters.ts";
import type { Logger } from "../util/log.ts";
import { checkDirs, FileChannel, fileChannelKeys, resolveDirs, type FileTake } from "./file/index.ts";
import { inspectFileChannel } from "./file/inspect.ts";
import { MemoryQueue, memoryQueueKeys, type MemoryTake } from "./memory-queue.ts";

const { capacity: _fileCapacity, ...overflowKeys } = fileChannelKeys;

export const spillableKeys = {
  memoryCapacity: key.int("events held in memory (0 = every event goes to the overflow)", { default: 10_000, min: 0 }),
  overflowCapacity: key.int("events held in the overflow file channel (0 = memory only)", { default: 100_000_000, min: 0 }),
  overflowTimeout: key.duration("how long a put waits for room in memory before spilling to the overflow", { default: 3000, unit: "s" }),
  overflowDeactivationThreshold: key.int("percent of memory that must be free (and the overflow drained) before puts return to memory", { default: 5, min: 0, max: 100 }),
  ...memoryQueueKeys,
  avgEventSize: key.int("accepted for Flume compatibility; sluice counts each event's real body size", { default: 500, min: 1 }),
  ...overflowKeys,
};
export type SpillableConfig = ConfigOf<typeof spillableKeys>;

/** What a spillable take holds: events from memory, then (once memory is empty) from the overflow. */
interface SpillTake {
  mem: MemoryTake;
  file?: FileTake;
  /** Events taken from the overflow into `file`. */
  fromFile: number;
}

export class SpillableChannel implements Channel, ChannelStore<SpillTake> {
  /** False: memory holds Acks. Only a spillable channel with memoryCapacity 0 is as durable as its overflow. */
  readonly durable: boolean;
  readonly counters = new ChannelCounters();
  readonly overflow?: FileChannel;
  private readonly mem: MemoryQueue;
  private overflowActive = false;
  /** Put commits on their way into the overflow: memory must not take puts while any is pending. */
  private overflowPuts = 0;
  /** Events open transactions took from the overflow: it is drained only when these are gone too. */
  private overflowTaken = 0;
  private readonly signal = new Signal();
  private open = false;

  constructor(
    readonly name: string,
    readonly config: SpillableConfig,
    stateDir: string,
    private readonly log: Logger,
    readonly type = "spillablememory",
  ) {
    this.mem = new MemoryQueue({ ...config, capacity: config.memoryCapacity }, this.counters, this.signal);
    if (config.overflowCapacity > 0) {
      this.overflow = new FileChannel(`${name}.overflow`, { ...config, capacity: config.overflowCapacity }, stateDir, log);
    }
    this.durable = config.memoryCapacity === 0 && (this.overflow?.durable ?? false);
  }

  async start(): Promise<void> {
    await this.overflow?.start();
    // A backlog left on disk is older than anything new: keep putting behind it until it drains.
    this.overflowActive = (this.overflow?.size() ?? 0) > 0;
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
    this.mem.room.notify();
    if (this.overflow && this.mem.length > 0) {
      const moving = this.mem.drain();
      const n = moving.events.length;
      try {
        await this.overflow.putAtHead(moving.events);
        this.mem.moved(moving);
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
    g.ChannelBytes = this.mem.byteSize + (g.ChannelBytes ?? 0);
    // Memory keeps no timestamps and holds the oldest events: the overflow's age would understate it.
    if (this.mem.length > 0) delete g.OldestEventAgeMs;
    g.MemoryChannelSize = this.mem.length;
    g.OverflowChannelSize = this.overflow?.size() ?? 0;
    g.OverflowActive = this.overflowActive ? 1 : 0;
    return g;
  }

  begin(): Transaction {
    if (!this.open) throw new ChannelClosedError(this.name);
    return new StoreTransaction(this, this.name, this.config.transactionCapacity, this.counters);
  }

  /** Memory is used again once the overflow has nothing (so nothing on disk is older) and enough memory is free. */
  private maybeDeactivate(): void {
    if (!this.overflowActive || this.overflowPuts > 0 || this.overflowTaken > 0 || (this.overflow?.size() ?? 0) > 0) return;
    const free = this.config.memoryCapacity - this.mem.held;
    if (free * 100 >= this.config.overflowDeactivationThreshold * this.config.memoryCapacity) this.overflowActive = false;
  }

  /** Not durable: source cursors are ignored (the Acks are what tells a source its batch is safe). */
  async put(batches: readonly (readonly Event[])[], acks: readonly (Ack | undefined)[], n: number): Promise<void> {
    if (!this.open) throw new ChannelClosedError(this.name);
    this.maybeDeactivate();
    const memWait = this.overflow ? this.config.overflowTimeout : this.config["keep-alive"];
    // A batch bigger than memory as a whole could wait forever: it goes straight to the overflow. The wait for memory
    // ends early if the overflow becomes active.
    const couldFit = n <= this.config.memoryCapacity;
    if (!this.overflowActive && couldFit && (await this.mem.putWithin(batches, acks, n, memWait, () => !this.overflowActive, () => this.open && !this.overflowActive))) return;
    if (!this.overflow) {
      throw new ChannelFullError(this.name, `no room in memory for ${n} events within keep-alive (size ${this.size()}/${this.capacity()}; overflowCapacity is 0)`);
    }
    if (!this.overflowActive) {
      this.overflowActive = true;
      this.log.info(`channel ${this.name}: memory full (${this.mem.length}/${this.config.memoryCapacity} events), spilling to the overflow`);
    }
    this.overflowPuts++;
    try {
      // Not the sources' cursors: events of theirs may still sit in memory, undelivered.
      await this.overflow.put(batches, acks, n, []);
    } finally {
      this.overflowPuts--;
    }
    this.counters.EventPutSuccessCount += n;
    this.signal.notify();
  }

  newTake(): SpillTake {
    return { mem: this.mem.newTake(), fromFile: 0 };
  }

  /** Memory first (older), then the overflow. */
  async take(held: SpillTake, max: number): Promise<Event[]> {
    const out = this.mem.take(held.mem, max);
    // Only when the overflow holds something: the common case (memory only) opens no overflow take at all.
    if (out.length < max && this.overflow && this.mem.length === 0 && this.overflow.size() > 0) {
      held.file ??= this.overflow.newTake();
      const more = await this.overflow.take(held.file, max - out.length);
      held.fromFile += more.length;
      this.overflowTaken += more.length;
      if (more.length > 0) return out.length === 0 ? more : out.concat(more);
    }
    return out;
  }

  /** The overflow's take is logged first; if that fails, both parts roll back. */
  async commitTake(held: SpillTake): Promise<void> {
    if (held.file) {
      try {
        await this.overflow!.commitTake(held.file);
      } catch (err) {
        this.rollbackTake(held);
        throw err;
      }
      this.overflowTaken -= held.fromFile;
      this.counters.EventTakeSuccessCount += held.fromFile;
      held.fromFile = 0;
      held.file = undefined;
    }
    this.mem.commit(held.mem);
    this.maybeDeactivate();
    this.mem.room.notify();
  }

  rollbackTake(held: SpillTake): void {
    this.mem.giveBack(held.mem);
    if (held.file) {
      this.overflow!.rollbackTake(held.file);
      this.overflowTaken -= held.fromFile;
      held.fromFile = 0;
      held.file = undefined;
    }
    this.signal.notify();
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
