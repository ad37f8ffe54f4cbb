// Each run's held-output figures, kept for after the run: every packet a simulated pair releases goes into a
// histogram of its current run, which is written to history.sqlite every SAVE_EVERY_MS, when the pair's run
// changes, before the runs are read, and at close. A crash loses at most the last few seconds of one gauge.

import type { History } from './history.js';
import { HeldHistogram } from './held-histogram.js';
import { PairLive } from './live.js';

export const SAVE_EVERY_MS = 5000;

interface Open {
  runId: number;
  held: HeldHistogram;
  dirty: boolean;
}

export class RunOutputRecorder {
  private readonly open = new Map<string, Open>();

  constructor(
    private readonly history: () => History,
    private readonly clock: () => number,
    private readonly onError: (err: unknown, where: string) => void,
  ) {}

  /** One packet of `pairId` released after being held `heldMs`. */
  add(pairId: string, heldMs: number): void {
    const runId = this.history().currentRun(pairId);
    if (runId === null) return;
    let o = this.open.get(pairId);
    if (o === undefined || o.runId !== runId) {
      if (o !== undefined) this.write(o);
      o = { runId, held: new HeldHistogram(), dirty: false };
      this.open.set(pairId, o);
    }
    o.held.add(heldMs);
    o.dirty = true;
  }

  /** Writes every histogram that changed since its last write. */
  save(): void {
    for (const o of this.open.values()) if (o.dirty) this.write(o);
  }

  private write(o: Open): void {
    try {
      this.history().saveRunOutput(o.runId, o.held, this.clock());
      o.dirty = false;
    } catch (err) {
      // Kept dirty: the next save tries again.
      this.onError(err, 'run output save');
    }
  }
}

/** The live buffers of one pair, also feeding every released packet into the run's recorded figures. */
export class RecordingPairLive extends PairLive {
  constructor(private readonly onHeld: (heldMs: number) => void) {
    super();
  }

  override addOutput(heldMs: number, at?: number): void {
    super.addOutput(heldMs, at);
    this.onHeld(heldMs);
  }
}
