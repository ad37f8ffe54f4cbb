// Past failover drills, from the history: when, in which mode, the guest's downtime, how long until the pair was
// protected again, and what a failed drill failed on. Static recharts view (log scale: downtime is milliseconds,
// re-protection seconds), refreshed when a drill ends, never on live ticks.

import { memo } from 'react';
import { Bar, BarChart, CartesianGrid, Legend, ResponsiveContainer, Tooltip, XAxis, YAxis } from 'recharts';
import type { DrillRecord } from '../../../core/api/console-contract.js';
import { formatAxisMs, formatDateTime, formatMs } from '../lib/format';
import { MODE_LABEL, drillChartRows, logAxisFloor, drillDowntimeText, drillOutcomeText, drillReprotectText } from '../lib/results';
import { type Palette, usePalette } from '../theme';

const HEIGHT = 200;

export const PastDrills = memo(function PastDrills({ drills }: { drills: readonly DrillRecord[] }) {
  const pal = usePalette();
  if (drills.length === 0) return <p className="empty" data-testid="past-drills-empty">No drills run yet.</p>;
  return (
    <div data-testid="past-drills">
      {drills.length > 1 && <DrillChart drills={drills} pal={pal} />}
      <div className="table-wrap">
        <table className="data small">
          <caption className="visually-hidden">Failover drills, newest first</caption>
          <thead>
            <tr>
              <th>Drill</th>
              <th>Mode</th>
              <th className="num">Guest downtime</th>
              <th className="num">Re-protected after</th>
              <th>Outcome</th>
            </tr>
          </thead>
          <tbody>
            {drills.map((d) => (
              <tr key={d.id} data-testid="past-drill-row" data-ok={d.ok}>
                <td>
                  #{d.id} <span className="muted">{formatDateTime(d.at)}</span>
                </td>
                <td>{MODE_LABEL[d.mode]}</td>
                <td className="num" data-testid="past-drill-downtime">{drillDowntimeText(d)}</td>
                <td className="num" data-testid="past-drill-reprotect">{drillReprotectText(d)}</td>
                <td className={d.ok ? undefined : 'error-text'}>{drillOutcomeText(d)}</td>
              </tr>
            ))}
          </tbody>
        </table>
      </div>
    </div>
  );
});

const DrillChart = memo(function DrillChart({ drills, pal }: { drills: readonly DrillRecord[]; pal: Palette }) {
  const rows = drillChartRows(drills);
  return (
    <figure style={{ margin: '0 0 0.75rem' }} aria-label="Guest downtime and time to re-protect per drill, log scale">
      <ResponsiveContainer width="100%" height={HEIGHT} initialDimension={{ width: 600, height: HEIGHT }}>
        <BarChart data={rows} margin={{ top: 8, right: 12, bottom: 4, left: 8 }}>
          <CartesianGrid strokeDasharray="3 3" stroke={pal.grid} vertical={false} />
          <XAxis dataKey="label" stroke={pal.muted} tick={{ fontSize: 11 }} />
          <YAxis scale="log" domain={[logAxisFloor(rows.flatMap((r) => [r.downtime, r.reprotect])), 'auto']} allowDataOverflow stroke={pal.muted} tick={{ fontSize: 11 }} tickFormatter={(v: number) => formatAxisMs(v)} width={68} />
          <Tooltip formatter={(v) => formatMs(Number(v))} contentStyle={{ background: pal.surface, borderColor: pal.grid, color: pal.fg }} />
          <Legend wrapperStyle={{ fontSize: 12 }} />
          <Bar dataKey="downtime" name="Guest downtime" fill={pal.series.primary} isAnimationActive={false} />
          <Bar dataKey="reprotect" name="Re-protected after" fill={pal.series.interval} isAnimationActive={false} />
        </BarChart>
      </ResponsiveContainer>
    </figure>
  );
});
