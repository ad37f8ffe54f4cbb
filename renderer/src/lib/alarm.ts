// What the console says about a pair in a fault, in one place: the badge that outranks the state (an alarm, or
// "unknown" while the console is disconnected), where the guest runs now, the live pause of an open checkpoint,
// the failover report's headline, and the notices for pairs that left Protected (their words and rule live in
// core/api/pair-alert.ts, shared with the desktop app's native notifications). Pure, so the words are
// unit-tested; host ids never reach the screen, only names.

import type { HostInfo, OpenCheckpointInfo, PairInfo } from '../../../core/api/console-contract.js';
import { type PairAlert, pairAlert } from '../../../core/api/pair-alert.js';

export type { PairAlert };
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

/**
 * When the console lost the service, or null: set when an open connection drops, kept while it is down and after
 * it reopens, cleared only once fresh data arrived (`pairsChanged` with the connection open), so no screen shows a
 * stale state as current in between.
 */
export function nextDisconnectedSince(
  current: number | null,
  prevPhase: string,
  phase: string,
  pairsChanged: boolean,
  now: number,
): number | null {
  if (phase !== 'open' && prevPhase === 'open') return current ?? now;
  if (phase === 'open' && pairsChanged) return null;
  return current;
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

/** "(2) ⚠ COLO Console" while pairs need attention. */
export function titleWithAlerts(title: string, alerts: number): string {
  return alerts > 0 ? `(${alerts}) ⚠ ${title}` : title;
}

/**
 * The pairs folded into the alert list (words and the rule: core/api/pair-alert.ts, shared with the desktop app's
 * native notifications). `raised`: alerts new or for a different situation, for a desktop notification; `cleared`:
 * pairs that need nobody now, whose dismissal no longer applies. `dismissedKey`: the situation the admin dismissed
 * for that pair, if any; the same one stays dismissed, a new one is raised again.
 */
export function nextAlerts(
  alerts: readonly PairAlert[],
  pairs: readonly PairInfo[],
  hosts: readonly HostInfo[],
  dismissedKey: (pairId: string) => string | undefined,
): { alerts: readonly PairAlert[]; raised: PairAlert[]; cleared: string[] } {
  const out: PairAlert[] = [];
  const raised: PairAlert[] = [];
  const cleared: string[] = [];
  for (const p of pairs) {
    const a = pairAlert(p, hosts);
    if (a === null) {
      if (dismissedKey(p.id) !== undefined) cleared.push(p.id);
      continue;
    }
    if (dismissedKey(p.id) === a.key) continue;
    out.push(a);
    if (alerts.find((x) => x.pairId === p.id)?.key !== a.key) raised.push(a);
  }
  const same = out.length === alerts.length && out.every((a, i) => a.key === alerts[i]!.key && a.body === alerts[i]!.body && a.title === alerts[i]!.title);
  return { alerts: same ? alerts : out, raised, cleared };
}
