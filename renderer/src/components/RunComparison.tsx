// COLO vs Remus, run by run, from the history: each protection run with the settings it ran under, its
// checkpoints by outcome, its primary pause, and how long it held the guest's output. The chart shows held output
// (p50 and p99, log scale: Remus holds for its interval, COLO for about a packet compare) per run, coloured by
// mode. Static: drawn with recharts from data fetched when a run or a drill ends, never on live ticks (recharts
// keeps memoized selector results per input, which grew the heap under the once-a-second live chart; see
// OutputCompare).

import { memo } from 'react';
import { Bar, BarChart, CartesianGrid, Cell, ResponsiveContainer, Tooltip, XAxis, YAxis } from 'recharts';
import type { RunSummary } from '../../../core/api/console-contract.js';
import { formatAxisMs, formatDateTime, formatMs } from '../lib/format';
import { MODE_LABEL, logAxisFloor, runChartRows, runCyclesText, runDurationText, runHeldText, runPauseText, runSettingsText } from '../lib/results';
import { type Palette, usePalette } from '../theme';

const HEIGHT = 220;

export const RunComparison = memo(function RunComparison({ runs }: { runs: readonly RunSummary[] }) {
  const pal = usePalette();
  if (runs.length === 0) return <p className="empty">No protection runs stored yet.</p>;
  return (
    <div data-testid="run-comparison">
      <RunChart runs={runs} pal={pal} />
      <div className="table-wrap">
        <table className="data small">
          <caption className="visually-hidden">Protection runs, newest first</caption>
          <thead>
            <tr>
              <th>Run</th>
              <th>Mode</th>
              <th>Settings</th>
              <th className="num">Length</th>
              <th>Checkpoints</th>
              <th className="num">Primary pause p50 / p99 / max</th>
              <th className="num">Output held p50 / p99</th>
            </tr>
          </thead>
          <tbody>
            {runs.map((r) => (
              <tr key={r.id} data-testid="run-row" data-mode={r.mode}>
                <td>
                  #{r.id} <span className="muted">{formatDateTime(r.startedAt)}</span>
                </td>
                <td>{MODE_LABEL[r.mode]}</td>
                <td>
                  {runSettingsText(r)}
                  {r.settingsChangedAt !== null && <div className="muted">changed during the run at {formatDateTime(r.settingsChangedAt)}</div>}
                </td>
                <td className="num">{runDurationText(r)}</td>
                <td>{runCyclesText(r)}</td>
                <td className="num" data-testid="run-pause">{runPauseText(r)}</td>
                <td className="num" data-testid="run-held">
                  {runHeldText(r)}
                  {r.outputHeld !== null && <div className="muted">{r.outputHeld.packets.toLocaleString('en-US')} packets</div>}
                </td>
              </tr>
            ))}
          </tbody>
        </table>
      </div>
    </div>
  );
});

const RunChart = memo(function RunChart({ runs, pal }: { runs: readonly RunSummary[]; pal: Palette }) {
  const rows = runChartRows(runs);
  if (rows.length === 0) return <p className="empty">No run has recorded its held output yet.</p>;
  const colour = (mode: RunSummary['mode']): string => (mode === 'colo' ? pal.series.colo : pal.series.remus);
  return (
    <figure style={{ margin: '0 0 0.75rem' }} aria-label={`Output held per run, p50 and p99: ${rows.map((r) => `${r.label} ${formatMs(r.heldP50)} / ${formatMs(r.heldP99)}`).join('; ')}`}>
      <ResponsiveContainer width="100%" height={HEIGHT} initialDimension={{ width: 600, height: HEIGHT }}>
        <BarChart data={rows} margin={{ top: 8, right: 12, bottom: 4, left: 8 }}>
          <CartesianGrid strokeDasharray="3 3" stroke={pal.grid} vertical={false} />
          <XAxis dataKey="label" stroke={pal.muted} tick={{ fontSize: 11 }} />
          <YAxis scale="log" domain={[logAxisFloor(rows.flatMap((r) => [r.heldP50, r.heldP99])), 'auto']} allowDataOverflow stroke={pal.muted} tick={{ fontSize: 11 }} tickFormatter={(v: number) => formatAxisMs(v)} width={68} />
          <Tooltip formatter={(v) => formatMs(Number(v))} contentStyle={{ background: pal.surface, borderColor: pal.grid, color: pal.fg }} />
          <Bar dataKey="heldP50" name="Output held p50" isAnimationActive={false} fillOpacity={0.55}>
            {rows.map((r) => <Cell key={r.label} fill={colour(r.mode)} />)}
          </Bar>
          <Bar dataKey="heldP99" name="Output held p99" isAnimationActive={false}>
            {rows.map((r) => <Cell key={r.label} fill={colour(r.mode)} />)}
          </Bar>
        </BarChart>
      </ResponsiveContainer>
      <figcaption className="chart-summary">
        <span>
          <span className="swatch" style={{ background: pal.series.colo }} /> COLO · <span className="swatch" style={{ background: pal.series.remus }} /> Remus; pale bar p50, full bar p99, log scale.
        </span>
      </figcaption>
    </figure>
  );
});
