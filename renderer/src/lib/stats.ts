// Summary statistics the renderer derives from cycles it holds (charts' p50/p99 lines, trigger counts). The
// service computes the overview's figures itself; both use the nearest-rank quantile of core/colo/stats.ts.

/** The q-quantile (0…1) of already sorted values, by nearest rank; NaN for none. */
export function quantileSorted(sorted: ArrayLike<number>, q: number): number {
  const n = sorted.length;
  if (n === 0) return NaN;
  const rank = Math.min(n - 1, Math.max(0, Math.ceil(q * n) - 1));
  return sorted[rank]!;
}

export interface Summary {
  count: number;
  p50: number;
  p99: number;
  max: number;
  mean: number;
}

export const EMPTY_SUMMARY: Summary = Object.freeze({ count: 0, p50: NaN, p99: NaN, max: NaN, mean: NaN });

/**
 * Sorts a scratch copy, so the caller's data keeps its order. NaN values (a secondary pause nobody measured)
 * are left out rather than counted as zero.
 */
export class Summariser {
  private scratch = new Float64Array(1024);

  summarise(values: ArrayLike<number>, from = 0, to = values.length): Summary {
    const len = Math.max(0, to - from);
    if (this.scratch.length < len) this.scratch = new Float64Array(Math.max(len, this.scratch.length * 2));
    let n = 0;
    let sum = 0;
    for (let i = from; i < to; i++) {
      const v = values[i]!;
      if (Number.isNaN(v)) continue;
      this.scratch[n++] = v;
      sum += v;
    }
    if (n === 0) return EMPTY_SUMMARY;
    const sorted = this.scratch.subarray(0, n).sort();
    return { count: n, p50: quantileSorted(sorted, 0.5), p99: quantileSorted(sorted, 0.99), max: sorted[n - 1]!, mean: sum / n };
  }
}

/** Counts per trigger code (0…4, see ring.ts TRIGGERS) over values[from, to). */
export function countCodes(codes: ArrayLike<number>, from: number, to: number, kinds: number): number[] {
  const out = new Array<number>(kinds).fill(0);
  for (let i = from; i < to; i++) {
    const c = codes[i]!;
    if (c >= 0 && c < kinds) out[c]!++;
  }
  return out;
}

/**
 * A y-axis ceiling that does not twitch: rounded up to 1, 2 or 5 × 10^k, and only lowered when the data has
 * stayed below half of it (the caller keeps `previous`).
 */
export function niceCeiling(max: number, previous = 0): number {
  if (!(max > 0) || !Number.isFinite(max)) return previous > 0 ? previous : 1;
  const exp = Math.floor(Math.log10(max));
  const base = 10 ** exp;
  const m = max / base;
  const step = m <= 1 ? 1 : m <= 2 ? 2 : m <= 5 ? 5 : 10;
  const nice = step * base;
  if (previous > 0 && nice < previous && max > previous / 2) return previous;
  return nice;
}
