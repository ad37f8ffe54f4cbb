// A checkpoint trigger with a guest workload in front of it: before each checkpoint it writes a fixed number of
// distinct pages of the running primary through SimDomain.guestWrite (the guest's own write, which log-dirty sees;
// writePage is the toolstack's write and is not logged), then asks for the checkpoint at once.

import type { SimDomain } from '../backends/sim/sim-domain.js';
import type { CheckpointTriggers } from '../colo/triggers.js';
import type { CheckpointTrigger } from '../colo/types.js';
import { now } from './harness.js';

export class DirtyingTriggers implements CheckpointTriggers {
  private cursor = 0;
  private generation = 0;
  private readonly stamp = Buffer.alloc(8);
  /** Time spent writing pages, ms: part of each measured cycle, reported apart. */
  writeMs = 0;

  constructor(private readonly domain: SimDomain, readonly pagesPerCycle: number) {
    if (!Number.isInteger(pagesPerCycle) || pagesPerCycle < 1 || pagesPerCycle > domain.pageCount) {
      throw new RangeError(`pagesPerCycle must be 1…${domain.pageCount}, got ${pagesPerCycle}`);
    }
  }

  next(signal: AbortSignal): Promise<CheckpointTrigger> {
    signal.throwIfAborted();
    const t = now();
    const { pageCount } = this.domain;
    this.generation++;
    this.stamp.writeDoubleLE(this.generation, 0);
    // A window of consecutive pfns that moves on each cycle: distinct within a cycle, and every page gets its turn.
    const offset = (this.generation * 8) % 4096;
    for (let i = 0; i < this.pagesPerCycle; i++) {
      this.domain.guestWrite((this.cursor + i) % pageCount, offset, this.stamp);
    }
    this.cursor = (this.cursor + this.pagesPerCycle) % pageCount;
    this.writeMs += now() - t;
    return Promise.resolve('manual');
  }
}
