// The in-memory event queue shared by the memory channel and the memory part of the spillable channel: events and
// their batches' Acks in put order, bounded by an event count and by body bytes (byteCapacity less
// byteCapacityBufferPercentage), with takes that still occupy room until they commit.

import type { Ack } from "../core/ack.ts";
import { bodyBytes, type Event } from "../core/event.ts";
import { key } from "../core/keys.ts";
import type { ChannelCounters } from "../core/counters.ts";
import { Deque } from "../util/deque.ts";
import { claimWithin, Signal } from "../util/signal.ts";
import { totalMemoryBytes } from "../runtime.ts";

/** Flume sizes byteCapacity from the JVM heap; we have no heap limit, so take a tenth of physical memory. */
const DEFAULT_BYTE_CAPACITY_FRACTION = 0.1;
/** Deques start this small (they grow): a channel with a large capacity costs nothing until it fills. */
const INITIAL_DEQUE_SLOTS = 4096;

/** The byte-limit keys of a memory queue, shared by the memory and spillable channels' key tables. */
export const memoryQueueKeys = {
  byteCapacity: key.bytes("maximum body bytes held in memory (0 = no byte limit)", { defaultText: "10 % of physical memory", min: 0 }),
  byteCapacityBufferPercentage: key.int("percent of byteCapacity kept free for headers and overhead", { default: 20, min: 0, max: 99 }),
};

export interface MemoryQueueLimits {
  /** Maximum events held, taken-and-uncommitted included. */
  capacity: number;
  byteCapacity: number | undefined;
  byteCapacityBufferPercentage: number;
}

/** `n` consecutive events that share one Ack (one put batch, or the part of it not yet taken). */
interface AckRun {
  ack: Ack | undefined;
  n: number;
}

/** What a take transaction holds from a memory queue: its events and their Acks, a run per batch. */
export interface MemoryTake {
  events: Event[];
  acks: AckRun[];
}

function releaseAll(runs: readonly AckRun[]): void {
  for (const r of runs) r.ack?.release(r.n);
}

export class MemoryQueue {
  private readonly events: Deque<Event>;
  /** The Acks of the queued events in order, one run per put batch (not one slot per event). */
  private readonly acks = new Deque<AckRun>(64);
  private bytes = 0;
  /** Events taken by open transactions: still counted against capacity until their take commits. */
  private taken = 0;
  private readonly byteLimit: number;
  /** Notified whenever room is freed (a take committed, or the owner stopping). */
  readonly room = new Signal();

  constructor(
    private readonly limits: MemoryQueueLimits,
    private readonly counters: ChannelCounters,
    /** Notified whenever events become takeable. */
    private readonly arrived: Signal,
  ) {
    const cap = limits.byteCapacity ?? Math.floor(totalMemoryBytes() * DEFAULT_BYTE_CAPACITY_FRACTION);
    this.byteLimit = cap === 0 ? Infinity : Math.floor(cap * (1 - limits.byteCapacityBufferPercentage / 100));
    this.events = new Deque(Math.min(limits.capacity, INITIAL_DEQUE_SLOTS));
  }

  /** Events queued and not taken. */
  get length(): number {
    return this.events.length;
  }

  /** Events queued or held by open takes. */
  get held(): number {
    return this.events.length + this.taken;
  }

  get byteSize(): number {
    return this.bytes;
  }

  get capacity(): number {
    return this.limits.capacity;
  }

  /** Whether `n` more events of `b` body bytes fit (one batch always fits an empty queue's bytes). */
  fits(n: number, b: number): boolean {
    return this.held + n <= this.limits.capacity && (this.bytes + b <= this.byteLimit || this.bytes === 0);
  }

  /**
   * Puts the batches once they fit and `usable()` holds (room is claimed in the same step as the check), waiting up
   * to `waitMs`; false when that did not happen in time (or `stillWaiting()` turned false).
   */
  putWithin(batches: readonly (readonly Event[])[], acks: readonly (Ack | undefined)[], n: number, waitMs: number, usable: () => boolean, stillWaiting: () => boolean): Promise<boolean> {
    let b = 0;
    for (const batch of batches) b += bodyBytes(batch);
    const put = () => {
      for (let i = 0; i < batches.length; i++) {
        const batch = batches[i]!;
        const ack = acks[i];
        if (batch.length === 0) continue;
        this.events.pushAll(batch);
        this.acks.push({ ack, n: batch.length });
        ack?.hold(batch.length);
      }
      this.bytes += b;
      this.counters.EventPutSuccessCount += n;
      this.arrived.notify();
    };
    return claimWithin(this.room, waitMs, () => usable() && this.fits(n, b), put, stillWaiting);
  }

  /** Why `n` events of the batches could not be put: which limit they hit. */
  fullReason(batches: readonly (readonly Event[])[], n: number): string {
    let b = 0;
    for (const batch of batches) b += bodyBytes(batch);
    return this.held + n <= this.limits.capacity
      ? `no room for ${b} more body bytes within keep-alive (${this.bytes}/${this.byteLimit} bytes: byteCapacity less byteCapacityBufferPercentage)`
      : `no room for ${n} events within keep-alive (size ${this.events.length}/${this.limits.capacity}, ${this.taken} taken and not yet committed)`;
  }

  newTake(): MemoryTake {
    return { events: [], acks: [] };
  }

  /**
   * Moves up to `max` events from the head into `held`; returns them. The first take of a transaction shares its
   * array with `held` (no copy per take); a later one gives `held` a new array, so no array returned is changed.
   */
  take(held: MemoryTake, max: number): Event[] {
    const k = Math.min(max, this.events.length);
    if (k === 0) return [];
    const events = this.events.shift(k);
    this.taken += k;
    held.events = held.events.length === 0 ? events : held.events.concat(events);
    this.shiftAcks(k, held.acks);
    return events;
  }

  /** Moves the Acks of the `k` head events to `into`, splitting the run the take ends in. */
  private shiftAcks(k: number, into: AckRun[]): void {
    while (k > 0) {
      const r = this.acks.peek()!;
      if (r.n <= k) {
        this.acks.shiftOne();
        into.push(r);
        k -= r.n;
      } else {
        this.acks.replaceHead({ ack: r.ack, n: r.n - k });
        into.push({ ack: r.ack, n: k });
        k = 0;
      }
    }
  }

  /** The held events are delivered: their room is free and their Acks released. */
  commit(held: MemoryTake): void {
    const k = held.events.length;
    if (k === 0) return;
    this.bytes -= bodyBytes(held.events);
    this.taken -= k;
    this.counters.EventTakeSuccessCount += k;
    releaseAll(held.acks);
    held.events = [];
    held.acks = [];
    this.room.notify();
  }

  /** The held events go back to the head in their order. */
  giveBack(held: MemoryTake): void {
    const k = held.events.length;
    if (k === 0) return;
    this.events.unshiftAll(held.events);
    // Runs go back as they were taken (a split run stays two runs of one Ack: its holds are counted per event).
    this.acks.unshiftAll(held.acks);
    this.taken -= k;
    held.events = [];
    held.acks = [];
    this.arrived.notify();
  }

  /** Removes every queued (not taken) event with its Ack, for the owner to move elsewhere. */
  drain(): MemoryTake {
    const n = this.events.length;
    const acks: AckRun[] = [];
    this.shiftAcks(n, acks);
    return { events: this.events.shift(n), acks };
  }

  /** Events removed by drain() are held elsewhere now: their bytes leave and their Acks are released. */
  moved(m: MemoryTake): void {
    this.bytes -= bodyBytes(m.events);
    releaseAll(m.acks);
  }
}
