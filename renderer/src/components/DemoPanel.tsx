// Simulated pairs only: workload, mode, link and faults, so COLO can be shown live. The COLO-vs-Remus view of
// the guest's output latency is OutputCompare, next to the charts.

import { useState } from 'react';
import { type PairInfo, REMUS_INTERVAL_MAX_MS, REMUS_INTERVAL_MIN_MS, type SimSettings } from '../../../core/api/console-contract.js';
import { api, errorMessage } from '../api/console-api';
import { LINK_LABEL, PRESET_LABEL } from '../lib/labels';
import { acceptPair } from '../store/sync';
import { Segmented } from './Segmented';

const RUNNING = new Set<PairInfo['state']['state']>(['starting', 'syncing', 'protected', 'degraded', 'failing-over']);

const MODES = [
  { value: 'colo', label: 'COLO' },
  { value: 'remus', label: 'Remus' },
] as const;

type Fault = 'kill-primary' | 'kill-secondary' | 'cut-link' | 'slow-link' | 'stall-secondary';

const FAULTS: readonly { fault: Fault; label: string; toggle?: (s: SimSettings) => boolean; what: string }[] = [
  { fault: 'kill-primary', label: 'Kill primary', what: 'The primary host dies; the secondary should take over.' },
  { fault: 'kill-secondary', label: 'Kill secondary', what: 'The secondary dies; the primary runs on unprotected.' },
  { fault: 'cut-link', label: 'Cut link', what: 'The replication link is cut: each side thinks the other died.' },
  { fault: 'slow-link', label: 'Slow link', toggle: (s) => s.faults.slowLink, what: 'Checkpoints crawl over a degraded link.' },
  { fault: 'stall-secondary', label: 'Stall secondary', toggle: (s) => s.faults.stallSecondary, what: 'The secondary stops answering for a while.' },
];

export function DemoPanel({ pair }: { pair: PairInfo }) {
  const sim = pair.sim;
  const [busy, setBusy] = useState(false);
  const [error, setError] = useState<string | null>(null);
  const [intervalText, setIntervalText] = useState<string | null>(null);
  const [divText, setDivText] = useState<string | null>(null);
  if (sim === undefined) return null;
  // The service changes the mode only of a pair that is not replicating: a new mode needs a new initial copy.
  const running = RUNNING.has(pair.state.state);

  const act = async (fn: () => Promise<PairInfo>): Promise<void> => {
    setBusy(true);
    setError(null);
    try {
      acceptPair(await fn());
    } catch (err) {
      setError(errorMessage(err));
    } finally {
      setBusy(false);
    }
  };
  const configure = (change: { mode?: 'colo' | 'remus'; sim?: Partial<SimSettings> }): void => {
    void act(() => api.call('sim.configure', { pairId: pair.id, ...change }));
  };
  const inject = (fault: Fault, on: boolean): void => {
    void act(() => api.call('sim.inject', { pairId: pair.id, fault, on }));
  };
  const commitInterval = (): void => {
    if (intervalText === null) return;
    const v = Number(intervalText);
    setIntervalText(null);
    const valid = Number.isInteger(v) && v >= REMUS_INTERVAL_MIN_MS && v <= REMUS_INTERVAL_MAX_MS;
    if (valid && v !== sim.remusIntervalMs) configure({ sim: { remusIntervalMs: v } });
    else if (intervalText.trim() !== '' && v !== sim.remusIntervalMs) {
      setError(`The Remus interval must be a whole number of milliseconds, ${REMUS_INTERVAL_MIN_MS} to ${REMUS_INTERVAL_MAX_MS}.`);
    }
  };
  const commitDivergence = (): void => {
    if (divText === null) return;
    const v = Number(divText);
    setDivText(null);
    if (Number.isFinite(v) && v >= 0 && v <= 1 && v !== sim.divergenceProbability) configure({ sim: { divergenceProbability: v } });
    else if (divText.trim() !== '' && v !== sim.divergenceProbability) setError('Divergence must be a probability between 0 and 1.');
  };

  return (
    <section className="panel" aria-labelledby={`demo-${pair.id}`} data-testid="demo-panel">
      <h2 id={`demo-${pair.id}`}>
        Demo <span className="tag sim">simulated pair</span>
      </h2>
      <p className="panel-note">Changes apply at once to this simulated pair. Workload figures and their sources are in the simulator’s presets.</p>
      <div className="demo-controls">
        <label className="field">
          <span>Workload</span>
          <select value={sim.preset} disabled={busy} data-testid="sim-preset" onChange={(e) => configure({ sim: { preset: e.target.value as SimSettings['preset'] } })}>
            {Object.entries(PRESET_LABEL).map(([k, v]) => (
              <option key={k} value={k}>
                {v}
              </option>
            ))}
          </select>
        </label>
        <div className="field">
          <span>Mode</span>
          <Segmented legend="Replication mode" value={pair.mode} options={MODES} disabled={busy || running} onChange={(mode) => configure({ mode })} testId="sim-mode" />
          {running && <span className="small muted" style={{ maxWidth: '11rem' }}>Stop protection to change the mode.</span>}
        </div>
        <label className="field">
          <span>Link</span>
          <select value={sim.link} disabled={busy} data-testid="sim-link" onChange={(e) => configure({ sim: { link: e.target.value as SimSettings['link'] } })}>
            {Object.entries(LINK_LABEL).map(([k, v]) => (
              <option key={k} value={k}>
                {v}
              </option>
            ))}
          </select>
        </label>
        <label className="field">
          <span>Remus interval (ms)</span>
          <input
            type="number"
            min={REMUS_INTERVAL_MIN_MS}
            max={REMUS_INTERVAL_MAX_MS}
            step={1}
            style={{ width: '7rem' }}
            value={intervalText ?? String(sim.remusIntervalMs)}
            disabled={busy}
            onChange={(e) => setIntervalText(e.target.value)}
            onBlur={commitInterval}
            onKeyDown={(e) => {
              if (e.key === 'Enter') commitInterval();
            }}
          />
        </label>
        <label className="field">
          <span>Divergence per packet</span>
          <input
            type="number"
            min={0}
            max={1}
            step={0.0001}
            style={{ width: '7rem' }}
            value={divText ?? String(sim.divergenceProbability)}
            disabled={busy}
            aria-describedby={`div-note-${pair.id}`}
            onChange={(e) => setDivText(e.target.value)}
            onBlur={commitDivergence}
            onKeyDown={(e) => {
              if (e.key === 'Enter') commitDivergence();
            }}
          />
        </label>
      </div>
      <p className="panel-note" id={`div-note-${pair.id}`}>
        Divergence is a demo setting: no miscompare rate has been published for real workloads.
      </p>
      <label className="check">
        <input
          type="checkbox"
          checked={sim.stopCost ?? true}
          disabled={busy}
          data-testid="sim-stop-cost"
          onChange={(e) => configure({ sim: { stopCost: e.target.checked } })}
        />
        <span>Include the vCPUs’ stop time in each pause (4 ms per vCPU, as measured on QEMU)</span>
      </label>
      <h3>Faults</h3>
      <div className="faults" role="group" aria-label="Inject a fault">
        {FAULTS.map((f) => {
          const pressed = f.toggle?.(sim);
          return (
            <button
              key={f.fault}
              type="button"
              data-testid={`fault-${f.fault}`}
              aria-pressed={pressed}
              disabled={busy}
              title={f.what}
              onClick={() => inject(f.fault, pressed === undefined ? true : !pressed)}
            >
              {f.label}
              {pressed === true ? ' (on)' : ''}
            </button>
          );
        })}
      </div>
      {error !== null && (
        <p className="error-text" role="alert">
          {error}
        </p>
      )}
    </section>
  );
}
