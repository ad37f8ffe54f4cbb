// What the protection badge says. vSphere's vocabulary (Protected / Not protected + reason) with COLO's states:
// every state other than protected says why, in a few words; the full sentence goes in the detail.

import type { FailoverEvent, ProtectionReasonCode, ProtectionState } from '../../../core/colo/types.js';

export type Tone = 'ok' | 'info' | 'warn' | 'bad' | 'neutral';

export interface BadgeInfo {
  /** Short text shown in the badge. */
  label: string;
  tone: Tone;
  /** A longer, complete sentence (accessible name, tooltip). */
  detail: string;
}

const WHY: Readonly<Record<ProtectionReasonCode, string>> = {
  'not-started': 'not started',
  'initial-sync': 'initial copy running',
  'secondary-lost': 'secondary lost',
  'primary-lost': 'primary lost',
  'link-broken': 'replication link down',
  'split-brain': 'split brain',
  'checkpoint-stalled': 'checkpoints stalled',
  'checkpoint-overdue': 'checkpoint overdue',
  'guest-frozen': 'guest frozen',
  'slow-checkpoints': 'slow checkpoints',
  'stopped-by-admin': 'stopped by admin',
  'failover-by-admin': 'failed over by admin',
  'stream-error': 'replication stream error',
  'internal-error': 'internal error',
};

export function reasonPhrase(state: ProtectionState): string {
  if (state.reasonCode !== undefined) return WHY[state.reasonCode] ?? state.reasonCode;
  switch (state.state) {
    case 'unprotected':
      return 'not started';
    case 'starting':
      return 'starting';
    case 'stopped':
      return 'stopped';
    case 'error':
      return 'error';
    default:
      return state.state;
  }
}

/** Whole percent of the initial copy, 0…100, or null when the service gave no progress. */
export function syncPercent(state: ProtectionState): number | null {
  const p = state.progress;
  if (p === undefined || !(p.pagesTotal > 0)) return null;
  return Math.max(0, Math.min(100, Math.floor((100 * p.pagesDone) / p.pagesTotal)));
}

export function isSplitBrain(state: ProtectionState, lastFailover?: FailoverEvent | null): boolean {
  return state.reasonCode === 'split-brain' || (state.state === 'failed-over' && lastFailover?.survivor === 'both');
}

export function protectionBadge(state: ProtectionState, lastFailover?: FailoverEvent | null): BadgeInfo {
  const sentence = (fallback: string): string => (state.reason !== undefined && state.reason.trim() !== '' ? state.reason : fallback);
  if (isSplitBrain(state, lastFailover)) {
    return { label: 'Split brain', tone: 'bad', detail: sentence('Split brain: both copies of the VM are running. Keep one of them; the other is destroyed.') };
  }
  switch (state.state) {
    case 'protected':
      return { label: 'Protected', tone: 'ok', detail: sentence('Protected: checkpoints are committing to the secondary.') };
    case 'syncing': {
      const pct = syncPercent(state);
      const p = state.progress;
      const label = pct === null ? 'Syncing' : `Syncing ${pct}%`;
      const detail = p !== undefined && p.pagesTotal > 0
        ? `Not protected yet: initial copy, pass ${p.iteration}, ${p.pagesDone} of ${p.pagesTotal} pages.`
        : 'Not protected yet: initial copy running.';
      return { label, tone: 'info', detail };
    }
    case 'degraded':
      return { label: `Degraded: ${reasonPhrase(state)}`, tone: 'warn', detail: sentence(`Protected, but at risk: ${reasonPhrase(state)}.`) };
    case 'failing-over':
      return { label: 'Failing over', tone: 'warn', detail: sentence('Failing over: a copy is taking over.') };
    case 'failed-over': {
      if (lastFailover?.survivor === 'none') {
        return { label: 'Failed over: no copy running', tone: 'bad', detail: sentence('Failed over, and neither copy is running.') };
      }
      const where = lastFailover !== null && lastFailover !== undefined ? ` to the ${lastFailover.survivor}` : '';
      return { label: 'Failed over', tone: 'warn', detail: sentence(`Failed over${where}; not protected until protection is started again.`) };
    }
    case 'starting':
      return { label: 'Not protected: starting', tone: 'info', detail: sentence('Not protected yet: protection is starting.') };
    case 'error':
      return { label: `Not protected: ${reasonPhrase(state)}`, tone: 'bad', detail: sentence(`Not protected: ${reasonPhrase(state)}.`) };
    case 'unprotected':
    case 'stopped':
    default:
      return { label: `Not protected: ${reasonPhrase(state)}`, tone: 'neutral', detail: sentence(`Not protected: ${reasonPhrase(state)}.`) };
  }
}

export const STATE_LABEL: Readonly<Record<ProtectionState['state'], string>> = {
  unprotected: 'Unprotected',
  starting: 'Starting',
  syncing: 'Syncing',
  protected: 'Protected',
  degraded: 'Degraded',
  'failing-over': 'Failing over',
  'failed-over': 'Failed over',
  stopped: 'Stopped',
  error: 'Error',
};
