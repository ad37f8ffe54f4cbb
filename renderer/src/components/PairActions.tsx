// Start, stop, fail over, drill, checkpoint now. What is not allowed in the current state is disabled and says
// why (PairInfo.actions); stop, failover and drill go through the typed confirmation.

import { useState } from 'react';
import type { PairAction, PairInfo } from '../../../core/api/console-contract.js';
import { api, errorMessage } from '../api/console-api';
import { type DestructiveAction, describeAction } from '../lib/confirm';
import { formatAge, formatDowntime, formatDuration } from '../lib/format';
import { acceptPair } from '../store/sync';
import { pushNotice, useConsole } from '../store/store';
import { ConfirmDialog, type Fact } from './ConfirmDialog';
import { ProtectionBadge } from './ProtectionBadge';

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
const DESTRUCTIVE = new Set<PairAction>(['stop', 'failover', 'drill']);

/** A drill fails over and re-protects: it can take as long as an initial copy. */
const DRILL_TIMEOUT_MS = 10 * 60_000;
const FAILOVER_TIMEOUT_MS = 60_000;

export function PairActions({ pair }: { pair: PairInfo }) {
  const hosts = useConsole((s) => s.hosts);
  const clock = useConsole((s) => s.clock);
  const [confirming, setConfirming] = useState<DestructiveAction | null>(null);
  const [busy, setBusy] = useState<PairAction | null>(null);
  const [status, setStatus] = useState<{ kind: 'error' | 'info'; text: string } | null>(null);

  const run = async (action: 'start' | 'checkpoint'): Promise<void> => {
    setBusy(action);
    setStatus(null);
    try {
      const next = await api.call(action === 'start' ? 'pairs.start' : 'pairs.checkpoint', { pairId: pair.id });
      acceptPair(next);
      setStatus({ kind: 'info', text: action === 'start' ? 'Protection is starting.' : 'Checkpoint requested.' });
    } catch (err) {
      setStatus({ kind: 'error', text: `${LABEL[action]} failed: ${errorMessage(err)}` });
    } finally {
      setBusy(null);
    }
  };

  const confirmed = async (action: DestructiveAction, typed: string): Promise<void> => {
    if (action === 'drill') {
      // The drill runs for a while and shows itself live (state, events); don't hold the dialog open for it.
      setConfirming(null);
      setBusy('drill');
      setStatus({ kind: 'info', text: 'Drill running: failing over, then re-protecting…' });
      try {
        const report = await api.call('pairs.drill', { pairId: pair.id, confirmName: typed }, { timeoutMs: DRILL_TIMEOUT_MS });
        useConsole.setState((s) => ({ drills: { ...s.drills, [pair.id]: report } }));
        const text = `Drill finished: guest downtime ${formatDowntime(report.guestDowntimeMs)}, re-protected in ${formatDuration(report.timeToReprotectMs)}.`;
        setStatus({ kind: 'info', text });
        pushNotice('info', `${pair.name}: ${text}`);
      } catch (err) {
        setStatus({ kind: 'error', text: `Drill failed: ${errorMessage(err)}` });
      } finally {
        setBusy(null);
      }
      return;
    }
    // Errors propagate to the dialog, which stays open and shows them.
    const next = await api.call(action === 'stop' ? 'pairs.stop' : 'pairs.failover', { pairId: pair.id, confirmName: typed }, { timeoutMs: FAILOVER_TIMEOUT_MS });
    acceptPair(next);
    setConfirming(null);
    setStatus({ kind: 'info', text: action === 'stop' ? 'Protection stopped.' : 'Failover requested.' });
  };

  const host = (id: string) => hosts.find((h) => h.id === id);
  const facts = (): Fact[] => {
    const primary = host(pair.primaryHostId);
    const secondary = host(pair.secondaryHostId);
    return [
      { label: 'Protection', value: <ProtectionBadge state={pair.state} lastFailover={pair.lastFailover} testId={null} /> },
      { label: 'In this state', value: `for ${formatDuration(Math.max(0, clock - pair.state.since))}` },
      {
        label: 'Last checkpoint',
        value: pair.stats.lastSeq === null ? 'none yet' : `#${pair.stats.lastSeq}, ${formatAge(pair.stats.lastCheckpointAt, clock)}`,
      },
      { label: 'Mode', value: pair.mode === 'colo' ? 'COLO' : 'Remus' },
      { label: 'Primary host', value: primary ? `${primary.name}: ${primary.status}` : pair.primaryHostId },
      { label: 'Secondary host', value: secondary ? `${secondary.name}: ${secondary.status}` : pair.secondaryHostId },
    ];
  };

  return (
    <section className="panel" aria-labelledby={`actions-${pair.id}`}>
      <h2 id={`actions-${pair.id}`}>Actions</h2>
      <div className="actions">
        {ORDER.map((action) => {
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
                  else if (action === 'stop' || action === 'failover' || action === 'drill') setConfirming(action);
                }}
              >
                {busy === action ? 'Working…' : `${LABEL[action]}${DESTRUCTIVE.has(action) ? '…' : ''}`}
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
      <p className={status?.kind === 'error' ? 'error-text' : 'muted small'} role={status?.kind === 'error' ? 'alert' : 'status'}>
        {status?.text ?? ''}
      </p>
      {confirming !== null && (
        <ConfirmDialog
          plan={describeAction(confirming, pair, hosts)}
          pairName={pair.name}
          facts={facts()}
          onCancel={() => setConfirming(null)}
          onConfirm={(typed) => confirmed(confirming, typed)}
        />
      )}
    </section>
  );
}
