// Cycle records kept outside React: one preallocated column per field (struct of arrays), written in place, so
// hundreds of cycles a second cost no allocation and no re-render. Readers index by "global" position (the n-th
// cycle ever pushed), which stays valid while the ring overwrites its oldest entries.

import type { CycleRecord, PhaseName } from '../../../core/colo/types.js';

export const PHASES: readonly PhaseName[] = ['wait', 'suspend', 'transfer', 'device', 'svm-load', 'resume'];
export const PHASE_COUNT = PHASES.length;
export const TRIGGERS = ['initial', 'miscompare', 'timer', 'timeout', 'manual'] as const;
export type TriggerName = (typeof TRIGGERS)[number];

const TRIGGER_CODE: Readonly<Record<TriggerName, number>> = { initial: 0, miscompare: 1, timer: 2, timeout: 3, manual: 4 };
const PHASE_INDEX: Readonly<Record<PhaseName, number>> = { wait: 0, suspend: 1, transfer: 2, device: 3, 'svm-load': 4, resume: 5 };

export const OUTCOME_COMMITTED = 0;
export const OUTCOME_FAILED = 1;
/** A cycle that started and was given up (protection stopped, failover) before it committed or failed. */
export const OUTCOME_ABORTED = 2;
export const PROVENANCE_MEASURED = 0;
export const PROVENANCE_DERIVED = 1;
export const MODE_COLO = 0;
export const MODE_REMUS = 1;

export function triggerName(code: number): TriggerName {
  return TRIGGERS[code] ?? 'manual';
}

export class CycleRing {
  readonly capacity: number;
  readonly seq: Float64Array;
  readonly startedAt: Float64Array;
  readonly primaryPause: Float64Array;
  /** NaN where the backend could not see the secondary's pause. */
  readonly secondaryPause: Float64Array;
  readonly dirtyPages: Float64Array;
  /** NaN where not reported. */
  readonly secondaryDirtyPages: Float64Array;
  readonly pagesSent: Float64Array;
  readonly bytesSent: Float64Array;
  readonly trigger: Uint8Array;
  readonly outcome: Uint8Array;
  readonly provenance: Uint8Array;
  readonly mode: Uint8Array;
  /** capacity × PHASE_COUNT; NaN for a phase the backend did not report. */
  readonly phaseStart: Float64Array;
  readonly phaseDuration: Float64Array;

  /** Physical index of the oldest entry. */
  private head = 0;
  private count = 0;
  /** Cycles ever stored, including those since overwritten: the global index of the next push. */
  private pushed = 0;
  /** Bumped on every change; readers compare it to skip work. */
  version = 0;
  /** Bumped when global indices are renumbered (prependOlder, clear). */
  epoch = 0;

  constructor(capacity: number) {
    if (!Number.isInteger(capacity) || capacity < 2) throw new RangeError('capacity must be an integer ≥ 2');
    this.capacity = capacity;
    this.seq = new Float64Array(capacity);
    this.startedAt = new Float64Array(capacity);
    this.primaryPause = new Float64Array(capacity);
    this.secondaryPause = new Float64Array(capacity);
    this.dirtyPages = new Float64Array(capacity);
    this.secondaryDirtyPages = new Float64Array(capacity);
    this.pagesSent = new Float64Array(capacity);
    this.bytesSent = new Float64Array(capacity);
    this.trigger = new Uint8Array(capacity);
    this.outcome = new Uint8Array(capacity);
    this.provenance = new Uint8Array(capacity);
    this.mode = new Uint8Array(capacity);
    this.phaseStart = new Float64Array(capacity * PHASE_COUNT);
    this.phaseDuration = new Float64Array(capacity * PHASE_COUNT);
  }

  get length(): number {
    return this.count;
  }

  /** Global index of the oldest entry still held. */
  get firstGlobal(): number {
    return this.pushed - this.count;
  }

  /** Global index one past the newest entry. */
  get endGlobal(): number {
    return this.pushed;
  }

  /** Physical slot of the global index `g`, or -1 once overwritten (or not yet written). */
  slotOfGlobal(g: number): number {
    if (g < this.pushed - this.count || g >= this.pushed) return -1;
    return g % this.capacity;
  }

  /** Physical slot of the i-th oldest entry (0 ≤ i < length). */
  slot(i: number): number {
    return (this.head + i) % this.capacity;
  }

  push(rec: CycleRecord): void {
    // Invariant: global index g lives in slot g % capacity, so head ≡ pushed - count (mod capacity).
    const s = this.pushed % this.capacity;
    if (this.count < this.capacity) this.count++;
    else this.head = (this.head + 1) % this.capacity;
    this.write(s, rec);
    this.pushed++;
    this.version++;
  }

  /**
   * Adds records older than everything held (history fetched after live cycles started to arrive), newest
   * first until the ring is full. Records not strictly older than the oldest entry are ignored. Returns how
   * many were added.
   */
  prependOlder(records: readonly CycleRecord[]): number {
    let added = 0;
    for (let i = records.length - 1; i >= 0 && this.count < this.capacity; i--) {
      const rec = records[i]!;
      const oldest = this.count > 0 ? this.startedAt[this.head]! : Infinity;
      if (!(rec.startedAt < oldest)) continue;
      this.head = (this.head - 1 + this.capacity) % this.capacity;
      this.count++;
      this.write(this.head, rec);
      added++;
    }
    if (added > 0) {
      // Keep head ≡ pushed - count (mod capacity) with pushed ≥ count: move the global numbering on by whole
      // turns of the ring. Global indices held by readers are void after this; `epoch` tells them so.
      if (this.pushed < this.count) this.pushed += Math.ceil((this.count - this.pushed) / this.capacity) * this.capacity;
      this.epoch++;
      this.version++;
    }
    return added;
  }

  clear(): void {
    this.head = this.pushed % this.capacity;
    this.count = 0;
    this.epoch++;
    this.version++;
  }

  /** The index (0 = oldest) of the first entry with startedAt ≥ t; entries are in time order. */
  lowerBound(t: number): number {
    let lo = 0;
    let hi = this.count;
    while (lo < hi) {
      const mid = (lo + hi) >>> 1;
      if (this.startedAt[this.slot(mid)]! < t) lo = mid + 1;
      else hi = mid;
    }
    return lo;
  }

  /** The record at physical slot `s`, rebuilt as a plain object (for tooltips and exports, not hot paths). */
  record(s: number): CycleRecord {
    const phases: CycleRecord['phases'] = [];
    for (let p = 0; p < PHASE_COUNT; p++) {
      const start = this.phaseStart[s * PHASE_COUNT + p]!;
      if (Number.isNaN(start)) continue;
      phases.push({ name: PHASES[p]!, startMs: start, durationMs: this.phaseDuration[s * PHASE_COUNT + p]! });
    }
    const rec: CycleRecord = {
      seq: this.seq[s]!,
      mode: this.mode[s] === MODE_REMUS ? 'remus' : 'colo',
      trigger: triggerName(this.trigger[s]!),
      startedAt: this.startedAt[s]!,
      phases,
      primaryPauseMs: this.primaryPause[s]!,
      dirtyPages: this.dirtyPages[s]!,
      pagesSent: this.pagesSent[s]!,
      bytesSent: this.bytesSent[s]!,
      outcome: this.outcome[s] === OUTCOME_FAILED ? 'failed' : this.outcome[s] === OUTCOME_ABORTED ? 'aborted' : 'committed',
      provenance: this.provenance[s] === PROVENANCE_DERIVED ? 'derived' : 'measured',
    };
    if (!Number.isNaN(this.secondaryPause[s]!)) rec.secondaryPauseMs = this.secondaryPause[s]!;
    if (!Number.isNaN(this.secondaryDirtyPages[s]!)) rec.secondaryDirtyPages = this.secondaryDirtyPages[s]!;
    return rec;
  }

  private write(s: number, rec: CycleRecord): void {
    this.seq[s] = rec.seq;
    this.startedAt[s] = rec.startedAt;
    this.primaryPause[s] = rec.primaryPauseMs;
    this.secondaryPause[s] = rec.secondaryPauseMs ?? NaN;
    this.dirtyPages[s] = rec.dirtyPages;
    this.secondaryDirtyPages[s] = rec.secondaryDirtyPages ?? NaN;
    this.pagesSent[s] = rec.pagesSent;
    this.bytesSent[s] = rec.bytesSent;
    this.trigger[s] = TRIGGER_CODE[rec.trigger] ?? 4;
    this.outcome[s] = rec.outcome === 'failed' ? OUTCOME_FAILED : rec.outcome === 'aborted' ? OUTCOME_ABORTED : OUTCOME_COMMITTED;
    this.provenance[s] = rec.provenance === 'derived' ? PROVENANCE_DERIVED : PROVENANCE_MEASURED;
    this.mode[s] = rec.mode === 'remus' ? MODE_REMUS : MODE_COLO;
    const base = s * PHASE_COUNT;
    this.phaseStart.fill(NaN, base, base + PHASE_COUNT);
    this.phaseDuration.fill(NaN, base, base + PHASE_COUNT);
    for (const ph of rec.phases) {
      const p = PHASE_INDEX[ph.name];
      if (p === undefined) continue;
      this.phaseStart[base + p] = ph.startMs;
      this.phaseDuration[base + p] = ph.durationMs;
    }
  }
}

/** A small ring of (time, value…) samples for gauges such as the output-latency topic. */
export class SampleRing {
  readonly capacity: number;
  readonly t: Float64Array;
  readonly columns: Float64Array[];
  private head = 0;
  private count = 0;
  version = 0;

  constructor(capacity: number, columns: number) {
    this.capacity = capacity;
    this.t = new Float64Array(capacity);
    this.columns = Array.from({ length: columns }, () => new Float64Array(capacity));
  }

  get length(): number {
    return this.count;
  }

  slot(i: number): number {
    return (this.head + i) % this.capacity;
  }

  push(t: number, values: readonly number[]): void {
    let s: number;
    if (this.count < this.capacity) {
      s = (this.head + this.count) % this.capacity;
      this.count++;
    } else {
      s = this.head;
      this.head = (this.head + 1) % this.capacity;
    }
    this.t[s] = t;
    for (let c = 0; c < this.columns.length; c++) this.columns[c]![s] = values[c] ?? NaN;
    this.version++;
  }
}
