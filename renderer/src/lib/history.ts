// How to fetch a long window's cycles from history ('pairs.cycles' returns the oldest first, at most `limit`).
// The plan starts from the true number of cycles history holds in the window ('pairs.cycleCount'), not from the
// pair's current rate: a pair that was stopped for most of a day holds far fewer than its rate suggests. When the
// window holds few enough cycles they are fetched in full, page by page; otherwise evenly spaced slices of the
// window are fetched with a small limit each, and the chart says it shows a sample of that true count.

import type { CycleRecord } from '../../../core/colo/types.js';

export interface HistoryRequest {
  since: number;
  until: number;
  limit: number;
}

export interface HistoryPlan {
  kind: 'full' | 'sampled';
  requests: HistoryRequest[];
  /** Cycles history holds in the window (counted by the service). */
  total: number;
}

export interface PlanOptions {
  maxRecords?: number;
  pageLimit?: number;
  slices?: number;
}

export function planHistory(t0: number, t1: number, total: number, options: PlanOptions = {}): HistoryPlan {
  const maxRecords = options.maxRecords ?? 6000;
  const pageLimit = Math.min(options.pageLimit ?? 1000, maxRecords);
  const slices = Math.max(1, options.slices ?? 60);
  const span = Math.max(0, t1 - t0);
  if (total <= maxRecords * 0.8) {
    return { kind: 'full', requests: [{ since: t0, until: t1, limit: pageLimit }], total };
  }
  const width = span / slices;
  const per = Math.max(1, Math.floor(maxRecords / slices));
  const requests: HistoryRequest[] = [];
  for (let i = 0; i < slices; i++) {
    const since = t0 + i * width;
    requests.push({ since, until: i === slices - 1 ? t1 : since + width, limit: per });
  }
  return { kind: 'sampled', requests, total };
}

/**
 * The next page after `page` for a full fetch, or null when done. Paging continues from the last cycle's start
 * (inclusive on the server), so `mergeCycles` drops what was already held.
 */
export function nextPage(req: HistoryRequest, page: readonly CycleRecord[]): HistoryRequest | null {
  if (page.length < req.limit) return null;
  const last = page[page.length - 1]!;
  if (!(last.startedAt < req.until) || last.startedAt <= req.since) return null;
  return { ...req, since: last.startedAt };
}

/** Appends `more` to `into` (both oldest first), skipping cycles already present (same start and seq). */
export function mergeCycles(into: CycleRecord[], more: readonly CycleRecord[]): number {
  let added = 0;
  for (const rec of more) {
    const tail = into[into.length - 1];
    if (tail !== undefined && (rec.startedAt < tail.startedAt || (rec.startedAt === tail.startedAt && rec.seq <= tail.seq))) continue;
    into.push(rec);
    added++;
  }
  return added;
}

/** What the note says about the older cycles: all of them, or a sample of a true count. */
export function historySentence(meta: { kind: HistoryPlan['kind']; total: number; used: number }): string {
  const used = meta.used.toLocaleString('en-US');
  return meta.kind === 'sampled'
    ? `Older cycles from history are a sample: ${used} of ${meta.total.toLocaleString('en-US')}, taken in evenly spaced slices of the window; the most recent minute is complete.`
    : `Older cycles from history: ${used}; the most recent minute is live.`;
}
