// Desktop notifications for pairs that leave Protected (issue 7 §4): raised by the main process, which owns the
// service, so they arrive even when the window is minimised, hidden behind others or still loading. The words are
// core/api/pair-alert.ts's, the same the page shows. Electron's Notification is passed in, so this module is
// tested without the Electron binary.

import type { HostInfo, PairInfo } from '../core/api/console-contract.js';
import { type PairAlert, pairAlert } from '../core/api/pair-alert.js';

export interface ShownNotification {
  on(event: 'click', listener: () => void): unknown;
  show(): void;
}

export interface PairNotifierOptions {
  /** Every pair's summary as it changes, with the hosts for their names; returns the unsubscribe function. */
  watch(fn: (pair: PairInfo, hosts: readonly HostInfo[]) => void): () => void;
  /** Electron: `new Notification({ title, body })`; null where the platform has none. */
  create(alert: PairAlert): ShownNotification | null;
  /** The admin clicked a notification: show that pair. */
  open(pairId: string): void;
}

/** Starts raising one notification per situation per pair; returns the function that stops it. */
export function startPairNotifier(options: PairNotifierOptions): () => void {
  const raised = new Map<string, string>();
  // Kept until clicked or superseded: a notification that is garbage-collected loses its click handler.
  const shown = new Map<string, ShownNotification>();
  return options.watch((pair, hosts) => {
    const alert = pairAlert(pair, hosts);
    if (alert === null) {
      raised.delete(pair.id);
      return;
    }
    if (raised.get(pair.id) === alert.key) return;
    raised.set(pair.id, alert.key);
    const n = options.create(alert);
    if (n === null) return;
    shown.set(pair.id, n);
    n.on('click', () => {
      shown.delete(pair.id);
      options.open(pair.id);
    });
    n.show();
  });
}
