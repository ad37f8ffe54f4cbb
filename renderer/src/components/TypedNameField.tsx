// A name the admin must type to confirm a destructive action: the field, whether what is typed is wrong, and the
// hint that says how (confirmHint), shared by the VM's name and a fenced host's name.

import { type ReactNode, type Ref, useId } from 'react';
import { confirmHint, confirmNameMatches } from '../lib/confirm';

interface Props {
  label: ReactNode;
  expected: string;
  /** What the name is, for the hint ("the VM's name" when left out). */
  what?: string;
  typed: string;
  onChange: (typed: string) => void;
  disabled: boolean;
  testId: string;
  inputRef?: Ref<HTMLInputElement>;
}

export function TypedNameField({ label, expected, what, typed, onChange, disabled, testId, inputRef }: Props) {
  const hintId = useId();
  const hint = confirmHint(typed, expected, what);
  return (
    <>
      <label className="field confirm-field">
        <span>{label}</span>
        <input
          ref={inputRef}
          data-testid={testId}
          value={typed}
          onChange={(e) => onChange(e.target.value)}
          autoComplete="off"
          spellCheck={false}
          aria-describedby={hintId}
          aria-invalid={typed !== '' && !confirmNameMatches(typed, expected) && hint !== null}
          style={{ width: '100%' }}
          disabled={disabled}
        />
      </label>
      <p id={hintId} className="hint" aria-live="polite">
        {hint ?? ''}
      </p>
    </>
  );
}
