// The frame scheduler: everything that arrives between two frames is folded into one store update, made at the
// start of the next animation frame, and then canvas painters run. With the tab hidden, rAF stops, so a timer
// keeps the store current at 4 Hz without painting.

import type { PairInfo } from '../../../core/api/console-contract.js';
import { type ConsoleState, sameIds, sortPairIds, useConsole } from './store';

const CHART_INTERVAL_MS = 200;
/** Chart B never ticks within this long after chart A, so two chart redraws never share a frame. */
const CHART_STAGGER_MS = 80;
const HIDDEN_INTERVAL_MS = 250;

type Painter = (now: number) => void;

let scheduled = false;
let liveDirty = false;
let chartADirty = false;
let chartBDirty = false;
let lastChartA = 0;
let lastChartB = 0;
let pendingPairs: Map<string, PairInfo> | null = null;
let removedPairs: Set<string> | null = null;
let pendingPatch: Partial<ConsoleState> | null = null;
const painters = new Set<Painter>();

function request(): void {
  if (scheduled) return;
  scheduled = true;
  if (typeof document !== 'undefined' && document.hidden) setTimeout(() => frame(performance.now()), HIDDEN_INTERVAL_MS);
  else requestAnimationFrame(frame);
}

/** Ring buffers changed: bump `frame` (and, throttled, the chart ticks) in the next frame. */
export function markLive(): void {
  liveDirty = true;
  chartADirty = true;
  chartBDirty = true;
  request();
}

export function queuePair(pair: PairInfo): void {
  (pendingPairs ??= new Map()).set(pair.id, pair);
  removedPairs?.delete(pair.id);
  request();
}

/** Replaces the whole set of pairs (a fresh pairs.list). */
export function queuePairSnapshot(pairs: readonly PairInfo[]): void {
  const keep = new Set(pairs.map((p) => p.id));
  removedPairs = new Set(Object.keys(useConsole.getState().pairs).filter((id) => !keep.has(id)));
  pendingPairs = new Map(pairs.map((p) => [p.id, p]));
  queuePatch({ pairsLoaded: true });
}

export function queuePatch(patch: Partial<ConsoleState>): void {
  pendingPatch = pendingPatch === null ? patch : { ...pendingPatch, ...patch };
  request();
}

/** Runs after the frame's store update; painters draw canvases straight from the ring buffers. */
export function onFrame(painter: Painter): () => void {
  painters.add(painter);
  request();
  return () => painters.delete(painter);
}

/** Asks for one more frame (a painter whose view changed without new data: hover, resize, theme). */
export function requestFrame(): void {
  request();
}

function frame(now: number): void {
  scheduled = false;
  const state = useConsole.getState();
  const patch: Partial<ConsoleState> = pendingPatch ?? {};
  pendingPatch = null;

  if (pendingPairs !== null || removedPairs !== null) {
    const pairs: Record<string, PairInfo> = { ...state.pairs };
    for (const id of removedPairs ?? []) delete pairs[id];
    for (const [id, p] of pendingPairs ?? []) pairs[id] = p;
    patch.pairs = pairs;
    const order = sortPairIds(pairs);
    if (!sameIds(order, state.pairOrder)) patch.pairOrder = order;
    pendingPairs = null;
    removedPairs = null;
  }
  if (liveDirty) {
    patch.frame = state.frame + 1;
    liveDirty = false;
  }
  if (chartADirty && now - lastChartA >= CHART_INTERVAL_MS) {
    patch.chartTimeA = Date.now();
    lastChartA = now;
    chartADirty = false;
  } else if (chartBDirty && now - lastChartB >= CHART_INTERVAL_MS && now - lastChartA >= CHART_STAGGER_MS) {
    patch.chartTimeB = Date.now();
    lastChartB = now;
    chartBDirty = false;
  }
  if (Object.keys(patch).length > 0) useConsole.setState(patch);

  if (typeof document === 'undefined' || !document.hidden) {
    for (const paint of painters) {
      try {
        paint(now);
      } catch (err) {
        console.error('painter failed', err);
      }
    }
  }
  // Throttled chart ticks still owed: come back next frame.
  if (chartADirty || chartBDirty) request();
}

let clockTimer: ReturnType<typeof setInterval> | null = null;

/** Starts the 1 Hz wall clock the ages on screen use. */
export function startClock(): void {
  if (clockTimer !== null) return;
  clockTimer = setInterval(() => {
    // Windows slide with time even when no cycle arrives (protection stopped): refresh the charts too.
    chartADirty = true;
    chartBDirty = true;
    queuePatch({ clock: Date.now() });
  }, 1000);
  if (typeof document !== 'undefined') {
    document.addEventListener('visibilitychange', () => {
      // A frame requested while hidden went to a timer; one requested now must go to rAF again.
      if (!document.hidden) request();
    });
  }
}
