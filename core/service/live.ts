// What the service keeps in memory per pair, outside any UI: the most recent cycles and events in fixed-size ring
// buffers (so a fast pair cannot grow memory without bound), the guest's output latencies of the last moments, and
// the overview statistics computed from them.

import { performance } from 'node:perf_hooks';
import type { PairEvent } from '../api/console-contract.js';
import { quantile } from '../colo/stats.js';
import type { CycleRecord } from '../colo/types.js';

export const LIVE_CYCLES = 10_000;
export const LIVE_EVENTS = 2_000;
/** Output latency samples kept; at the busiest preset (4 000 packets/s) that is the last four seconds. */
const OUTPUT_SAMPLES = 16_384;
const STATS_WINDOW_MS = 60_000;
const OUTPUT_WINDOW_MS = 1_000;

/** A fixed-capacity FIFO that overwrites its oldest item when full. */
export class RingBuffer<T> {
  private readonly items: (T | undefined)[];
  private start = 0;
  private count = 0;

  constructor(readonly capacity: number) {
    if (!Number.isInteger(capacity) || capacity < 1) throw new RangeError('capacity must be a positive integer');
    this.items = new Array<T | undefined>(capacity);
  }

  get length(): number {
    return this.count;
  }

  push(item: T): void {
    if (this.count < this.capacity) {
      this.items[(this.start + this.count) % this.capacity] = item;
      this.count++;
    } else {
      this.items[this.start] = item;
      this.start = (this.start + 1) % this.capacity;
    }
  }

  /** The i-th item, 0 being the oldest. */
  at(i: number): T | undefined {
    return i >= 0 && i < this.count ? this.items[(this.start + i) % this.capacity] : undefined;
  }

  last(): T | undefined {
    return this.at(this.count - 1);
  }

  /** All items, oldest first. */
  toArray(): T[] {
    const out: T[] = [];
    for (let i = 0; i < this.count; i++) out.push(this.at(i)!);
    return out;
  }

  /** The newest items for which `keep` holds, walking back from the newest until it first fails; oldest first. */
  takeNewestWhile(keep: (item: T) => boolean): T[] {
    const out: T[] = [];
    for (let i = this.count - 1; i >= 0; i--) {
      const item = this.at(i)!;
      if (!keep(item)) break;
      out.push(item);
    }
    return out.reverse();
  }

  clear(): void {
    this.items.fill(undefined);
    this.start = 0;
    this.count = 0;
  }
}

export interface PairStats {
  pausePrimaryP50Ms: number | null;
  pausePrimaryP99Ms: number | null;
  pausePrimaryMaxMs: number | null;
  checkpointsPerMinute: number;
  lastCheckpointAt: number | null;
  lastSeq: number | null;
}

export interface OutputGauge {
  heldP50Ms: number | null;
  heldP99Ms: number | null;
  packetsPerSecond: number;
}

/** Wall-clock time a cycle ended: its start plus the end of its last phase (the wait for a trigger comes first). */
export function cycleEnd(r: CycleRecord): number {
  let end = 0;
  for (const p of r.phases) end = Math.max(end, p.startMs + p.durationMs);
  return r.startedAt + Math.max(end, r.primaryPauseMs);
}

export class PairLive {
  readonly cycles = new RingBuffer<CycleRecord>(LIVE_CYCLES);
  readonly events = new RingBuffer<PairEvent>(LIVE_EVENTS);
  private readonly outAt = new Float64Array(OUTPUT_SAMPLES);
  private readonly outMs = new Float64Array(OUTPUT_SAMPLES);
  private outNext = 0;
  private outCount = 0;
  private outTotal = 0;
  private gaugeTotal = 0;
  private gaugeAt = performance.now();

  addCycle(r: CycleRecord): void {
    this.cycles.push(r);
  }

  addEvent(e: PairEvent): void {
    this.events.push(e);
  }

  /** One guest packet released to the client after being held `heldMs` (simulated pairs). */
  addOutput(heldMs: number, at = performance.now()): void {
    this.outAt[this.outNext] = at;
    this.outMs[this.outNext] = heldMs;
    this.outNext = (this.outNext + 1) % OUTPUT_SAMPLES;
    this.outCount = Math.min(this.outCount + 1, OUTPUT_SAMPLES);
    this.outTotal++;
  }

  /**
   * Overview over the last minute, from the cycles the backend reported. The initial copy (seq 0) is a live
   * migration, not a checkpoint, so it counts for lastCheckpointAt/lastSeq but not for pauses or the rate. Those two
   * name the newest committed cycle: a failed one is no state the secondary holds.
   * checkpointsPerMinute is the count in the last 60 s, so it ramps up during a pair's first minute.
   * `openSince` is the start of a checkpoint still in progress: its pause so far counts as a pause, so that
   * neither the p99 nor the max can hide a guest that is paused right now.
   */
  stats(now: number, openSince?: number): PairStats {
    const last = this.lastCommitted();
    const recent = this.cycles.takeNewestWhile((c) => cycleEnd(c) >= now - STATS_WINDOW_MS);
    const pauses: number[] = [];
    for (const c of recent) if (c.trigger !== 'initial') pauses.push(c.primaryPauseMs);
    if (openSince !== undefined) pauses.push(Math.max(0, now - openSince));
    let max = 0;
    for (const p of pauses) max = Math.max(max, p);
    return {
      pausePrimaryP50Ms: pauses.length ? quantile(pauses, 0.5) : null,
      pausePrimaryP99Ms: pauses.length ? quantile(pauses, 0.99) : null,
      pausePrimaryMaxMs: pauses.length ? max : null,
      checkpointsPerMinute: pauses.length,
      lastCheckpointAt: last === undefined ? null : cycleEnd(last),
      lastSeq: last === undefined ? null : last.seq,
    };
  }

  /** The newest committed cycle still in the ring. */
  private lastCommitted(): CycleRecord | undefined {
    for (let i = this.cycles.length - 1; i >= 0; i--) {
      const c = this.cycles.at(i)!;
      if (c.outcome === 'committed') return c;
    }
    return undefined;
  }

  /**
   * How long output was held over the last second (quantiles of the samples still in the buffer) and the packet
   * rate since the previous call (an exact count, even when more packets arrived than the buffer holds).
   */
  outputGauge(now = performance.now()): OutputGauge {
    const held: number[] = [];
    for (let k = 1; k <= this.outCount; k++) {
      const i = (this.outNext - k + OUTPUT_SAMPLES) % OUTPUT_SAMPLES;
      if (this.outAt[i]! < now - OUTPUT_WINDOW_MS) break;
      held.push(this.outMs[i]!);
    }
    const elapsedS = Math.max(1e-3, (now - this.gaugeAt) / 1000);
    const packetsPerSecond = (this.outTotal - this.gaugeTotal) / elapsedS;
    this.gaugeAt = now;
    this.gaugeTotal = this.outTotal;
    return {
      heldP50Ms: held.length ? quantile(held, 0.5) : null,
      heldP99Ms: held.length ? quantile(held, 0.99) : null,
      packetsPerSecond,
    };
  }
}
