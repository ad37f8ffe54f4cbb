// The pair view's QEMU panel: what the console's heartbeat sees of each side and the settings it can change live.

import type { PairInfo } from '../../../core/api/console-contract.js';
import { useConsole } from '../store/store';
import { QemuSettings } from './QemuSettings';
import { QemuStatus } from './QemuStatus';

export function QemuPanel({ pair }: { pair: PairInfo }) {
  const hosts = useConsole((s) => s.hosts);
  const now = useConsole((s) => s.clock);
  const q = pair.qemu;
  if (q === undefined) return null;
  return (
    <section className="panel" aria-labelledby={`qemu-${pair.id}`} data-testid="qemu-panel">
      <h2 id={`qemu-${pair.id}`}>QEMU</h2>
      {q.fencingRequired !== undefined && (
        <p className="banner bad" role="status" data-testid="qemu-fencing">
          {q.fencingRequired}
        </p>
      )}
      <QemuStatus pair={pair} q={q} hosts={hosts} now={now} />
      <h3>Checkpoints</h3>
      <QemuSettings pair={pair} q={q} />
    </section>
  );
}
