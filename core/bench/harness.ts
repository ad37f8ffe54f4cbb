// Shared pieces of the benchmarks: the result shape, medians, and the interleaved baseline/subject rounds that
// keep a noisy machine from favouring either side.

import { performance } from 'node:perf_hooks';

export const now = (): number => performance.now();

export interface BenchOptions {
  /** Shorter runs for CI smoke use. */
  quick: boolean;
  /** Progress lines (stderr), never part of the report. */
  log: (line: string) => void;
}

export interface Series {
  /** What was measured, e.g. "raw Buffer.copy". */
  label: string;
  /** One value per round, in the metric's unit. */
  samples: number[];
  median: number;
}

export interface Target {
  /**
   * `min`: the ratio must be at least `value`; `max`: at most. `max-value`: the subject's median itself must be at
   * most `value` (in the metric's unit), for targets the issue states as an absolute figure; the ratio to the
   * baseline is still reported beside it.
   */
  kind: 'min' | 'max' | 'max-value';
  value: number;
}

export interface BenchResult {
  name: string;
  title: string;
  /** What the numbers are, e.g. "throughput". */
  metric: string;
  unit: string;
  /** Whether a bigger metric is better (throughput) or worse (time, memory). */
  higherIsBetter: boolean;
  baseline: Series;
  subject: Series;
  /** subject.median / baseline.median. */
  ratio: number;
  target: Target;
  pass: boolean;
  rounds: number;
  elapsedMs: number;
  /** Benchmark-specific figures (breakdowns, samples) for the JSON report and the notes below the table. */
  details: Record<string, unknown>;
  notes: string[];
  /** Set when the benchmark could not run here (why): then no figure is meaningful and pass is false. */
  skipped?: string;
}

export interface Benchmark {
  name: string;
  title: string;
  /** How long its child process may run before it is killed (default: 90 s quick, 300 s full). */
  timeLimitMs?: { quick: number; full: number };
  run(options: BenchOptions): Promise<BenchResult>;
}

export function median(values: readonly number[]): number {
  if (values.length === 0) return NaN;
  const sorted = [...values].sort((x, y) => x - y);
  const mid = sorted.length >> 1;
  return sorted.length % 2 === 1 ? sorted[mid]! : (sorted[mid - 1]! + sorted[mid]!) / 2;
}

export function series(label: string, samples: number[]): Series {
  return { label, samples, median: median(samples) };
}

export function meetsTarget(ratio: number, target: Target, subjectMedian = NaN): boolean {
  if (target.kind === 'max-value') return subjectMedian <= target.value;
  return target.kind === 'min' ? ratio >= target.value : ratio <= target.value;
}

/** The comparison part of a result, derived in one place: the ratio of the medians and whether it meets `target`. */
export function verdict(baseline: Series, subject: Series, target: Target): Pick<BenchResult, 'baseline' | 'subject' | 'ratio' | 'target' | 'pass'> {
  const ratio = subject.median / baseline.median;
  return { baseline, subject, ratio, target, pass: meetsTarget(ratio, target, subject.median) };
}

/** The result of a benchmark that cannot run on this machine, saying why. */
export function skippedResult(b: { name: string; title: string }, metric: string, unit: string, higherIsBetter: boolean, target: Target, why: string): BenchResult {
  const empty = series('not measured', []);
  return {
    name: b.name, title: b.title, metric, unit, higherIsBetter, baseline: empty, subject: empty, ratio: NaN, target,
    pass: false, rounds: 0, elapsedMs: 0, details: {}, notes: [`skipped: ${why}`], skipped: why,
  };
}

/** Collects garbage when node runs with --expose-gc, so a collection owed by one side does not land on the other. */
export function collectGarbage(): void {
  const gc = (globalThis as { gc?: () => void }).gc;
  if (gc) gc();
}

export const gcExposed = (): boolean => typeof (globalThis as { gc?: unknown }).gc === 'function';

/**
 * Runs `rounds` rounds of one baseline and one subject measurement each, alternating which goes first (ABBA),
 * so drift in the machine's speed falls on both sides alike. Each function returns one sample.
 */
export async function interleave(
  rounds: number,
  baseline: (round: number) => Promise<number>,
  subject: (round: number) => Promise<number>,
  log: (line: string) => void,
  format: (value: number) => string,
): Promise<{ baseline: number[]; subject: number[] }> {
  const b: number[] = [];
  const s: number[] = [];
  for (let round = 0; round < rounds; round++) {
    const order = round % 2 === 0 ? (['baseline', 'subject'] as const) : (['subject', 'baseline'] as const);
    for (const side of order) {
      collectGarbage();
      if (side === 'baseline') b.push(await baseline(round));
      else s.push(await subject(round));
    }
    log(`  round ${round + 1}/${rounds}: baseline ${format(b[round]!)}, subject ${format(s[round]!)}`);
  }
  return { baseline: b, subject: s };
}

export function round(value: number, digits = 3): number {
  if (!Number.isFinite(value)) return value;
  const f = 10 ** digits;
  return Math.round(value * f) / f;
}
