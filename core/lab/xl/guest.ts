// The guest memory an emulated `xl remus` or `xl migrate-receive` replicates: a SimDomain with a light workload.
// Its real size is small whatever memory the domain reports, so a lab of several guests costs little CPU.

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
 * libxl's longest wait (5 s) caps the period, as COLO_PROXY_CHECKPOINT_TIMEOUT does.
 */
export class PeriodicMiscompare implements CheckpointTriggers {
  constructor(private readonly periodMs: number) {}

  async next(signal: AbortSignal): Promise<CheckpointTrigger> {
    const wait = Math.min(this.periodMs, XEN_COLO_MAX_WAIT_MS);
    await delay(wait, undefined, { signal });
    return wait < XEN_COLO_MAX_WAIT_MS ? 'miscompare' : 'timer';
  }
}
