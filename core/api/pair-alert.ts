// When a pair deserves the admin's attention wherever they are, and what to tell them: which VM, what happened,
// where it runs now (issue 7 §4). Pure, so that the desktop app's native notifications (electron/) and the
// page's own notices and browser notifications (renderer/) say the same words.

import type { HostInfo, PairInfo } from './console-contract.js';

export interface PairAlert {
  pairId: string;
  /** Changes when the situation changes, so a notifier raises each situation once. */
  key: string;
  title: string;
  body: string;
}

/** States in which a pair needs nobody: protected, or on its way there, or deliberately off. */
const QUIET = new Set(['protected', 'starting', 'syncing']);
/** States in which the one running copy has no replica. */
const UNPROTECTED = new Set(['unprotected', 'failed-over', 'stopped', 'error']);

/**
 * The alert for `pair` now, or null when it is protected (or starting, or stopped by the admin, or never started).
 * Alarms outrank states.
 */
export function pairAlert(pair: PairInfo, hosts: readonly Pick<HostInfo, 'id' | 'name'>[]): PairAlert | null {
  const s = pair.state;
  if (pair.alarm === null) {
    if (QUIET.has(s.state)) return null;
    // What the admin did on purpose is no alarm; a failover is (the guest is unprotected on another host now).
    if (s.reasonCode === 'stopped-by-admin' || s.reasonCode === 'not-started') return null;
  }
  const name = (id: string): string => hosts.find((h) => h.id === id)?.name ?? id;
  // The split-brain headline already names both hosts.
  const where = pair.alarm?.kind === 'split-brain'
    ? ''
    : pair.runningOn === null
    ? 'Where it runs now is not known.'
    : pair.runningOn.length === 0
      ? 'No copy of it is running.'
      : `It runs on ${pair.runningOn.map(name).join(' and ')}${pair.runningOn.length === 1 && UNPROTECTED.has(s.state) ? ', unprotected' : ''}.`;
  const what = pair.alarm !== null
    ? pair.alarm.headline
    : `${pair.name}: ${s.state}${s.reason ? `. ${s.reason}` : ''}`;
  const title = pair.alarm?.kind === 'split-brain'
    ? `Split brain: ${pair.name}`
    : pair.alarm?.kind === 'guest-frozen'
      ? `Guest frozen: ${pair.name}`
      : `${pair.name} is ${s.state === 'failed-over' ? 'failed over' : s.state === 'degraded' ? 'degraded' : 'not protected'}`;
  return {
    pairId: pair.id,
    key: `${pair.alarm?.kind ?? s.state}:${s.reasonCode ?? ''}:${pair.alarm?.since ?? s.since}`,
    title,
    body: `${what}${where ? ` ${where}` : ''}`.slice(0, 600),
  };
}
