// Typed confirmation for destructive actions: what happens to each side, the facts that matter (state, last
// checkpoint, the hosts' health), and the VM's name to type. A modal <dialog> with its own focus trap; Escape
// and Cancel close it; focus returns to whatever opened it.

import { type FormEvent, type KeyboardEvent, type ReactNode, useEffect, useId, useRef, useState } from 'react';
import { errorMessage } from '../api/console-api';
import { type ActionPlan, type FenceStep, confirmReady, isFencingRefusal } from '../lib/confirm';
import { FenceField, FenceReason } from './FenceField';
import { TypedNameField } from './TypedNameField';

export interface Fact {
  label: string;
  value: ReactNode;
}

interface Props {
  plan: ActionPlan;
  /** Failover only: shown when required, or once the service refuses for want of it. */
  fence?: FenceStep;
  pairName: string;
  facts: readonly Fact[];
  onCancel: () => void;
  /** Rejects to keep the dialog open and show the error. `fencedHost`: the typed fencing confirmation, when shown. */
  onConfirm: (typedName: string, fencedHost?: string) => Promise<void>;
}

const FOCUSABLE = 'button:not([disabled]), input:not([disabled]), select:not([disabled]), textarea:not([disabled]), a[href], [tabindex]:not([tabindex="-1"])';

export function ConfirmDialog({ plan, fence, pairName, facts, onCancel, onConfirm }: Props) {
  const dialogRef = useRef<HTMLDialogElement>(null);
  const inputRef = useRef<HTMLInputElement>(null);
  const [typed, setTyped] = useState('');
  const [busy, setBusy] = useState(false);
  const [error, setError] = useState<string | null>(null);
  const titleId = useId();
  const descId = useId();
  const [fenceTyped, setFenceTyped] = useState('');
  const [fenceRefusal, setFenceRefusal] = useState<string | null>(null);
  const { ready: matches, fenceReason } = confirmReady(typed, pairName, fence, fenceTyped, fenceRefusal);

  useEffect(() => {
    const dialog = dialogRef.current;
    if (dialog === null) return;
    const opener = document.activeElement instanceof HTMLElement ? document.activeElement : null;
    if (!dialog.open) dialog.showModal();
    inputRef.current?.focus();
    return () => {
      if (dialog.open) dialog.close();
      opener?.focus();
    };
  }, []);

  const submit = (e: FormEvent): void => {
    e.preventDefault();
    if (!matches || busy) return;
    setBusy(true);
    setError(null);
    onConfirm(typed, fenceReason !== null ? fenceTyped : undefined).then(
      () => setBusy(false),
      (err: unknown) => {
        const message = errorMessage(err);
        setBusy(false);
        setError(message);
        // The backend found meanwhile that it cannot rule out a running primary: ask for the fencing word now.
        if (fence !== undefined && fenceReason === null && isFencingRefusal(message)) setFenceRefusal(message);
      },
    );
  };

  const trapFocus = (e: KeyboardEvent<HTMLDialogElement>): void => {
    if (e.key !== 'Tab') return;
    const items = Array.from(dialogRef.current?.querySelectorAll<HTMLElement>(FOCUSABLE) ?? []);
    if (items.length === 0) return;
    const first = items[0]!;
    const last = items[items.length - 1]!;
    if (e.shiftKey && document.activeElement === first) {
      e.preventDefault();
      last.focus();
    } else if (!e.shiftKey && document.activeElement === last) {
      e.preventDefault();
      first.focus();
    }
  };

  return (
    <dialog
      ref={dialogRef}
      className="confirm"
      data-testid="confirm-dialog"
      aria-labelledby={titleId}
      aria-describedby={descId}
      onKeyDown={trapFocus}
      onCancel={(e) => {
        // Escape: close through React so the parent's state stays the one truth.
        e.preventDefault();
        if (!busy) onCancel();
      }}
    >
      <form onSubmit={submit}>
        <h2 id={titleId}>{plan.title}</h2>
        <p id={descId}>{plan.summary}</p>
        {fence !== undefined && fenceReason !== null && <FenceReason reason={fenceReason} />}
        <div className="sides">
          {plan.sides.map((s) => (
            <section className="side" key={s.role} aria-label={`${s.role} side`}>
              <h3>
                {s.role}: {s.host}
              </h3>
              <p className="small muted">Host {s.hostStatus}</p>
              <p>{s.effect}</p>
            </section>
          ))}
        </div>
        <dl className="facts">
          {facts.map((f) => (
            <div key={f.label} style={{ display: 'contents' }}>
              <dt>{f.label}</dt>
              <dd>{f.value}</dd>
            </div>
          ))}
        </dl>
        <p>
          <strong>Afterwards:</strong> {plan.afterwards}
        </p>
        <TypedNameField
          label={<>Type the VM’s name, <span className="mono">{pairName}</span>, to confirm</>}
          expected={pairName}
          typed={typed}
          onChange={setTyped}
          disabled={busy}
          testId="confirm-name"
          inputRef={inputRef}
        />
        {fence !== undefined && fenceReason !== null && <FenceField host={fence.host} typed={fenceTyped} onChange={setFenceTyped} disabled={busy} />}
        {error !== null && (
          <p className="error-text" role="alert">
            {error}
          </p>
        )}
        <div className="dialog-buttons">
          <button type="button" onClick={onCancel} disabled={busy}>
            Cancel
          </button>
          <button type="submit" className="danger" data-testid="confirm-submit" disabled={!matches || busy}>
            {busy ? 'Working…' : plan.verb}
          </button>
        </div>
      </form>
    </dialog>
  );
}
