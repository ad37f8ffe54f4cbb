// Per-pair live data outside React: the cycle ring (the last minute and more), the event log, the output-latency
// gauge's recent samples, and history windows fetched for the longer chart windows. Writers mark the scheduler;
// readers compare `version` counters.

import type { PairEvent } from '../../../core/api/console-contract.js';
import type { CycleRecord } from '../../../core/colo/types.js';
import { api, errorMessage } from '../api/console-api';
import { type HistoryPlan, mergeCycles, nextPage, planHistory } from '../lib/history';
import { CycleRing, SampleRing } from './ring';
import { markLive } from './scheduler';

/** 100 cycles/s for a minute plus margin: the 1-minute window always comes from here. */
export const RING_CAPACITY = 8192;
export const MAX_EVENTS = 500;
/** Output gauge samples kept per pair (the topic sends at most a few a second). */
export const OUTPUT_CAPACITY = 600;
export const OUTPUT_P50 = 0;
export const OUTPUT_P99 = 1;
export const OUTPUT_PPS = 2;
/** Which mode the pair was in when the sample came (0 colo, 1 remus): a pair can switch mode mid-demo. */
export const OUTPUT_MODE = 3;
/** Which workload preset it ran (index into PRESETS below; NaN when not simulated). */
export const OUTPUT_PRESET = 4;
export const PRESETS = ['idle', 'file-server', 'web-server', 'database', 'batch'] as const;

export interface HistoryWindow {
  windowMs: number;
  state: 'loading' | 'ready' | 'error';
  kind: HistoryPlan['kind'];
  /** Cycles history holds in [from, to]: a true count, also when only a sample of them is fetched. */
  total: number;
  /** Oldest first. */
  cycles: CycleRecord[];
  from: number;
  to: number;
  fetchedAt: number;
  error?: string;
  version: number;
}

export interface PairLive {
  readonly ring: CycleRing;
  events: PairEvent[];
  eventsVersion: number;
  /** Cycle events the service reported lost for this subscription (queue overflow), since the page loaded. */
  cyclesDropped: number;
  eventsDropped: number;
  readonly output: SampleRing;
  backfilled: boolean;
  eventsLoaded: boolean;
  history: Map<number, HistoryWindow>;
}

const live = new Map<string, PairLive>();

export function pairLive(id: string): PairLive {
  let p = live.get(id);
  if (p === undefined) {
    p = {
      ring: new CycleRing(RING_CAPACITY),
      events: [],
      eventsVersion: 0,
      cyclesDropped: 0,
      eventsDropped: 0,
      output: new SampleRing(OUTPUT_CAPACITY, 5),
      backfilled: false,
      eventsLoaded: false,
      history: new Map(),
    };
    live.set(id, p);
  }
  return p;
}

export function peekLive(id: string): PairLive | undefined {
  return live.get(id);
}

export function forgetPair(id: string): void {
  live.delete(id);
}

export function ingestCycles(pairId: string, cycles: readonly CycleRecord[]): void {
  const ring = pairLive(pairId).ring;
  for (const c of cycles) ring.push(c);
  markLive();
}

export function ingestEvents(pairId: string, events: readonly PairEvent[]): void {
  const p = pairLive(pairId);
  mergeEvents(p, events);
  markLive();
}

function mergeEvents(p: PairLive, events: readonly PairEvent[]): void {
  if (events.length === 0) return;
  const seen = new Set(p.events.map((e) => e.seq));
  const fresh = events.filter((e) => !seen.has(e.seq));
  if (fresh.length === 0) return;
  const all = p.events.concat(fresh);
  all.sort((a, b) => a.seq - b.seq);
  p.events = all.length > MAX_EVENTS ? all.slice(all.length - MAX_EVENTS) : all;
  p.eventsVersion++;
}

export function ingestOutput(pairId: string, at: number, p50: number | null, p99: number | null, pps: number, mode: 'colo' | 'remus', preset: string | undefined): void {
  const presetIndex = PRESETS.indexOf(preset as (typeof PRESETS)[number]);
  pairLive(pairId).output.push(at, [p50 ?? NaN, p99 ?? NaN, pps, mode === 'remus' ? 1 : 0, presetIndex < 0 ? NaN : presetIndex]);
  markLive();
}

export function noteDropped(pairId: string, topic: 'cycles' | 'events', dropped: number): void {
  const p = pairLive(pairId);
  if (topic === 'cycles') p.cyclesDropped += dropped;
  else p.eventsDropped += dropped;
  markLive();
}

/** Resets per-connection flags so the next pair view refetches what a reconnect may have missed. */
export function markAllStale(): void {
  for (const p of live.values()) {
    p.backfilled = false;
    p.eventsLoaded = false;
  }
}

const BACKFILL_LIMIT = 1000;

/**
 * Fills the ring with the recent past from history, once per connection, so a pair view opened after the page
 * loaded shows a full minute at once. Asks only for as far back as ~1000 cycles reach at the current rate.
 */
export async function backfill(pairId: string, cyclesPerMinute: number): Promise<void> {
  const p = pairLive(pairId);
  if (p.backfilled) return;
  p.backfilled = true;
  const now = Date.now();
  const perMs = cyclesPerMinute / 60_000;
  const span = perMs > 0 ? Math.min(60_000, BACKFILL_LIMIT / perMs) : 60_000;
  try {
    const cycles = await api.call('pairs.cycles', { pairId, since: Math.max(0, now - span), limit: BACKFILL_LIMIT });
    if (p.ring.prependOlder(cycles) > 0) markLive();
  } catch {
    p.backfilled = false;
  }
}

export async function loadEvents(pairId: string): Promise<void> {
  const p = pairLive(pairId);
  if (p.eventsLoaded) return;
  p.eventsLoaded = true;
  try {
    const events = await api.call('pairs.events', { pairId, limit: 200 });
    mergeEvents(p, events);
    markLive();
  } catch {
    p.eventsLoaded = false;
  }
}

/** How stale a history window may get before it is fetched again. */
export function historyMaxAge(windowMs: number): number {
  return Math.max(10_000, windowMs / 30);
}

/**
 * Fetches (or refreshes) the history behind a long chart window: [now - window, now - the part the ring holds].
 * Sequential small requests, so no single reply is big enough to stall a frame when it is parsed and checked.
 */
export async function loadHistory(pairId: string, windowMs: number): Promise<void> {
  const p = pairLive(pairId);
  const existing = p.history.get(windowMs);
  const now = Date.now();
  if (existing !== undefined && (existing.state === 'loading' || now - existing.fetchedAt < historyMaxAge(windowMs))) return;
  const ring = p.ring;
  const ringStart = ring.length > 0 ? ring.startedAt[ring.slot(0)]! : now;
  const from = now - windowMs;
  const to = Math.max(from, Math.min(ringStart, now));
  const win: HistoryWindow = {
    windowMs,
    state: 'loading',
    kind: existing?.kind ?? 'full',
    total: existing?.total ?? 0,
    cycles: existing?.cycles ?? [],
    from,
    to,
    fetchedAt: now,
    version: (existing?.version ?? 0) + 1,
  };
  p.history.set(windowMs, win);
  markLive();
  const cycles: CycleRecord[] = [];
  try {
    const { count } = await api.call('pairs.cycleCount', { pairId, since: from, until: to });
    const plan = planHistory(from, to, count);
    win.kind = plan.kind;
    win.total = plan.total;
    if (plan.kind === 'full') {
      let req: (typeof plan.requests)[number] | null = plan.requests[0]!;
      let pages = 0;
      while (req !== null && pages < 8) {
        const page = await api.call('pairs.cycles', { pairId, ...req });
        mergeCycles(cycles, page);
        req = nextPage(req, page);
        pages++;
      }
    } else {
      for (const req of plan.requests) {
        const page = await api.call('pairs.cycles', { pairId, ...req });
        mergeCycles(cycles, page);
      }
    }
    p.history.set(windowMs, { ...win, state: 'ready', cycles, version: win.version + 1 });
  } catch (err) {
    p.history.set(windowMs, { ...win, state: 'error', error: errorMessage(err), version: win.version + 1 });
  }
  markLive();
}

const EMPTY_EVENTS: readonly PairEvent[] = Object.freeze([]);
const newestFirst = new WeakMap<PairEvent[], readonly PairEvent[]>();

/** The pair's events, newest first; the same array until the log changes. */
export function eventsNewestFirst(pairId: string): readonly PairEvent[] {
  const p = live.get(pairId);
  if (p === undefined) return EMPTY_EVENTS;
  let r = newestFirst.get(p.events);
  if (r === undefined) {
    r = [...p.events].reverse();
    newestFirst.set(p.events, r);
  }
  return r;
}
