// Dirty pages and bytes sent per checkpoint: decimated, fixed domains, drawn by CanvasChart (as LatencyChart).

import { memo, useMemo, useRef } from 'react';
import { formatBytes, formatCount } from '../lib/format';
import type { DirtyView } from '../lib/series';
import { useElementWidth } from '../hooks';
import { usePalette } from '../theme';
import { CanvasChart } from './CanvasChart';
import { axisCeiling, relativeTickFormatter, timeTicks } from './chart-common';

const HEIGHT = 240;
const MIB = 1024 * 1024;
const pagesTick = (v: number): string => formatCount(v);
const bytesTick = (v: number): string => formatBytes(v);
const valueFormat = (key: string, v: number): string => (key === 'bytes' ? formatBytes(v) : `${formatCount(v)} pages`);

interface Props {
  view: DirtyView;
  t0: number;
  t1: number;
  windowMs: number;
}

export const DirtyChart = memo(function DirtyChart({ view, t0, t1, windowMs }: Props) {
  const boxRef = useRef<HTMLDivElement>(null);
  useElementWidth(boxRef);
  const pal = usePalette();
  const tickFormat = useMemo(() => relativeTickFormatter(t1), [t1]);
  const ticks = useMemo(() => timeTicks(t0, t1, windowMs), [t0, t1, windowMs]);
  const pagesMax = axisCeiling(view.dirty).max;
  // A ceiling that is round in MiB, so the ticks are too.
  const bytesMax = axisCeiling({ ...view.bytes, p99: view.bytes.p99 / MIB, max: view.bytes.max / MIB }).max * MIB;
  const series = useMemo(
    () => [
      { key: 'dirty', name: 'Dirty pages (primary)', color: pal.series.pages, axis: 'left' as const, width: 1.5 },
      ...(view.hasSecondaryDirty ? [{ key: 'secondaryDirty', name: 'Dirty pages (secondary)', color: pal.series.secondary, axis: 'left' as const, dash: [4, 2], width: 1.25 }] : []),
      { key: 'bytes', name: 'Bytes sent', color: pal.series.bytes, axis: 'right' as const, width: 1.25 },
    ],
    [pal, view.hasSecondaryDirty],
  );
  const label = `Dirty pages per checkpoint p50 ${formatCount(view.dirty.p50)}, p99 ${formatCount(view.dirty.p99)}; bytes sent p50 ${formatBytes(view.bytes.p50)}, over ${view.count} cycles.`;

  return (
    <figure style={{ margin: 0 }}>
      <div ref={boxRef} style={{ minHeight: HEIGHT }}>
        {view.count === 0 ? (
          <p className="empty" data-testid="dirty-chart">
            No checkpoint cycles in this window.
          </p>
        ) : (
          <CanvasChart
            rows={view.rows}
            t0={t0}
            t1={t1}
            ticks={ticks}
            tickFormat={tickFormat}
            left={{ max: pagesMax, format: pagesTick }}
            right={{ max: bytesMax, format: bytesTick, color: pal.series.bytes }}
            series={series}
            height={HEIGHT}
            label={label}
            testId="dirty-chart"
            formatValue={valueFormat}
          />
        )}
      </div>
      <figcaption className="chart-summary">
        <span>
          Dirty pages p50 <b>{formatCount(view.dirty.p50)}</b> · p99 <b>{formatCount(view.dirty.p99)}</b>
        </span>
        <span>
          Bytes per checkpoint p50 <b>{formatBytes(view.bytes.p50)}</b> · max <b>{formatBytes(view.bytes.max)}</b>
        </span>
      </figcaption>
    </figure>
  );
});
