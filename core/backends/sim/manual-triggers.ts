// Adds "checkpoint now" to any trigger source: an admin's manual checkpoint wins over whatever it is waiting for.

import type { CheckpointTriggers } from '../../colo/triggers.js';
import type { CheckpointTrigger } from '../../colo/types.js';

export class ManualTriggers implements CheckpointTriggers {
  private requested = false;
  private wake: (() => void) | undefined;

  constructor(private readonly inner: CheckpointTriggers) {}

  request(): void {
    this.requested = true;
    this.wake?.();
  }

  async next(signal: AbortSignal): Promise<CheckpointTrigger> {
    if (this.requested) {
      this.requested = false;
      return 'manual';
    }
    const innerAbort = new AbortController();
    const onOuterAbort = (): void => innerAbort.abort(signal.reason);
    signal.addEventListener('abort', onOuterAbort, { once: true });
    const manual = new Promise<'manual'>((resolve) => {
      this.wake = () => resolve('manual');
    });
    try {
      const trigger = await Promise.race([this.inner.next(innerAbort.signal), manual]);
      if (trigger === 'manual') {
        this.requested = false;
        innerAbort.abort();
      }
      return trigger;
    } finally {
      this.wake = undefined;
      signal.removeEventListener('abort', onOuterAbort);
    }
  }
}
