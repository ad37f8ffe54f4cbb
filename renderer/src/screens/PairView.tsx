// One pair: protection state, actions, the live phase timeline, latency and size charts with their window,
// triggers by cause, initial-sync progress, the failover panel and the event log; the demo panel for simulated
// pairs.

import { useEffect } from 'react';
import type { PairInfo } from '../../../core/api/console-contract.js';
import { AlarmBanner } from '../components/AlarmBanner';
import { CycleCharts } from '../components/CycleCharts';
import { DemoPanel } from '../components/DemoPanel';
import { DemoResults } from '../components/DemoResults';
import { EventLog } from '../components/EventLog';
import { ExportButtons } from '../components/ExportButtons';
import { FailoverPanel } from '../components/FailoverPanel';
import { OutputCompare } from '../components/OutputCompare';
import { PairActions } from '../components/PairActions';
import { PhaseTimeline } from '../components/PhaseTimeline';
import { ProtectionBadge } from '../components/ProtectionBadge';
import { QemuPanel } from '../components/QemuPanel';
import { RemovePair } from '../components/RemovePair';
import { SyncProgress } from '../components/SyncProgress';
import { formatAge, formatCount, formatMs } from '../lib/format';
import { disconnectedText, pairBadge, visiblePauseMs, whereRuns } from '../lib/alarm';
import { qemuFigures } from '../lib/qemu';
import { useAlerts } from '../store/alerts';
import { backfill, loadEvents, peekLive } from '../store/live';
import { PROVENANCE_DERIVED } from '../store/ring';
import { useConsole, useLiveValue } from '../store/store';

function Metric({ label, value, tag, testId }: { label: string; value: string; tag?: 'derived' | 'measured'; testId?: string }) {
  return (
    <div className="metric" data-testid={testId}>
      <div className="label">
        {label}
        {tag !== undefined && <span className={`tag ${tag}`}>{tag}</span>}
      </div>
      <div className="value">{value}</div>
    </div>
  );
}

function Metrics({ pair }: { pair: PairInfo }) {
  const now = useConsole((s) => s.clock);
  const st = pair.stats;
  const lastProvenance = useLiveValue(() => {
    const r = peekLive(pair.id)?.ring;
    return r === undefined || r.length === 0 ? null : r.provenance[r.slot(r.length - 1)] === PROVENANCE_DERIVED ? 'derived' : 'measured';
  });
  const dropped = useLiveValue(() => peekLive(pair.id)?.cyclesDropped ?? 0);
  return (
    <>
      <div className="metrics" aria-label="Key figures">
        <Metric label="Last checkpoint" value={st.lastCheckpointAt === null ? 'none yet' : `${formatAge(st.lastCheckpointAt, now)}${st.lastSeq !== null ? ` · #${st.lastSeq}` : ''}`} testId="metric-last-checkpoint" />
        <Metric label="Primary pause p50 (1 min)" value={formatMs(st.pausePrimaryP50Ms)} tag="derived" />
        <Metric label="Primary pause p99 (1 min)" value={formatMs(st.pausePrimaryP99Ms)} tag="derived" testId="metric-p99" />
        <Metric label="Primary pause max (1 min)" value={formatMs(st.pausePrimaryMaxMs)} tag="derived" testId="metric-max" />
        <Metric label="Checkpoints / min" value={formatCount(st.checkpointsPerMinute, st.checkpointsPerMinute < 10 ? 1 : 0)} tag="derived" />
        <Metric label="Cycle timings" value={lastProvenance === null ? '—' : lastProvenance === 'measured' ? 'Measured' : 'Derived'} tag={lastProvenance ?? undefined} testId="metric-cycle-timings" />
      </div>
      <p className="panel-note">
        Derived figures are computed from the measured cycles; a cycle is “derived” when the backend could not time every phase itself.
      </p>
      {dropped > 0 && (
        <p className="banner warn" role="status" style={{ margin: '0.5rem 0' }}>
          {formatCount(dropped)} cycle event(s) did not reach this window (the service’s queue overflowed); charts have gaps there.
        </p>
      )}
    </>
  );
}

export function PairView({ id }: { id: string }) {
  const pair = useConsole((s) => s.pairs[id]);
  const loaded = useConsole((s) => s.pairsLoaded);
  const hosts = useConsole((s) => s.hosts);
  const phase = useConsole((s) => s.connection.phase);
  const clock = useConsole((s) => s.clock);
  const disconnectedSince = useAlerts((s) => s.disconnectedSince);
  const exists = pair !== undefined;

  useEffect(() => {
    if (!exists || phase !== 'open') return;
    const cpm = useConsole.getState().pairs[id]?.stats.checkpointsPerMinute ?? 0;
    void backfill(id, cpm);
    void loadEvents(id);
  }, [id, exists, phase]);

  if (pair === undefined) {
    return (
      <>
        <h1 id="page-title" tabIndex={-1}>
          {loaded ? 'Pair not found' : 'Loading…'}
        </h1>
        {loaded && (
          <p>
            There is no pair <span className="mono">{id}</span>. <a href="#/">Back to the overview</a>.
          </p>
        )}
      </>
    );
  }

  const badge = pairBadge(pair, disconnectedSince);
  const pause = disconnectedSince === null ? visiblePauseMs(pair, clock) : null;
  return (
    <>
      <nav aria-label="Breadcrumb" className="small">
        <a href="#/">Overview</a> / <span aria-current="page">{pair.name}</span>
      </nav>
      {disconnectedSince === null && <AlarmBanner pair={pair} />}
      <div className="page-head" style={{ marginTop: '0.4rem' }}>
        <div style={{ flex: 1, minWidth: '18rem' }}>
          <div className="row">
            <h1 id="page-title" tabIndex={-1}>
              {pair.name}
            </h1>
            <ProtectionBadge state={pair.state} lastFailover={pair.lastFailover} alarm={pair.alarm} />
            <span className="tag">{pair.mode === 'colo' ? 'COLO' : 'Remus'}</span>
            <span className="tag">{pair.backend}</span>
            {pair.sim !== undefined && <span className="tag sim">simulated</span>}
            {pair.qemu !== undefined && (
              <span className="small muted" data-testid="qemu-figures">
                {qemuFigures(pair.qemu)}
              </span>
            )}
          </div>
          <p className="sub" data-testid="protection-detail">
            {badge.detail}
          </p>
          {pause !== null && (
            <p className="sub error-text" data-testid="header-pause" role="status">
              Primary paused {formatMs(pause)} in checkpoint #{pair.openCheckpoint?.seq}, still open
            </p>
          )}
          <p className="sub small" data-testid="runs-on">
            {disconnectedSince === null ? whereRuns(pair, hosts) : `Where it runs: ${disconnectedText(disconnectedSince)}`}
          </p>
        </div>
        <ExportButtons pairId={pair.id} />
      </div>
      <Metrics pair={pair} />
      <div className="stack" style={{ marginTop: '1rem' }}>
        <SyncProgress state={pair.state} />
        {pair.sim !== undefined ? (
          <div className="grid-2" style={{ marginTop: 0 }}>
            <PairActions pair={pair} />
            <DemoPanel pair={pair} />
          </div>
        ) : (
          <PairActions pair={pair} />
        )}
        {pair.qemu !== undefined && <QemuPanel pair={pair} />}
        <section className="panel" aria-labelledby={`timeline-${pair.id}`}>
          <h2 id={`timeline-${pair.id}`}>Phase timeline</h2>
          <p className="panel-note">
            Each bar is one checkpoint: above the axis the primary’s pause, split into its protocol phases at their measured offsets; below it the wait for the trigger. Newest on the right.
          </p>
          <PhaseTimeline pairId={pair.id} />
        </section>
      </div>
      <CycleCharts pairId={pair.id} />
      {pair.sim !== undefined && (
        <div style={{ marginTop: '1rem' }}>
          <OutputCompare pair={pair} />
        </div>
      )}
      <div style={{ marginTop: '1rem' }}>
        <DemoResults pair={pair} />
      </div>
      <div className="grid-2">
        <FailoverPanel pair={pair} />
        <EventLog pairId={pair.id} />
      </div>
      <RemovePair pair={pair} />
    </>
  );
}
