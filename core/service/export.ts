// Exports of a pair's history for a spreadsheet (CSV: one row per cycle, one column per phase duration) or for
// tools (JSON: cycles and events as the API serves them). Raw rows, never decimated: an export is for analysis.

import type { PairEvent } from '../api/console-contract.js';
import { type CycleRecord, PHASE_ORDER } from '../colo/types.js';
import { fileTimestamp } from './files.js';

export interface ExportFile {
  filename: string;
  mediaType: string;
  content: string;
}

export interface ExportInput {
  pair: { id: string; name: string; backend: string; mode: string };
  /** Each cycle with the protection run it belongs to: (run, seq) identifies a cycle, seq alone does not. */
  cycles: readonly { run: number; cycle: CycleRecord }[];
  events: readonly PairEvent[];
  since: number;
  exportedAt: number;
  /** More cycles matched than the export holds; the newest were kept. */
  truncated: boolean;
}

// Times are ms rounded to the microsecond (what the clocks resolve); sizes are bytes and pages, exact.
const CSV_COLUMNS = [
  'run', 'seq', 'startedAt', 'startedAtIso', 'mode', 'trigger', 'outcome', 'provenance',
  'primaryPauseMs', 'secondaryPauseMs', 'dirtyPages', 'secondaryDirtyPages', 'pagesSent', 'bytesSent',
  ...PHASE_ORDER.map((p) => `${p}Ms`),
] as const;

export function exportCsv(input: ExportInput): ExportFile {
  const lines = [CSV_COLUMNS.join(',')];
  for (const { run, cycle: c } of input.cycles) {
    const phase = new Map(c.phases.map((p) => [p.name, p.durationMs]));
    // A phase the backend did not see stays empty: it is unknown, not zero (DESIGN.md, measured vs derived).
    const row: (string | number | undefined)[] = [
      run, c.seq, micro(c.startedAt), new Date(c.startedAt).toISOString(), c.mode, c.trigger, c.outcome, c.provenance,
      micro(c.primaryPauseMs), micro(c.secondaryPauseMs), c.dirtyPages, c.secondaryDirtyPages, c.pagesSent, c.bytesSent,
      ...PHASE_ORDER.map((p) => micro(phase.get(p))),
    ];
    lines.push(row.map(csvField).join(','));
  }
  return {
    filename: `${safeName(input.pair.name)}-cycles-${fileTimestamp(input.exportedAt)}.csv`,
    mediaType: 'text/csv; charset=utf-8',
    content: `${lines.join('\r\n')}\r\n`,
  };
}

export function exportJson(input: ExportInput): ExportFile {
  const doc = {
    format: 'colo-console-history',
    // 2: cycles carry their run; times are rounded to the microsecond.
    version: 2,
    pair: input.pair,
    exportedAt: input.exportedAt,
    since: input.since,
    truncated: input.truncated,
    cycles: input.cycles.map(({ run, cycle }) => ({
      run,
      ...cycle,
      startedAt: micro(cycle.startedAt),
      primaryPauseMs: micro(cycle.primaryPauseMs),
      ...(cycle.secondaryPauseMs === undefined ? {} : { secondaryPauseMs: micro(cycle.secondaryPauseMs) }),
      phases: cycle.phases.map((p) => ({ ...p, startMs: micro(p.startMs), durationMs: micro(p.durationMs) })),
    })),
    events: input.events,
  };
  return {
    filename: `${safeName(input.pair.name)}-history-${fileTimestamp(input.exportedAt)}.json`,
    mediaType: 'application/json',
    content: `${JSON.stringify(doc, null, 1)}\n`,
  };
}

/** Milliseconds to the microsecond: finer digits are float noise, not measurement. */
function micro<T extends number | undefined>(ms: T): T {
  return (ms === undefined ? ms : Math.round(ms * 1000) / 1000) as T;
}

/** RFC 4180 quoting; text that a spreadsheet would run as a formula is prefixed with a quote. */
function csvField(v: string | number | undefined): string {
  if (v === undefined) return '';
  if (typeof v === 'number') return Number.isFinite(v) ? String(v) : '';
  const text = /^[=+\-@\t\r]/.test(v) ? `'${v}` : v;
  return /[",\r\n]/.test(text) ? `"${text.replace(/"/g, '""')}"` : text;
}

function safeName(name: string): string {
  return name.replace(/[^A-Za-z0-9._-]/g, '_').slice(0, 64) || 'pair';
}
