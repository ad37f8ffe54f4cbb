// Builders for the renderer's unit tests.
import type { CycleRecord } from '../../../core/colo/types.js';

export function cycle(seq: number, startedAt: number, over: Partial<CycleRecord> = {}): CycleRecord {
  return {
    seq,
    mode: 'colo',
    trigger: 'timer',
    startedAt,
    phases: [
      { name: 'wait', startMs: 0, durationMs: 8 },
      { name: 'suspend', startMs: 8, durationMs: 0.5 },
      { name: 'transfer', startMs: 8.5, durationMs: 1 },
      { name: 'device', startMs: 9.5, durationMs: 0.1 },
      { name: 'svm-load', startMs: 9.6, durationMs: 0.3 },
      { name: 'resume', startMs: 9.9, durationMs: 0.1 },
    ],
    primaryPauseMs: 2,
    secondaryPauseMs: 1.5,
    dirtyPages: 100,
    pagesSent: 120,
    bytesSent: 500_000,
    outcome: 'committed',
    provenance: 'measured',
    ...over,
  };
}
