// The top of the pair view (issue 7 §3): the loudest thing about the pair, above the fold, with its way out right
// there. Guest frozen: the live pause and "Stop protection". Split brain: "Keep the copy on A" / "… on B". After a
// failover that left the pair unprotected: what happened, in the measure that fits the fault.

import { useState } from 'react';
import type { PairAction, PairInfo } from '../../../core/api/console-contract.js';
import { failoverReport, livePauseMs } from '../lib/alarm';
import { describeAction } from '../lib/confirm';
import { formatClock, formatDowntime, formatMs } from '../lib/format';
import { acceptPair } from '../store/sync';
import { useConsole } from '../store/store';
import { ConfirmDialog } from './ConfirmDialog';
import { callConfirmed, confirmFacts, failoverFence, keepLabel } from './confirm-support';

type BannerAction = 'stop' | 'keep-primary' | 'keep-secondary';

/** A failover report belongs at the top while the pair is still in the state that failover left it in. */
function failoverIsCurrent(pair: PairInfo): boolean {
  const fo = pair.lastFailover;
  if (fo === null || pair.state.state === 'protected' || pair.state.state === 'syncing' || pair.state.state === 'starting') return false;
  return fo.at >= pair.state.since - 60_000;
}

function ActionButton({ pair, action, label, onClick }: { pair: PairInfo; action: PairAction; label: string; onClick: () => void }) {
  const rule = pair.actions[action];
  const allowed = rule?.allowed ?? false;
  return (
    <span className="action">
      <button type="button" className="danger" data-testid={`alarm-${action}`} disabled={!allowed} title={allowed ? undefined : rule?.reason} onClick={onClick}>
        {label}…
      </button>
      {!allowed && rule?.reason !== undefined && <span className="why">{rule.reason}</span>}
    </span>
  );
}

export function AlarmBanner({ pair }: { pair: PairInfo }) {
  const hosts = useConsole((s) => s.hosts);
  const clock = useConsole((s) => s.clock);
  const [confirming, setConfirming] = useState<BannerAction | null>(null);
  const alarm = pair.alarm;

  const dialog =
    confirming === null ? null : (
      <ConfirmDialog
        plan={describeAction(confirming, pair, hosts, clock)}
        fence={failoverFence(confirming, pair, hosts)}
        pairName={pair.name}
        facts={confirmFacts(pair, hosts, clock)}
        onCancel={() => setConfirming(null)}
        onConfirm={async (typed, fencedHost) => {
          acceptPair(await callConfirmed(confirming, pair, typed, fencedHost));
          setConfirming(null);
        }}
      />
    );

  if (alarm?.kind === 'guest-frozen') {
    const paused = livePauseMs(pair.openCheckpoint, clock);
    const open = pair.openCheckpoint;
    return (
      <section className="banner bad alarm-banner" role="alert" data-testid="alarm-banner" data-kind={alarm.kind} aria-label="Alarm: guest frozen">
        <div>
          <strong data-testid="alarm-headline">{alarm.headline}</strong>
          {paused !== null && open !== null && (
            <p data-testid="alarm-pause">
              The primary has been paused <b>{formatMs(paused)}</b> in checkpoint #{open.seq} (since {formatClock(open.startedAt)}) and the pause is still growing.
            </p>
          )}
          <p className="small">{alarm.detail}</p>
        </div>
        <div className="alarm-actions">
          <ActionButton pair={pair} action="stop" label="Stop protection" onClick={() => setConfirming('stop')} />
          <span className="small">Destroys the secondary’s copy; the primary resumes, unprotected.</span>
        </div>
        {dialog}
      </section>
    );
  }

  if (alarm?.kind === 'split-brain') {
    return (
      <section className="banner bad alarm-banner" role="alert" data-testid="alarm-banner" data-kind={alarm.kind} aria-label="Alarm: split brain">
        <div>
          <strong data-testid="alarm-headline">{alarm.headline}</strong>
          <p className="small">{alarm.detail}</p>
        </div>
        <div className="alarm-actions">
          <ActionButton pair={pair} action="keep-primary" label={keepLabel('keep-primary', pair, hosts)} onClick={() => setConfirming('keep-primary')} />
          <ActionButton pair={pair} action="keep-secondary" label={keepLabel('keep-secondary', pair, hosts)} onClick={() => setConfirming('keep-secondary')} />
        </div>
        {dialog}
      </section>
    );
  }

  if (failoverIsCurrent(pair)) {
    const r = failoverReport(pair.lastFailover!, pair, hosts);
    return (
      <section className="banner warn alarm-banner" role="status" data-testid="failover-banner" aria-label="Last failover">
        <div>
          <strong data-testid="failover-banner-headline">{r.headline}</strong>
          {r.measure !== null && (
            <p className="small">
              {r.measure.label}: <b>{formatDowntime(r.measure.ms)}</b>, measured.
            </p>
          )}
          {r.detail !== null && <p className="small muted">Hypervisor: {r.detail}</p>}
        </div>
      </section>
    );
  }
  return null;
}
