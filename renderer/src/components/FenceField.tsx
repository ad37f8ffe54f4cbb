// The second typed confirmation of a failover whose primary the console cannot rule out as running (QEMU: its
// host or monitor is unreachable): why, in the backend's words, and the primary host's name to type.

import { useId } from 'react';
import { confirmHint, confirmNameMatches } from '../lib/confirm';

/** Why the admin must confirm the fencing (pair.qemu.fencingRequired, or the service's refusal): at the top. */
export function FenceReason({ reason }: { reason: string }) {
  return (
    <p className="banner bad" role="alert" data-testid="fencing-required">
      <strong>The primary may still be running.</strong> {reason}
    </p>
  );
}

interface Props {
  host: string;
  typed: string;
  onChange: (typed: string) => void;
  disabled: boolean;
}

export function FenceField({ host, typed, onChange, disabled }: Props) {
  const hintId = useId();
  const hint = confirmHint(typed, host, 'the primary host’s name');
  return (
    <div data-testid="fence-confirm">
      <label className="field confirm-field">
        <span>
          Type <span className="mono">{host}</span> to confirm it is fenced
        </span>
        <input
          data-testid="confirm-fenced-host"
          value={typed}
          onChange={(e) => onChange(e.target.value)}
          autoComplete="off"
          spellCheck={false}
          aria-describedby={hintId}
          aria-invalid={typed !== '' && !confirmNameMatches(typed, host) && hint !== null}
          style={{ width: '100%' }}
          disabled={disabled}
        />
      </label>
      <p id={hintId} className="hint" aria-live="polite">
        {hint ?? ''}
      </p>
    </div>
  );
}
