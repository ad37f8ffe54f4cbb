// The second typed confirmation of a failover whose primary the console cannot rule out as running (QEMU: its
// host or monitor is unreachable): why, in the backend's words, and the primary host's name to type.

import { TypedNameField } from './TypedNameField';

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
  return (
    <div data-testid="fence-confirm">
      <TypedNameField
        label={<>Type <span className="mono">{host}</span> to confirm it is fenced</>}
        expected={host}
        what="the primary host’s name"
        typed={typed}
        onChange={onChange}
        disabled={disabled}
        testId="confirm-fenced-host"
      />
    </div>
  );
}
