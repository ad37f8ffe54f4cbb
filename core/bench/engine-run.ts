// Runs a COLO primary and secondary (core/colo) over one loopback TCP connection for a fixed number of
// checkpoints, exactly as the README example does, and reports each committed checkpoint to the caller.

import { SimDomain } from '../backends/sim/sim-domain.js';
import { ColoPrimary } from '../colo/primary.js';
import { ColoSecondary } from '../colo/secondary.js';
import type { CheckpointTriggers } from '../colo/triggers.js';
import type { CycleRecord } from '../colo/types.js';
import { loopbackPair } from './loopback.js';

export interface EngineRun {
  pageCount: number;
  fill?: 'zero' | 'random';
  /** Builds the triggers once the primary's domain exists (a dirtying workload needs it). */
  triggers(primaryDomain: SimDomain): CheckpointTriggers;
  /** Checkpoints to run after the initial copy; the pair is stopped after the last one. */
  cycles: number;
  /** Called for each checkpoint (not the initial copy), n = 1 … cycles, from the primary's cycle event. */
  onCycle?(n: number, record: CycleRecord): void;
}

export interface EngineRunResult {
  primary: SimDomain;
  secondary: SimDomain;
}

export async function runEngine(o: EngineRun): Promise<EngineRunResult> {
  const pd = new SimDomain({ name: 'bench-p', pageCount: o.pageCount, running: true, fill: o.fill ?? 'random' });
  const sd = new SimDomain({ name: 'bench-s', pageCount: o.pageCount });
  const pair = await loopbackPair();
  let n = 0;
  let stopping = false;
  let primary: ColoPrimary | undefined = undefined;
  let secondary: ColoSecondary | undefined = undefined;
  let failure: Error | undefined;
  primary = new ColoPrimary({
    mode: 'colo',
    domain: pd,
    forward: pair.a,
    back: pair.a,
    triggers: o.triggers(pd),
    events: {
      cycle: (record) => {
        if (record.trigger === 'initial' || stopping) return;
        n++;
        try {
          o.onCycle?.(n, record);
        } catch (err) {
          failure ??= err instanceof Error ? err : new Error(`onCycle threw ${typeof err}`);
          n = o.cycles;
        }
        if (n >= o.cycles) {
          stopping = true;
          // Stop from outside the cycle event: the engine finishes its bookkeeping for this cycle first.
          setImmediate(() => {
            primary?.stop();
            secondary?.destroy();
          });
        }
      },
    },
  });
  secondary = new ColoSecondary({ mode: 'colo', domain: sd, forward: pair.b, back: pair.b });
  const [pExit, sExit] = await Promise.all([primary.run(), secondary.run()]);
  pair.close();
  if (failure) throw failure;
  if (n < o.cycles) {
    const why = pExit.kind === 'secondary-lost' ? pExit.reason : sExit.kind !== 'destroyed' ? sExit.reason : pExit.kind;
    throw new Error(`engine stopped after ${n} of ${o.cycles} checkpoints: ${why}`);
  }
  if (pExit.kind !== 'stopped') throw new Error(`primary ended as ${pExit.kind}, expected stopped`);
  return { primary: pd, secondary: sd };
}
