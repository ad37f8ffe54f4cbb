// The failover panel: where the pair is in the protection state machine, the last failover as a timeline
// (detection → survivor running), the guest's downtime, and the last drill's report.

import { Fragment } from 'react';
import type { HostInfo, PairEvent, PairInfo } from '../../../core/api/console-contract.js';
import type { FailoverEvent } from '../../../core/colo/types.js';
import { formatClock, formatDateTime, formatDowntime, formatDuration } from '../lib/format';
import { failoverReport, hostName } from '../lib/alarm';
import { STATE_LABEL } from '../lib/protection';
import { eventsNewestFirst, peekLive } from '../store/live';
import { useConsole, useLiveValue } from '../store/store';

const FLOW: readonly PairInfo['state']['state'][] = ['unprotected', 'starting', 'syncing', 'protected', 'degraded', 'failing-over', 'failed-over'];
const SIDE_STATES: readonly PairInfo['state']['state'][] = ['stopped', 'error'];

interface TimelineItem {
  key: string;
  at: number;
  text: string;
  tone?: 'ok' | 'bad';
}

/** A cause as one sentence: backends end theirs with a full stop or not; never two. */
function sentence(text: string): string {
  const t = text.trimEnd();
  return /[.!?]$/.test(t) ? t : `${t}.`;
}

/** Detection, the pair's own events around it, and the moment the survivor ran again, in time order. */
function failoverTimeline(fo: FailoverEvent, events: readonly PairEvent[], survivorOn: string): TimelineItem[] {
  const items: TimelineItem[] = [
    { key: 'detected', at: fo.at, text: `Detected by the ${fo.detectedBy}: ${sentence(fo.cause)} Last complete checkpoint on the survivor: #${fo.lastCheckpointSeq}.`, tone: 'bad' },
  ];
  // Oldest first, at most ten, so the list ends with the outcome.
  for (const e of [...events].reverse()) {
    if (items.length > 10) break;
    // The service's own 'failover' event says what the detection line already says; it is logged when the backend
    // reports the failover, which may be the survivor's start rather than the detection (Xen: b's xl list).
    if (e.at < fo.at - 3_000 || e.at > fo.at + 30_000 || e.kind === 'failover') continue;
    items.push({ key: `e${e.seq}`, at: e.at, text: e.message });
  }
  const survivorText =
    fo.survivor === 'none'
      ? 'No copy of the guest is running.'
      : fo.survivor === 'both'
        ? 'Both copies are running (split brain).'
        : fo.survivor === 'primary'
          ? `The guest kept running on ${survivorOn}${fo.outputHeldMs !== undefined ? `; its output was released after ${formatDowntime(fo.outputHeldMs)}` : ''}.`
          : `The guest runs on ${survivorOn}, ${formatDowntime(fo.guestDowntimeMs)} after detection.`;
  items.push({ key: 'survivor', at: fo.at + (fo.survivor === 'primary' ? (fo.outputHeldMs ?? 0) : fo.guestDowntimeMs), text: survivorText, tone: fo.survivor === 'primary' || fo.survivor === 'secondary' ? 'ok' : 'bad' });
  // Stable: at equal times the detection stays first and the survivor line last.
  return items
    .map((item, i) => ({ item, i }))
    .sort((a, b) => a.item.at - b.item.at || a.i - b.i)
    .map(({ item }) => item);
}

/** The host the survivor runs on now, by name. */
function survivorOn(fo: FailoverEvent, pair: PairInfo, hosts: readonly HostInfo[]): string {
  if (pair.runningOn !== null && pair.runningOn.length === 1) return hostName(hosts, pair.runningOn[0]);
  return hostName(hosts, fo.survivor === 'secondary' ? pair.secondaryHostId : pair.primaryHostId);
}

export function FailoverPanel({ pair }: { pair: PairInfo }) {
  const drill = useConsole((s) => s.drills[pair.id]);
  const hosts = useConsole((s) => s.hosts);
  useLiveValue(() => peekLive(pair.id)?.eventsVersion ?? 0);
  const fo = pair.lastFailover;
  const current = pair.state.state;
  const timeline = fo === null ? [] : failoverTimeline(fo, eventsNewestFirst(pair.id), survivorOn(fo, pair, hosts));
  const report = fo === null ? null : failoverReport(fo, pair, hosts);

  return (
    <section className="panel" aria-labelledby={`fo-${pair.id}`} data-testid="failover-panel">
      <h2 id={`fo-${pair.id}`}>Failover</h2>
      <h3>State machine</h3>
      <ol className="states" aria-label="Protection states">
        {FLOW.map((s, i) => (
          <Fragment key={s}>
            {i > 0 && (
              <li className="arrow" aria-hidden="true">
                {s === 'degraded' ? '⇄' : '→'}
              </li>
            )}
            <li aria-current={s === current ? 'step' : undefined}>{STATE_LABEL[s]}</li>
          </Fragment>
        ))}
        <li className="arrow" aria-hidden="true">
          ·
        </li>
        {SIDE_STATES.map((s) => (
          <li key={s} aria-current={s === current ? 'step' : undefined}>
            {STATE_LABEL[s]}
          </li>
        ))}
      </ol>
      <p className="small muted">
        Now: <b>{STATE_LABEL[current]}</b> since {formatDateTime(pair.state.since)}
        {pair.state.reason !== undefined ? ` · ${pair.state.reason}` : ''}
      </p>

      <h3>Last failover</h3>
      {fo === null ? (
        <p className="muted">No failover yet.</p>
      ) : (
        <>
          <p data-testid="failover-headline">
            <b>{report!.headline}</b>
          </p>
          {report!.measure !== null && (
            <div className="row" style={{ alignItems: 'baseline' }}>
              <span>{report!.measure.label}</span>
              <span className="big-number" data-testid={report!.measure.testId}>
                {formatDowntime(report!.measure.ms)}
              </span>
              <span className="tag measured" title="Timed by the service on a monotonic clock">
                measured
              </span>
            </div>
          )}
          {report!.detail !== null && (
            <p className="small muted" data-testid="failover-detail">
              Hypervisor’s words: {report!.detail}
            </p>
          )}
          <ol className="fo-timeline" aria-label="Last failover, in order">
            {timeline.map((item) => (
              <li key={item.key} className={item.tone}>
                <time className="mono">{formatClock(item.at)}</time> {item.text}
              </li>
            ))}
          </ol>
        </>
      )}

      {drill !== undefined && (
        <>
          <h3>Last drill</h3>
          <dl className="facts" data-testid="drill-report">
            <dt>Guest downtime</dt>
            <dd>{formatDowntime(drill.guestDowntimeMs)}</dd>
            <dt>Time to re-protect</dt>
            <dd>{formatDuration(drill.timeToReprotectMs)}</dd>
            <dt>Survivor</dt>
            <dd>{drill.failover.survivor === 'primary' || drill.failover.survivor === 'secondary' ? `the ${drill.failover.survivor}` : drill.failover.survivor}</dd>
            <dt>Ended in</dt>
            <dd>{STATE_LABEL[drill.finalState.state]}</dd>
          </dl>
        </>
      )}
    </section>
  );
}
