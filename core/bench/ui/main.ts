// UI performance benchmark (issue §7): a report, not a test.
//
//   tsx core/bench/ui/main.ts [--duration 60s] [--warmup 10s] [--json]
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
//
// Exit status: 0 when the benchmark ran (PASS or FAIL), 1 when it crashed, 2 on bad arguments.
// Progress goes to stderr; the table (or, with --json, one JSON object) to stdout.

import { existsSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { type Browser, type CDPSession, type Page, chromium } from '@playwright/test';
import { RENDERER_INDEX, startServer } from '../../cli/serve-process.js';
import { type HostRecord, type PairRecord, REGISTRY_FILE, SIM_HOSTS, SIM_HOST_A, SIM_HOST_B, hostRecord, pairRecord } from '../../service/registry.js';

const CHROMIUM = '/usr/bin/chromium';
const CHROMIUM_ARGS = ['--no-sandbox', '--disable-gpu', '--disable-background-networking', '--disable-component-update', '--disable-sync'];

const PAIR_IDS = ['bench-1', 'bench-2', 'bench-3'] as const;
const VIEWED_PAIR = PAIR_IDS[0];
const INTERVAL_MS = 8;
const HEAP_SAMPLE_MS = 1000;
const HEAP_WINDOW_MS = 10_000;

const TARGET = { cyclesPerPairPerSec: 100, frameP95Ms: 20, longestTaskMs: 50, latencyP95Ms: 250, heapGrowthPct: 10, deliveredPct: 99 };

const HELP = `Usage: tsx core/bench/ui/main.ts [--duration 60s] [--warmup 10s] [--json]

  --duration T   measured period (default 60s; "20s", "90", "2m")
  --warmup T     time on the pair view before measuring (default 10s)
  --json         print one JSON object on stdout instead of the table`;

interface Args {
  durationMs: number;
  warmupMs: number;
  json: boolean;
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
  const args: Args = { durationMs: 60_000, warmupMs: 10_000, json: false };
  for (let i = 0; i < argv.length; i++) {
    const [flag, inline] = argv[i]!.split('=', 2) as [string, string | undefined];
    if (flag === '--help' || flag === '-h') return 'help';
    else if (flag === '--json') args.json = true;
    else if (flag === '--duration') args.durationMs = parseTime(flag, inline ?? argv[++i]);
    else if (flag === '--warmup') args.warmupMs = parseTime(flag, inline ?? argv[++i]);
    else throw new UsageError(`unknown option ${flag}`);
  }
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
  const series = () => ({ v: new Float64Array(room), n: 0, push(x) { if (this.n < room) this.v[this.n++] = x; } });
  const b = { recording: false, frames: series(), longTasks: [], latencies: series(), paints: 0, lastSeq: null };
  window.__bench = b;
  let prev = 0;
  const loop = (t) => {
    if (b.recording && prev > 0) b.frames.push(t - prev);
    prev = t;
    requestAnimationFrame(loop);
  };
  requestAnimationFrame(loop);
  try {
    new PerformanceObserver((list) => {
      if (!b.recording) return;
      for (const e of list.getEntries()) b.longTasks.push(e.duration);
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
    if (b.recording && Number.isFinite(end) && end > 0) {
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

async function heapUsed(cdp: CDPSession): Promise<number> {
  const { metrics } = await cdp.send('Performance.getMetrics');
  const m = metrics.find((x) => x.name === 'JSHeapUsedSize');
  if (m === undefined) throw new Error('CDP Performance.getMetrics has no JSHeapUsedSize');
  return m.value;
}

async function heapAfterGc(cdp: CDPSession): Promise<number> {
  await cdp.send('HeapProfiler.collectGarbage');
  return heapUsed(cdp);
}

/** Least-squares slope of ys over xs. */
function slope(xs: readonly number[], ys: readonly number[]): number {
  const n = xs.length;
  const mx = xs.reduce((a, b) => a + b, 0) / n;
  const my = ys.reduce((a, b) => a + b, 0) / n;
  let num = 0;
  let den = 0;
  for (let i = 0; i < n; i++) {
    num += (xs[i]! - mx) * (ys[i]! - my);
    den += (xs[i]! - mx) ** 2;
  }
  return den === 0 ? 0 : num / den;
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
  pass: Record<'load' | 'frameP95' | 'longestTask' | 'eventsDelivered' | 'latencyP95' | 'heap', boolean>;
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

  const heapStart = await heapAfterGc(cdp);
  await page.evaluate('window.__bench.recording = true');
  counter.recording = true;
  const t0 = Date.now();
  progress(`measuring for ${args.durationMs / 1000} s (heap at start ${(heapStart / 2 ** 20).toFixed(1)} MB)`);
  const heapTrend: number[] = [];
  let windowLow = Infinity;
  let windowStart = t0;
  let lastReport = t0;
  while (Date.now() - t0 < args.durationMs) {
    await sleep(Math.min(HEAP_SAMPLE_MS, args.durationMs - (Date.now() - t0)));
    windowLow = Math.min(windowLow, await heapUsed(cdp));
    if (Date.now() - windowStart >= HEAP_WINDOW_MS) {
      heapTrend.push(windowLow);
      windowLow = Infinity;
      windowStart = Date.now();
    }
    if (Date.now() - lastReport >= 10_000) {
      lastReport = Date.now();
      const s = (Date.now() - t0) / 1000;
      progress(`${s.toFixed(0)} s: ${counter.cycleEvents} cycle events (${(counter.cycleEvents / s).toFixed(0)}/s), heap low ${(heapTrend.at(-1)! / 2 ** 20).toFixed(1)} MB`);
    }
  }
  counter.recording = false;
  const data = await page.evaluate<ProbeData>(`(() => {
    const b = window.__bench;
    b.recording = false;
    const list = (s) => Array.from(s.v.subarray(0, s.n));
    return { frames: list(b.frames), latencies: list(b.latencies), longTasks: b.longTasks, longTaskUnsupported: b.longTaskUnsupported };
  })()`);
  const elapsedS = (Date.now() - t0) / 1000;
  const heapEnd = await heapAfterGc(cdp);
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
    pass: {
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
    ['  lowest per 10 s', r.heapTrendMB.map((b) => `${b}`).join(', ') + ' MB', '—', r.heapSlopeMBPerMin === null ? '—' : `slope ${r.heapSlopeMBPerMin} MB/min`],
  ];
  const head: [string, string, string, string] = ['Metric', 'Result', 'Target', 'Verdict'];
  const widths = head.map((h, i) => Math.max(h.length, ...rows.map((row) => row[i]!.length)));
  const line = (cells: readonly string[]): string => cells.map((c, i) => (i === cells.length - 1 ? c : c.padEnd(widths[i]!))).join('  ');
  return [
    `UI benchmark: ${PAIR_IDS.length} Remus pairs at a ${INTERVAL_MS} ms interval (no vCPU stop time), pair view of ${VIEWED_PAIR}, headless Chromium, ${r.durationS} s after a ${r.warmupS} s warm-up`,
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
