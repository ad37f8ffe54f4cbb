// The guest memory an emulated `xl remus` or `xl migrate-receive` replicates: a SimDomain with a light workload.
// Its real size is small whatever memory the domain reports, so a lab of several guests costs little CPU.

import { performance } from 'node:perf_hooks';
import { setTimeout as delay } from 'node:timers/promises';
import { SimDomain } from '../../backends/sim/sim-domain.js';
import { Workload } from '../../backends/sim/workload.js';
import { XEN_COLO_MAX_WAIT_MS, type CheckpointTriggers } from '../../colo/triggers.js';
import type { CheckpointTrigger } from '../../colo/types.js';

/** 1 MiB of real guest memory. */
export const EMULATED_PAGES = 256;

export interface EmulatedGuest {
  domain: SimDomain;
  workload: Workload;
}

export function emulatedGuest(name: string, running: boolean, primary: boolean): EmulatedGuest {
  const domain = new SimDomain({ name, pageCount: EMULATED_PAGES, vcpus: 1, running, fill: primary ? 'random' : 'zero' });
  const workload = new Workload(domain, {
    dirtyPagesPerSec: 400,
    workingSetPages: 64,
    packetsPerSec: 0,
    packetBytes: 64,
    divergenceProbability: 0,
  }, { tickMs: 20 });
  return { domain, workload };
}

/**
 * The emulated colo-compare: it finds the two copies' output differs once every `periodMs` (a miscompare), and
 * libxl's longest wait (5 s) caps the period, as COLO_PROXY_CHECKPOINT_TIMEOUT does. The period is a rate: it runs
 * from the previous miscompare, not from the end of the checkpoint that followed it, so `periodMs` 10 asks for 100
 * checkpoints a second (a miscompare found during a checkpoint starts the next one as soon as it ends); counting
 * from the end would add each checkpoint's own time to every period.
 */
export class PeriodicMiscompare implements CheckpointTriggers {
  private last: number | undefined;

  constructor(private readonly periodMs: number) {}

  async next(signal: AbortSignal): Promise<CheckpointTrigger> {
    const period = Math.min(this.periodMs, XEN_COLO_MAX_WAIT_MS);
    const at = performance.now();
    const wait = this.last === undefined ? period : Math.max(0, this.last + period - at);
    if (wait > 0) await delay(wait, undefined, { signal });
    else signal.throwIfAborted();
    this.last = this.last === undefined || this.last + period < at ? performance.now() : this.last + period;
    return period < XEN_COLO_MAX_WAIT_MS ? 'miscompare' : 'timer';
  }
}
