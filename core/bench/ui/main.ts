// UI performance benchmark (issue §7): a report, not a test.
//
//   tsx core/bench/ui/main.ts [--duration 60s | --soak] [--warmup 10s] [--snapshots 2m,10m] [--json]
//
// Three simulated pairs in Remus mode, at least 100 cycles/s each: the idle workload on an unpaced link with the vCPU
// stop time left out (sim setting stopCost), and an 8 ms interval, which Remus counts from the end of the previous
// checkpoint, as libxl does. Served by the real `colo-console serve` (a child process, fresh temp data dir), watched
// in headless Chromium on one pair's view. Measured after a warm-up, for the duration:
//   load             cycles each pair produced per second (seq span)                   target ≥ 100/s per pair
//   frame time       requestAnimationFrame intervals (p95, max)                       target p95 ≤ 20 ms
//   longest task     PerformanceObserver 'longtask'                                    target ≤ 50 ms
//   events/s         cycle events the renderer received on /rpc (CDP WebSocket frames), all pairs, compared
//                    with the cycles the pairs produced (seq span) in the same period   target ≥ 99 % of produced
//   latency          cycle end → its bar painted: a MutationObserver on the timeline canvas's data-last-seq (set in
//                    the paint that first shows the cycle) takes Date.now() − data-last-cycle-end   target p95 ≤ 250 ms
//   heap             CDP JSHeapUsedSize after a forced GC, at start (after warm-up) and at end  target growth ≤ 10 %
//                    and, between them, the trend: the lowest reading of each 10 s (sampled every second, no forced
//                    GC, so the measured period is left alone), with its least-squares slope
//   heap after GC    every 10 s a forced GC (CDP HeapProfiler.collectGarbage), then JSHeapUsedSize and the DOM
//                    counters (CDP Memory.getDOMCounters); the lowest heap of each 30 s is one point. Its slope over
//                    the last 20 min (runs shorter than 30 min: the last 2/3 of the run, and the table says so)
//                    target ≤ 0.05 MB/min, judged from 10 min of run on. The probe pauses while V8 collects, so
//                    these GC pauses stay out of the frame and long-task figures. DOM nodes and JS event listeners
//                    after the same GC: start, end and slope (a view that keeps adding nodes shows here).
//
// Soak: `--soak` is `--duration 30m`, the run the heap slope target is meant for (about 31 min with start-up).
// Finding what grows: `--snapshots 2m,10m` also writes heap snapshots at those times of the measured period (into
// --snapshot-dir, a fresh temp dir by default), and `tsx core/bench/ui/heap-diff.ts A B` compares two of them by
// constructor. Build the UI with `npx vite build --config renderer/vite.config.mjs --minify false` first, or the
// constructor names are the minifier's.
//
// Exit status: 0 when the benchmark ran (PASS or FAIL), 1 when it crashed, 2 on bad arguments.
// Progress goes to stderr; the table (or, with --json, one JSON object) to stdout.

import { existsSync, mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { type Browser, type CDPSession, type Page, chromium } from '@playwright/test';
import { RENDERER_INDEX, startServer } from '../../cli/serve-process.js';
import { type DomCounters, domCounters, heapAfterGc, heapUsed, slope, writeHeapSnapshot } from './heap.js';
import { type HostRecord, type PairRecord, REGISTRY_FILE, SIM_HOSTS, SIM_HOST_A, SIM_HOST_B, hostRecord, pairRecord } from '../../service/registry.js';

const CHROMIUM = '/usr/bin/chromium';
const CHROMIUM_ARGS = ['--no-sandbox', '--disable-gpu', '--disable-background-networking', '--disable-component-update', '--disable-sync'];

const PAIR_IDS = ['bench-1', 'bench-2', 'bench-3'] as const;
const VIEWED_PAIR = PAIR_IDS[0];
const INTERVAL_MS = 8;
const HEAP_SAMPLE_MS = 1000;
const HEAP_WINDOW_MS = 10_000;
const GC_SAMPLE_MS = 10_000;
const GC_WINDOW_MS = 30_000;
const SOAK_MS = 30 * 60_000;
/** The slope of a soak is taken over its last 20 minutes: the first ten fill rings, caches and history windows. */
const SOAK_TAIL_MS = 20 * 60_000;
/** Shorter than this, the heap slope is shown but not judged: a few points of a short run say little. */
const SLOPE_JUDGED_FROM_MS = 10 * 60_000;

const TARGET = {
  cyclesPerPairPerSec: 100, frameP95Ms: 20, longestTaskMs: 50, latencyP95Ms: 250, heapGrowthPct: 10, deliveredPct: 99,
  heapSlopeMBPerMin: 0.05,
};

const HELP = `Usage: tsx core/bench/ui/main.ts [--duration 60s | --soak] [--warmup 10s] [--snapshots T,T…] [--json]

  --duration T        measured period (default 60s; "20s", "90", "2m", "30m")
  --soak              a 30 min measured period (the same as --duration 30m): the heap slope target is judged over
                      its last 20 min
  --warmup T          time on the pair view before measuring (default 10s)
  --snapshots T,T…    write heap snapshots at these times of the measured period (e.g. 2m,10m); compare two with
                      tsx core/bench/ui/heap-diff.ts A B
  --snapshot-dir DIR  where the snapshots go (default: a new directory under the system temp dir)
  --json              print one JSON object on stdout instead of the table`;

interface Args {
  durationMs: number;
  warmupMs: number;
  json: boolean;
  snapshotsAtMs: number[];
  snapshotDir: string | null;
}

class UsageError extends Error {}

function parseTime(flag: string, v: string | undefined): number {
  const m = v === undefined ? null : /^(\d+(?:\.\d+)?)(ms|s|m)?$/.exec(v);
  if (m === null) throw new UsageError(`${flag}: '${v ?? ''}' is not a time (e.g. 60s, 500ms, 2m)`);
  const n = Number(m[1]);
  const ms = m[2] === 'ms' ? n : m[2] === 'm' ? n * 60_000 : n * 1000;
  if (ms < 1000) throw new UsageError(`${flag}: at least 1s`);
  return ms;
}

function parseArgs(argv: readonly string[]): Args | 'help' {
  const args: Args = { durationMs: 60_000, warmupMs: 10_000, json: false, snapshotsAtMs: [], snapshotDir: null };
  let soak = false;
  let duration = false;
  for (let i = 0; i < argv.length; i++) {
    const [flag, inline] = argv[i]!.split('=', 2) as [string, string | undefined];
    if (flag === '--help' || flag === '-h') return 'help';
    else if (flag === '--json') args.json = true;
    else if (flag === '--soak') soak = true;
    else if (flag === '--duration') {
      args.durationMs = parseTime(flag, inline ?? argv[++i]);
      duration = true;
    } else if (flag === '--warmup') args.warmupMs = parseTime(flag, inline ?? argv[++i]);
    else if (flag === '--snapshots') {
      const list = inline ?? argv[++i] ?? '';
      args.snapshotsAtMs = list.split(',').map((t) => parseTime(flag, t)).sort((a, b) => a - b);
    } else if (flag === '--snapshot-dir') {
      const dir = inline ?? argv[++i];
      if (dir === undefined || dir === '') throw new UsageError('--snapshot-dir: a directory is needed');
      args.snapshotDir = dir;
    } else throw new UsageError(`unknown option ${flag}`);
  }
  if (soak && duration) throw new UsageError('--soak is a 30 min --duration: give one of them');
  if (soak) args.durationMs = SOAK_MS;
  const late = args.snapshotsAtMs.find((t) => t > args.durationMs);
  if (late !== undefined) throw new UsageError(`--snapshots: ${late / 1000} s is after the end of the measured period`);
  return args;
}

const progress = (line: string): void => {
  process.stderr.write(`bench:ui: ${line}\n`);
};
const sleep = (ms: number): Promise<void> => new Promise((resolve) => setTimeout(resolve, ms));

async function withTimeout<T>(what: string, ms: number, p: Promise<T>): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  try {
    return await Promise.race([p, new Promise<never>((_, reject) => {
      timer = setTimeout(() => reject(new Error(`${what}: no answer within ${ms / 1000} s`)), ms);
    })]);
  } finally {
    clearTimeout(timer);
  }
}

// ---- data dir and server -------------------------------------------------------------------------------------

function writeRegistry(dataDir: string): void {
  const hosts: HostRecord[] = SIM_HOSTS.map((h) => hostRecord.parse(h));
  const pairs: PairRecord[] = PAIR_IDS.map((id) => pairRecord.parse({
    id,
    name: `${id}-vm`,
    backend: 'sim',
    mode: 'remus',
    primaryHostId: SIM_HOST_A.id,
    secondaryHostId: SIM_HOST_B.id,
    sim: { preset: 'idle', link: 'unlimited', remusIntervalMs: INTERVAL_MS, stopCost: false, divergenceProbability: 0 },
  }));
  // The demo pair is left out: the registry re-adds it (stopped, with --no-demo) and rewrites the file.
  writeFileSync(path.join(dataDir, REGISTRY_FILE), `${JSON.stringify({ version: 1, hosts, pairs }, null, 2)}\n`, { mode: 0o600 });
}

// ---- in-page probes ------------------------------------------------------------------------------------------

/**
 * Runs in the page before its own scripts: frame intervals, long tasks, cycle-end → paint latency. Samples go into
 * typed arrays allocated up front (room for 30 min), so the probe does not grow the heap the benchmark measures.
 */
const PROBE = `(() => {
  const room = 120000;
  const series = (size = room) => ({ v: new Float64Array(size), n: 0, push(x) { if (this.n < size) this.v[this.n++] = x; } });
  const b = { recording: false, frames: series(), longTaskStarts: series(10000), longTaskDurations: series(10000), latencies: series(), paints: 0, lastSeq: null };
  window.__bench = b;
  let prev = 0;
  // The benchmark's own forced GCs and heap snapshots stop the page; pause() … resume() keeps those stops out of
  // the figures: no frame interval spans one, and long tasks that overlap one are dropped at the end.
  b.paused = false;
  b.pausedAt = 0;
  b.excludedFrom = series(10000);
  b.excludedTo = series(10000);
  b.pause = () => { b.paused = true; b.pausedAt = performance.now(); };
  b.resume = () => { b.paused = false; b.excludedFrom.push(b.pausedAt); b.excludedTo.push(performance.now()); prev = 0; };
  const loop = (t) => {
    if (b.recording && !b.paused && prev > 0) b.frames.push(t - prev);
    prev = b.paused ? 0 : t;
    requestAnimationFrame(loop);
  };
  requestAnimationFrame(loop);
  try {
    new PerformanceObserver((list) => {
      if (!b.recording) return;
      for (const e of list.getEntries()) {
        b.longTaskStarts.push(e.startTime);
        b.longTaskDurations.push(e.duration);
      }
    }).observe({ type: 'longtask' });
  } catch { b.longTaskUnsupported = true; }
  // The timeline sets data-last-seq and data-last-cycle-end in the paint that first shows a cycle's bar; this
  // callback runs at the microtask checkpoint right after that frame callback.
  new MutationObserver((records) => {
    const now = Date.now();
    const el = records[records.length - 1].target;
    const seq = el.getAttribute('data-last-seq');
    const end = Number(el.getAttribute('data-last-cycle-end'));
    if (seq === b.lastSeq) return;
    b.lastSeq = seq;
    if (b.recording && !b.paused && Number.isFinite(end) && end > 0) {
      b.latencies.push(now - end);
      b.paints++;
    }
  }).observe(document, { subtree: true, attributes: true, attributeFilter: ['data-last-seq'] });
})();`;

interface ProbeData {
  frames: number[];
  longTasks: number[];
  latencies: number[];
  longTaskUnsupported?: boolean;
}

// ---- CDP: WebSocket frames and heap --------------------------------------------------------------------------

interface FrameCounter {
  recording: boolean;
  cycleEvents: number;
  dropped: number;
  perPair: Map<string, { count: number; minSeq: number; maxSeq: number }>;
}

function countWsFrames(cdp: CDPSession): FrameCounter {
  const counter: FrameCounter = { recording: false, cycleEvents: 0, dropped: 0, perPair: new Map() };
  const cycleSubs = new Set<unknown>();
  cdp.on('Network.webSocketFrameSent', (e) => {
    try {
      const msg = JSON.parse(e.response.payloadData) as { t?: string; id?: unknown; topic?: string };
      if (msg.t === 'sub' && msg.topic === 'cycles') cycleSubs.add(msg.id);
    } catch { /* not JSON: not ours */ }
  });
  cdp.on('Network.webSocketFrameReceived', (e) => {
    if (!counter.recording) return;
    let msg: { t?: string; id?: unknown; events?: unknown[]; dropped?: number };
    try {
      msg = JSON.parse(e.response.payloadData) as typeof msg;
    } catch {
      return;
    }
    if (msg.t !== 'events' || !cycleSubs.has(msg.id) || !Array.isArray(msg.events)) return;
    counter.cycleEvents += msg.events.length;
    counter.dropped += msg.dropped ?? 0;
    for (const ev of msg.events as { pairId?: string; seq?: number }[]) {
      if (typeof ev.pairId !== 'string' || typeof ev.seq !== 'number') continue;
      const p = counter.perPair.get(ev.pairId) ?? { count: 0, minSeq: ev.seq, maxSeq: ev.seq };
      p.count++;
      p.minSeq = Math.min(p.minSeq, ev.seq);
      p.maxSeq = Math.max(p.maxSeq, ev.seq);
      counter.perPair.set(ev.pairId, p);
    }
  });
  return counter;
}


// ---- the run -------------------------------------------------------------------------------------------------

function percentile(values: readonly number[], p: number): number | null {
  if (values.length === 0) return null;
  const sorted = [...values].sort((a, b) => a - b);
  return sorted[Math.min(sorted.length - 1, Math.max(0, Math.ceil((p / 100) * sorted.length) - 1))]!;
}

const round = (v: number | null, digits = 1): number | null => (v === null ? null : Number(v.toFixed(digits)));

async function waitForProtected(page: Page, count: number, timeoutMs: number): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const states = await page.evaluate<(string | null)[]>(
      `[...document.querySelectorAll('[data-testid=pairs-table] [data-testid=protection-badge]')].map((el) => el.getAttribute('data-state'))`,
    );
    if (states.filter((s) => s === 'protected').length >= count) return;
    if (Date.now() > deadline) throw new Error(`pairs not protected within ${timeoutMs / 1000} s (badges: ${states.join(', ')})`);
    await sleep(500);
  }
}

export interface UiBenchResult {
  durationS: number;
  warmupS: number;
  pairs: number;
  frames: number;
  frameP95Ms: number | null;
  frameP99Ms: number | null;
  frameMaxMs: number | null;
  longTasks: number;
  longestTaskMs: number;
  eventsPerSec: number;
  producedPerSec: number;
  /** Cycle events received per second, per pair (the simulator may produce fewer than 100/s on a busy machine). */
  perPairPerSec: Record<string, number>;
  deliveredPct: number | null;
  droppedEvents: number;
  latencySamples: number;
  latencyP50Ms: number | null;
  latencyP95Ms: number | null;
  heapStartMB: number;
  heapEndMB: number;
  heapGrowthPct: number;
  /** The lowest heap reading of each 10 s of the measured period, MB. */
  heapTrendMB: number[];
  /** Least-squares slope of heapTrendMB, MB per minute. */
  heapSlopeMBPerMin: number | null;
  /** After a forced GC every 10 s: the lowest heap of each 30 s, with the DOM counters read after that GC. */
  gcTrend: GcPoint[];
  /** The part of the run the soak slopes cover: the last 20 min, or the last 2/3 of a run shorter than 30 min. */
  soakWindow: { fromMin: number; toMin: number; basis: 'last 20 min' | 'last 2/3 of the run' };
  /** Least-squares slope of gcTrend's heap over soakWindow, MB per minute. */
  soakHeapSlopeMBPerMin: number | null;
  soakHeapFromMB: number | null;
  soakHeapToMB: number | null;
  domNodes: CounterTrend | null;
  jsEventListeners: CounterTrend | null;
  snapshots: string[];
  pass: Record<'load' | 'frameP95' | 'longestTask' | 'eventsDelivered' | 'latencyP95' | 'heap', boolean> & {
    /** null: the run is too short to judge (under 10 min). */
    heapSlope: boolean | null;
  };
}

interface GcPoint {
  /** Minutes into the measured period, at the end of the 30 s window. */
  atMin: number;
  heapMB: number;
  nodes: number;
  jsEventListeners: number;
}

/** A DOM counter over the soak window: first and last point, extremes, least-squares slope per minute. */
interface CounterTrend {
  start: number;
  end: number;
  min: number;
  max: number;
  slopePerMin: number;
}

function counterTrend(points: readonly GcPoint[], read: (p: GcPoint) => number): CounterTrend | null {
  if (points.length === 0) return null;
  const values = points.map(read);
  return {
    start: values[0]!,
    end: values.at(-1)!,
    min: Math.min(...values),
    max: Math.max(...values),
    slopePerMin: round(slope(points.map((p) => p.atMin), values), 2)!,
  };
}

/** The soak window of a run of `elapsedMs`: its last 20 min, or its last 2/3 when it is shorter than 30 min. */
function soakWindow(elapsedMs: number): UiBenchResult['soakWindow'] {
  const full = elapsedMs >= SOAK_MS - 1000;
  const fromMs = full ? elapsedMs - SOAK_TAIL_MS : elapsedMs / 3;
  return { fromMin: round(fromMs / 60_000, 2)!, toMin: round(elapsedMs / 60_000, 2)!, basis: full ? 'last 20 min' : 'last 2/3 of the run' };
}

async function run(args: Args, dataDir: string, cleanup: (fn: () => Promise<void>) => void): Promise<UiBenchResult> {
  if (!existsSync(RENDERER_INDEX)) throw new Error(`the UI is not built (${RENDERER_INDEX} is missing): run 'npm run build:renderer' first`);
  writeRegistry(dataDir);
  progress(`data dir ${dataDir}; starting serve`);
  const server = await startServer({ dataDir, demo: false });
  cleanup(() => server.stop());

  progress('launching Chromium');
  const browser: Browser = await chromium.launch({ executablePath: CHROMIUM, args: CHROMIUM_ARGS, headless: true });
  cleanup(async () => {
    await withTimeout('browser.close', 10_000, browser.close()).catch((err: unknown) => progress(String(err)));
  });
  const context = await browser.newContext({ viewport: { width: 1280, height: 900 } });
  const page = await context.newPage();
  page.setDefaultTimeout(30_000);
  await page.addInitScript(PROBE);
  const cdp = await context.newCDPSession(page);
  const counter = countWsFrames(cdp);
  await cdp.send('Network.enable');
  await cdp.send('Performance.enable');

  await page.goto(server.url);
  await page.locator('[data-testid=pairs-table]').waitFor();
  for (const id of PAIR_IDS) {
    await page.evaluate(`location.hash = '#/pair/${id}'`);
    const start = page.locator('[data-testid=action-start]');
    await start.waitFor();
    if (await start.isEnabled()) await start.click();
  }
  await page.evaluate(`location.hash = '#/'`);
  progress('waiting for the three pairs to be protected');
  await waitForProtected(page, PAIR_IDS.length, 90_000);

  await page.evaluate(`location.hash = '#/pair/${VIEWED_PAIR}'`);
  await page.locator('[data-testid=phase-timeline][data-last-seq]').waitFor();
  progress(`pair view of ${VIEWED_PAIR} open; warming up for ${args.warmupMs / 1000} s`);
  await sleep(args.warmupMs);

  await cdp.send('HeapProfiler.enable');
  const snapshotDir = args.snapshotsAtMs.length === 0 ? null : (args.snapshotDir ?? mkdtempSync(path.join(tmpdir(), 'colo-bench-ui-heap-')));
  if (snapshotDir !== null) mkdirSync(snapshotDir, { recursive: true, mode: 0o700 });
  const snapshots: string[] = [];
  const pendingSnapshots = [...args.snapshotsAtMs];
  const takeSnapshot = async (at: number): Promise<void> => {
    const file = path.join(snapshotDir!, `heap-${String(Math.round(at / 1000)).padStart(5, '0')}s.heapsnapshot`);
    await withPageStopped(() => writeHeapSnapshot(cdp, file));
    snapshots.push(file);
    progress(`heap snapshot at ${at / 1000} s: ${file}`);
  };

  // The page stops while V8 collects or snapshots: the probe leaves that stop out of its figures.
  const withPageStopped = async <T>(fn: () => Promise<T>): Promise<T> => {
    await page.evaluate('window.__bench.pause()');
    try {
      return await fn();
    } finally {
      await page.evaluate('window.__bench.resume()');
    }
  };

  const heapStart = await heapAfterGc(cdp);
  await page.evaluate('window.__bench.recording = true');
  counter.recording = true;
  const t0 = Date.now();
  progress(`measuring for ${args.durationMs / 1000} s (heap at start ${(heapStart / 2 ** 20).toFixed(1)} MB)`);
  const heapTrend: number[] = [];
  let windowLow = Infinity;
  let windowStart = t0;
  let lastReport = t0;
  const gcTrend: GcPoint[] = [];
  let gcLow: { heap: number; dom: DomCounters } | null = null;
  let lastGc = t0;
  let gcWindowStart = t0;
  while (Date.now() - t0 < args.durationMs) {
    await sleep(Math.min(HEAP_SAMPLE_MS, args.durationMs - (Date.now() - t0)));
    windowLow = Math.min(windowLow, await heapUsed(cdp));
    if (Date.now() - windowStart >= HEAP_WINDOW_MS) {
      heapTrend.push(windowLow);
      windowLow = Infinity;
      windowStart = Date.now();
    }
    if (Date.now() - lastGc >= GC_SAMPLE_MS) {
      lastGc = Date.now();
      const sample = await withPageStopped(async () => ({ heap: await heapAfterGc(cdp), dom: await domCounters(cdp) }));
      if (gcLow === null || sample.heap < gcLow.heap) gcLow = sample;
      if (Date.now() - gcWindowStart >= GC_WINDOW_MS - HEAP_SAMPLE_MS / 2) {
        gcTrend.push({
          atMin: round((Date.now() - t0) / 60_000, 2)!,
          heapMB: round(gcLow.heap / 2 ** 20, 3)!,
          nodes: gcLow.dom.nodes,
          jsEventListeners: gcLow.dom.jsEventListeners,
        });
        gcLow = null;
        gcWindowStart = Date.now();
      }
    }
    // A snapshot leaves a few hundred KB behind in the page for a while: one due at the end waits until the end
    // figures are read.
    while (pendingSnapshots.length > 0 && Date.now() - t0 >= pendingSnapshots[0]! && Date.now() - t0 < args.durationMs) {
      await takeSnapshot(pendingSnapshots.shift()!);
    }
    if (Date.now() - lastReport >= 10_000) {
      lastReport = Date.now();
      const s = (Date.now() - t0) / 1000;
      const gc = gcTrend.at(-1);
      const gcText = gc === undefined ? '' : `; after GC ${gc.heapMB.toFixed(2)} MB, ${gc.nodes} DOM nodes, ${gc.jsEventListeners} listeners`;
      progress(`${s.toFixed(0)} s: ${counter.cycleEvents} cycle events (${(counter.cycleEvents / s).toFixed(0)}/s), heap low ${(heapTrend.at(-1)! / 2 ** 20).toFixed(1)} MB${gcText}`);
    }
  }
  counter.recording = false;
  const data = await page.evaluate<ProbeData>(`(() => {
    const b = window.__bench;
    b.recording = false;
    const list = (s) => Array.from(s.v.subarray(0, s.n));
    const from = list(b.excludedFrom);
    const to = list(b.excludedTo);
    const ours = (start, duration) => from.some((f, i) => start < to[i] && start + duration > f);
    const starts = list(b.longTaskStarts);
    const longTasks = list(b.longTaskDurations).filter((duration, i) => !ours(starts[i], duration));
    return { frames: list(b.frames), latencies: list(b.latencies), longTasks, longTaskUnsupported: b.longTaskUnsupported };
  })()`);
  const elapsedS = (Date.now() - t0) / 1000;
  const heapEnd = await heapAfterGc(cdp);
  for (const at of pendingSnapshots) await takeSnapshot(at);
  const soak = soakWindow(elapsedS * 1000);
  const soakPoints = gcTrend.filter((p) => p.atMin >= soak.fromMin);
  const soakSlope = soakPoints.length >= 2 ? slope(soakPoints.map((p) => p.atMin), soakPoints.map((p) => p.heapMB)) : null;
  if (data.longTaskUnsupported === true) progress('warning: this Chromium has no longtask observer');

  let produced = 0;
  for (const p of counter.perPair.values()) produced += p.maxSeq - p.minSeq + 1;
  const eventsPerSec = counter.cycleEvents / elapsedS;
  const producedPerSec = produced / elapsedS;
  const deliveredPct = produced > 0 ? (100 * counter.cycleEvents) / produced : null;
  const frameP95 = percentile(data.frames, 95);
  const latencyP95 = percentile(data.latencies, 95);
  const longest = data.longTasks.reduce((a, b) => Math.max(a, b), 0);
  const growth = (100 * (heapEnd - heapStart)) / heapStart;
  const perPairProduced = [...counter.perPair.values()].map((p) => (p.maxSeq - p.minSeq + 1) / elapsedS);
  const trendMinutes = heapTrend.map((_, i) => ((i + 1) * HEAP_WINDOW_MS) / 60_000);
  return {
    durationS: round(elapsedS)!,
    warmupS: args.warmupMs / 1000,
    pairs: counter.perPair.size,
    frames: data.frames.length,
    frameP95Ms: round(frameP95),
    frameP99Ms: round(percentile(data.frames, 99)),
    frameMaxMs: round(data.frames.reduce((a, b) => Math.max(a, b), 0)),
    longTasks: data.longTasks.length,
    longestTaskMs: round(longest)!,
    eventsPerSec: round(eventsPerSec)!,
    producedPerSec: round(producedPerSec)!,
    perPairPerSec: Object.fromEntries([...counter.perPair].map(([id, p]) => [id, round(p.count / elapsedS)!])),
    deliveredPct: round(deliveredPct, 2),
    droppedEvents: counter.dropped,
    latencySamples: data.latencies.length,
    latencyP50Ms: round(percentile(data.latencies, 50)),
    latencyP95Ms: round(latencyP95),
    heapStartMB: round(heapStart / 2 ** 20, 2)!,
    heapEndMB: round(heapEnd / 2 ** 20, 2)!,
    heapGrowthPct: round(growth)!,
    heapTrendMB: heapTrend.map((b) => round(b / 2 ** 20, 2)!),
    heapSlopeMBPerMin: heapTrend.length >= 2 ? round(slope(trendMinutes, heapTrend) / 2 ** 20, 3) : null,
    gcTrend,
    soakWindow: soak,
    soakHeapSlopeMBPerMin: round(soakSlope, 3),
    soakHeapFromMB: soakPoints[0]?.heapMB ?? null,
    soakHeapToMB: soakPoints.at(-1)?.heapMB ?? null,
    domNodes: counterTrend(soakPoints, (p) => p.nodes),
    jsEventListeners: counterTrend(soakPoints, (p) => p.jsEventListeners),
    snapshots,
    pass: {
      heapSlope: elapsedS * 1000 < SLOPE_JUDGED_FROM_MS || soakSlope === null ? null : soakSlope <= TARGET.heapSlopeMBPerMin,
      load: perPairProduced.length === PAIR_IDS.length && perPairProduced.every((r) => r >= TARGET.cyclesPerPairPerSec),
      frameP95: frameP95 !== null && frameP95 <= TARGET.frameP95Ms,
      longestTask: longest <= TARGET.longestTaskMs,
      eventsDelivered: deliveredPct !== null && deliveredPct >= TARGET.deliveredPct && counter.perPair.size === PAIR_IDS.length,
      latencyP95: latencyP95 !== null && latencyP95 <= TARGET.latencyP95Ms,
      heap: growth <= TARGET.heapGrowthPct,
    },
  };
}

function table(r: UiBenchResult): string {
  const v = (x: number | null, unit: string): string => (x === null ? 'n/a' : `${x} ${unit}`);
  const ok = (b: boolean): string => (b ? 'PASS' : 'FAIL');
  // A long run has hundreds of points: the table shows their range, the JSON all of them.
  const series = (xs: readonly number[], unit: string): string =>
    xs.length === 0 ? 'n/a' : xs.length <= 12 ? `${xs.join(', ')} ${unit}` : `${Math.min(...xs)}–${Math.max(...xs)} ${unit} over ${xs.length} points (--json lists them)`;
  const trend = (t: CounterTrend | null): string => (t === null ? 'n/a' : `${t.start} → ${t.end} (min ${t.min}, max ${t.max})`);
  const rows: [string, string, string, string][] = [
    ['Load (cycles produced)', `${r.producedPerSec} /s`, `≥ ${TARGET.cyclesPerPairPerSec}/s per pair`, ok(r.pass.load)],
    ['Frame time p95', v(r.frameP95Ms, 'ms'), `≤ ${TARGET.frameP95Ms} ms`, ok(r.pass.frameP95)],
    ['Frame time p99 / max', `${v(r.frameP99Ms, 'ms')} / ${v(r.frameMaxMs, 'ms')}`, '—', `${r.frames} frames`],
    ['Longest task', `${r.longestTaskMs} ms`, `≤ ${TARGET.longestTaskMs} ms`, `${ok(r.pass.longestTask)} (${r.longTasks} long tasks)`],
    ['Cycle events delivered', `${r.eventsPerSec} /s`, `≥ ${TARGET.deliveredPct} % of produced`,
      `${ok(r.pass.eventsDelivered)} (${v(r.deliveredPct, '%')} of ${r.producedPerSec}/s produced; ${r.droppedEvents} dropped)`],
    ['  per pair', Object.entries(r.perPairPerSec).map(([id, n]) => `${id} ${n}/s`).join(', '), '—', '—'],
    ['Cycle end → bar p95', v(r.latencyP95Ms, 'ms'), `≤ ${TARGET.latencyP95Ms} ms`, `${ok(r.pass.latencyP95)} (p50 ${v(r.latencyP50Ms, 'ms')}, ${r.latencySamples} paints)`],
    ['Heap start → end', `${r.heapStartMB} → ${r.heapEndMB} MB (${r.heapGrowthPct >= 0 ? '+' : ''}${r.heapGrowthPct} %)`, `≤ +${TARGET.heapGrowthPct} %`, ok(r.pass.heap)],
    ['  lowest per 10 s', series(r.heapTrendMB, 'MB'), '—', r.heapSlopeMBPerMin === null ? '—' : `slope ${r.heapSlopeMBPerMin} MB/min`],
    [`Heap after GC, slope (${r.soakWindow.basis})`,
      r.soakHeapSlopeMBPerMin === null ? 'n/a' : `${r.soakHeapSlopeMBPerMin} MB/min (${r.soakHeapFromMB} → ${r.soakHeapToMB} MB, min ${r.soakWindow.fromMin}–${r.soakWindow.toMin})`,
      `≤ ${TARGET.heapSlopeMBPerMin} MB/min`,
      r.pass.heapSlope === null ? `not judged: run ≥ ${SLOPE_JUDGED_FROM_MS / 60_000} min${r.soakWindow.basis === 'last 20 min' ? '' : ' (--soak: 30 min)'}` : ok(r.pass.heapSlope)],
    ['  lowest per 30 s', series(r.gcTrend.map((p) => p.heapMB), 'MB'), '—', '—'],
    ['DOM nodes after GC', trend(r.domNodes), '—', r.domNodes === null ? '—' : `slope ${r.domNodes.slopePerMin}/min`],
    ['JS event listeners after GC', trend(r.jsEventListeners), '—', r.jsEventListeners === null ? '—' : `slope ${r.jsEventListeners.slopePerMin}/min`],
  ];
  if (r.snapshots.length > 0) rows.push(['Heap snapshots', r.snapshots.join(', '), '—', '—']);
  const head: [string, string, string, string] = ['Metric', 'Result', 'Target', 'Verdict'];
  const widths = head.map((h, i) => Math.max(h.length, ...rows.map((row) => row[i]!.length)));
  const line = (cells: readonly string[]): string => cells.map((c, i) => (i === cells.length - 1 ? c : c.padEnd(widths[i]!))).join('  ');
  return [
    `UI benchmark: ${PAIR_IDS.length} Remus pairs at a ${INTERVAL_MS} ms interval (no vCPU stop time), pair view of ${VIEWED_PAIR}, headless Chromium, ${r.durationS} s after a ${r.warmupS} s warm-up`,
    ...(r.soakWindow.basis === 'last 20 min' ? [] : [`Heap and DOM slopes over the last 2/3 of this run (minutes ${r.soakWindow.fromMin}–${r.soakWindow.toMin}); a 30 min run (--soak) takes them over its last 20 min.`]),
    line(head),
    line(widths.map((w) => '-'.repeat(w))),
    ...rows.map(line),
  ].join('\n');
}

async function main(): Promise<number> {
  let args: Args | 'help';
  try {
    args = parseArgs(process.argv.slice(2));
  } catch (err) {
    if (!(err instanceof UsageError)) throw err;
    process.stderr.write(`bench:ui: ${err.message}\n${HELP}\n`);
    return 2;
  }
  if (args === 'help') {
    process.stdout.write(`${HELP}\n`);
    return 0;
  }
  const dataDir = mkdtempSync(path.join(tmpdir(), 'colo-bench-ui-'));
  const cleanups: (() => Promise<void>)[] = [];
  let interrupted = false;
  const onSignal = (): void => {
    interrupted = true;
    progress('interrupted; cleaning up');
    void Promise.allSettled([...cleanups].reverse().map((fn) => fn())).finally(() => {
      rmSync(dataDir, { recursive: true, force: true });
      process.exit(130);
    });
  };
  process.once('SIGINT', onSignal);
  process.once('SIGTERM', onSignal);
  try {
    const result = await run(args, dataDir, (fn) => cleanups.push(fn));
    process.stdout.write(args.json ? `${JSON.stringify(result, null, 2)}\n` : `${table(result)}\n`);
    return 0;
  } catch (err) {
    if (!interrupted) process.stderr.write(`bench:ui: ${err instanceof Error ? (err.stack ?? err.message) : String(err)}\n`);
    return 1;
  } finally {
    for (const fn of [...cleanups].reverse()) await fn().catch((err: unknown) => progress(`cleanup: ${String(err)}`));
    rmSync(dataDir, { recursive: true, force: true });
  }
}

process.exitCode = await main();
