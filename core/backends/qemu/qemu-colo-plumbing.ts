// What a launched pair's QEMUs carry for COLO besides the guest, taken down when a side runs on alone and put back
// when the guest is protected again, as QEMU's COLO documentation does it (docs/system/qemu-colo.rst: "Primary
// Failover", "Secondary Failover", "Primary/Secondary resume replication"; qemu-colo.md §1.6). Left in place, they
// keep steering the guest's traffic: a promoted secondary's redirectors send its output to the dead primary's
// colo-compare, and a lone primary's colo-compare holds every packet until its timeout. The ids are the ones
// qemu-colo-network.ts and qemu-launch.ts give them at launch.

import { NETDEV, proxyPorts } from './qemu-colo-network.js';
import { COLO_DISK, type QmpStep, REPLICATION_NODE } from './qemu-launch.js';
import { networkOf, QEMU_DEFAULTS, type QemuPairOptions } from './qemu-options.js';

/** What the console itself set up around a launched guest. */
export interface ColoLayout {
  /** The COLO proxy (colo-compare and its filters) around the guest's NIC. */
  network: boolean;
  /** Block replication (the quorum's replication child, the secondary's NBD export). */
  disk: boolean;
  /** Where the primary's proxy listens for the secondary. */
  proxyBasePort: number;
}

/** The layout of a pair the console launched; null for one it attached to (whose set-up is the admin's). */
export function coloLayout(o: QemuPairOptions): ColoLayout | null {
  if (o.launch !== true) return null;
  return { network: networkOf(o) !== 'none', disk: o.disk !== undefined, proxyBasePort: o.proxyBasePort ?? QEMU_DEFAULTS.proxyBasePort };
}

/** The primary's proxy objects, in the order they are added; removed in the documentation's order. */
const PRIMARY_OBJECTS = ['m0', 'redire0', 'redire1', 'iothread1', 'comp0'] as const;
const PRIMARY_OBJECTS_REMOVAL = ['comp0', 'iothread1', 'm0', 'redire0', 'redire1'] as const;
/** The secondary's redirectors and the sockets they use; filter-rewriter (rew0) stays, as in the documentation. */
const SECONDARY_OBJECTS = ['f2', 'f1'] as const;
const SECONDARY_CHARDEVS = ['red1', 'red0'] as const;
const REWRITER = 'rew0';

const objectDel = (id: string): QmpStep => ({ command: 'object-del', arguments: { id } });
const chardevRemove = (id: string): QmpStep => ({ command: 'chardev-remove', arguments: { id } });

/** "Primary Failover": the secondary is gone; run before x-colo-lost-heartbeat on the primary. */
export function primaryAloneSteps(l: ColoLayout): QmpStep[] {
  return [
    ...(l.disk ? [
      { command: 'x-blockdev-change', arguments: { parent: COLO_DISK, child: 'children.1' } },
      { command: 'human-monitor-command', arguments: { 'command-line': `drive_del ${REPLICATION_NODE}` } },
    ] : []),
    ...(l.network ? PRIMARY_OBJECTS_REMOVAL.map(objectDel) : []),
  ];
}

/** "Secondary Failover": the primary is gone; `before` and `after` x-colo-lost-heartbeat on the secondary. */
export function secondaryAloneSteps(l: ColoLayout): { before: QmpStep[]; after: QmpStep[] } {
  return {
    before: l.disk ? [{ command: 'nbd-server-stop' }] : [],
    after: l.network ? [...SECONDARY_OBJECTS.map(objectDel), ...SECONDARY_CHARDEVS.map(chardevRemove)] : [],
  };
}

/** What a running QEMU holds now, by id: `qom-list /objects` and `query-chardev`. */
export interface QemuHolds {
  objects: ReadonlySet<string>;
  chardevs: ReadonlySet<string>;
}

function socketChardev(id: string, host: string, port: number, server: boolean): QmpStep {
  return {
    command: 'chardev-add',
    arguments: { id, backend: { type: 'socket', data: { addr: { type: 'inet', data: { host, port: String(port) } }, server, ...(server ? { wait: false } : {}) } } },
  };
}

/**
 * "Resume replication" for the network, on the guest that runs on: whatever it lacks of a primary's COLO proxy,
 * after removing what is left of a secondary's. A guest that was the secondary keeps its filter-rewriter, and the
 * primary's filters go before it (`insert: before`), as the documentation says. Empty for a pair without a network.
 */
export function primaryProxySteps(l: ColoLayout, primaryAddress: string, holds: QemuHolds): QmpStep[] {
  if (!l.network) return [];
  const ports = proxyPorts(l.proxyBasePort);
  const local = '127.0.0.1';
  const steps: QmpStep[] = [
    ...SECONDARY_OBJECTS.filter((id) => holds.objects.has(id)).map(objectDel),
    ...SECONDARY_CHARDEVS.filter((id) => holds.chardevs.has(id)).map(chardevRemove),
  ];
  const chardevs: [string, string, number, boolean][] = [
    ['mirror0', primaryAddress, ports.mirror, true],
    ['compare1', primaryAddress, ports.compareSecondary, true],
    ['compare0', local, ports.comparePrimary, true],
    ['compare0-0', local, ports.comparePrimary, false],
    ['compare_out', local, ports.compareOut, true],
    ['compare_out0', local, ports.compareOut, false],
  ];
  for (const [id, host, port, server] of chardevs) if (!holds.chardevs.has(id)) steps.push(socketChardev(id, host, port, server));
  const before = holds.objects.has(REWRITER) ? { insert: 'before', position: `id=${REWRITER}` } : {};
  const objects: Record<(typeof PRIMARY_OBJECTS)[number], Record<string, unknown>> = {
    m0: { 'qom-type': 'filter-mirror', id: 'm0', netdev: NETDEV, queue: 'tx', outdev: 'mirror0', ...before },
    redire0: { 'qom-type': 'filter-redirector', id: 'redire0', netdev: NETDEV, queue: 'rx', indev: 'compare_out', ...before },
    redire1: { 'qom-type': 'filter-redirector', id: 'redire1', netdev: NETDEV, queue: 'rx', outdev: 'compare0', ...before },
    iothread1: { 'qom-type': 'iothread', id: 'iothread1' },
    comp0: { 'qom-type': 'colo-compare', id: 'comp0', primary_in: 'compare0-0', secondary_in: 'compare1', outdev: 'compare_out0', iothread: 'iothread1' },
  };
  for (const id of PRIMARY_OBJECTS) if (!holds.objects.has(id)) steps.push({ command: 'object-add', arguments: objects[id] });
  return steps;
}

/** The block job that copies a running guest's disk to a new secondary before it is protected again. */
export const RESYNC_JOB = 'resync';

/**
 * "Resume replication" for the disk: mirror the whole disk into the new secondary's NBD export of its image. Once
 * the job is ready the guest is paused (`stop`), the job ended (`block-job-cancel`, which on a ready mirror leaves
 * the copy complete), and the replication child added as at launch; the COLO start then resumes the guest.
 */
export function diskResyncStart(nbdTarget: string): QmpStep {
  // auto-dismiss off: a job that fails stays listed with QEMU's error until the console has read it.
  return { command: 'drive-mirror', arguments: { device: COLO_DISK, 'job-id': RESYNC_JOB, target: nbdTarget, mode: 'existing', format: 'raw', sync: 'full', 'auto-dismiss': false } };
}

/** A step as the audit and the failover's detail name it: the command and the id it acts on. */
export function stepName(s: QmpStep): string {
  const a = s.arguments ?? {};
  const what = a.id ?? a['command-line'] ?? a.child;
  return typeof what === 'string' ? `${s.command} ${what}` : s.command;
}
