import type { FailoverEvent, ProtectionState } from '../../../core/colo/types.js';
import { protectionBadge } from '../lib/protection';

interface Props {
  state: ProtectionState;
  lastFailover?: FailoverEvent | null;
  /** null leaves the test id off (a second badge on the same page, as in the confirmation dialog). */
  testId?: string | null;
}

/** Protected / Not protected: why / Syncing n% / Failed over / Split brain; tone shown by colour and by icon. */
export function ProtectionBadge({ state, lastFailover, testId = 'protection-badge' }: Props) {
  const b = protectionBadge(state, lastFailover);
  return (
    <span className={`badge ${b.tone}`} data-testid={testId ?? undefined} data-state={state.state} data-tone={b.tone} title={b.detail}>
      {b.label}
    </span>
  );
}
