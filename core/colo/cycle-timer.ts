// Times the phases of one cycle on the monotonic clock.

import { performance } from 'node:perf_hooks';
import type { PhaseName, PhaseTiming } from './types.js';

export const now = (): number => performance.now();

export class CycleTimer {
  readonly start = now();
  readonly startedAt = Date.now();
  private readonly phases: PhaseTiming[] = [];
  private current: PhaseName | undefined;
  private currentAt = 0;

  /** Ends the running phase (if any) and starts `name`. */
  phase(name: PhaseName): void {
    const t = now();
    this.close(t);
    this.current = name;
    this.currentAt = t;
  }

  /** Ends the running phase; returns all phases so far. */
  finish(): PhaseTiming[] {
    this.close(now());
    return this.phases;
  }

  private close(t: number): void {
    if (this.current === undefined) return;
    this.phases.push({ name: this.current, startMs: this.currentAt - this.start, durationMs: t - this.currentAt });
    this.current = undefined;
  }
}
