// Why checkpoints happened, over the chart window: miscompare (the copies' output differed), timer, timeout
// (output held too long), manual, initial. The miscompare rate is the divergence figure nobody publishes.

import { formatCount } from '../lib/format';
import type { DirtyView } from '../lib/series';
import { TRIGGERS } from '../store/ring';
import { usePalette } from '../theme';

const LABEL: Readonly<Record<(typeof TRIGGERS)[number], string>> = {
  miscompare: 'Miscompare',
  timer: 'Timer',
  timeout: 'Timeout',
  manual: 'Manual',
  initial: 'Initial copy',
};

const ORDER = ['miscompare', 'timer', 'timeout', 'manual', 'initial'] as const;

export function TriggerBreakdown({ view }: { view: DirtyView }) {
  const pal = usePalette();
  const total = view.count;
  const minutes = view.spanMs / 60_000;
  return (
    <div>
      <table className="visually-hidden">
        <caption>Checkpoint triggers in the window</caption>
        <thead>
          <tr>
            <th>Trigger</th>
            <th>Cycles</th>
            <th>Share</th>
          </tr>
        </thead>
        <tbody>
          {ORDER.map((t) => {
            const n = view.triggers[TRIGGERS.indexOf(t)] ?? 0;
            return (
              <tr key={t}>
                <td>{LABEL[t]}</td>
                <td>{n}</td>
                <td>{total > 0 ? `${((100 * n) / total).toFixed(1)}%` : '—'}</td>
              </tr>
            );
          })}
        </tbody>
      </table>
      <div className="bars" aria-hidden="true" data-testid="trigger-breakdown">
        {ORDER.map((t) => {
          const n = view.triggers[TRIGGERS.indexOf(t)] ?? 0;
          const pct = total > 0 ? (100 * n) / total : 0;
          return (
            <div key={t} style={{ display: 'contents' }}>
              <span>{LABEL[t]}</span>
              <span className="bar-track">
                <span className="bar-fill" style={{ display: 'block', width: `${pct}%`, background: pal.trigger[t] }} />
              </span>
              <span className="num" style={{ textAlign: 'right' }}>
                {formatCount(n)} · {pct.toFixed(pct > 0 && pct < 1 ? 1 : 0)}%
              </span>
            </div>
          );
        })}
      </div>
      <p className="panel-note">
        {total === 0
          ? 'No cycles in this window.'
          : `${formatCount(total)} cycles${minutes > 0 ? `; miscompares ${formatCount((view.triggers[1] ?? 0) / minutes, 1)} per minute` : ''}${view.failed > 0 ? `; ${view.failed} failed` : ''}.`}
      </p>
    </div>
  );
}
