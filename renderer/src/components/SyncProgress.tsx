import type { ProtectionState } from '../../../core/colo/types.js';
import { formatCount } from '../lib/format';
import { syncPercent } from '../lib/protection';

/** The initial copy: a real progressbar with the pass number and pages, shown while the pair is syncing. */
export function SyncProgress({ state }: { state: ProtectionState }) {
  const p = state.progress;
  const pct = syncPercent(state);
  const syncing = state.state === 'syncing' || state.state === 'starting';
  if (!syncing && p === undefined) return null;
  return (
    <section className="panel" aria-labelledby="sync-title" data-testid="sync-progress">
      <h2 id="sync-title">Initial synchronisation</h2>
      {p === undefined ? (
        <p className="muted">{state.state === 'starting' ? 'Starting protection…' : 'Copying memory to the secondary…'}</p>
      ) : (
        <>
          <progress className="progress" max={p.pagesTotal || 1} value={p.pagesDone} aria-labelledby="sync-title" aria-valuetext={`${pct ?? 0}%`} />
          <p className="small">
            <b>{pct ?? 0}%</b> · pass {p.iteration} · {formatCount(p.pagesDone)} of {formatCount(p.pagesTotal)} pages
            {syncing ? '' : ' (finished)'}
          </p>
          <p className="panel-note">Live passes copy memory while the VM runs; the final pass runs with it paused. The VM is not protected until the copy completes.</p>
        </>
      )}
    </section>
  );
}
