// Workload, interval and stop-cost presets for the simulator. Every figure names where it comes from
// (shared/reference/qemu-colo.md §2); figures with no published source say so and are user settings.
import type { WorkloadConfig } from './workload.js';

export interface WorkloadPreset extends WorkloadConfig {
  label: string;
  description: string;
  /** Guest memory in 4 KiB pages. */
  guestPages: number;
  vcpus: number;
}

export type PresetName = 'idle' | 'file-server' | 'web-server' | 'database' | 'batch';

// Guest sizes are scaled down from the 6 GB guest of qemu-colo.md §2 (commit dd67c149e2) so that a primary and
// a secondary fit in one laptop process; the dirty rate and working set, not the guest size, set the cost of a
// checkpoint. Packet rates and sizes have no published anchor at all: they are assumptions, to be tuned.
// Divergence: qemu-colo.md §2 found no published miscompare rate, so every value below is a placeholder for the
// user's slider, picked only so a demo shows a miscompare checkpoint every second or so.
export const PRESETS: Readonly<Record<PresetName, WorkloadPreset>> = {
  idle: {
    label: 'Idle',
    description: 'An idle server: timers, logs, the odd keepalive.',
    // qemu-colo.md §2: dd67c149e2, idle WS2016, 4.50 ms mean RAM transfer per 600 ms checkpoint at 10 GbE
    // ⇒ at most ≈ 2 300 dirty pages/s (4.5 ms × 1.25 GB/s / 4 KiB / 0.6 s); we take that bound, rounded down.
    dirtyPagesPerSec: 2000,
    workingSetPages: 8192, // assumption: big enough that nearly every write in an epoch hits a fresh page
    packetsPerSec: 5, // assumption
    packetBytes: 90, // assumption: keepalive-sized
    divergenceProbability: 0.01, // placeholder, no published figure (see above)
    guestPages: 16384,
    vcpus: 4, // qemu-colo.md §2: dd67c149e2 guest has 4 vCPUs
  },
  'file-server': {
    label: 'File server (SMB upload)',
    description: 'A client uploads over SMB; the page cache churns.',
    // qemu-colo.md §2: dd67c149e2, SMB upload, 24.30 ms mean RAM transfer per 600 ms at 10 GbE ⇒ ≈ 12 400
    // distinct pages/s; 15 000 writes/s over this working set dirty about that many distinct pages per 600 ms.
    dirtyPagesPerSec: 15000,
    workingSetPages: 24576,
    packetsPerSec: 4000, // assumption: mostly ACKs flowing back to the uploader
    packetBytes: 66, // assumption: a bare TCP ACK frame
    divergenceProbability: 0.0002, // placeholder, no published figure
    guestPages: 32768,
    vcpus: 4, // qemu-colo.md §2: dd67c149e2 guest has 4 vCPUs
  },
  'web-server': {
    label: 'Web server (SPECweb-like)',
    description: 'Many short requests answered with full-size frames.',
    // qemu-colo.md §2: SPECweb dirty rate ~12 000 pages/s (resilire wiki via Remus/FGBI eval, confidence 2)
    dirtyPagesPerSec: 12000,
    workingSetPages: 16384, // assumption
    packetsPerSec: 2000, // assumption
    packetBytes: 1500, // Ethernet MTU
    divergenceProbability: 0.0005, // placeholder, no published figure
    guestPages: 32768,
    vcpus: 2, // assumption
  },
  database: {
    label: 'Database (OLTP)',
    description: 'A buffer pool rewritten in place; small queries and replies.',
    // No dirty rate in qemu-colo.md §2: COLO SoCC'13 names online databases as its best case but its abstract
    // gives no numbers. Assumption: half of SPECweb's rate, concentrated in a buffer-pool-sized working set.
    dirtyPagesPerSec: 6000,
    workingSetPages: 8192,
    packetsPerSec: 1000, // assumption
    packetBytes: 512, // assumption
    divergenceProbability: 0.001, // placeholder, no published figure
    guestPages: 32768,
    vcpus: 4, // assumption
  },
  batch: {
    label: 'Memory-heavy batch',
    description: 'A compile or analytics job: heavy writes, almost no network.',
    // qemu-colo.md §2: a 1 Gbps link carries ~25 000 pages/s (resilire wiki); this rate is chosen above it so
    // that on 1 GbE checkpoints fall behind, as Remus's kernel-build overhead (~50 % at 20 checkpoints/s) hints.
    dirtyPagesPerSec: 30000,
    workingSetPages: 49152,
    packetsPerSec: 2, // assumption
    packetBytes: 128, // assumption
    divergenceProbability: 0, // placeholder: a batch job's rare output is assumed deterministic
    guestPages: 65536,
    vcpus: 4, // assumption
  },
};

export const presetNames = Object.keys(PRESETS) as PresetName[];

export type IntervalPresetName = 'remus-max' | 'xl-default' | 'qtest' | 'straub' | 'qemu-docs' | 'qemu-default';

export interface IntervalPreset {
  ms: number;
  label: string;
}

/** Periodic checkpoint intervals (Remus, or COLO's periodic mode), from qemu-colo.md §2 "suggested defaults". */
export const INTERVAL_PRESETS: Readonly<Record<IntervalPresetName, IntervalPreset>> = {
  'remus-max': { ms: 25, label: 'Remus maximum (40/s, NSDI\'08)' },
  'xl-default': { ms: 200, label: 'xl remus default (xl(1))' },
  qtest: { ms: 300, label: 'QEMU qtest' },
  straub: { ms: 600, label: 'Straub benchmark (dd67c149e2)' },
  'qemu-docs': { ms: 2000, label: 'QEMU COLO docs example' },
  'qemu-default': { ms: 20000, label: 'QEMU x-checkpoint-delay default' },
};

export const intervalPresetNames = Object.keys(INTERVAL_PRESETS) as IntervalPresetName[];

/**
 * qemu-colo.md §2: QEMU MicroCheckpointing measured 12–20 ms stop→start for 4 vCPUs, 3–5 ms per vCPU (one
 * report); the middle of that range, for SimDomainOptions.stopCostMs = vcpus × this.
 */
export const STOP_COST_MS_PER_VCPU = 4;
