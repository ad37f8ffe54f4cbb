// Keeps the store in step with the service: snapshots on every (re)connect, then the topics. Cycle and event
// subscriptions are per pair, so a drop notice says which pair lost what.

import { api, errorMessage } from '../api/console-api';
import type { DataFileProblem, PairInfo } from '../../../core/api/console-contract.js';
import { applyTheme } from '../theme';
import { forgetPair, ingestCycles, ingestEvents, ingestOutput, markAllStale, noteDropped } from './live';
import { queuePair, queuePairSnapshot, queuePatch, startClock } from './scheduler';
import { pushNotice, useConsole } from './store';

interface PairSubs {
  cycles: () => void;
  events: () => void;
}

const pairSubs = new Map<string, PairSubs>();
let started = false;

export function startSync(): void {
  if (started) return;
  started = true;
  startClock();

  useConsole.setState({ connection: api.status() });
  api.onStatus((connection) => useConsole.setState({ connection }));
  api.onError((err) => {
    console.warn('console API:', err.message);
    useConsole.setState((s) => ({ protocolErrors: s.protocolErrors + 1, lastProtocolError: err.message.slice(0, 300) }));
  });
  api.onOpen(() => {
    markAllStale();
    void refreshSnapshots();
  });

  api.subscribe('pairs', undefined, (pairs) => {
    for (const p of pairs) queuePair(p);
    syncPairSubscriptions(pairs.map((p) => p.id), false);
  });
  // Problems with the console's own data as they happen (a write failing on a full disk, a broken audit chain); the
  // subscription starts with the current list, shown once each like those fetched at load.
  api.subscribe('problems', undefined, showDataProblems);
  // Host status as it changes (a connection dropped, a host key to confirm, a probe result); starts with the list.
  // Rare, so applied at once rather than batched with the frame (a batched patch would race a hosts.list refresh).
  api.subscribe('hosts', undefined, (hosts) => {
    useConsole.setState((s) => {
      const byId = new Map(s.hosts.map((h) => [h.id, h]));
      for (const h of hosts) byId.set(h.id, h);
      return { hosts: [...byId.values()], hostsLoaded: true };
    });
  });
  api.subscribe('output', undefined, (gauges) => {
    const now = Date.now();
    const pairs = useConsole.getState().pairs;
    for (const g of gauges) {
      const p = pairs[g.pairId];
      ingestOutput(g.pairId, now, g.heldP50Ms, g.heldP99Ms, g.packetsPerSecond, p?.mode ?? 'colo', p?.sim?.preset);
    }
  });

  // Keep per-pair subscriptions in step with the set of pairs the store knows.
  useConsole.subscribe((s, prev) => {
    if (s.pairOrder !== prev.pairOrder) syncPairSubscriptions(s.pairOrder, true);
  });

  api.start();
}

function syncPairSubscriptions(ids: readonly string[], exact: boolean): void {
  for (const id of ids) {
    if (pairSubs.has(id)) continue;
    pairSubs.set(id, {
      cycles: api.subscribe(
        'cycles',
        { pairId: id },
        (cycles) => ingestCycles(id, cycles),
        (n) => noteDropped(id, 'cycles', n.dropped),
      ),
      events: api.subscribe(
        'events',
        { pairId: id },
        (events) => ingestEvents(id, events),
        (n) => noteDropped(id, 'events', n.dropped),
      ),
    });
  }
  if (!exact) return;
  const keep = new Set(ids);
  for (const [id, subs] of pairSubs) {
    if (keep.has(id)) continue;
    subs.cycles();
    subs.events();
    pairSubs.delete(id);
    forgetPair(id);
  }
}

export async function refreshSnapshots(): Promise<void> {
  const results = await Promise.allSettled([
    api.call('pairs.list', {}).then((pairs) => queuePairSnapshot(pairs)),
    refreshHosts(),
    api.call('settings.get', {}).then((settings) => {
      queuePatch({ settings });
      applyTheme(settings.theme);
    }),
    api.call('app.problems', {}).then(showDataProblems),
    api.call('app.info', {}).then((info) => showAppWarnings(info.warnings ?? [])),
  ]);
  const failed = results.find((r) => r.status === 'rejected');
  if (failed !== undefined) pushNotice('error', `Could not load the console's state: ${errorMessage(failed.reason)}`);
}

/** Data-file problems already shown: a reconnect fetches the list again, and the admin dismissed these once. */
const shownProblems = new Set<string>();

function showDataProblems(problems: readonly DataFileProblem[]): void {
  for (const p of problems) {
    const key = `${p.file}@${p.at}@${p.message}`;
    if (shownProblems.has(key)) continue;
    shownProblems.add(key);
    // A file moved aside was found at start; anything else is the data going wrong now (a write failing).
    pushNotice('error', p.movedTo === undefined
      ? `A problem with the console's data: ${p.file}: ${p.message}.`
      : `A data file could not be read when the console started: ${p.file}: ${p.message}.`);
  }
}

/** How the app runs (the desktop app's sandbox off, say): once per page load, not again on every reconnect. */
const shownWarnings = new Set<string>();

function showAppWarnings(warnings: readonly string[]): void {
  for (const w of warnings) {
    if (shownWarnings.has(w)) continue;
    shownWarnings.add(w);
    pushNotice('warning', w);
  }
}

export async function refreshHosts(): Promise<void> {
  const hosts = await api.call('hosts.list', {});
  queuePatch({ hosts, hostsLoaded: true });
}

/** A pair returned by an action is the freshest view of it; show it now rather than at the next topic event. */
export function acceptPair(pair: PairInfo): void {
  queuePair(pair);
}
