// Benchmark 2: checkpoints per second of the COLO engine with nothing to copy (ImmediateTriggers, a guest that
// writes nothing), against a raw ping-pong of two round trips per cycle over the same kind of loopback socket.

import { ImmediateTriggers } from '../colo/triggers.js';
import { runEngine } from './engine-run.js';
import { type BenchResult, type Benchmark, type Target, interleave, verdict, now, round, series } from './harness.js';
import { loopbackPair } from './loopback.js';
import { PhaseTotals } from './phases.js';
import { type MessageSizes, rawCycles } from './raw.js';
import type { CycleRecord } from '../colo/types.js';

const TARGET: Target = { kind: 'min', value: 0.5 };
const PAGE_COUNT = 4096;

/** Runs the engine for warm + cycles checkpoints; returns checkpoints per second over the last `cycles`. */
export async function engineCyclesPerSecond(warm: number, cycles: number, phases?: PhaseTotals, onRecord?: (r: CycleRecord) => void): Promise<number> {
  let started = 0;
  let ended = 0;
  await runEngine({
    pageCount: PAGE_COUNT,
    triggers: () => new ImmediateTriggers(),
    cycles: warm + cycles,
    onCycle: (n, record) => {
      onRecord?.(record);
      if (n === warm) started = now();
      else if (n > warm) phases?.add(record);
      if (n === warm + cycles) ended = now();
    },
  });
  return cycles / ((ended - started) / 1000);
}

/**
 * The protocol's four messages per empty checkpoint. Back channel: SVM_SUSPENDED (16) and an empty dirty list
 * (8), then SVM_READY and SVM_RESUMED (16 each). Forward: NEW (16), then the rest of the cycle's bytes (CPU
 * context, device state, CHECKPOINT_END). The raw baseline moves exactly these, so the ratio is the engine's own
 * cost, not the cost of the bytes a checkpoint has to carry.
 */
function protocolMessageSizes(forwardBytesPerCycle: number): MessageSizes {
  return { first: 16, firstAck: 24, second: forwardBytesPerCycle - 16, secondAck: 32 };
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
    let forwardBytes = 0;
    await engineCyclesPerSecond(warm, 1, undefined, (r) => {
      if (r.trigger !== 'initial') forwardBytes = r.bytesSent;
    });
    const sizes = protocolMessageSizes(forwardBytes);
    await rawCycles(pair, warm, sizes);
    await rawCycles(pair, warm);
    const phases = new PhaseTotals();
    const tiny: number[] = [];
    const { baseline, subject } = await interleave(
      rounds,
      async () => {
        await rawCycles(pair, warm, sizes);
        tiny.push(cycles / ((await rawCycles(pair, cycles)) / 1000));
        return cycles / ((await rawCycles(pair, cycles, sizes)) / 1000);
      },
      () => engineCyclesPerSecond(warm, cycles, phases),
      log,
      fmt,
    );
    pair.close();
    const b = series(`raw ping-pong, 2 round trips of the protocol's sizes (${sizes.first}/${sizes.firstAck}/${sizes.second}/${sizes.secondAck} B)`, baseline);
    const tinyMedian = [...tiny].sort((x, y) => x - y)[Math.floor(tiny.length / 2)]!;
    const s = series('ColoPrimary + ColoSecondary (COLO)', subject);
    const result = verdict(b, s, TARGET);
    const meanPhases = phases.meanMicros();
    return {
      name: NAME,
      title: TITLE,
      metric: 'checkpoint rate',
      unit: 'cycles/s',
      higherIsBetter: true,
      ...result,
      rounds,
      elapsedMs: now() - t0,
      details: {
        pageCount: PAGE_COUNT,
        cyclesPerSample: cycles,
        warmupCyclesPerSample: warm,
        baselineMicrosPerCycle: round(1e6 / b.median, 1),
        baselineMessageBytes: sizes,
        tinyBaselineMicrosPerCycle: round(1e6 / tinyMedian, 1),
        ratioAgainstTinyMessages: round(s.median / tinyMedian, 3),
        subjectMicrosPerCycle: round(1e6 / s.median, 1),
        subjectPhaseMeanMicros: meanPhases,
      },
      notes: [
        `per cycle: raw ${(1e6 / b.median).toFixed(0)} µs, engine ${(1e6 / s.median).toFixed(0)} µs`,
        `against 16-byte messages instead (no checkpoint payload): raw ${(1e6 / tinyMedian).toFixed(0)} µs per cycle, ratio ${(s.median / tinyMedian).toFixed(3)}×`,
        `engine phases (mean): ${PhaseTotals.describe(meanPhases)}`,
      ],
    };
  },
};
