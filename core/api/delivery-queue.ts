// What one subscription holds between flushes. Memory is bounded either way: 'latest' keeps one value, 'reliable'
// keeps at most `limit` events in a ring. Whatever does not fit is counted, never forgotten, so the next batch can
// tell the subscriber exactly how much it missed.
//
// A full reliable queue drops its oldest event, not the new one: after a gap the subscriber must resynchronise
// anyway, and it is better placed to do so holding the newest state than a stale one.

import type { DeliveryPolicy } from './contract.js';

export interface Batch<E> {
  readonly events: E[];
  /** Events lost ('reliable') or replaced ('latest') since the previous batch; overflow losses precede `events`. */
  readonly dropped: number;
}

export interface DeliveryQueue<E> {
  push(event: E): void;
  /** Records a loss that happened elsewhere (an event that failed validation) so it is reported like overflow. */
  noteDropped(count: number): void;
  readonly pending: boolean;
  /** Everything held, oldest first, and the loss count; empties the queue. */
  take(): Batch<E>;
}

export function createDeliveryQueue<E>(policy: DeliveryPolicy, limit: number): DeliveryQueue<E> {
  return policy === 'latest' ? new LatestQueue<E>() : new RingQueue<E>(limit);
}

class LatestQueue<E> implements DeliveryQueue<E> {
  private value: { v: E } | null = null;
  private dropped = 0;

  push(event: E): void {
    if (this.value !== null) this.dropped++;
    this.value = { v: event };
  }

  noteDropped(count: number): void {
    this.dropped += count;
  }

  get pending(): boolean {
    return this.value !== null || this.dropped > 0;
  }

  take(): Batch<E> {
    const batch = { events: this.value === null ? [] : [this.value.v], dropped: this.dropped };
    this.value = null;
    this.dropped = 0;
    return batch;
  }
}

class RingQueue<E> implements DeliveryQueue<E> {
  private readonly slots: (E | undefined)[];
  private head = 0;
  private size = 0;
  private dropped = 0;

  constructor(private readonly limit: number) {
    if (!Number.isInteger(limit) || limit < 1) throw new RangeError('queue limit must be a positive integer');
    this.slots = new Array<E | undefined>(limit);
  }

  push(event: E): void {
    if (this.size === this.limit) {
      this.slots[this.head] = event;
      this.head = (this.head + 1) % this.limit;
      this.dropped++;
      return;
    }
    this.slots[(this.head + this.size) % this.limit] = event;
    this.size++;
  }

  noteDropped(count: number): void {
    this.dropped += count;
  }

  get pending(): boolean {
    return this.size > 0 || this.dropped > 0;
  }

  take(): Batch<E> {
    const events: E[] = [];
    for (let i = 0; i < this.size; i++) {
      const at = (this.head + i) % this.limit;
      events.push(this.slots[at] as E);
      this.slots[at] = undefined;
    }
    const batch = { events, dropped: this.dropped };
    this.head = 0;
    this.size = 0;
    this.dropped = 0;
    return batch;
  }
}
