// Gathers one chart window's cycles into flat columns (history first, then the live ring), computes the window's
// statistics from every cycle in it, and decimates to the plot width. Scratch columns are reused between calls,
// so a chart refreshing at 5 Hz allocates only its output rows.

import type { CycleRecord } from '../../../core/colo/types.js';
import { type CycleRing, OUTCOME_ABORTED, OUTCOME_FAILED, PHASE_COUNT, PROVENANCE_DERIVED, TRIGGERS } from '../store/ring';
import { type Row, decimateMinMax } from './decimate';
import { EMPTY_SUMMARY, Summariser, type Summary, countCodes } from './stats';

const TRIGGER_CODES: Readonly<Record<string, number>> = Object.fromEntries(TRIGGERS.map((t, i) => [t, i]));

export interface WindowColumns {
  n: number;
  x: Float64Array;
  primary: Float64Array;
  secondary: Float64Array;
  interval: Float64Array;
  dirty: Float64Array;
  secondaryDirty: Float64Array;
  bytes: Float64Array;
  trigger: Float64Array;
  /** 0 committed, 1 failed, 2 aborted (ring.ts OUTCOME_*). */
  outcome: Uint8Array;
  /** 1 where the line must break before this cycle: a new run began, or no cycle ran for a while (gapBreaks). */
  breakBefore: Uint8Array;
  derived: number;
  failed: number;
  aborted: number;
  /** How many of the n came from history rather than the live ring. */
  fromHistory: number;
}

function alloc(cap: number): WindowColumns {
  return {
    n: 0,
    x: new Float64Array(cap),
    primary: new Float64Array(cap),
    secondary: new Float64Array(cap),
    interval: new Float64Array(cap),
    dirty: new Float64Array(cap),
    secondaryDirty: new Float64Array(cap),
    bytes: new Float64Array(cap),
    trigger: new Float64Array(cap),
    outcome: new Uint8Array(cap),
    breakBefore: new Uint8Array(cap),
    derived: 0,
    failed: 0,
    aborted: 0,
    fromHistory: 0,
  };
}

let scratch = alloc(16_384);
/** Where each gathered cycle ended (start + its last phase), for finding the stretches where none ran. */
let ends = new Float64Array(16_384);
let seqs = new Float64Array(16_384);

/** A stretch with no cycle longer than this many typical intervals is a stop, not a slow checkpoint. */
export const GAP_INTERVALS = 3;
/** …and never shorter than this, so timer jitter on a fast Remus pair does not cut its line to pieces. */
export const GAP_MIN_MS = 1000;
const INTERVAL_SAMPLE = 512;

/**
 * Cycles with startedAt in [t0, t1]: from `history` (oldest first) up to where the ring begins, then the ring.
 * The interval is the time since the previous cycle, known only when the two are consecutive (seq n-1, n).
 * The returned columns are scratch: valid until the next call.
 */
export function gatherWindow(ring: CycleRing | undefined, history: readonly CycleRecord[] | null, t0: number, t1: number): WindowColumns {
  const ringFrom = ring === undefined ? 0 : ring.lowerBound(t0);
  const ringCount = ring === undefined ? 0 : ring.length - ringFrom;
  const ringStart = ring !== undefined && ring.length > 0 ? ring.startedAt[ring.slot(0)]! : Infinity;
  const need = ringCount + (history?.length ?? 0);
  if (need > scratch.x.length) scratch = alloc(Math.max(need, scratch.x.length * 2));
  if (need > ends.length) {
    ends = new Float64Array(scratch.x.length);
    seqs = new Float64Array(scratch.x.length);
  }
  const w = scratch;
  w.n = 0;
  w.derived = 0;
  w.failed = 0;
  w.aborted = 0;
  w.fromHistory = 0;
  let prevSeq = NaN;
  let prevAt = NaN;
  const add = (at: number, seq: number, primary: number, secondary: number, dirty: number, secDirty: number, bytes: number, trig: number, derived: boolean, outcome: number, end: number): void => {
    const i = w.n++;
    w.x[i] = at;
    ends[i] = Math.max(end, at + primary);
    seqs[i] = seq;
    w.primary[i] = primary;
    w.secondary[i] = secondary;
    w.interval[i] = seq === prevSeq + 1 ? at - prevAt : NaN;
    w.dirty[i] = dirty;
    w.secondaryDirty[i] = secDirty;
    w.bytes[i] = bytes;
    w.trigger[i] = trig;
    if (derived) w.derived++;
    w.outcome[i] = outcome;
    if (outcome === OUTCOME_FAILED) w.failed++;
    else if (outcome === OUTCOME_ABORTED) w.aborted++;
    prevSeq = seq;
    prevAt = at;
  };
  if (history !== null) {
    for (const c of history) {
      if (c.startedAt < t0 || c.startedAt > t1 || c.startedAt >= ringStart) continue;
      let end = 0;
      for (const ph of c.phases) end = Math.max(end, ph.startMs + ph.durationMs);
      const outcome = c.outcome === 'failed' ? OUTCOME_FAILED : c.outcome === 'aborted' ? OUTCOME_ABORTED : 0;
      add(c.startedAt, c.seq, c.primaryPauseMs, c.secondaryPauseMs ?? NaN, c.dirtyPages, c.secondaryDirtyPages ?? NaN, c.bytesSent, TRIGGER_CODES[c.trigger] ?? 4, c.provenance === 'derived', outcome, c.startedAt + end);
      w.fromHistory++;
    }
  }
  if (ring !== undefined) {
    for (let i = ringFrom; i < ring.length; i++) {
      const s = ring.slot(i);
      const at = ring.startedAt[s]!;
      if (at > t1) break;
      let end = 0;
      for (let p = 0; p < PHASE_COUNT; p++) {
        const e = ring.phaseStart[s * PHASE_COUNT + p]! + ring.phaseDuration[s * PHASE_COUNT + p]!;
        if (e > end) end = e;
      }
      add(at, ring.seq[s]!, ring.primaryPause[s]!, ring.secondaryPause[s]!, ring.dirtyPages[s]!, ring.secondaryDirtyPages[s]!, ring.bytesSent[s]!, ring.trigger[s]!, ring.provenance[s] === PROVENANCE_DERIVED, ring.outcome[s]!, at + end);
    }
  }
  gapBreaks(w.x, ends, seqs, w.interval, w.n, w.breakBefore);
  return w;
}

const intervalSample = new Float64Array(INTERVAL_SAMPLE);

/**
 * Marks where a chart's line must break: before the first cycle of a new run (its seq does not follow on), and
 * after a stretch with no cycle running — from one cycle's end to the next one's start — longer than
 * GAP_INTERVALS typical intervals (the median of up to 512 evenly spaced known intervals) and GAP_MIN_MS. A long
 * pause is not a gap: the cycle runs through it, and its spike is the point of the chart.
 */
export function gapBreaks(x: ArrayLike<number>, end: ArrayLike<number>, seq: ArrayLike<number>, interval: ArrayLike<number>, n: number, out: Uint8Array): void {
  let k = 0;
  const stride = Math.max(1, Math.floor(n / INTERVAL_SAMPLE));
  for (let i = 1; i < n && k < INTERVAL_SAMPLE; i += stride) {
    const v = interval[i]!;
    if (Number.isFinite(v)) intervalSample[k++] = v;
  }
  const typical = k === 0 ? 0 : intervalSample.subarray(0, k).sort()[k >> 1]!;
  const gapMs = Math.max(GAP_MIN_MS, GAP_INTERVALS * typical);
  if (n > 0) out[0] = 0;
  for (let i = 1; i < n; i++) {
    out[i] = seq[i]! !== seq[i - 1]! + 1 || x[i]! - end[i - 1]! > gapMs ? 1 : 0;
  }
}

export interface LatencyView {
  rows: Row[];
  primary: Summary;
  secondary: Summary;
  interval: Summary;
  count: number;
  derived: number;
  fromHistory: number;
}

const summariser = new Summariser();

export function latencyView(w: WindowColumns, t0: number, t1: number, buckets: number, breakGaps = true): LatencyView {
  const n = w.n;
  if (n === 0) return { rows: [], primary: EMPTY_SUMMARY, secondary: EMPTY_SUMMARY, interval: EMPTY_SUMMARY, count: 0, derived: 0, fromHistory: 0 };
  const rows = decimateMinMax(
    w.x,
    [
      { key: 'primary', values: w.primary },
      { key: 'secondary', values: w.secondary },
      { key: 'interval', values: w.interval },
    ],
    0,
    n,
    t0,
    t1,
    buckets,
    breakGaps,
    w.breakBefore,
  );
  return {
    rows,
    primary: summariser.summarise(w.primary, 0, n),
    secondary: summariser.summarise(w.secondary, 0, n),
    interval: summariser.summarise(w.interval, 0, n),
    count: n,
    derived: w.derived,
    fromHistory: w.fromHistory,
  };
}

export interface DirtyView {
  rows: Row[];
  dirty: Summary;
  bytes: Summary;
  hasSecondaryDirty: boolean;
  triggers: number[];
  count: number;
  failed: number;
  spanMs: number;
}

export function dirtyView(w: WindowColumns, t0: number, t1: number, buckets: number, breakGaps = true): DirtyView {
  const n = w.n;
  let hasSec = false;
  for (let i = 0; i < n && !hasSec; i++) hasSec = !Number.isNaN(w.secondaryDirty[i]!);
  const rows = n === 0
    ? []
    : decimateMinMax(
      w.x,
      [
        { key: 'dirty', values: w.dirty },
        { key: 'secondaryDirty', values: w.secondaryDirty },
        { key: 'bytes', values: w.bytes },
      ],
      0,
      n,
      t0,
      t1,
      buckets,
      breakGaps,
    w.breakBefore,
    );
  return {
    rows,
    dirty: summariser.summarise(w.dirty, 0, n),
    bytes: summariser.summarise(w.bytes, 0, n),
    hasSecondaryDirty: hasSec,
    triggers: countCodes(w.trigger, 0, n, TRIGGERS.length),
    count: n,
    failed: w.failed,
    spanMs: n > 1 ? w.x[n - 1]! - w.x[0]! : 0,
  };
}
