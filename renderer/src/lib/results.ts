// The demo's kept results in words and chart rows: past protection runs (COLO vs Remus, with the settings each
// ran under) and past drills. Pure, so the wording and the numbers are unit-tested.

import type { DrillRecord, RunSummary } from '../../../core/api/console-contract.js';
import { formatDowntime, formatDuration, formatMs } from './format';
import { LINK_LABEL, PRESET_LABEL } from './labels';

export const MODE_LABEL: Readonly<Record<RunSummary['mode'], string>> = { colo: 'COLO', remus: 'Remus' };

/** "Web server · 10 GbE · every 200 ms · divergence 0.0005": the interval only where Remus uses it. */
export function runSettingsText(run: Pick<RunSummary, 'mode' | 'settings'>): string {
  const s = run.settings;
  if (s === null) return 'not recorded';
  const parts = [PRESET_LABEL[s.preset], LINK_LABEL[s.link]];
  if (run.mode === 'remus') parts.push(`every ${s.remusIntervalMs} ms`);
  parts.push(`divergence ${s.divergenceProbability}`);
  if (s.stopCost === false) parts.push('no vCPU stop cost');
  return parts.join(' · ');
}

/** How long the run lasted, to the end of its last cycle; "no checkpoints" before the first. */
export function runDurationText(run: Pick<RunSummary, 'startedAt' | 'endedAt'>): string {
  return run.endedAt === null ? 'no checkpoints' : formatDuration(run.endedAt - run.startedAt);
}

/** "1,234 committed · 2 failed": outcomes that did not happen are left out, committed always shown. */
export function runCyclesText(run: Pick<RunSummary, 'cycles'>): string {
  const c = run.cycles;
  const parts = [`${c.committed.toLocaleString('en-US')} committed`];
  if (c.failed > 0) parts.push(`${c.failed.toLocaleString('en-US')} failed`);
  if (c.aborted > 0) parts.push(`${c.aborted.toLocaleString('en-US')} aborted`);
  return parts.join(' · ');
}

export interface RunChartRow {
  label: string;
  mode: RunSummary['mode'];
  heldP50: number;
  heldP99: number;
}

/**
 * One row per run with held-output figures, oldest first (as a chart reads, left to right). A log axis cannot
 * show 0, so values are floored at 1 µs; the table beside the chart gives the exact figures.
 */
export function runChartRows(runs: readonly RunSummary[]): RunChartRow[] {
  const rows: RunChartRow[] = [];
  for (let i = runs.length - 1; i >= 0; i--) {
    const r = runs[i]!;
    if (r.outputHeld === null) continue;
    rows.push({ label: `#${r.id} ${MODE_LABEL[r.mode]}`, mode: r.mode, heldP50: Math.max(0.001, r.outputHeld.p50Ms), heldP99: Math.max(0.001, r.outputHeld.p99Ms) });
  }
  return rows;
}

/** What a drill came to, in a few words. */
export function drillOutcomeText(d: DrillRecord): string {
  if (!d.ok) return `Failed: ${d.error ?? 'no reason recorded'}`;
  const survivor = d.failover?.survivor;
  const where = survivor === 'primary' || survivor === 'secondary' ? `the guest ran on the ${survivor}` : 'completed';
  return `Passed: ${where}, protected again${d.finalState?.state === 'protected' ? '' : ` (now ${d.finalState?.state ?? 'unknown'})`}`;
}

export function drillDowntimeText(d: DrillRecord): string {
  return d.guestDowntimeMs === null ? 'not measured' : formatDowntime(d.guestDowntimeMs);
}

export function drillReprotectText(d: DrillRecord): string {
  return d.timeToReprotectMs === null ? 'not re-protected' : formatDuration(d.timeToReprotectMs);
}

export interface DrillChartRow {
  label: string;
  downtime: number | null;
  reprotect: number | null;
}

/** Passed and failed drills, oldest first; a figure the drill never reached is null (no bar). */
export function drillChartRows(drills: readonly DrillRecord[]): DrillChartRow[] {
  const rows: DrillChartRow[] = [];
  for (let i = drills.length - 1; i >= 0; i--) {
    const d = drills[i]!;
    rows.push({
      label: `#${d.id} ${MODE_LABEL[d.mode]}`,
      downtime: d.guestDowntimeMs === null ? null : Math.max(0.001, d.guestDowntimeMs),
      reprotect: d.timeToReprotectMs === null ? null : Math.max(0.001, d.timeToReprotectMs),
    });
  }
  return rows;
}

/** Primary pause p50 / p99 / max of a run, or a dash. */
export function runPauseText(run: Pick<RunSummary, 'pausePrimary'>): string {
  const p = run.pausePrimary;
  return p === null ? 'no checkpoints' : `${formatMs(p.p50Ms)} / ${formatMs(p.p99Ms)} / ${formatMs(p.maxMs)}`;
}

/** Output held p50 / p99 of a run, or why there is none. */
export function runHeldText(run: Pick<RunSummary, 'outputHeld'>): string {
  const o = run.outputHeld;
  return o === null ? 'not recorded' : `${formatMs(o.p50Ms)} / ${formatMs(o.p99Ms)}`;
}

/**
 * The lower end of a log axis for these values: the power of ten below the smallest, so the smallest bar still
 * has a height (on an 'auto' domain it starts at the minimum and that bar vanishes). 1 when there is none.
 */
export function logAxisFloor(values: readonly (number | null)[]): number {
  let min = Infinity;
  for (const v of values) if (v !== null && v > 0 && v < min) min = v;
  if (!Number.isFinite(min)) return 1;
  // Through the string form: 10 ** -4 is 0.00009999999999999999.
  return Number(`1e${Math.floor(Math.log10(min) - 1e-9)}`);
}
