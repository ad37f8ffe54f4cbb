import { useId } from 'react';

interface Option<T extends string | number> {
  value: T;
  label: string;
}

interface Props<T extends string | number> {
  legend: string;
  value: T;
  options: readonly Option<T>[];
  onChange: (value: T) => void;
  disabled?: boolean;
  testId?: string;
}

/** A radio group drawn as a segmented control: arrow keys move between options, as radios do. */
export function Segmented<T extends string | number>({ legend, value, options, onChange, disabled, testId }: Props<T>) {
  const name = useId();
  return (
    <fieldset className="segmented" disabled={disabled} data-testid={testId}>
      <legend>{legend}</legend>
      {options.map((o) => (
        <label key={String(o.value)}>
          <input type="radio" name={name} value={String(o.value)} checked={o.value === value} onChange={() => onChange(o.value)} />
          {o.label}
        </label>
      ))}
    </fieldset>
  );
}
