// What a QEMU can do for COLO, read from its monitor: version, whether migration offers x-colo, its run state and
// COLO mode; with the warnings an admin needs by version (qemu-colo.md §3: 7.2 deadlocks at its first periodic
// checkpoints; 10.0 and 10.1 leave COLO right after the initial copy). The replies are untrusted: every field is
// checked, and a reply of the wrong shape is one error naming the VM and the command.

import type { HostProbe } from '../../service/backend.js';
import type { QemuVersion } from './qmp-client.js';

/** The monitor calls a probe needs (a QmpClient or a QmpSession). */
export interface QmpCaller {
  execute<T = unknown>(command: string, args?: Record<string, unknown>): Promise<T>;
}

export type ColoMode = 'none' | 'primary' | 'secondary';

export interface QemuProbe extends HostProbe {
  hypervisor: 'qemu';
  qemu: QemuVersion;
  /** query-status: 'running', 'paused', 'inmigrate', 'colo' (paused for a checkpoint)… */
  runState: string;
  running: boolean;
  /** query-colo-status, where the QEMU has it. */
  colo?: { mode: ColoMode; lastMode?: ColoMode; reason: string };
}

const MODES: ReadonlySet<string> = new Set(['none', 'primary', 'secondary']);

export class QemuProbeError extends Error {
  override readonly name = 'QemuProbeError';
}

export async function probeQemu(vm: string, qmp: QmpCaller): Promise<QemuProbe> {
  const bad = (command: string, what: string): QemuProbeError => new QemuProbeError(`${vm}: ${command} answered ${what}; is this QEMU's monitor?`);
  const version = record(await qmp.execute('query-version'));
  const q = record(version?.qemu);
  const nums = [q?.major, q?.minor, q?.micro];
  if (!nums.every((n) => Number.isInteger(n) && (n as number) >= 0)) throw bad('query-version', 'without a version number');
  const qemu: QemuVersion = { major: nums[0] as number, minor: nums[1] as number, micro: nums[2] as number, package: typeof version?.package === 'string' ? version.package.slice(0, 200) : '' };

  const caps = await qmp.execute('query-migrate-capabilities');
  if (!Array.isArray(caps)) throw bad('query-migrate-capabilities', 'something other than a list');
  const capabilities: string[] = [];
  for (const c of caps.slice(0, 200)) {
    const cap = record(c);
    if (typeof cap?.capability === 'string') capabilities.push(cap.capability.slice(0, 64));
  }

  const status = record(await qmp.execute('query-status'));
  if (typeof status?.status !== 'string' || typeof status.running !== 'boolean') throw bad('query-status', 'without a run state');

  let colo: QemuProbe['colo'];
  if (capabilities.includes('x-colo')) {
    const c = record(await qmp.execute('query-colo-status'));
    if (typeof c?.mode !== 'string' || !MODES.has(c.mode) || typeof c.reason !== 'string') throw bad('query-colo-status', 'without a COLO mode');
    colo = { mode: c.mode as ColoMode, reason: c.reason.slice(0, 64), ...(typeof c['last-mode'] === 'string' && MODES.has(c['last-mode']) ? { lastMode: c['last-mode'] as ColoMode } : {}) };
  }

  return {
    hypervisor: 'qemu',
    version: `QEMU ${qemu.major}.${qemu.minor}.${qemu.micro}${qemu.package === '' ? '' : ` (${qemu.package})`}`,
    capabilities,
    warnings: versionWarnings(qemu, capabilities),
    qemu,
    runState: status.status.slice(0, 64),
    running: status.running,
    ...(colo === undefined ? {} : { colo }),
  };
}

/** What the admin must know about this QEMU before protecting with it. */
export function versionWarnings(v: QemuVersion, capabilities: readonly string[]): string[] {
  return [
    ...(capabilities.includes('x-colo') ? [] : [`QEMU ${v.major}.${v.minor} offers no x-colo migration capability: it was built without replication support, so it cannot run COLO.`]),
    ...releaseWarnings(v),
  ];
}

/** What is known of this release's COLO, whatever the build offers. */
export function releaseWarnings(v: QemuVersion): string[] {
  const out: string[] = [];
  if (v.major === 7 && v.minor === 2) {
    out.push('QEMU 7.2: COLO starts and fails over, but its periodic checkpoints deadlock (the primary stays paused and its monitor goes silent at the first or second checkpoint); expect Guest frozen. Use a QEMU with the COLO fixes.');
  }
  if (v.major === 10 && (v.minor === 0 || v.minor === 1)) {
    out.push(`QEMU ${v.major}.${v.minor}: COLO is broken in this release (the secondary leaves COLO right after the initial copy); use another release.`);
  }
  return out;
}

/** The version `qemu-system-* --version` prints ("QEMU emulator version 7.2.22 (Debian …)"); null if it printed none. */
export function qemuVersionOf(stdout: string): QemuVersion | null {
  const m = /QEMU emulator version (\d+)\.(\d+)\.(\d+)(?:\s*\(([^)\n]{0,200})\))?/.exec(stdout);
  return m === null ? null : { major: Number(m[1]), minor: Number(m[2]), micro: Number(m[3]), package: m[4] ?? '' };
}

function record(v: unknown): Record<string, unknown> | undefined {
  return typeof v === 'object' && v !== null && !Array.isArray(v) ? (v as Record<string, unknown>) : undefined;
}
