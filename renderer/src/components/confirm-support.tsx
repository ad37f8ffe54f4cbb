// What every typed confirmation shares: the facts shown beside the plan (state, last checkpoint, each host's real
// status) and the call each confirmed action makes. The actions panel and the alarm banner both use them.

import type { HostInfo, PairInfo } from '../../../core/api/console-contract.js';
import { api } from '../api/console-api';
import { hostName } from '../lib/alarm';
import { type DestructiveAction, type FenceStep, fencingReason } from '../lib/confirm';
import { formatAge, formatDuration } from '../lib/format';
import type { Fact } from './ConfirmDialog';
import { ProtectionBadge } from './ProtectionBadge';

const FAILOVER_TIMEOUT_MS = 60_000;

function hostFact(hosts: readonly HostInfo[], id: string): string {
  const h = hosts.find((x) => x.id === id);
  if (h === undefined) return `${hostName(hosts, id)}: status unknown`;
  return `${h.name}: ${h.status}${h.statusReason !== undefined ? ` (${h.statusReason})` : ''}`;
}

export function confirmFacts(pair: PairInfo, hosts: readonly HostInfo[], clock: number): Fact[] {
  return [
    { label: 'Protection', value: <ProtectionBadge state={pair.state} lastFailover={pair.lastFailover} alarm={pair.alarm} testId={null} /> },
    { label: 'In this state', value: `for ${formatDuration(Math.max(0, clock - pair.state.since))}` },
    {
      label: 'Last checkpoint',
      value: pair.stats.lastSeq === null ? 'none yet' : `#${pair.stats.lastSeq}, ${formatAge(pair.stats.lastCheckpointAt, clock)}`,
    },
    { label: 'Mode', value: pair.mode === 'colo' ? 'COLO' : 'Remus' },
    { label: 'Primary host', value: hostFact(hosts, pair.primaryHostId) },
    { label: 'Secondary host', value: hostFact(hosts, pair.secondaryHostId) },
  ];
}

/** The call behind a confirmed stop, failover or keep (the drill has its own, longer path). */
export function callConfirmed(action: Exclude<DestructiveAction, 'drill'>, pair: PairInfo, typed: string, fencedHost?: string): Promise<PairInfo> {
  const req = { pairId: pair.id, confirmName: typed };
  const options = { timeoutMs: FAILOVER_TIMEOUT_MS };
  switch (action) {
    case 'stop':
      return api.call('pairs.stop', req, options);
    case 'failover':
      return api.call('pairs.failover', fencedHost === undefined ? req : { ...req, fencedHost }, options);
    case 'keep-primary':
      return api.call('pairs.keep', { ...req, keep: 'primary' }, options);
    case 'keep-secondary':
      return api.call('pairs.keep', { ...req, keep: 'secondary' }, options);
  }
}

/** A failover's fencing confirmation (the primary host's name; why, when the backend already says so). */
export function failoverFence(action: DestructiveAction, pair: PairInfo, hosts: readonly HostInfo[]): FenceStep | undefined {
  if (action !== 'failover') return undefined;
  return { host: hostName(hosts, pair.primaryHostId), required: fencingReason(pair) };
}

/** "Keep the copy on Simulated host A". */
export function keepLabel(action: 'keep-primary' | 'keep-secondary', pair: PairInfo, hosts: readonly HostInfo[]): string {
  return `Keep the copy on ${hostName(hosts, action === 'keep-primary' ? pair.primaryHostId : pair.secondaryHostId)}`;
}
