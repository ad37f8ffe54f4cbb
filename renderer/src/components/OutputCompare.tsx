// COLO vs Remus, side by side: how long the guest's network output is held before it leaves, on the same
// workload. COLO releases output as soon as both copies agree; Remus holds it until the next checkpoint lands.
// Each side is another simulated pair running that mode (same workload preferred) or, failing one, this pair's
// own samples from while it ran that mode: switch the mode in the demo panel and both sides fill in.

import { memo, useDeferredValue, useMemo, useState } from 'react';
import type { PairInfo, SimSettings } from '../../../core/api/console-contract.js';
import { api, errorMessage } from '../api/console-api';
import type { Row } from '../lib/decimate';
import { formatAge, formatAxisMs, formatCount, formatMs } from '../lib/format';
import { PRESET_LABEL } from '../lib/labels';
import { niceCeiling } from '../lib/stats';
import { OUTPUT_MODE, OUTPUT_P50, OUTPUT_P99, OUTPUT_PPS, OUTPUT_PRESET, PRESETS, peekLive } from '../store/live';
import { useConsole } from '../store/store';
import { acceptPair } from '../store/sync';
import { type Palette, usePalette } from '../theme';
import { CanvasChart } from './CanvasChart';
import { relativeTickFormatter, timeTicks } from './chart-common';

const WINDOW_MS = 60_000;
const HEIGHT = 200;
const msTick = (v: number): string => formatAxisMs(v);
const msValue = (_key: string, v: number): string => formatMs(v);
type Mode = 'colo' | 'remus';
const MODE_CODE: Readonly<Record<Mode, number>> = { colo: 0, remus: 1 };

interface Latest {
  at: number;
  p50: number;
  p99: number;
  pps: number;
  preset: SimSettings['preset'] | null;
}

/** The newest sample with figures that the pair sent while running `mode`. */
function latestOf(pairId: string, mode: Mode): Latest | null {
  const out = peekLive(pairId)?.output;
  if (out === undefined) return null;
  for (let i = out.length - 1; i >= 0; i--) {
    const s = out.slot(i);
    // Skip samples without a measurement (the pair was stopped): the side shows the last real figures.
    if (out.columns[OUTPUT_MODE]![s] !== MODE_CODE[mode] || !Number.isFinite(out.columns[OUTPUT_P50]![s]!)) continue;
    const preset = PRESETS[out.columns[OUTPUT_PRESET]![s]!] ?? null;
    return { at: out.t[s]!, p50: out.columns[OUTPUT_P50]![s]!, p99: out.columns[OUTPUT_P99]![s]!, pps: out.columns[OUTPUT_PPS]![s]!, preset };
  }
  return null;
}

/** Another sim pair running `mode`, on this pair's workload if possible. */
function otherPair(pair: PairInfo, all: readonly PairInfo[], mode: Mode): PairInfo | null {
  const sims = all.filter((p) => p.id !== pair.id && p.sim !== undefined && p.mode === mode);
  return sims.find((p) => p.sim?.preset === pair.sim?.preset) ?? sims[0] ?? null;
}

interface ChartData {
  rows: Row[];
  t0: number;
  t1: number;
  max: number;
}

export function OutputCompare({ pair }: { pair: PairInfo }) {
  const pairsMap = useConsole((s) => s.pairs);
  // The gauge arrives about once a second; redrawing this chart faster would only cost frames.
  const now = useConsole((s) => s.clock);
  const pal = usePalette();
  const [error, setError] = useState<string | null>(null);
  const all = useMemo(() => Object.values(pairsMap), [pairsMap]);
  // The pair whose samples feed each side: this pair in its current mode, else another pair in that mode, else
  // this pair's own samples from while it ran that mode.
  const source = (mode: Mode): PairInfo => (pair.mode === mode ? pair : (otherPair(pair, all, mode) ?? pair));
  const coloSrc = source('colo');
  const remusSrc = source('remus');

  const data: ChartData = (() => {
    const t0 = now - WINDOW_MS;
    const rows: ChartData['rows'] = [];
    let max = 0;
    for (const [src, mode] of [
      [coloSrc, 'colo'],
      [remusSrc, 'remus'],
    ] as const) {
      const out = peekLive(src.id)?.output;
      if (out === undefined) continue;
      for (let i = 0; i < out.length; i++) {
        const s = out.slot(i);
        const t = out.t[s]!;
        if (t < t0 || out.columns[OUTPUT_MODE]![s] !== MODE_CODE[mode]) continue;
        const v = out.columns[OUTPUT_P99]![s]!;
        // Only this side's key: the chart joins each series across the other side's rows.
        const row: Row = { t };
        row[mode] = Number.isFinite(v) ? v : null;
        if (Number.isFinite(v) && v > max) max = v;
        rows.push(row);
      }
    }
    rows.sort((a, b) => a.t - b.t);
    return { rows, t0, t1: now, max: niceCeiling(max) };
  })();
  // The chart redraws in a deferred (time-sliced) pass, never in the frame that brought the data.
  const deferred = useDeferredValue(data);

  const colo = latestOf(coloSrc.id, 'colo');
  const remus = latestOf(remusSrc.id, 'remus');
  const otherMode: Mode = pair.mode === 'colo' ? 'remus' : 'colo';
  const otherLabel = otherMode === 'colo' ? 'COLO' : 'Remus';
  const other = otherMode === 'colo' ? colo : remus;
  const candidate = all.find((p) => p.id !== pair.id && p.sim !== undefined);
  const sameWorkload = colo !== null && remus !== null && colo.preset === remus.preset;

  const align = async (target: PairInfo): Promise<void> => {
    setError(null);
    try {
      const preset = pair.sim?.preset;
      acceptPair(await api.call('sim.configure', { pairId: target.id, mode: otherMode, sim: preset ? { preset } : {} }));
    } catch (err) {
      setError(errorMessage(err));
    }
  };

  const side = (label: 'COLO' | 'Remus', src: PairInfo, latest: Latest | null) => (
    <section className="side" aria-label={`${label} output latency`} data-testid={`output-${label.toLowerCase()}`}>
      <h3>
        <span className="swatch" style={{ background: label === 'COLO' ? pal.series.colo : pal.series.remus }} aria-hidden="true" />
        {label}
      </h3>
      {latest === null ? (
        <p className="muted small">No samples in {label} mode yet.</p>
      ) : (
        <>
          <p className="small muted">
            {src.name} · {latest.preset !== null ? PRESET_LABEL[latest.preset] : 'unknown workload'}
            {now - latest.at > 5_000 ? ` · last sample ${formatAge(latest.at, now)}` : ''}
          </p>
          <p>
            Output held p50 <span className="big-number">{formatMs(latest.p50)}</span>
          </p>
          <p className="small">
            p99 <b>{formatMs(latest.p99)}</b> · {formatCount(latest.pps)} packets/s
          </p>
        </>
      )}
    </section>
  );

  return (
    <section className="panel" aria-labelledby={`output-${pair.id}`} data-testid="output-compare">
      <h2 id={`output-${pair.id}`}>
        Output latency: COLO vs Remus <span className="tag measured">measured by the simulator</span>
      </h2>
      <p className="panel-note">How long the guest’s outgoing packets are held before release. COLO releases output once both copies agree; Remus holds it until the next checkpoint commits.</p>
      <div className="compare">
        {side('COLO', coloSrc, colo)}
        {side('Remus', remusSrc, remus)}
      </div>
      {other === null && (
        <div className="row small" style={{ marginTop: '0.5rem' }}>
          <span>
            To measure this workload in {otherLabel} mode: stop protection, switch the mode in the demo panel, start again. The {pair.mode === 'colo' ? 'COLO' : 'Remus'} figures stay here for comparison.
          </span>
          {candidate !== undefined && (
            <button type="button" onClick={() => void align(candidate)}>
              Or run {candidate.name} as {otherLabel} on this workload
            </button>
          )}
        </div>
      )}
      {colo !== null && remus !== null && !sameWorkload && <p className="hint">Different workloads on the two sides: not a like-for-like comparison.</p>}
      {error !== null && (
        <p className="error-text" role="alert">
          {error}
        </p>
      )}
      <div style={{ marginTop: '0.5rem' }} data-testid="output-compare-chart">
        <OutputChart data={deferred} pal={pal} />
      </div>
    </section>
  );
}

// A canvas chart like the per-cycle ones. It was recharts once: recharts 3 memoizes its internal selectors with
// reselect's weakMapMemoize, which keeps a result for every primitive it was called with, and under a 1 Hz live
// refresh the page's heap grew by 1–3 MB a minute (bench:ui, heap snapshots) while without this chart it stayed flat.
const OutputChart = memo(function OutputChart({ data, pal }: { data: ChartData; pal: Palette }) {
  const tickFormat = useMemo(() => relativeTickFormatter(data.t1), [data.t1]);
  const ticks = useMemo(() => timeTicks(data.t0, data.t1, WINDOW_MS), [data.t0, data.t1]);
  const series = useMemo(
    () => [
      { key: 'colo', name: 'COLO: output held p99', color: pal.series.colo, axis: 'left' as const },
      { key: 'remus', name: 'Remus: output held p99', color: pal.series.remus, axis: 'left' as const },
    ],
    [pal],
  );
  if (data.rows.length === 0) return <p className="empty">Waiting for output-latency samples…</p>;
  return (
    <CanvasChart
      rows={data.rows}
      t0={data.t0}
      t1={data.t1}
      ticks={ticks}
      tickFormat={tickFormat}
      left={{ max: data.max, format: msTick }}
      series={series}
      height={HEIGHT}
      label="Guest output held before release, p99 per second: COLO and Remus over the last minute"
      testId="output-compare-canvas"
      formatValue={msValue}
    />
  );
});
