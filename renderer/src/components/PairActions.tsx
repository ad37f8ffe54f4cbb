// Start, stop, fail over, drill, checkpoint now, and while split brain keep one copy. What is not allowed in the
// current state is disabled and says why (PairInfo.actions); stop, failover, drill and keep go through the typed
// confirmation. A status line about an action lasts only while the state it produced does: once the state moves
// on ("Protection is starting." then Split brain), the badge and the banner speak, not a stale line.

import { useState } from 'react';
import type { PairAction, PairInfo } from '../../../core/api/console-contract.js';
import { api, errorMessage } from '../api/console-api';
import { type DestructiveAction, describeAction } from '../lib/confirm';
import { formatDowntime, formatDuration } from '../lib/format';
import { acceptPair } from '../store/sync';
import { pushNotice, useConsole } from '../store/store';
import { ConfirmDialog } from './ConfirmDialog';
import { callConfirmed, confirmFacts, failoverFence, keepLabel } from './confirm-support';

const LABEL: Readonly<Record<PairAction, string>> = {
  start: 'Start protection',
  stop: 'Stop protection',
  failover: 'Fail over',
  drill: 'Failover drill',
  checkpoint: 'Checkpoint now',
  'keep-primary': 'Keep the primary copy',
  'keep-secondary': 'Keep the secondary copy',
};

const ORDER: readonly PairAction[] = ['start', 'stop', 'failover', 'drill', 'checkpoint'];
/** Shown only while the service allows them (split brain); the alarm banner offers them too. */
const KEEP: readonly PairAction[] = ['keep-primary', 'keep-secondary'];
const DESTRUCTIVE = new Set<PairAction>(['stop', 'failover', 'drill', 'keep-primary', 'keep-secondary']);

/** A drill fails over and re-protects: it can take as long as an initial copy. */
const DRILL_TIMEOUT_MS = 10 * 60_000;

interface Status {
  kind: 'error' | 'info';
  text: string;
  /** The `since` of the state the action left the pair in; the line goes once the pair's state is newer. */
  stateSince: number;
}

/** An action's status line is shown while the pair is still in the state that line is about. */
function current(status: Status | null, pair: PairInfo): Status | null {
  return status !== null && pair.state.since <= status.stateSince ? status : null;
}

export function PairActions({ pair }: { pair: PairInfo }) {
  const hosts = useConsole((s) => s.hosts);
  const clock = useConsole((s) => s.clock);
  const [confirming, setConfirming] = useState<DestructiveAction | null>(null);
  const [busy, setBusy] = useState<PairAction | null>(null);
  const [status, setStatus] = useState<Status | null>(null);
  const shown = current(status, pair);

  const run = async (action: 'start' | 'checkpoint'): Promise<void> => {
    setBusy(action);
    setStatus(null);
    try {
      const next = await api.call(action === 'start' ? 'pairs.start' : 'pairs.checkpoint', { pairId: pair.id });
      acceptPair(next);
      setStatus({ kind: 'info', text: action === 'start' ? 'Protection is starting.' : 'Checkpoint requested.', stateSince: next.state.since });
    } catch (err) {
      setStatus({ kind: 'error', text: `${LABEL[action]} failed: ${errorMessage(err)}`, stateSince: pair.state.since });
    } finally {
      setBusy(null);
    }
  };

  const confirmed = async (action: DestructiveAction, typed: string, fencedHost?: string): Promise<void> => {
    if (action === 'drill') {
      // The drill runs for a while and shows itself live (state, events); don't hold the dialog open for it.
      setConfirming(null);
      setBusy('drill');
      setStatus({ kind: 'info', text: 'Drill running: failing over, then re-protecting…', stateSince: Infinity });
      try {
        const report = await api.call('pairs.drill', { pairId: pair.id, confirmName: typed }, { timeoutMs: DRILL_TIMEOUT_MS });
        useConsole.setState((s) => ({ drills: { ...s.drills, [pair.id]: report } }));
        const text = `Drill finished: guest downtime ${formatDowntime(report.guestDowntimeMs)}, re-protected in ${formatDuration(report.timeToReprotectMs)}.`;
        setStatus({ kind: 'info', text, stateSince: report.finalState.since });
        pushNotice('info', `${pair.name}: ${text}`);
      } catch (err) {
        setStatus({ kind: 'error', text: `Drill failed: ${errorMessage(err)}`, stateSince: useConsole.getState().pairs[pair.id]?.state.since ?? pair.state.since });
      } finally {
        setBusy(null);
      }
      return;
    }
    // Errors propagate to the dialog, which stays open and shows them.
    const next = await callConfirmed(action, pair, typed, fencedHost);
    acceptPair(next);
    setConfirming(null);
    // A backend may answer once the failover is over (Xen: the secondary runs the guest): then it is done, not requested.
    const failover = next.state.state === 'failed-over' ? 'Failover done.' : 'Failover requested.';
    const text = action === 'stop' ? 'Protection stopped.' : action === 'failover' ? failover : `${keepLabel(action, pair, hosts)}: done.`;
    setStatus({ kind: 'info', text, stateSince: next.state.since });
  };

  return (
    <section className="panel" aria-labelledby={`actions-${pair.id}`}>
      <h2 id={`actions-${pair.id}`}>Actions</h2>
      <div className="actions">
        {[...ORDER, ...KEEP.filter((a) => pair.actions[a]?.allowed === true)].map((action) => {
          const rule = pair.actions[action];
          const allowed = rule?.allowed ?? false;
          const reason = allowed ? undefined : (rule?.reason ?? 'Not available for this pair.');
          const reasonId = `why-${pair.id}-${action}`;
          return (
            <div className="action" key={action}>
              <button
                type="button"
                className={DESTRUCTIVE.has(action) ? 'danger-outline' : action === 'start' ? 'primary' : undefined}
                data-testid={`action-${action}`}
                disabled={!allowed || busy !== null}
                aria-describedby={reason !== undefined ? reasonId : undefined}
                title={reason}
                onClick={() => {
                  if (action === 'start' || action === 'checkpoint') void run(action);
                  else setConfirming(action);
                }}
              >
                {busy === action ? 'Working…' : `${action === 'keep-primary' || action === 'keep-secondary' ? keepLabel(action, pair, hosts) : LABEL[action]}${DESTRUCTIVE.has(action) ? '…' : ''}`}
              </button>
              {reason !== undefined && (
                <span className="why" id={reasonId}>
                  {reason}
                </span>
              )}
            </div>
          );
        })}
      </div>
      <p className={shown?.kind === 'error' ? 'error-text' : 'muted small'} role={shown?.kind === 'error' ? 'alert' : 'status'} data-testid="action-status">
        {shown?.text ?? ''}
      </p>
      {confirming !== null && (
        <ConfirmDialog
          plan={describeAction(confirming, pair, hosts, clock)}
          fence={failoverFence(confirming, pair, hosts)}
          pairName={pair.name}
          facts={confirmFacts(pair, hosts, clock)}
          onCancel={() => setConfirming(null)}
          onConfirm={(typed, fencedHost) => confirmed(confirming, typed, fencedHost)}
        />
      )}
    </section>
  );
}
