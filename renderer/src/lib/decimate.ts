// Decimation to the plot width: a chart gets at most ~2 points per bucket however many cycles the window holds.
// Each bucket contributes its minimum then its maximum for every series (min/max decimation), so spikes survive,
// which is what an admin looks at a pause chart for. A row of nulls breaks the line where protection stopped
// (the caller marks those points: series.ts gapBreaks), and after an empty bucket, instead of drawing a straight
// line through the gap.

export interface SeriesInput {
  key: string;
  /** Values aligned with `x`; NaN where unknown (left out, never plotted as 0). */
  values: ArrayLike<number>;
}

export type Row = Record<string, number | null> & { t: number };

/**
 * Rows for a chart from points x[from…to) (x ascending) within [t0, t1]. With few points every point is a row;
 * otherwise `buckets` equal-width buckets each yield two rows (their series' minima and maxima). Lines break at
 * empty buckets after data and, with `breaks`, before each point i where breaks[i] is 1. `breakGaps` false joins
 * everything: for sampled history, where the gaps are the sampling's, not the pair's.
 */
export function decimateMinMax(
  x: ArrayLike<number>,
  series: readonly SeriesInput[],
  from: number,
  to: number,
  t0: number,
  t1: number,
  buckets: number,
  breakGaps = true,
  breaks?: ArrayLike<number>,
): Row[] {
  const rows: Row[] = [];
  const n = Math.max(0, to - from);
  if (n === 0) return rows;
  if (n <= buckets * 2 || !(t1 > t0)) {
    for (let i = from; i < to; i++) {
      if (breakGaps && i > from && breaks?.[i] === 1) rows.push(nullRow(series, (x[i - 1]! + x[i]!) / 2));
      const row = { t: x[i]! } as Row;
      for (const s of series) row[s.key] = finiteOrNull(s.values[i]!);
      rows.push(row);
    }
    return rows;
  }
  const width = (t1 - t0) / buckets;
  const k = series.length;
  const mins = new Float64Array(k);
  const maxs = new Float64Array(k);
  let i = from;
  let sawData = false;
  let gapMarked = false;
  for (let b = 0; b < buckets; b++) {
    const lo = t0 + b * width;
    const hi = b === buckets - 1 ? Infinity : lo + width;
    mins.fill(Infinity);
    maxs.fill(-Infinity);
    let inBucket = 0;
    let breakHere = false;
    while (i < to && x[i]! < hi) {
      if (x[i]! >= lo) {
        inBucket++;
        if (breakGaps && i > from && breaks?.[i] === 1) breakHere = true;
        for (let j = 0; j < k; j++) {
          const v = series[j]!.values[i]!;
          if (Number.isNaN(v)) continue;
          if (v < mins[j]!) mins[j] = v;
          if (v > maxs[j]!) maxs[j] = v;
        }
      }
      i++;
    }
    if (inBucket === 0) {
      if (breakGaps && sawData && !gapMarked) {
        const gap = { t: lo + width / 2 } as Row;
        for (const s of series) gap[s.key] = null;
        rows.push(gap);
        gapMarked = true;
      }
      continue;
    }
    if (breakHere && sawData && !gapMarked) rows.push(nullRow(series, lo));
    sawData = true;
    gapMarked = false;
    const rMin = { t: lo + width * 0.25 } as Row;
    const rMax = { t: lo + width * 0.75 } as Row;
    for (let j = 0; j < k; j++) {
      const key = series[j]!.key;
      const has = mins[j]! <= maxs[j]!;
      rMin[key] = has ? mins[j]! : null;
      rMax[key] = has ? maxs[j]! : null;
    }
    rows.push(rMin, rMax);
  }
  return rows;
}

function nullRow(series: readonly SeriesInput[], t: number): Row {
  const row = { t } as Row;
  for (const s of series) row[s.key] = null;
  return row;
}

function finiteOrNull(v: number): number | null {
  return Number.isFinite(v) ? v : null;
}

/** How many buckets a plot of `widthPx` gets: ~one per 4 px, so ≤ 2 points per 4 px, capped at `maxBuckets`. */
export function bucketsForWidth(widthPx: number, maxBuckets = 150): number {
  return Math.max(10, Math.min(maxBuckets, Math.floor(widthPx / 4)));
}
