// Benchmark 4: resident set size over a long run of checkpoints with nothing to copy. One engine pair runs
// warm-up + N checkpoints back to back (ImmediateTriggers); memory is sampled, after a full GC when node runs with
// --expose-gc, at the end of the warm-up, every 10,000 checkpoints and at the end. The baseline is the first
// sample: the target is a flat line, end RSS within 10 % of the post-warm-up RSS.

import { ImmediateTriggers } from '../colo/triggers.js';
import { runEngine } from './engine-run.js';
import { type BenchResult, type Benchmark, type Target, collectGarbage, gcExposed, now, verdict, round, series } from './harness.js';

const TARGET: Target = { kind: 'max', value: 1.1 };
const PAGE_COUNT = 4096;
const SAMPLE_EVERY = 10_000;

interface MemorySample {
  cycles: number;
  atMs: number;
  rss: number;
  heapUsed: number;
  heapTotal: number;
  external: number;
  arrayBuffers: number;
}

const MiB = 2 ** 20;

const NAME = 'memory';
const TITLE = 'Memory: RSS over a long run of checkpoints (no dirty pages)';

export const memory: Benchmark = {
  name: NAME,
  title: TITLE,
  async run({ quick, log }): Promise<BenchResult> {
    const t0 = now();
    const warm = 2000;
    const cycles = quick ? 20_000 : 100_000;
    const samples: MemorySample[] = [];
    let started = 0;
    const sample = (n: number): void => {
      collectGarbage();
      const m = process.memoryUsage();
      samples.push({
        cycles: n, atMs: now() - started, rss: m.rss, heapUsed: m.heapUsed, heapTotal: m.heapTotal,
        external: m.external, arrayBuffers: m.arrayBuffers,
      });
      log(`  after ${n} checkpoints: rss ${(m.rss / MiB).toFixed(1)} MiB, heapUsed ${(m.heapUsed / MiB).toFixed(1)} MiB`);
    };
    log(`memory: ${warm} warm-up + ${cycles} checkpoints, sampled every ${SAMPLE_EVERY}${gcExposed() ? '' : ' (no --expose-gc: samples include garbage)'}`);
    let ended = 0;
    await runEngine({
      pageCount: PAGE_COUNT,
      triggers: () => new ImmediateTriggers(),
      cycles: warm + cycles,
      onCycle: (n) => {
        if (n < warm) return;
        const k = n - warm;
        if (k === 0) started = now();
        if (k === cycles) ended = now();
        if (k % SAMPLE_EVERY === 0 || k === cycles) sample(k);
      },
    });
    const first = samples[0]!;
    const last = samples[samples.length - 1]!;
    const rss = samples.map((x) => x.rss / MiB);
    const heap = samples.map((x) => x.heapUsed / MiB);
    const maxRss = Math.max(...rss);
    const maxHeap = Math.max(...heap);
    const result = verdict(series(`RSS after ${warm} warm-up checkpoints`, [first.rss / MiB]), series(`RSS after ${cycles} more checkpoints`, [last.rss / MiB]), TARGET);
    const growth = (a: number, b: number): number => round(((b - a) / a) * 100, 2);
    const rate = cycles / ((ended - started) / 1000);
    return {
      name: NAME,
      title: TITLE,
      metric: 'resident set size',
      unit: 'MiB',
      higherIsBetter: false,
      ...result,
      rounds: 1,
      elapsedMs: now() - t0,
      details: {
        gcExposed: gcExposed(),
        warmupCycles: warm,
        cycles,
        sampleEvery: SAMPLE_EVERY,
        rssStartMiB: round(first.rss / MiB, 2),
        rssEndMiB: round(last.rss / MiB, 2),
        rssMaxMiB: round(maxRss, 2),
        rssGrowthPct: growth(first.rss, last.rss),
        rssMaxGrowthPct: growth(first.rss / MiB, maxRss),
        heapUsedStartMiB: round(first.heapUsed / MiB, 2),
        heapUsedEndMiB: round(last.heapUsed / MiB, 2),
        heapUsedMaxMiB: round(maxHeap, 2),
        heapUsedGrowthPct: growth(first.heapUsed, last.heapUsed),
        checkpointsPerSecond: round(rate, 0),
        samples: samples.map((x) => ({
          cycles: x.cycles, atMs: round(x.atMs, 0), rssMiB: round(x.rss / MiB, 2), heapUsedMiB: round(x.heapUsed / MiB, 2),
          heapTotalMiB: round(x.heapTotal / MiB, 2), externalMiB: round(x.external / MiB, 2), arrayBuffersMiB: round(x.arrayBuffers / MiB, 2),
        })),
      },
      notes: [
        `RSS start ${(first.rss / MiB).toFixed(1)} MiB, end ${(last.rss / MiB).toFixed(1)} MiB, max ${maxRss.toFixed(1)} MiB: growth ${growth(first.rss, last.rss).toFixed(1)} % (max ${growth(first.rss / MiB, maxRss).toFixed(1)} %)`,
        `heapUsed start ${(first.heapUsed / MiB).toFixed(1)} MiB, end ${(last.heapUsed / MiB).toFixed(1)} MiB, max ${maxHeap.toFixed(1)} MiB: growth ${growth(first.heapUsed, last.heapUsed).toFixed(1)} %`,
        `${rate.toFixed(0)} checkpoints/s over the run${gcExposed() ? '; samples taken after global.gc()' : '; WARNING: no --expose-gc, samples include uncollected garbage'}`,
      ],
    };
  },
};
