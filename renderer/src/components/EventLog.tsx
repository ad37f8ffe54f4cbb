import { formatClock, formatDateTime } from '../lib/format';
import { eventsNewestFirst, peekLive } from '../store/live';
import { useLiveValue } from '../store/store';

const KIND_TONE: Readonly<Record<string, string>> = { state: 'tag', failover: 'tag derived', action: 'tag measured', fault: 'tag derived', drill: 'tag sim' };

/** The pair's event log, newest first: state changes, failovers, admin actions, injected faults, drills. */
export function EventLog({ pairId }: { pairId: string }) {
  // Re-render only when the log changes, not on every frame.
  const version = useLiveValue(() => peekLive(pairId)?.eventsVersion ?? 0);
  const dropped = useLiveValue(() => peekLive(pairId)?.eventsDropped ?? 0);
  const events = eventsNewestFirst(pairId);
  return (
    <section className="panel" aria-labelledby={`events-${pairId}`} data-version={version}>
      <h2 id={`events-${pairId}`}>Event log</h2>
      {dropped > 0 && <p className="error-text small">{dropped} event(s) were lost in transit (the service's queue overflowed).</p>}
      {events.length === 0 ? (
        <p className="muted">No events yet.</p>
      ) : (
        <ol className="event-log" aria-label="Events, newest first" data-testid="event-log" tabIndex={0}>
          {events.map((e) => (
            <li key={e.seq}>
              <time dateTime={new Date(e.at).toISOString()} title={formatDateTime(e.at)}>
                {formatClock(e.at)}
              </time>
              <span>
                <span className={KIND_TONE[e.kind] ?? 'tag'}>{e.kind}</span>
              </span>
              <span>{e.message}</span>
            </li>
          ))}
        </ol>
      )}
    </section>
  );
}
