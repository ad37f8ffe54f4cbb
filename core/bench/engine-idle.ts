// Benchmark 2: checkpoints per second of the COLO engine with nothing to copy (ImmediateTriggers, a guest that
// writes nothing), against a raw ping-pong of two round trips per cycle over the same kind of loopback socket.

import { ImmediateTriggers } from '../colo/triggers.js';
import { runEngine } from './engine-run.js';
import { type BenchResult, type Benchmark, type Target, interleave, meetsTarget, now, round, series } from './harness.js';
import { loopbackPair } from './loopback.js';
import { PhaseTotals } from './phases.js';
import { rawCycles } from './raw.js';

const TARGET: Target = { kind: 'min', value: 0.5 };
const PAGE_COUNT = 4096;

/** Runs the engine for warm + cycles checkpoints; returns checkpoints per second over the last `cycles`. */
export async function engineCyclesPerSecond(warm: number, cycles: number, phases?: PhaseTotals): Promise<number> {
  let started = 0;
  let ended = 0;
  await runEngine({
    pageCount: PAGE_COUNT,
    triggers: () => new ImmediateTriggers(),
    cycles: warm + cycles,
    onCycle: (n, record) => {
      if (n === warm) started = now();
      else if (n > warm) phases?.add(record);
      if (n === warm + cycles) ended = now();
    },
  });
  return cycles / ((ended - started) / 1000);
}

const NAME = 'engine-idle';
const TITLE = 'Engine, no dirty pages: checkpoints/s vs raw 2-RTT ping-pong';

export const engineIdle: Benchmark = {
  name: NAME,
  title: TITLE,
  async run({ quick, log }): Promise<BenchResult> {
    const t0 = now();
    const rounds = quick ? 3 : 7;
    const warm = quick ? 300 : 1000;
    const cycles = quick ? 1500 : 5000;
    const pair = await loopbackPair();
    const fmt = (v: number): string => `${v.toFixed(0)} cycles/s`;
    log(`engine-idle: warm-up (${warm} raw cycles, ${warm} engine checkpoints)`);
    await rawCycles(pair, warm);
    await engineCyclesPerSecond(warm, 1);
    const phases = new PhaseTotals();
    const { baseline, subject } = await interleave(
      rounds,
      async () => {
        await rawCycles(pair, warm);
        return cycles / ((await rawCycles(pair, cycles)) / 1000);
      },
      () => engineCyclesPerSecond(warm, cycles, phases),
      log,
      fmt,
    );
    pair.close();
    const b = series('raw ping-pong, 2 round trips', baseline);
    const s = series('ColoPrimary + ColoSecondary (COLO)', subject);
    const ratio = s.median / b.median;
    const meanPhases = phases.meanMicros();
    return {
      name: NAME,
      title: TITLE,
      metric: 'checkpoint rate',
      unit: 'cycles/s',
      higherIsBetter: true,
      baseline: b,
      subject: s,
      ratio,
      target: TARGET,
      pass: meetsTarget(ratio, TARGET),
      rounds,
      elapsedMs: now() - t0,
      details: {
        pageCount: PAGE_COUNT,
        cyclesPerSample: cycles,
        warmupCyclesPerSample: warm,
        baselineMicrosPerCycle: round(1e6 / b.median, 1),
        subjectMicrosPerCycle: round(1e6 / s.median, 1),
        subjectPhaseMeanMicros: meanPhases,
      },
      notes: [
        `per cycle: raw ${(1e6 / b.median).toFixed(0)} µs, engine ${(1e6 / s.median).toFixed(0)} µs`,
        `engine phases (mean): ${PhaseTotals.describe(meanPhases)}`,
      ],
    };
  },
};
