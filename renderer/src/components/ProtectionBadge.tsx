import type { PairAlarm } from '../../../core/api/console-contract.js';
import type { FailoverEvent, ProtectionState } from '../../../core/colo/types.js';
import { pairBadge } from '../lib/alarm';
import { useAlerts } from '../store/alerts';

interface Props {
  state: ProtectionState;
  lastFailover?: FailoverEvent | null;
  /** An alarm outranks the state (Guest frozen, Split brain). */
  alarm?: PairAlarm | null;
  /** null leaves the test id off (a second badge on the same page, as in the confirmation dialog). */
  testId?: string | null;
}

/**
 * Protected / Not protected: why / Syncing n% / Failed over / Split brain / Guest frozen; tone shown by colour and
 * by icon. While the console is disconnected from the service every badge reads "unknown (…since hh:mm:ss)".
 */
export function ProtectionBadge({ state, lastFailover = null, alarm = null, testId = 'protection-badge' }: Props) {
  const disconnectedSince = useAlerts((s) => s.disconnectedSince);
  const b = pairBadge({ state, lastFailover, alarm }, disconnectedSince);
  return (
    <span
      className={`badge ${b.tone}`}
      data-testid={testId ?? undefined}
      data-state={b.key}
      data-alarm={disconnectedSince === null ? (alarm?.kind ?? undefined) : undefined}
      data-tone={b.tone}
      title={b.detail}
    >
      {b.label}
    </span>
  );
}
