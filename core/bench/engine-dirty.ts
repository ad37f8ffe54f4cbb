// Benchmark 3: mean checkpoint time of the COLO engine when the guest dirties 1,000 pages per cycle, against a
// raw transfer of the same bytes with the same two round trips over the same kind of loopback socket.

import { PAGE_SIZE } from '../backends/sim/sim-domain.js';
import { runEngine } from './engine-run.js';
import { DirtyingTriggers } from './dirtying-triggers.js';
import { type BenchResult, type Benchmark, type Target, interleave, verdict, now, round, series } from './harness.js';
import { loopbackPair } from './loopback.js';
import { PhaseTotals } from './phases.js';
import { rawCycles } from './raw.js';

const TARGET: Target = { kind: 'max', value: 1.5 };
const PAGE_COUNT = 4096;
const DIRTY_PAGES = 1000;
/** The raw transfer's "small header" in front of the page bytes. */
const RAW_HEADER = 16;

interface EngineSample {
  meanMs: number;
  writeMs: number;
  bytesPerCycle: number;
}

async function engineMeanCycleMs(warm: number, cycles: number, phases?: PhaseTotals): Promise<EngineSample> {
  let started = 0;
  let ended = 0;
  let bytes = 0;
  let triggers: DirtyingTriggers | undefined;
  let writeAtStart = 0;
  await runEngine({
    pageCount: PAGE_COUNT,
    triggers: (pd) => (triggers = new DirtyingTriggers(pd, DIRTY_PAGES)),
    cycles: warm + cycles,
    onCycle: (n, record) => {
      // Every cycle must carry exactly the pages the workload wrote, or the comparison is meaningless.
      if (record.pagesSent !== DIRTY_PAGES || record.dirtyPages !== DIRTY_PAGES) {
        throw new Error(`checkpoint ${n} sent ${record.pagesSent} pages (${record.dirtyPages} dirty), expected ${DIRTY_PAGES}`);
      }
      if (n === warm) {
        started = now();
        writeAtStart = triggers?.writeMs ?? 0;
      } else if (n > warm) {
        phases?.add(record);
        bytes += record.bytesSent;
      }
      if (n === warm + cycles) ended = now();
    },
  });
  return {
    meanMs: (ended - started) / cycles,
    writeMs: ((triggers?.writeMs ?? 0) - writeAtStart) / cycles,
    bytesPerCycle: bytes / cycles,
  };
}

const NAME = 'engine-dirty';
const TITLE = `Engine, ${DIRTY_PAGES} dirty pages/cycle: mean cycle time vs raw transfer`;

export const engineDirty: Benchmark = {
  name: NAME,
  title: TITLE,
  async run({ quick, log }): Promise<BenchResult> {
    const t0 = now();
    const rounds = quick ? 3 : 7;
    const warm = quick ? 30 : 100;
    const cycles = quick ? 150 : 400;
    const rawBytes = RAW_HEADER + DIRTY_PAGES * PAGE_SIZE;
    const pair = await loopbackPair();
    const fmt = (v: number): string => `${(v * 1000).toFixed(0)} µs/cycle`;
    log(`engine-dirty: warm-up (${warm} raw cycles, ${warm} engine checkpoints)`);
    await rawCycles(pair, warm, rawBytes);
    await engineMeanCycleMs(warm, 1);
    const phases = new PhaseTotals();
    const engineSamples: EngineSample[] = [];
    const { baseline, subject } = await interleave(
      rounds,
      async () => {
        await rawCycles(pair, warm, rawBytes);
        return (await rawCycles(pair, cycles, rawBytes)) / cycles;
      },
      async () => {
        const sample = await engineMeanCycleMs(warm, cycles, phases);
        engineSamples.push(sample);
        return sample.meanMs;
      },
      log,
      fmt,
    );
    pair.close();
    const b = series(`raw: ${rawBytes} B + ack, 16 B + ack`, baseline);
    const s = series('ColoPrimary + ColoSecondary (COLO)', subject);
    const result = verdict(b, s, TARGET);
    const meanPhases = phases.meanMicros();
    const writeUs = (engineSamples.reduce((sum, x) => sum + x.writeMs, 0) / engineSamples.length) * 1000;
    const engineBytes = engineSamples[0]?.bytesPerCycle ?? 0;
    return {
      name: NAME,
      title: TITLE,
      metric: 'mean cycle time',
      unit: 'ms',
      higherIsBetter: false,
      ...result,
      rounds,
      elapsedMs: now() - t0,
      details: {
        pageCount: PAGE_COUNT,
        dirtyPagesPerCycle: DIRTY_PAGES,
        cyclesPerSample: cycles,
        warmupCyclesPerSample: warm,
        rawBytesPerCycle: rawBytes,
        engineForwardBytesPerCycle: engineBytes,
        baselineMBps: round((rawBytes / b.median) / 1000, 1),
        subjectMBps: round((engineBytes / s.median) / 1000, 1),
        guestWriteMicrosPerCycle: round(writeUs, 1),
        subjectPhaseMeanMicros: meanPhases,
      },
      notes: [
        `forward bytes per cycle: raw ${rawBytes}, engine ${engineBytes.toFixed(0)}`,
        `the engine's cycle includes ${writeUs.toFixed(0)} µs of guest writes (the workload dirtying the pages)`,
        `engine phases (mean): ${PhaseTotals.describe(meanPhases)}`,
      ],
    };
  },
};
