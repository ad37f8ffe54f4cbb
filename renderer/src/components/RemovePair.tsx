// Removing a pair from the console (not the demo): only while it is not running, with the typed confirmation.
// Nothing is sent to the hosts; the pair's history stays on disk.

import { useState } from 'react';
import type { PairInfo } from '../../../core/api/console-contract.js';
import { api } from '../api/console-api';
import { removePairPlan, removePairRefusal } from '../lib/hosts';
import { hrefFor } from '../lib/route';
import { refreshSnapshots } from '../store/sync';
import { useConsole } from '../store/store';
import { ConfirmDialog } from './ConfirmDialog';

export function RemovePair({ pair }: { pair: PairInfo }) {
  const hosts = useConsole((s) => s.hosts);
  const [open, setOpen] = useState(false);
  if (pair.backend === 'sim') return null;
  const refusal = removePairRefusal(pair);
  return (
    <section className="panel" aria-labelledby={`remove-${pair.id}`}>
      <h2 id={`remove-${pair.id}`}>Remove from the console</h2>
      {refusal !== null && <p className="muted">{refusal}</p>}
      <button type="button" className="danger" onClick={() => setOpen(true)} disabled={refusal !== null} data-testid="action-remove">
        Remove pair…
      </button>
      {open && (
        <ConfirmDialog
          plan={removePairPlan(pair, hosts)}
          pairName={pair.name}
          facts={[{ label: 'State', value: pair.state.state }]}
          onCancel={() => setOpen(false)}
          onConfirm={async (typed) => {
            await api.call('pairs.remove', { pairId: pair.id, confirmName: typed });
            setOpen(false);
            await refreshSnapshots();
            location.hash = hrefFor({ name: 'overview' });
          }}
        />
      )}
    </section>
  );
}
