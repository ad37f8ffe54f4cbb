// COLO's trigger source: the output comparator's requests, or Xen's longest wait when nothing diverges.

import type { CheckpointTriggers } from '../../colo/triggers.js';
import type { CheckpointTrigger } from '../../colo/types.js';
import type { OutputComparator } from './comparator.js';

export class ComparatorTriggers implements CheckpointTriggers {
  constructor(private readonly comparator: OutputComparator, private readonly maxWaitMs: number) {}

  next(signal: AbortSignal): Promise<CheckpointTrigger> {
    return this.comparator.nextTrigger(this.maxWaitMs, signal);
  }
}
