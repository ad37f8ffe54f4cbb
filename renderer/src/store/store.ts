// The one zustand store, in slices. It holds what screens render from; high-rate data (cycles, output samples)
// lives in ring buffers outside it (live.ts), and the store only carries counters telling React that something
// changed. All high-rate writes go through the frame scheduler (scheduler.ts): at most one set() per frame.

import { create } from 'zustand';
import type { DrillReport, HostInfo, PairInfo, Settings } from '../../../core/api/console-contract.js';
import type { ConnectionStatus } from '../api/console-api';

export interface Notice {
  id: number;
  /** 'info' fades; 'error' and 'warning' (how the app runs, e.g. its sandbox off) stay until dismissed. */
  kind: 'error' | 'warning' | 'info';
  text: string;
}

export interface ConnectionSlice {
  connection: ConnectionStatus;
  /** Protocol problems the client reported (invalid events, refused subscriptions); shown, never silent. */
  protocolErrors: number;
  lastProtocolError: string | null;
}

export interface PairsSlice {
  pairs: Readonly<Record<string, PairInfo>>;
  /** Pair ids sorted by name; replaced only when the set of pairs changes. */
  pairOrder: readonly string[];
  pairsLoaded: boolean;
  drills: Readonly<Record<string, DrillReport>>;
}

export interface HostsSlice {
  hosts: readonly HostInfo[];
  hostsLoaded: boolean;
}

export interface SettingsSlice {
  settings: Settings | null;
}

export interface NoticesSlice {
  notices: readonly Notice[];
}

export interface TicksSlice {
  /** Bumped at most once per frame when any ring buffer changed. */
  frame: number;
  /**
   * Wall-clock time of the last chart refresh, set at most every 200 ms while live data changes; charts A and B
   * refresh in different frames, so two chart redraws never share one.
   */
  chartTimeA: number;
  chartTimeB: number;
  /** Wall clock, updated once a second (ages such as "last checkpoint 3 s ago"). */
  clock: number;
}

export type ConsoleState = ConnectionSlice & PairsSlice & HostsSlice & SettingsSlice & NoticesSlice & TicksSlice;

const connectionSlice = (): ConnectionSlice => ({
  connection: { phase: 'connecting', transport: 'browser', attempts: 0 },
  protocolErrors: 0,
  lastProtocolError: null,
});
const pairsSlice = (): PairsSlice => ({ pairs: {}, pairOrder: [], pairsLoaded: false, drills: {} });
const hostsSlice = (): HostsSlice => ({ hosts: [], hostsLoaded: false });
const settingsSlice = (): SettingsSlice => ({ settings: null });
const noticesSlice = (): NoticesSlice => ({ notices: [] });
const ticksSlice = (): TicksSlice => ({ frame: 0, chartTimeA: Date.now(), chartTimeB: Date.now(), clock: Date.now() });

export const useConsole = create<ConsoleState>()(() => ({
  ...connectionSlice(),
  ...pairsSlice(),
  ...hostsSlice(),
  ...settingsSlice(),
  ...noticesSlice(),
  ...ticksSlice(),
}));

let noticeId = 1;
const MAX_NOTICES = 5;
const INFO_NOTICE_MS = 10_000;

/** Notices are rare (an action failed); they bypass the frame scheduler. */
export function pushNotice(kind: Notice['kind'], text: string): void {
  const notice = { id: noticeId++, kind, text };
  useConsole.setState((s) => ({ notices: capNotices([...s.notices, notice]) }));
  // Information fades after a while; errors and warnings stay until dismissed.
  if (kind === 'info') setTimeout(() => dismissNotice(notice.id), INFO_NOTICE_MS);
}

/** The newest MAX_NOTICES, except that a warning is never pushed out by later notices: only dismissed. */
function capNotices(notices: Notice[]): Notice[] {
  const kept = [...notices];
  for (let i = 0; kept.length > MAX_NOTICES && i < kept.length; ) {
    if (kept[i]!.kind === 'warning') i++;
    else kept.splice(i, 1);
  }
  return kept;
}

export function dismissNotice(id: number): void {
  useConsole.setState((s) => ({ notices: s.notices.filter((n) => n.id !== id) }));
}

export function sortPairIds(pairs: Readonly<Record<string, PairInfo>>): string[] {
  return Object.values(pairs)
    .sort((a, b) => a.name.localeCompare(b.name) || a.id.localeCompare(b.id))
    .map((p) => p.id);
}

export function sameIds(a: readonly string[], b: readonly string[]): boolean {
  return a.length === b.length && a.every((x, i) => x === b[i]);
}

/**
 * A value read from the live (non-React) data. zustand re-runs the selector on every store update (at most one a
 * frame) and re-renders only when the value itself changes, so `read` must return a primitive.
 */
export function useLiveValue<T extends string | number | boolean | null>(read: () => T): T {
  return useConsole(() => read());
}
