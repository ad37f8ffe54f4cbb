// Shared by the charts: window choices, fixed ticks, and the axis ceilings.

import { formatRelative } from '../lib/format';
import { niceCeiling, type Summary } from '../lib/stats';

export const WINDOWS = [
  { value: 60_000, label: '1 min' },
  { value: 15 * 60_000, label: '15 min' },
  { value: 60 * 60_000, label: '1 h' },
  { value: 24 * 60 * 60_000, label: '24 h' },
] as const;

export const LIVE_WINDOW_MS = 60_000;

const TICK_STEP: Readonly<Record<number, number>> = {
  [60_000]: 10_000,
  [15 * 60_000]: 3 * 60_000,
  [60 * 60_000]: 10 * 60_000,
  [24 * 60 * 60_000]: 4 * 60 * 60_000,
};

/** Ticks at fixed offsets from now (−50 s, −40 s, …), so labels do not slide with the data. */
export function timeTicks(t0: number, t1: number, windowMs: number): number[] {
  const step = TICK_STEP[windowMs] ?? windowMs / 6;
  const ticks: number[] = [];
  for (let t = t1; t >= t0 - 1; t -= step) ticks.push(t);
  return ticks.reverse();
}

export function relativeTickFormatter(now: number): (t: number) => string {
  return (t: number) => formatRelative(t - now);
}

/**
 * The ceiling of a y-axis: the data's maximum, unless single outliers would flatten everything else, in which
 * case twice the p99 (the chart then says how many points are above the scale).
 */
export function axisCeiling(s: Summary): { max: number; clipped: boolean } {
  if (s.count === 0) return { max: 1, clipped: false };
  const cap = s.p99 * 2;
  if (s.max > cap && cap > 0) return { max: niceCeiling(cap), clipped: true };
  return { max: niceCeiling(s.max), clipped: false };
}
