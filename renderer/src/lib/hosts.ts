// What the host screens decide without React: which step a host is at (host key, passphrase, connected), the
// fingerprint line as OpenSSH prints it, the requests the forms send, and how a preflight checklist reads.

import type { DomainSummaryInfo, HostAdd, HostInfo, PairDraft, PairInfo, PreflightCheckInfo } from '../../../core/api/console-contract.js';
import type { ActionPlan } from './confirm';
import { EMPTY_QEMU, type QemuProtectForm, firstQemuError, qemuOptionsOf } from './qemu';

export type HostStep =
  | { kind: 'connected' }
  | { kind: 'connecting' }
  | { kind: 'trust-key' }
  | { kind: 'key-changed' }
  | { kind: 'key-revoked' }
  | { kind: 'passphrase' }
  | { kind: 'password' }
  | { kind: 'waiting'; reason: string }
  | { kind: 'error'; reason: string };

/** The one thing the admin should see next for an SSH host. A refused key outranks everything. */
export function hostStep(h: HostInfo): HostStep {
  if (h.hostKey?.status === 'changed') return { kind: 'key-changed' };
  if (h.hostKey?.status === 'revoked') return { kind: 'key-revoked' };
  if (h.needs === 'passphrase') return { kind: 'passphrase' };
  if (h.needs === 'password') return { kind: 'password' };
  if (h.status === 'error' && h.hostKey?.status === 'unknown') return { kind: 'trust-key' };
  if (h.status === 'connected') return { kind: 'connected' };
  if (h.status === 'connecting') return { kind: 'connecting' };
  if (h.status === 'error') return { kind: 'error', reason: h.statusReason ?? 'The connection failed.' };
  return { kind: 'waiting', reason: h.statusReason ?? 'Not connected.' };
}

/** Whether the screen should poll the host soon: an attempt is under way or due. */
export function hostSettling(h: HostInfo): boolean {
  const k = hostStep(h).kind;
  return k === 'connecting' || k === 'waiting';
}

/** `ED25519 key fingerprint is SHA256:…`, as ssh prints it. */
export function fingerprintLine(keyType: string, fingerprint: string): string {
  return `${keyType} key fingerprint is ${fingerprint}.`;
}

export interface AddHostForm {
  name: string;
  /** An address, or an alias from ~/.ssh/config. */
  target: string;
  targetKind: 'address' | 'alias';
  port: string;
  user: string;
  auth: 'agent' | 'key' | 'password';
  keyPath: string;
  hypervisor: 'xen' | 'qemu';
}

export const EMPTY_ADD_HOST: AddHostForm = { name: '', target: '', targetKind: 'address', port: '', user: 'root', auth: 'key', keyPath: '', hypervisor: 'xen' };

/** The hosts.add request, or what is wrong with the form (the service checks again). */
export function addHostRequest(f: AddHostForm): HostAdd | string {
  const target = f.target.trim();
  if (target === '') return f.targetKind === 'alias' ? 'Enter the alias (a Host entry of ~/.ssh/config).' : 'Enter the host\'s address.';
  const port = f.port.trim() === '' ? undefined : Number(f.port);
  if (port !== undefined && !(Number.isInteger(port) && port >= 1 && port <= 65535)) return 'The port is a number from 1 to 65535.';
  if (f.auth === 'key' && f.targetKind === 'address' && f.keyPath.trim() === '') return 'Enter the private key file\'s path.';
  const name = f.name.trim() || target;
  return {
    name,
    ...(f.targetKind === 'alias' ? { alias: target } : { address: target }),
    ...(port === undefined ? {} : { port }),
    ...(f.user.trim() === '' ? {} : { user: f.user.trim() }),
    auth: f.auth === 'key' ? { kind: 'key', ...(f.keyPath.trim() === '' ? {} : { keyPath: f.keyPath.trim() }) } : { kind: f.auth },
    hypervisor: f.hypervisor,
  };
}

export interface ProtectForm {
  /** The hypervisor of both hosts: Xen (xl remus) or QEMU (COLO over QMP). */
  backend: 'xen' | 'qemu';
  name: string;
  primaryHostId: string;
  domain: string;
  secondaryHostId: string;
  secondaryAddress: string;
  mode: 'colo' | 'remus';
  userspaceProxy: boolean;
  remusIntervalMs: string;
  secondaryVerbose: boolean;
  checksumDisks: boolean;
  qemu: QemuProtectForm;
}

export const EMPTY_PROTECT: ProtectForm = {
  backend: 'xen', name: '', primaryHostId: '', domain: '', secondaryHostId: '', secondaryAddress: '', mode: 'colo',
  userspaceProxy: false, remusIntervalMs: '100', secondaryVerbose: false, checksumDisks: false, qemu: EMPTY_QEMU,
};

/** The pairs.add / pairs.preflight draft, or what is missing. */
export function pairDraftOf(f: ProtectForm): PairDraft | string {
  if (f.primaryHostId === '') return 'Pick the primary host.';
  if (f.domain.trim() === '') return f.backend === 'qemu' ? 'Enter the VM\'s name (its -name).' : 'Pick the domain to protect.';
  if (f.secondaryHostId === '') return 'Pick the secondary host.';
  if (f.secondaryHostId === f.primaryHostId) return 'The secondary must be another host.';
  if (f.backend === 'qemu') {
    const q = qemuOptionsOf(f.qemu);
    if ('errors' in q) return firstQemuError(q.errors) ?? 'Check the QEMU options.';
    const domain = f.domain.trim();
    return { name: f.name.trim() || domain, backend: 'qemu', domain, primaryHostId: f.primaryHostId, secondaryHostId: f.secondaryHostId, mode: 'colo', options: q.options };
  }
  const interval = Number(f.remusIntervalMs);
  if (f.mode === 'remus' && !(Number.isInteger(interval) && interval >= 1 && interval <= 60_000)) return 'The Remus interval is a whole number of ms from 1 to 60000.';
  return {
    name: f.name.trim() || f.domain,
    backend: 'xen',
    domain: f.domain,
    primaryHostId: f.primaryHostId,
    secondaryHostId: f.secondaryHostId,
    mode: f.mode,
    options: {
      ...(f.secondaryAddress.trim() === '' ? {} : { secondaryAddress: f.secondaryAddress.trim() }),
      ...(f.mode === 'colo' && f.userspaceProxy ? { userspaceProxy: true } : {}),
      ...(f.mode === 'remus' ? { remusIntervalMs: interval } : {}),
      ...(f.secondaryVerbose ? { secondaryVerbose: true } : {}),
      ...(f.checksumDisks ? { checksumDisks: true } : {}),
    },
  };
}

export interface PreflightVerdict {
  fails: number;
  warns: number;
  /** Adding is allowed with warnings, never with a failed check. */
  canAdd: boolean;
  summary: string;
}

export function preflightVerdict(checks: readonly PreflightCheckInfo[]): PreflightVerdict {
  const fails = checks.filter((c) => c.status === 'fail').length;
  const warns = checks.filter((c) => c.status === 'warn').length;
  const summary = fails > 0
    ? `${fails} check${fails > 1 ? 's' : ''} failed: fix ${fails > 1 ? 'them' : 'it'} and run the preflight again.`
    : warns > 0 ? `Ready, with ${warns} warning${warns > 1 ? 's' : ''}.` : `All ${checks.length} checks passed.`;
  return { fails, warns, canAdd: checks.length > 0 && fails === 0, summary };
}

/** How a domain on a host is protected: by which pair and in which role, or not at all. */
export function domainProtection(d: DomainSummaryInfo, hostId: string, pairs: readonly PairInfo[]): string {
  if (d.role === 'secondary') return 'COLO secondary (incoming copy)';
  for (const p of pairs) {
    const domain = p.domain ?? p.name;
    if (domain !== d.name) continue;
    if (p.primaryHostId === hostId) return `primary of ${p.name} (${p.state.state})`;
    if (p.secondaryHostId === hostId) return `secondary of ${p.name} (${p.state.state})`;
  }
  return 'not protected';
}

/** `user@host:port` with the parts that are known. */
export function hostTarget(h: Pick<HostInfo, 'address' | 'port' | 'user'>): string {
  if (h.address === undefined) return '—';
  return `${h.user !== undefined ? `${h.user}@` : ''}${h.address}${h.port !== undefined ? `:${h.port}` : ''}`;
}

/** States in which a pair's protection runs: it must be stopped before the pair can be removed. */
const RUNNING: ReadonlySet<string> = new Set(['starting', 'syncing', 'protected', 'degraded', 'failing-over']);

/** Why the pair cannot be removed now, or null. */
export function removePairRefusal(pair: PairInfo): string | null {
  if (RUNNING.has(pair.state.state)) return `${pair.name} is ${pair.state.state}: stop its protection first.`;
  return null;
}

/** The typed confirmation's plan for removing a pair: nothing happens on the hosts. */
export function removePairPlan(pair: PairInfo, hosts: readonly HostInfo[]): ActionPlan {
  const host = (id: string): HostInfo | undefined => hosts.find((h) => h.id === id);
  const side = (role: 'Primary' | 'Secondary', id: string) => ({
    role,
    host: host(id)?.name ?? id,
    hostStatus: host(id)?.status ?? 'unknown',
    effect: 'Nothing is sent to this host; whatever runs there keeps running.',
  });
  return {
    title: `Remove ${pair.name} from the console`,
    verb: 'Remove pair',
    summary: 'The console forgets this pair. Its cycle history and audit entries stay on disk.',
    sides: [side('Primary', pair.primaryHostId), side('Secondary', pair.secondaryHostId)],
    afterwards: 'To protect the VM again, use Protect a VM on the Hosts screen.',
  };
}
