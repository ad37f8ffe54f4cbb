// The pair view's charts and their shared window (1 min from the live ring; 15 min, 1 h, 24 h with history from
// 'pairs.cycles'). The latency chart refreshes on chart tick A; this component, the dirty-page chart and the
// trigger counts on tick B, so the two chart redraws land in different frames.

import { useEffect, useMemo, useRef, useState } from 'react';
import { bucketsForWidth } from '../lib/decimate';
import { NOT_REPORTED_BY_QEMU, sizesReported } from '../lib/qemu';
import { dirtyView, gatherWindow } from '../lib/series';
import { useElementWidth } from '../hooks';
import { historyMaxAge, loadHistory, peekLive } from '../store/live';
import { useConsole } from '../store/store';
import { LIVE_WINDOW_MS, WINDOWS } from './chart-common';
import { DirtyChart } from './DirtyChart';
import { LatencyChart } from './LatencyChart';
import { Segmented } from './Segmented';
import { TriggerBreakdown } from './TriggerBreakdown';

export function CycleCharts({ pairId }: { pairId: string }) {
  const [windowMs, setWindowMs] = useState<number>(LIVE_WINDOW_MS);
  const now = useConsole((s) => s.chartTimeB);
  const sizes = useConsole((s) => sizesReported(s.pairs[pairId]));
  const measureRef = useRef<HTMLDivElement>(null);
  const width = useElementWidth(measureRef);

  useEffect(() => {
    if (windowMs <= LIVE_WINDOW_MS) return;
    const load = (): void => {
      void loadHistory(pairId, windowMs);
    };
    load();
    const timer = setInterval(load, historyMaxAge(windowMs));
    return () => clearInterval(timer);
  }, [pairId, windowMs]);

  const b = useMemo(() => {
    const live = peekLive(pairId);
    const t0 = now - windowMs;
    const hist = windowMs > LIVE_WINDOW_MS ? (live?.history.get(windowMs) ?? null) : null;
    const w = gatherWindow(live?.ring, hist?.cycles ?? null, t0, now);
    return { view: dirtyView(w, t0, now, bucketsForWidth(width - 140), hist?.kind !== 'sampled'), t0, t1: now };
  }, [now, pairId, windowMs, width]);

  return (
    <section aria-labelledby={`charts-${pairId}`}>
      <div className="row" style={{ justifyContent: 'space-between', margin: '1.25rem 0 0.5rem' }}>
        <h2 id={`charts-${pairId}`} style={{ margin: 0 }}>
          Checkpoint latency and size
        </h2>
        <div className="row">
          <span className="small muted" id={`window-label-${pairId}`}>
            Window
          </span>
          <Segmented legend="Chart window" value={windowMs} options={WINDOWS} onChange={setWindowMs} testId="chart-window" />
        </div>
      </div>
      <div className="panel">
        <h3>Per-cycle latency</h3>
        <LatencyChart pairId={pairId} windowMs={windowMs} />
      </div>
      <div className="grid-2">
        <div className="panel" ref={measureRef}>
          <h3>Dirty pages and bytes per checkpoint</h3>
          {sizes ? (
            <DirtyChart view={b.view} t0={b.t0} t1={b.t1} windowMs={windowMs} />
          ) : (
            // QEMU's cycles carry 0 pages and bytes: a chart of zeros would say nothing moved.
            <p className="empty" data-testid="dirty-chart-not-reported">
              Dirty pages and bytes: {NOT_REPORTED_BY_QEMU} (it has no per-checkpoint counters).
            </p>
          )}
        </div>
        <div className="panel">
          <h3>Triggers by cause</h3>
          <TriggerBreakdown view={b.view} />
        </div>
      </div>
    </section>
  );
}
