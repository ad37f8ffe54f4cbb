// Adds up the phase timings of the engine's cycle records, to show where a cycle's time goes.

import type { CycleRecord } from '../colo/types.js';
import { round } from './harness.js';

export class PhaseTotals {
  private readonly totals = new Map<string, number>();
  private cycles = 0;

  add(record: CycleRecord): void {
    this.cycles++;
    for (const p of record.phases) this.totals.set(p.name, (this.totals.get(p.name) ?? 0) + p.durationMs);
  }

  /** Mean µs per cycle of each phase, in protocol order. */
  meanMicros(): Record<string, number> {
    const out: Record<string, number> = {};
    for (const [name, total] of this.totals) out[name] = round((total / Math.max(1, this.cycles)) * 1000, 1);
    return out;
  }

  static describe(mean: Record<string, number>): string {
    return Object.entries(mean).map(([name, us]) => `${name} ${us.toFixed(0)} µs`).join(', ');
  }
}
