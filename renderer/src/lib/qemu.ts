// What the QEMU screens decide without React: the wizard's QEMU options from its text fields (checked by the same
// schema the service uses, each complaint kept with its field), the QMP sockets prefilled from the hosts' domain
// lists, the command lines a preflight reports, and how a QEMU pair's figures read.

import type { DomainSummaryInfo, PairInfo, PreflightCheckInfo, QemuPairStatus, QemuSideStatus } from '../../../core/api/console-contract.js';
import { CHECKPOINT_DELAY_MAX_MS, CHECKPOINT_DELAY_MIN_MS, QEMU_DEFAULTS, type QemuPairOptions, qemuPairOptions } from '../../../core/backends/qemu/qemu-options.js';
import { formatAge, formatMs } from './format';

/** Attach to two QEMUs someone started, or have the console launch both from a definition. */
export type QemuWay = 'attach' | 'launch';

export interface QemuProtectForm {
  way: QemuWay;
  primaryQmp: string;
  secondaryQmp: string;
  incomingUri: string;
  checkpointDelayMs: string;
  heartbeatIntervalMs: string;
  heartbeatMisses: string;
  autoFailover: boolean;
  binary: string;
  machine: string;
  accel: '' | 'kvm' | 'tcg';
  memoryMiB: string;
  vcpus: string;
  disk: string;
  diskFormat: '' | 'raw' | 'qcow2';
  replicationAddress: string;
  migrationPort: string;
  nbdPort: string;
  scratchDir: string;
  /** The launched guest's network; none is the service's default and is not sent. */
  network: QemuNetwork;
  bridge: string;
  proxyBasePort: string;
  macAddress: string;
  primaryReplicationAddress: string;
}

export type QemuNetwork = 'none' | 'user' | 'bridge';

/** One sentence per network: what the guest gets, and what the hosts need for it. */
export const QEMU_NETWORK_TEXT: Readonly<Record<QemuNetwork, string>> = {
  none: 'No NIC: the guest has no network, and COLO compares no packets.',
  user: 'QEMU\'s own user-mode network, inside each QEMU: to try COLO\'s packet comparison without any host setup.',
  bridge: 'A tap on the named host bridge through qemu-bridge-helper; /etc/qemu/bridge.conf on both hosts must allow that bridge.',
};

export type QemuField = Exclude<keyof QemuProtectForm, 'way'>;

export const EMPTY_QEMU: QemuProtectForm = {
  way: 'attach', primaryQmp: '', secondaryQmp: '', incomingUri: '', checkpointDelayMs: '',
  heartbeatIntervalMs: '', heartbeatMisses: '', autoFailover: QEMU_DEFAULTS.autoFailover,
  binary: '', machine: '', accel: '', memoryMiB: '', vcpus: '', disk: '', diskFormat: '',
  replicationAddress: '', migrationPort: '', nbdPort: '', scratchDir: '',
  network: QEMU_DEFAULTS.network, bridge: '', proxyBasePort: '', macAddress: '', primaryReplicationAddress: '',
};

export const NUMERIC_FIELDS: ReadonlySet<QemuField> = new Set(['checkpointDelayMs', 'heartbeatIntervalMs', 'heartbeatMisses', 'memoryMiB', 'vcpus', 'migrationPort', 'nbdPort', 'proxyBasePort']);
/** The VM definition: sent only when the console launches the QEMUs. */
export const LAUNCH_FIELDS = ['binary', 'machine', 'accel', 'memoryMiB', 'vcpus', 'disk', 'diskFormat', 'replicationAddress', 'migrationPort', 'nbdPort', 'scratchDir'] as const satisfies readonly QemuField[];
/** A launched guest's network beyond none: COLO's proxy (its ports, where the secondary's proxy connects) and the NIC. */
export const NETWORK_FIELDS = ['proxyBasePort', 'macAddress', 'primaryReplicationAddress'] as const satisfies readonly QemuField[];
/** Only an attach says where the secondary listens: a launch derives it from the replication address and port. */
const ATTACH_FIELDS: readonly QemuField[] = ['incomingUri'];
const COMMON_FIELDS: readonly QemuField[] = ['primaryQmp', 'secondaryQmp', 'checkpointDelayMs', 'heartbeatIntervalMs', 'heartbeatMisses'];

export type QemuFieldErrors = Partial<Record<QemuField, string>>;

/**
 * The pair's QEMU options, or each field's complaint. Empty fields are left out (the service's defaults apply);
 * what is typed is checked by qemuPairOptions, the schema the service checks again.
 */
export function qemuOptionsOf(f: QemuProtectForm): { options: QemuPairOptions } | { errors: QemuFieldErrors } {
  const errors: QemuFieldErrors = {};
  const raw: Record<string, unknown> = {};
  const fields = [...COMMON_FIELDS, ...(f.way === 'attach' ? ATTACH_FIELDS : [...LAUNCH_FIELDS, ...networkFields(f.network)])];
  for (const k of fields) {
    const text = String(f[k]).trim();
    if (text === '') continue;
    if (NUMERIC_FIELDS.has(k)) {
      if (!/^\d+$/.test(text)) errors[k] = 'a whole number';
      else raw[k] = Number(text);
    } else raw[k] = text;
  }
  // Always sent: the service's default is on, and an unticked box must say off.
  raw.autoFailover = f.autoFailover;
  if (f.way === 'launch') {
    raw.launch = true;
    if (f.network !== QEMU_DEFAULTS.network) raw.network = f.network;
    // The schema checks each option alone; that bridge needs its name is the pair's rule (networkMismatch).
    if (f.network === 'bridge' && f.bridge.trim() === '') errors.bridge = 'name the host bridge the guest joins';
  }
  if (f.primaryQmp.trim() === '') errors.primaryQmp = 'the primary\'s QMP socket path';
  if (f.secondaryQmp.trim() === '') errors.secondaryQmp = 'the secondary\'s QMP socket path';
  const parsed = qemuPairOptions.safeParse(raw);
  if (!parsed.success) {
    for (const issue of parsed.error.issues) {
      const k = issue.path[0];
      if (typeof k === 'string' && k in f && errors[k as QemuField] === undefined) errors[k as QemuField] = issue.message;
    }
  }
  if (Object.keys(errors).length > 0 || !parsed.success) return { errors };
  return { options: parsed.data };
}

/** The network's own fields: none for none; the bridge's name only for bridge. */
function networkFields(network: QemuNetwork): readonly QemuField[] {
  if (network === 'none') return [];
  return network === 'bridge' ? ['bridge', ...NETWORK_FIELDS] : NETWORK_FIELDS;
}

/** The first complaint as one line, naming its field; null when there is none. */
export function firstQemuError(errors: QemuFieldErrors): string | null {
  const k = (Object.keys(errors) as QemuField[])[0];
  return k === undefined ? null : `${QEMU_FIELD_LABEL[k]}: ${errors[k]}`;
}

export const QEMU_FIELD_LABEL: Readonly<Record<QemuField, string>> = {
  primaryQmp: 'Primary\'s QMP socket',
  secondaryQmp: 'Secondary\'s QMP socket',
  incomingUri: 'Incoming URI',
  checkpointDelayMs: 'Checkpoint delay (ms)',
  heartbeatIntervalMs: 'Heartbeat interval (ms)',
  heartbeatMisses: 'Missed heartbeats before lost',
  autoFailover: 'Automatic failover',
  binary: 'QEMU binary',
  machine: 'Machine',
  accel: 'Accelerator',
  memoryMiB: 'Memory (MiB)',
  vcpus: 'vCPUs',
  disk: 'Disk image',
  diskFormat: 'Disk format',
  replicationAddress: 'Secondary\'s replication address',
  migrationPort: 'Migration port',
  nbdPort: 'NBD port',
  scratchDir: 'Scratch directory (secondary)',
  network: 'Guest network',
  bridge: 'Host bridge',
  proxyBasePort: 'COLO proxy base port (primary)',
  macAddress: 'MAC address',
  primaryReplicationAddress: 'Primary\'s replication address',
};

/** What each field shows when empty: the default the service applies, or what to type. */
export const QEMU_PLACEHOLDER: Readonly<Partial<Record<QemuField, string>>> = {
  primaryQmp: '/run/qemu/vm-primary.qmp',
  secondaryQmp: '/run/qemu/vm-secondary.qmp',
  incomingUri: 'tcp:192.0.2.20:9998',
  checkpointDelayMs: 'QEMU\'s own',
  heartbeatIntervalMs: String(QEMU_DEFAULTS.heartbeatIntervalMs),
  heartbeatMisses: String(QEMU_DEFAULTS.heartbeatMisses),
  binary: QEMU_DEFAULTS.binary,
  machine: QEMU_DEFAULTS.machine,
  memoryMiB: String(QEMU_DEFAULTS.memoryMiB),
  vcpus: String(QEMU_DEFAULTS.vcpus),
  disk: '/var/lib/images/vm.img',
  replicationAddress: 'the secondary host\'s address',
  migrationPort: String(QEMU_DEFAULTS.migrationPort),
  nbdPort: String(QEMU_DEFAULTS.nbdPort),
  scratchDir: QEMU_DEFAULTS.scratchDir,
  bridge: 'br0',
  proxyBasePort: String(QEMU_DEFAULTS.proxyBasePort),
  macAddress: 'QEMU\'s own',
  primaryReplicationAddress: 'the primary host\'s address',
};

/**
 * The QMP sockets the hosts' domain lists give for an attach: the primary's VM by name, the secondary's VM by
 * role (the copy waiting with -incoming). Only what was found; never overwrites what the admin typed.
 */
export function prefillQmp(f: QemuProtectForm, vm: string, primary: readonly DomainSummaryInfo[] | null, secondary: readonly DomainSummaryInfo[] | null): QemuProtectForm {
  const p = primary?.find((d) => d.name === vm && d.role !== 'secondary')?.qmpSocket;
  const s = secondary?.find((d) => d.role === 'secondary' && d.qmpSocket !== undefined)?.qmpSocket;
  return {
    ...f,
    primaryQmp: f.primaryQmp.trim() === '' && p !== undefined ? p : f.primaryQmp,
    secondaryQmp: f.secondaryQmp.trim() === '' && s !== undefined ? s : f.secondaryQmp,
  };
}

export interface CommandLine {
  id: string;
  /** The host the console runs it on, as the check's label names it. */
  label: string;
  command: string;
}

/** The preflight's command-line checks (id `command-line…`, the command in `detail`), apart from the rest. */
export function splitCommandLines(checks: readonly PreflightCheckInfo[]): { commands: CommandLine[]; others: PreflightCheckInfo[] } {
  const commands: CommandLine[] = [];
  const others: PreflightCheckInfo[] = [];
  for (const c of checks) {
    if (c.id.startsWith('command-line') && c.detail !== undefined) commands.push({ id: c.id, label: c.label, command: c.detail });
    else others.push(c);
  }
  return { commands, others };
}

/** The host a command line runs on: the label names it, or the id ends in the side (`command-line-primary`). */
export function commandHost(c: CommandLine, primaryName: string, secondaryName: string): string {
  if (/secondary/i.test(c.id) || c.label.includes(secondaryName)) return secondaryName;
  if (/primary/i.test(c.id) || c.label.includes(primaryName)) return primaryName;
  return `${primaryName} or ${secondaryName}`;
}

/** "QEMU 7.2.22 · delay 200 ms": the figures a QEMU pair shows where a simulated or Xen pair shows its own. */
export function qemuFigures(q: QemuPairStatus): string {
  // The backend says "QEMU 7.2.22"; a bare "7.2.22" gets the name.
  const version = q.primary?.version ?? q.secondary?.version;
  const name = version === undefined ? 'QEMU' : /^QEMU\b/.test(version) ? version : `QEMU ${version}`;
  return [name, `delay ${q.checkpointDelayMs === null ? '—' : formatMs(q.checkpointDelayMs, 0)}`].join(' · ');
}

/** One side's monitor in words: "connected", "silent: no answer to query-status for 3 s", "unreachable". */
export function monitorText(side: QemuSideStatus | null): string {
  if (side === null) return 'not watched';
  return side.detail !== undefined && side.monitor !== 'connected' ? `${side.monitor}: ${side.detail}` : side.monitor;
}

export function monitorTone(side: QemuSideStatus | null): 'ok' | 'warn' | 'bad' | 'neutral' {
  if (side === null) return 'neutral';
  return side.monitor === 'connected' ? (side.missedHeartbeats > 0 ? 'warn' : 'ok') : side.monitor === 'silent' ? 'warn' : 'bad';
}

export function lastAnswer(side: QemuSideStatus | null, now: number): string {
  if (side === null || side.lastAnswerAt === null) return 'never';
  return formatAge(side.lastAnswerAt, now);
}

/** QEMU reports no per-checkpoint page or byte counts: its cycles carry 0, which must not read as "nothing moved". */
export const NOT_REPORTED_BY_QEMU = 'not reported by QEMU';

export function sizesReported(pair: Pick<PairInfo, 'backend'> | undefined): boolean {
  return pair?.backend !== 'qemu';
}

/** The checkpoint-delay control's text: a whole number in range, or the complaint. */
export function checkpointDelayInput(text: string): number | string {
  const t = text.trim();
  if (!/^\d+$/.test(t)) return 'The checkpoint delay is a whole number of ms.';
  const n = Number(t);
  const r = qemuPairOptions.shape.checkpointDelayMs.safeParse(n);
  return r.success && r.data !== undefined ? r.data : `The checkpoint delay is from ${CHECKPOINT_DELAY_MIN_MS} to ${CHECKPOINT_DELAY_MAX_MS} ms.`;
}

/** The heartbeat settings' texts as a qemu.configure request's fields, or the complaint. */
export function heartbeatInput(interval: string, misses: string, autoFailover: boolean): { heartbeatIntervalMs: number; heartbeatMisses: number; autoFailover: boolean } | string {
  const i = Number(interval.trim());
  const m = Number(misses.trim());
  if (!qemuPairOptions.shape.heartbeatIntervalMs.safeParse(i).success) return 'The heartbeat interval is a whole number of ms from 100 to 60000.';
  if (!qemuPairOptions.shape.heartbeatMisses.safeParse(m).success) return 'Missed heartbeats is a whole number from 1 to 100.';
  return { heartbeatIntervalMs: i, heartbeatMisses: m, autoFailover };
}
