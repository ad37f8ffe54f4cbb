import { formatAge } from '../lib/format';
import { historySentence } from '../lib/history';
import type { HistoryWindow } from '../store/live';

export interface HistoryMeta {
  state: HistoryWindow['state'];
  kind: HistoryWindow['kind'];
  /** Cycles history holds in the window's older part (a true count from the service). */
  total: number;
  fetched: number;
  used: number;
  fetchedAt: number;
  error?: string;
}

export function historyMeta(h: HistoryWindow, used: number): HistoryMeta {
  const meta: HistoryMeta = { state: h.state, kind: h.kind, total: h.total, fetched: h.cycles.length, used, fetchedAt: h.fetchedAt };
  if (h.error !== undefined) meta.error = h.error;
  return meta;
}

/** Says where a long window's older cycles came from, and whether they are all of them or a sample. */
export function HistoryNote({ meta, now }: { meta: HistoryMeta; now: number }) {
  if (meta.state === 'error') {
    return (
      <p className="error-text small" role="alert">
        Could not load history: {meta.error}
      </p>
    );
  }
  if (meta.state === 'loading' && meta.fetched === 0) {
    return <p className="panel-note" role="status">Loading history…</p>;
  }
  return (
    <p className="panel-note" role="status" data-testid="history-note">
      {historySentence(meta)}{' '}
      Fetched {formatAge(meta.fetchedAt, now)}.{meta.state === 'loading' ? ' Refreshing…' : ''}
    </p>
  );
}
