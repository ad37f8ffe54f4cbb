// A QEMU pair's live settings through qemu.configure: the checkpoint delay (applied at once while protected; the
// value shown is the one QEMU reports, the pending one while the call runs, the refusal if any) and the
// console's heartbeat (interval, misses, automatic failover).

import { type FormEvent, useState } from 'react';
import type { PairInfo, QemuPairStatus } from '../../../core/api/console-contract.js';
import { api, errorMessage } from '../api/console-api';
import { formatMs } from '../lib/format';
import { checkpointDelayInput, heartbeatInput } from '../lib/qemu';
import { acceptPair } from '../store/sync';

const CONFIGURE_TIMEOUT_MS = 30_000;

function CheckpointDelay({ pair, q }: { pair: PairInfo; q: QemuPairStatus }) {
  const [text, setText] = useState('');
  const [pending, setPending] = useState<number | null>(null);
  const [error, setError] = useState<string | null>(null);

  const apply = (e: FormEvent): void => {
    e.preventDefault();
    const v = checkpointDelayInput(text);
    if (typeof v === 'string') {
      setError(v);
      return;
    }
    setPending(v);
    setError(null);
    api.call('qemu.configure', { pairId: pair.id, checkpointDelayMs: v }, { timeoutMs: CONFIGURE_TIMEOUT_MS }).then(
      (next) => {
        acceptPair(next);
        setText('');
      },
      (err: unknown) => setError(`QEMU kept ${formatMs(q.checkpointDelayMs, 0)}: ${errorMessage(err)}`),
    ).finally(() => setPending(null));
  };

  return (
    <form className="stack" onSubmit={apply} aria-label="Checkpoint delay">
      <div className="row" style={{ alignItems: 'baseline' }}>
        <span>Checkpoint delay (x-checkpoint-delay), as QEMU reports it:</span>
        <b className="big-number" data-testid="qemu-checkpoint-delay">
          {q.checkpointDelayMs === null ? '—' : `${q.checkpointDelayMs} ms`}
        </b>
        {pending !== null && (
          <span className="muted" role="status" data-testid="qemu-checkpoint-delay-pending">
            setting {pending} ms…
          </span>
        )}
      </div>
      <div className="row">
        <label className="field">
          <span>New delay (ms)</span>
          <input value={text} onChange={(e) => setText(e.target.value)} inputMode="numeric" size={8} placeholder={q.checkpointDelayMs === null ? '' : String(q.checkpointDelayMs)} disabled={pending !== null} data-testid="qemu-delay-input" />
        </label>
        <button type="submit" disabled={pending !== null || text.trim() === ''} data-testid="qemu-delay-apply">
          Apply
        </button>
      </div>
      {error !== null && (
        <p className="error-text" role="alert" data-testid="qemu-delay-error">
          {error}
        </p>
      )}
    </form>
  );
}

function Heartbeat({ pair, q }: { pair: PairInfo; q: QemuPairStatus }) {
  const hb = q.heartbeat;
  const [interval, setIntervalText] = useState(String(hb.intervalMs));
  const [misses, setMisses] = useState(String(hb.misses));
  const [auto, setAuto] = useState(hb.autoFailover);
  const [busy, setBusy] = useState(false);
  const [error, setError] = useState<string | null>(null);
  const changed = interval !== String(hb.intervalMs) || misses !== String(hb.misses) || auto !== hb.autoFailover;

  const save = (e: FormEvent): void => {
    e.preventDefault();
    const v = heartbeatInput(interval, misses, auto);
    if (typeof v === 'string') {
      setError(v);
      return;
    }
    setBusy(true);
    setError(null);
    api.call('qemu.configure', { pairId: pair.id, ...v }, { timeoutMs: CONFIGURE_TIMEOUT_MS }).then(
      (next) => {
        acceptPair(next);
        const h = next.qemu?.heartbeat;
        if (h !== undefined) {
          setIntervalText(String(h.intervalMs));
          setMisses(String(h.misses));
          setAuto(h.autoFailover);
        }
      },
      (err: unknown) => setError(errorMessage(err)),
    ).finally(() => setBusy(false));
  };

  return (
    <form className="stack" onSubmit={save} aria-label="Heartbeat">
      <p className="small muted" data-testid="qemu-heartbeat">
        Now: every {hb.intervalMs} ms, lost after {hb.misses} missed, automatic failover {hb.autoFailover ? 'on' : 'off'}.
      </p>
      <div className="row">
        <label className="field">
          <span>Heartbeat interval (ms)</span>
          <input value={interval} onChange={(e) => setIntervalText(e.target.value)} inputMode="numeric" size={7} disabled={busy} />
        </label>
        <label className="field">
          <span>Missed heartbeats before lost</span>
          <input value={misses} onChange={(e) => setMisses(e.target.value)} inputMode="numeric" size={4} disabled={busy} />
        </label>
        <label className="check" style={{ maxWidth: '28rem' }}>
          <input type="checkbox" checked={auto} onChange={(e) => setAuto(e.target.checked)} disabled={busy} />
          <span>
            Automatic failover
            <span className="small muted" style={{ display: 'block' }}>
              Promotes the secondary only when the primary’s QEMU is gone for certain: its host answers and its monitor socket is gone.
            </span>
          </span>
        </label>
        <button type="submit" disabled={busy || !changed}>
          {busy ? 'Saving…' : 'Save heartbeat'}
        </button>
      </div>
      {error !== null && (
        <p className="error-text" role="alert">
          {error}
        </p>
      )}
    </form>
  );
}

export function QemuSettings({ pair, q }: { pair: PairInfo; q: QemuPairStatus }) {
  return (
    <>
      <CheckpointDelay pair={pair} q={q} />
      <h3>Heartbeat</h3>
      <Heartbeat pair={pair} q={q} />
    </>
  );
}
