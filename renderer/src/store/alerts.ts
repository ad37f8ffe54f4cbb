// Alerts that reach the admin wherever they are (issue 7 §4) and the "disconnected" truth (§3): watches the main
// store, raises a notice when a pair needs attention (core/api/pair-alert.ts decides and words it), clears it when
// the pair is protected again or the admin dismisses it, and in browser mode raises a desktop notification through
// the browser's Notification API once allowed. A store of its own so the main store's slices stay as they are.

import { create } from 'zustand';
import { type PairAlert, nextAlerts, nextDisconnectedSince } from '../lib/alarm';
import { hrefFor } from '../lib/route';
import { useConsole } from './store';
import { refreshHosts } from './sync';

export type NotifyPermission = 'unsupported' | 'default' | 'granted' | 'denied';

export interface AlertsState {
  /** Pairs needing attention, oldest first. */
  alerts: readonly PairAlert[];
  /** Set when the connection to the service dropped; cleared once fresh data arrived again. */
  disconnectedSince: number | null;
  notifyPermission: NotifyPermission;
}

function currentPermission(): NotifyPermission {
  return typeof Notification === 'undefined' ? 'unsupported' : Notification.permission;
}

export const useAlerts = create<AlertsState>()(() => ({ alerts: [], disconnectedSince: null, notifyPermission: currentPermission() }));

/** Alerts the admin dismissed, by pair, with the key they dismissed: a different fault raises the pair again. */
const dismissed = new Map<string, string>();

export function dismissAlert(pairId: string): void {
  const a = useAlerts.getState().alerts.find((x) => x.pairId === pairId);
  if (a !== undefined) dismissed.set(pairId, a.key);
  useAlerts.setState((s) => ({ alerts: s.alerts.filter((x) => x.pairId !== pairId) }));
}

/** Asks the user to allow desktop notifications (must run from a click). */
export async function enableDesktopAlerts(): Promise<void> {
  if (typeof Notification === 'undefined') return;
  const result = await Notification.requestPermission();
  useAlerts.setState({ notifyPermission: result });
}

/**
 * A desktop notification, in browser mode: the browser's Notification API after the user allowed it. In Electron
 * the renderer's `Notification` would map to a native one too, but the main process already raises those from the
 * same words (electron/pair-notifier.ts), with or without a window open; the page does not add a second.
 */
function notifyDesktop(alert: PairAlert): void {
  if (useConsole.getState().connection.transport === 'electron') return;
  if (typeof Notification === 'undefined' || Notification.permission !== 'granted') return;
  try {
    const n = new Notification(alert.title, { body: alert.body, tag: `colo-pair-${alert.pairId}` });
    n.onclick = () => {
      window.focus();
      location.hash = hrefFor({ name: 'pair', id: alert.pairId });
      n.close();
    };
  } catch (err) {
    // Some shells only allow notifications from a service worker; the in-page notice still shows.
    console.warn('desktop notification failed:', err);
  }
}

let started = false;
let hostsTimer: ReturnType<typeof setTimeout> | null = null;

/** Host status changes with the pairs' faults (a killed primary is 'down'); the service has no hosts topic. */
function refreshHostsSoon(): void {
  if (hostsTimer !== null) return;
  hostsTimer = setTimeout(() => {
    hostsTimer = null;
    refreshHosts().catch(() => undefined);
  }, 300);
}

export function startAlerts(): void {
  if (started) return;
  started = true;
  useConsole.subscribe((s, prev) => {
    const since = useAlerts.getState().disconnectedSince;
    const next = nextDisconnectedSince(since, prev.connection.phase, s.connection.phase, s.pairs !== prev.pairs, Date.now());
    if (next !== since) useAlerts.setState({ disconnectedSince: next });
    if (s.pairs === prev.pairs && s.hosts === prev.hosts) return;
    let stateChanged = false;
    for (const id of Object.keys(s.pairs)) {
      const a = s.pairs[id]!.state;
      const b = prev.pairs[id]?.state;
      if (b === undefined || a.state !== b.state || a.reasonCode !== b.reasonCode) stateChanged = true;
    }
    if (stateChanged && prev.pairsLoaded) refreshHostsSoon();
    const pairs = s.pairOrder.map((id) => s.pairs[id]).filter((p) => p !== undefined);
    const { alerts, raised, cleared } = nextAlerts(useAlerts.getState().alerts, pairs, s.hosts, (id) => dismissed.get(id));
    for (const id of cleared) dismissed.delete(id);
    if (alerts !== useAlerts.getState().alerts) useAlerts.setState({ alerts });
    for (const a of raised) notifyDesktop(a);
  });
}
