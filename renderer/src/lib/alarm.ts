// What the console says about a pair in a fault, in one place: the badge that outranks the state (an alarm, or
// "unknown" while the console is disconnected), where the guest runs now, the live pause of an open checkpoint,
// the failover report's headline, and the notice raised when a pair leaves Protected. Pure, so the words are
// unit-tested; host ids never reach the screen, only names.

import type { HostInfo, OpenCheckpointInfo, PairInfo } from '../../../core/api/console-contract.js';
import type { FailoverEvent } from '../../../core/colo/types.js';
import { formatClock, formatDowntime } from './format';
import { type BadgeInfo, protectionBadge } from './protection';

/** "hh:mm:ss", local time, for "disconnected since". */
export function clockSeconds(epochMs: number): string {
  return formatClock(epochMs).slice(0, 8);
}

export function disconnectedText(since: number): string {
  return `unknown (console disconnected since ${clockSeconds(since)})`;
}

/** A host's name; a host the console does not list is still not shown by its id. */
export function hostName(hosts: readonly HostInfo[], id: string | undefined): string {
  if (id === undefined) return 'an unknown host';
  return hosts.find((h) => h.id === id)?.name ?? 'an unlisted host';
}

export type BadgePair = Pick<PairInfo, 'state' | 'lastFailover' | 'alarm'>;

/** The badge: "unknown" while disconnected, else the alarm (it outranks every state), else the state. */
export function pairBadge(pair: BadgePair, disconnectedSince: number | null): BadgeInfo & { key: string } {
  if (disconnectedSince !== null) {
    const text = disconnectedText(disconnectedSince);
    return { label: text, tone: 'neutral', detail: `State ${text}: the screens show the last data received.`, key: 'unknown' };
  }
  if (pair.alarm?.kind === 'guest-frozen') return { label: 'Guest frozen', tone: 'bad', detail: pair.alarm.headline, key: pair.state.state };
  if (pair.alarm?.kind === 'split-brain') return { label: 'Split brain', tone: 'bad', detail: pair.alarm.headline, key: pair.state.state };
  return { ...protectionBadge(pair.state, pair.lastFailover), key: pair.state.state };
}

/**
 * How long the primary has been paused in the open checkpoint, as of `now` (the store's 1 Hz clock): never less
 * than the service's own figure, so a client clock behind the service's does not shrink it.
 */
export function livePauseMs(open: OpenCheckpointInfo | null, now: number): number | null {
  if (open === null) return null;
  return Math.max(open.pausedMs, now - open.startedAt);
}

/**
 * The open pause worth showing: a checkpoint is open for a few milliseconds many times a second on a healthy pair,
 * so only once the service has moved the pair out of Protected for it (overdue, frozen) or it has passed a second.
 */
export function visiblePauseMs(pair: Pick<PairInfo, 'openCheckpoint' | 'state' | 'alarm'>, now: number): number | null {
  const ms = livePauseMs(pair.openCheckpoint, now);
  if (ms === null) return null;
  if (pair.alarm?.kind === 'guest-frozen' || pair.state.state !== 'protected' || ms >= 1000) return ms;
  return null;
}

/** The other host of the pair: the one not running the guest. */
function otherHost(pair: Pick<PairInfo, 'primaryHostId' | 'secondaryHostId'>, id: string): string {
  return id === pair.primaryHostId ? pair.secondaryHostId : pair.primaryHostId;
}

/** "Runs on X, protected by Y" / "Runs on X, unprotected" / "Runs on X and Y — split brain". */
export function whereRuns(pair: Pick<PairInfo, 'runningOn' | 'state' | 'primaryHostId' | 'secondaryHostId' | 'alarm'>, hosts: readonly HostInfo[]): string {
  const on = pair.runningOn;
  if (on === null) return 'Where the guest runs is not known';
  if (on.length === 0) return 'The guest runs on no host';
  if (on.length >= 2) return `Runs on ${hostName(hosts, on[0])} and ${hostName(hosts, on[1])} — split brain`;
  const here = on[0]!;
  const other = hostName(hosts, otherHost(pair, here));
  switch (pair.state.state) {
    case 'protected':
      return `Runs on ${hostName(hosts, here)}, protected by ${other}`;
    case 'degraded':
      return `Runs on ${hostName(hosts, here)}, protection by ${other} at risk`;
    case 'starting':
    case 'syncing':
      return `Runs on ${hostName(hosts, here)}, being copied to ${other}`;
    default:
      return `Runs on ${hostName(hosts, here)}, unprotected`;
  }
}

export interface FailoverReport {
  headline: string;
  /** Which figure fits the fault: the guest's downtime (it moved), or how long its output was held (it stayed). */
  measure: { label: string; ms: number; testId: 'guest-downtime' | 'output-held' } | null;
  /** What the hypervisor said, for the detail line; never the headline. */
  detail: string | null;
}

/** The host the survivor runs on now: runningOn when it names one host, else the survivor's role at the time. */
function survivorHost(fo: FailoverEvent, pair: Pick<PairInfo, 'runningOn' | 'primaryHostId' | 'secondaryHostId'>, hosts: readonly HostInfo[]): string {
  if (pair.runningOn !== null && pair.runningOn.length === 1) return hostName(hosts, pair.runningOn[0]);
  return hostName(hosts, fo.survivor === 'secondary' ? pair.secondaryHostId : pair.primaryHostId);
}

export function failoverReport(fo: FailoverEvent, pair: Pick<PairInfo, 'name' | 'runningOn' | 'primaryHostId' | 'secondaryHostId'>, hosts: readonly HostInfo[]): FailoverReport {
  const detail = fo.detail !== undefined && fo.detail.trim() !== '' ? fo.detail : null;
  switch (fo.survivor) {
    case 'primary': {
      const held = fo.outputHeldMs;
      const heldText = held === undefined ? 'for a time the hypervisor did not report' : formatDowntime(held);
      return {
        headline: `The guest kept running on ${survivorHost(fo, pair, hosts)}; its output was held ${heldText}; it is now unprotected.`,
        measure: held === undefined ? null : { label: 'Output held', ms: held, testId: 'output-held' },
        detail,
      };
    }
    case 'secondary':
      return {
        headline: `${pair.name} now runs on ${survivorHost(fo, pair, hosts)}; it was down ${formatDowntime(fo.guestDowntimeMs)}.`,
        measure: { label: 'Guest downtime', ms: fo.guestDowntimeMs, testId: 'guest-downtime' },
        detail,
      };
    case 'both': {
      const on = pair.runningOn ?? [pair.primaryHostId, pair.secondaryHostId];
      return {
        headline: `Both copies of ${pair.name} are running, on ${hostName(hosts, on[0])} and ${hostName(hosts, on[1])}: split brain.`,
        measure: null,
        detail,
      };
    }
    case 'none':
      return { headline: `No copy of ${pair.name} is running.`, measure: null, detail };
  }
}

/** The checkpoint the kept side last shared with the other: what a discarded copy's writes are counted from. */
export function splitCheckpoint(pair: Pick<PairInfo, 'lastFailover' | 'stats'>): number | null {
  return pair.lastFailover?.lastCheckpointSeq ?? pair.stats.lastSeq;
}

export interface PairAlert {
  pairId: string;
  /** Which VM and what happened. */
  title: string;
  /** Where it runs now. */
  body: string;
  /** Changes when what happened changes: a desktop notification is raised again only then. */
  key: string;
}

/** The notice for a pair that is not protected: which VM, what happened, where it runs now. */
export function pairAlert(pair: PairInfo, hosts: readonly HostInfo[]): PairAlert {
  const b = pairBadge(pair, null);
  const what = pair.alarm?.headline ?? b.detail;
  return {
    pairId: pair.id,
    title: `${pair.name}: ${b.label}`,
    body: `${what.replace(/\.?$/, '.')} ${whereRuns(pair, hosts)}.`,
    key: `${pair.state.state}|${pair.state.reasonCode ?? ''}|${pair.alarm?.kind ?? ''}`,
  };
}

/** States an admin asked for (stop, failover, a drill's failover): the admin who asked knows; no alert for them. */
const REQUESTED: ReadonlySet<string> = new Set(['stopped-by-admin', 'failover-by-admin']);

function requestedByAdmin(p: Pick<PairInfo, 'state'>): boolean {
  return p.state.state === 'stopped' || REQUESTED.has(p.state.reasonCode ?? '');
}

/** Raise a notice: the pair left Protected (was protected, now is not) by a fault, or it carries an alarm. */
export function raisesAlert(prev: Pick<PairInfo, 'state'> | undefined, next: Pick<PairInfo, 'state' | 'alarm'>): boolean {
  if (next.alarm !== null) return true;
  if (requestedByAdmin(next)) return false;
  return prev !== undefined && prev.state.state === 'protected' && next.state.state !== 'protected';
}

/** "(2) ⚠ COLO Console" while pairs need attention. */
export function titleWithAlerts(title: string, alerts: number): string {
  return alerts > 0 ? `(${alerts}) ⚠ ${title}` : title;
}

function upsert(alerts: readonly PairAlert[], next: PairAlert): readonly PairAlert[] {
  const i = alerts.findIndex((a) => a.pairId === next.pairId);
  if (i < 0) return [...alerts, next];
  const copy = alerts.slice();
  copy[i] = next;
  return copy;
}

/**
 * The pairs' changes folded into the alert list: raised when a pair leaves Protected or carries an alarm, updated
 * while it stays out, cleared when it is protected again or the admin stopped it (`cleared`: pairs whose dismissal no longer applies).
 * `raised`: alerts new or with a different fault, for a desktop notification. `dismissedKey`: the key the admin
 * dismissed for that pair, if any; the same fault stays dismissed, a different one is raised again.
 */
export function nextAlerts(
  alerts: readonly PairAlert[],
  prev: Readonly<Record<string, PairInfo>>,
  pairs: Readonly<Record<string, PairInfo>>,
  hosts: readonly HostInfo[],
  dismissedKey: (pairId: string) => string | undefined,
): { alerts: readonly PairAlert[]; raised: PairAlert[]; cleared: string[] } {
  let out = alerts;
  const raised: PairAlert[] = [];
  const cleared: string[] = [];
  for (const id of Object.keys(pairs)) {
    const p = pairs[id]!;
    const existing = out.find((a) => a.pairId === id);
    // Protected again, or put by the admin in a state they asked for (stopped a frozen guest, for one): cleared.
    if (p.alarm === null && (p.state.state === 'protected' || requestedByAdmin(p))) {
      if (existing !== undefined) out = out.filter((a) => a.pairId !== id);
      if (dismissedKey(id) !== undefined) cleared.push(id);
      continue;
    }
    const before = prev[id];
    const d = dismissedKey(id);
    if (existing === undefined && d === undefined && !raisesAlert(before, p)) continue;
    const a = pairAlert(p, hosts);
    if (existing !== undefined && existing.key === a.key && existing.body === a.body) continue;
    if (d === a.key) continue;
    out = upsert(out, a);
    if (existing?.key !== a.key) raised.push(a);
  }
  // A pair that went away takes its alert with it.
  if (out.some((a) => pairs[a.pairId] === undefined)) out = out.filter((a) => pairs[a.pairId] !== undefined);
  return { alerts: out, raised, cleared };
}
