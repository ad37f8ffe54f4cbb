// Where the next checkpoint comes from. COLO asks the output comparator (with Xen's 5 s longest wait); Remus uses
// a fixed interval (xl remus -i, 200 ms by default). The engine only awaits `next()`.

import { setTimeout as delay } from 'node:timers/promises';
import type { CheckpointTrigger } from './types.js';

export interface CheckpointTriggers {
  /** Resolves with the cause of the next checkpoint; rejects with an AbortError when `signal` fires. */
  next(signal: AbortSignal): Promise<CheckpointTrigger>;
}

/** COLO_PROXY_CHECKPOINT_TIMEOUT in libxl_colo.h: 5 000 000 µs. */
export const XEN_COLO_MAX_WAIT_MS = 5000;
/** xl remus default interval (xl(1)). */
export const XL_REMUS_DEFAULT_INTERVAL_MS = 200;

/** A checkpoint every `intervalMs`, as Remus does. */
export class PeriodicTriggers implements CheckpointTriggers {
  constructor(private readonly intervalMs: number) {}

  async next(signal: AbortSignal): Promise<CheckpointTrigger> {
    await delay(this.intervalMs, undefined, { signal });
    return 'timer';
  }
}

/** Checkpoints back to back: what the benchmark uses to measure the protocol's own cost. */
export class ImmediateTriggers implements CheckpointTriggers {
  next(signal: AbortSignal): Promise<CheckpointTrigger> {
    signal.throwIfAborted();
    return Promise.resolve('manual');
  }
}
