// Per-cycle latency: primary pause, secondary pause where the backend reports it, and the interval between
// checkpoints, with the window's p50 and p99 of the primary pause. ≤ ~300 decimated points per series, fixed
// domains, refreshed at most 5 times a second (chart tick A). Drawn by CanvasChart: recharts' SVG re-render at
// that rate missed the frame budget with three pairs at 100 cycles/s (see renderer/README.md).

import { memo, useMemo, useRef } from 'react';
import { bucketsForWidth } from '../lib/decimate';
import { formatAxisMs, formatMs, formatMsExact } from '../lib/format';
import { gatherWindow, latencyView } from '../lib/series';
import { useElementWidth } from '../hooks';
import { peekLive } from '../store/live';
import { useConsole } from '../store/store';
import { usePalette } from '../theme';
import { visiblePauseMs } from '../lib/alarm';
import { OUTCOME_ABORTED, OUTCOME_FAILED } from '../store/ring';
import { CanvasChart, type MarkerSpec } from './CanvasChart';
import { LIVE_WINDOW_MS, axisCeiling, relativeTickFormatter, timeTicks } from './chart-common';
import { HistoryNote, type HistoryMeta, historyMeta } from './HistoryNote';

const HEIGHT = 260;
const msValue = (_key: string, v: number): string => formatMsExact(v);

interface Computed {
  view: ReturnType<typeof latencyView>;
  t0: number;
  t1: number;
  history: HistoryMeta | null;
  pauseMax: number;
  pauseClipped: number;
  intervalMax: number;
  markers: MarkerSpec[];
  failed: number;
  aborted: number;
}

/** Failed and aborted cycles drawn one by one up to this many; the caption counts them all. */
const MAX_MARKERS = 400;

export const LatencyChart = memo(function LatencyChart({ pairId, windowMs }: { pairId: string; windowMs: number }) {
  const boxRef = useRef<HTMLDivElement>(null);
  const width = useElementWidth(boxRef);
  const now = useConsole((s) => s.chartTimeA);
  const pal = usePalette();
  // The open checkpoint grows with the 1 Hz clock, not only when cycles arrive (a frozen guest sends none).
  const clock = useConsole((s) => s.clock);
  const pair = useConsole((s) => s.pairs[pairId]);
  const openMs = pair === undefined ? null : visiblePauseMs(pair, Math.max(clock, now));
  const open = openMs === null ? null : { seq: pair?.openCheckpoint?.seq ?? 0, startedAt: pair?.openCheckpoint?.startedAt ?? now, ms: openMs };

  const c = useMemo<Computed>(() => {
    const live = peekLive(pairId);
    const t1 = now;
    const t0 = now - windowMs;
    const hist = windowMs > LIVE_WINDOW_MS ? (live?.history.get(windowMs) ?? null) : null;
    const w = gatherWindow(live?.ring, hist?.cycles ?? null, t0, t1);
    const view = latencyView(w, t0, t1, bucketsForWidth(width - 130), hist?.kind !== 'sampled');
    const pauseAxis = axisCeiling(view.primary.max >= (view.secondary.max || 0) ? view.primary : view.secondary);
    let pauseClipped = 0;
    if (pauseAxis.clipped) {
      for (let i = 0; i < w.n; i++) if (w.primary[i]! > pauseAxis.max || w.secondary[i]! > pauseAxis.max) pauseClipped++;
    }
    const intervalAxis = axisCeiling(view.interval);
    const markers: MarkerSpec[] = [];
    for (let i = 0; i < w.n && markers.length < MAX_MARKERS; i++) {
      const o = w.outcome[i];
      if (o === OUTCOME_FAILED) markers.push({ t: w.x[i]!, color: pal.bad, shape: 'cross' });
      else if (o === OUTCOME_ABORTED) markers.push({ t: w.x[i]!, color: pal.warn, shape: 'diamond' });
    }
    return {
      view, t0, t1, history: hist === null ? null : historyMeta(hist, w.fromHistory), pauseMax: pauseAxis.max, pauseClipped, intervalMax: intervalAxis.max,
      markers, failed: w.failed, aborted: w.aborted,
    };
  }, [now, pairId, windowMs, width, pal]);

  const tickFormat = useMemo(() => relativeTickFormatter(c.t1), [c.t1]);
  const ticks = useMemo(() => timeTicks(c.t0, c.t1, windowMs), [c.t0, c.t1, windowMs]);
  const { view } = c;
  const hasSecondary = view.secondary.count > 0;
  const sampled = c.history?.kind === 'sampled';
  const series = useMemo(
    () => [
      { key: 'interval', name: 'Interval', color: pal.series.interval, axis: 'right' as const, width: 1 },
      ...(hasSecondary ? [{ key: 'secondary', name: 'Secondary pause', color: pal.series.secondary, axis: 'left' as const, dash: [4, 2], width: 1.25 }] : []),
      { key: 'primary', name: 'Primary pause', color: pal.series.primary, axis: 'left' as const, width: 1.5 },
    ],
    [pal, hasSecondary],
  );
  const refLines = [
    { y: view.primary.p50, color: pal.series.p50, label: `p50 ${formatMs(view.primary.p50)}`, align: 'left' as const },
    { y: view.primary.p99, color: pal.series.p99, label: `p99 ${formatMs(view.primary.p99)}`, align: 'right' as const },
  ];
  // The max never hides a pause still open.
  const pauseMaxShown = open !== null && !(open.ms <= view.primary.max) ? open.ms : view.count === 0 ? null : view.primary.max;
  const openText = open === null ? null : `Checkpoint #${open.seq} still open: primary paused ${formatMs(open.ms)} and counting`;
  const openBar = open === null ? null : { from: open.startedAt, value: open.ms, color: pal.bad, label: `#${open.seq} open: ${formatMs(open.ms)}` };
  const summary = `Per-cycle latency over the window: primary pause p50 ${formatMs(view.primary.p50)}, p99 ${formatMs(view.primary.p99)}, max ${formatMs(pauseMaxShown)}, from ${view.count} cycles${openText === null ? '' : `; ${openText}`}.`;

  return (
    <figure style={{ margin: 0 }}>
      <div ref={boxRef} className="chart-box" style={{ height: 'auto', minHeight: HEIGHT }}>
        {view.count === 0 && open === null ? (
          <p className="empty" data-testid="latency-chart">
            No checkpoint cycles in this window.
          </p>
        ) : (
          <CanvasChart
            rows={view.rows}
            t0={c.t0}
            t1={c.t1}
            ticks={ticks}
            tickFormat={tickFormat}
            left={{ max: c.pauseMax, format: formatAxisMs }}
            right={{ max: c.intervalMax, format: formatAxisMs, color: pal.series.interval }}
            series={series}
            refLines={refLines}
            markers={c.markers}
            openBar={openBar}
            height={HEIGHT}
            label={summary}
            testId="latency-chart"
            formatValue={msValue}
          />
        )}
      </div>
      <figcaption className="chart-summary">
        <span>
          Primary pause p50 <b>{formatMs(view.primary.p50)}</b> · p99 <b>{formatMs(view.primary.p99)}</b> · max <b data-testid="chart-pause-max">{formatMs(pauseMaxShown)}</b>
        </span>
        {openText !== null && (
          <span className="error-text" data-testid="chart-open-pause">
            {openText}
          </span>
        )}
        {(c.failed > 0 || c.aborted > 0) && (
          <span data-testid="chart-outcomes">
            <span style={{ color: pal.bad }} aria-hidden="true">✕</span> {c.failed.toLocaleString('en-US')} failed ·{' '}
            <span style={{ color: pal.warn }} aria-hidden="true">◆</span> {c.aborted.toLocaleString('en-US')} aborted cycle(s) in this window
          </span>
        )}
        <span>
          Secondary pause{' '}
          {hasSecondary ? (
            <>
              p50 <b>{formatMs(view.secondary.p50)}</b> · p99 <b>{formatMs(view.secondary.p99)}</b>
            </>
          ) : (
            'not reported by this backend'
          )}
        </span>
        <span>
          Interval p50 <b>{formatMs(view.interval.p50)}</b>
        </span>
        <span>
          <span className="tag derived" title="Statistics computed by the console from the cycles in this window">
            derived
          </span>{' '}
          {sampled ? 'estimated from a sample of ' : 'from '}
          {view.count.toLocaleString('en-US')} cycles
          {view.derived > 0 ? `, ${view.derived.toLocaleString('en-US')} with derived timings` : ', all measured'}
        </span>
        {c.pauseClipped > 0 && (
          <span>
            {c.pauseClipped} cycle(s) above the scale (max {formatMs(pauseMaxShown)})
          </span>
        )}
      </figcaption>
      {c.history !== null && <HistoryNote meta={c.history} now={c.t1} />}
    </figure>
  );
});
