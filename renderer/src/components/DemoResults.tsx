// The pair's kept results, from the history ('pairs.runs', 'pairs.drills'): COLO vs Remus per run and past drills.
// They survive a reload and a restart. Fetched when the view opens, when the pair's state changes (a run began or
// ended), when a drill ends (its event, also from another window) and on Refresh; never on live ticks, so the
// recharts views re-render only when their data changes.

import { useEffect, useState } from 'react';
import type { DrillRecord, PairInfo, RunSummary } from '../../../core/api/console-contract.js';
import { api, errorMessage } from '../api/console-api';
import { formatClock } from '../lib/format';
import { eventsNewestFirst, peekLive } from '../store/live';
import { useConsole, useLiveValue } from '../store/store';
import { PastDrills } from './PastDrills';
import { RunComparison } from './RunComparison';

const RUNS = 12;
const DRILLS = 20;

interface Results {
  runs: RunSummary[];
  drills: DrillRecord[];
  at: number;
}

/** The seq of the pair's newest drill event, or -1: it changes when a drill starts and when it ends. */
function lastDrillEventSeq(pairId: string): number {
  if (peekLive(pairId) === undefined) return -1;
  for (const e of eventsNewestFirst(pairId)) if (e.kind === 'drill') return e.seq;
  return -1;
}

async function fetchResults(pairId: string): Promise<Results> {
  const [runs, drills] = await Promise.all([
    api.call('pairs.runs', { pairId, limit: RUNS }),
    api.call('pairs.drills', { pairId, limit: DRILLS }),
  ]);
  return { runs, drills, at: Date.now() };
}

export function DemoResults({ pair }: { pair: PairInfo }) {
  const [results, setResults] = useState<Results | null>(null);
  const [error, setError] = useState<string | null>(null);
  const [loading, setLoading] = useState(false);
  const [refreshes, setRefreshes] = useState(0);
  const open = useConsole((s) => s.connection.phase === 'open');
  const drillSeq = useLiveValue(() => lastDrillEventSeq(pair.id));
  const stateName = pair.state.state;

  useEffect(() => {
    if (!open) return;
    let cancelled = false;
    fetchResults(pair.id).then(
      (r) => {
        if (cancelled) return;
        setResults(r);
        setError(null);
        setLoading(false);
      },
      (err: unknown) => {
        if (cancelled) return;
        setError(errorMessage(err));
        setLoading(false);
      },
    );
    return () => {
      cancelled = true;
    };
  }, [pair.id, open, stateName, drillSeq, refreshes]);

  return (
    <section className="panel" aria-labelledby={`results-${pair.id}`} data-testid="demo-results">
      <div className="row" style={{ justifyContent: 'space-between' }}>
        <h2 id={`results-${pair.id}`} style={{ margin: 0 }}>
          Past runs and drills
        </h2>
        <div className="row">
          {results !== null && <span className="small muted">as of {formatClock(results.at)}{loading ? ' · refreshing…' : ''}</span>}
          <button type="button" disabled={loading || !open} onClick={() => {
              setLoading(true);
              setRefreshes((n) => n + 1);
            }} data-testid="demo-results-refresh">
            Refresh
          </button>
        </div>
      </div>
      <p className="panel-note">
        Kept in the history, so they survive a reload and a restart. The run in progress is updated when it ends; Refresh reads it now.
      </p>
      {error !== null && (
        <p className="error-text" role="alert">
          Could not load past runs and drills: {error}
        </p>
      )}
      {results === null ? (
        error === null && <p className="panel-note" role="status">Loading past runs and drills…</p>
      ) : (
        <>
          <h3>COLO vs Remus, per run</h3>
          <RunComparison runs={results.runs} />
          <h3>Drills</h3>
          <PastDrills drills={results.drills} />
        </>
      )}
    </section>
  );
}
