// A growable ring buffer: O(1) amortised push at the tail, batch removal at the head, and putting a batch back at
// the head (a rolled-back take). The one ring of the channels: the memory queue's events and Acks, the file channel's
// queue of runs.

export class Deque<T> {
  private buf: (T | undefined)[];
  private head = 0;
  private len = 0;

  constructor(initialCapacity = 1024) {
    let c = 16;
    while (c < initialCapacity) c *= 2;
    this.buf = new Array(c);
  }

  get length(): number {
    return this.len;
  }

  private grow(min: number): void {
    let c = this.buf.length;
    while (c < min) c *= 2;
    if (c === this.buf.length) return;
    const next = new Array<T | undefined>(c);
    const mask = this.buf.length - 1;
    for (let i = 0; i < this.len; i++) next[i] = this.buf[(this.head + i) & mask];
    this.buf = next;
    this.head = 0;
  }

  push(item: T): void {
    if (this.len === this.buf.length) this.grow(this.len + 1);
    this.buf[(this.head + this.len) & (this.buf.length - 1)] = item;
    this.len++;
  }

  pushAll(items: readonly T[]): void {
    if (this.len + items.length > this.buf.length) this.grow(this.len + items.length);
    const mask = this.buf.length - 1;
    let at = this.head + this.len;
    for (let i = 0; i < items.length; i++) this.buf[(at++) & mask] = items[i];
    this.len += items.length;
  }

  /** Pushes `value` n times (e.g. one Ack for a whole batch). */
  fill(value: T, n: number): void {
    if (this.len + n > this.buf.length) this.grow(this.len + n);
    const mask = this.buf.length - 1;
    let at = this.head + this.len;
    for (let i = 0; i < n; i++) this.buf[(at++) & mask] = value;
    this.len += n;
  }

  /** Removes and returns up to n items from the head. */
  shift(n: number): T[] {
    const k = Math.min(n, this.len);
    const out = new Array<T>(k);
    const mask = this.buf.length - 1;
    for (let i = 0; i < k; i++) {
      const at = (this.head + i) & mask;
      out[i] = this.buf[at] as T;
      this.buf[at] = undefined;
    }
    this.head = (this.head + k) & mask;
    this.len -= k;
    return out;
  }

  /** Puts items back at the head, in their order (so items[0] is the next to shift). */
  unshiftAll(items: readonly T[]): void {
    if (this.len + items.length > this.buf.length) this.grow(this.len + items.length);
    const mask = this.buf.length - 1;
    this.head = (this.head - items.length) & mask;
    for (let i = 0; i < items.length; i++) this.buf[(this.head + i) & mask] = items[i];
    this.len += items.length;
  }

  /** Puts one item at the head (it is the next to shift). */
  unshift(item: T): void {
    if (this.len === this.buf.length) this.grow(this.len + 1);
    this.head = (this.head - 1) & (this.buf.length - 1);
    this.buf[this.head] = item;
    this.len++;
  }

  /** Removes and returns the head item. */
  shiftOne(): T | undefined {
    if (this.len === 0) return undefined;
    const item = this.buf[this.head];
    this.buf[this.head] = undefined;
    this.head = (this.head + 1) & (this.buf.length - 1);
    this.len--;
    return item;
  }

  /** Replaces the head item (the queue must not be empty). */
  replaceHead(item: T): void {
    this.buf[this.head] = item;
  }

  *[Symbol.iterator](): IterableIterator<T> {
    const mask = this.buf.length - 1;
    for (let i = 0; i < this.len; i++) yield this.buf[(this.head + i) & mask] as T;
  }

  peek(): T | undefined {
    return this.len === 0 ? undefined : this.buf[this.head];
  }

  clear(): void {
    this.buf = new Array(16);
    this.head = 0;
    this.len = 0;
  }
}
