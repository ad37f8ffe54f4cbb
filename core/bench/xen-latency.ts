// Benchmark: a Xen checkpoint from the host to the API (issue 8 §5): "line written on the host → CycleRecord at
// the API, through sshd and the tail, p95 ≤ 50 ms at 100 cycles/s".
//
// The lab's colo-compare emulation runs at one checkpoint per 10 ms on host a (100 cycles/s asked; the rate
// achieved is measured and reported). A fresh ConsoleService (demo off) adds hosts a and b and trusts their keys,
// protects web01, and an API client subscribed to the `cycles` topic over the RPC layer stamps each CycleRecord as
// it arrives. The emulated `xl remus` appends the wall-clock time (µs resolution) at which it wrote each cycle's
// last log line to a file the lab names (XL_EMU_TIMING_FILE, test-only); latency = arrival − write, per cycle.
//   subject   write of the cycle's last line → CycleRecord at the API client (sshd, tail -F, the Xen backend's
//             reader and assembler, the pair controller, history, the RPC topic);
//   baseline  the raw round trip of a line through the same sshd: the bench appends a timestamped line every 10 ms
//             to a file on host a and a plain `tail -F` over an SSH link to a returns it.
// p95 latency in ms per round (rounds interleaved); target: subject p95 ≤ 50 ms (absolute, as the issue states it).
// The API server batches topic events (flushIntervalMs, 33 ms by default) so that a UI is not woken per event:
// that batching is part of the path measured, and most of the subject's figure.

import { appendFileSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { performance } from 'node:perf_hooks';
import { setTimeout as delay } from 'node:timers/promises';
import { DEFAULT_FLUSH_MS } from '../api/server.js';
import { type XenLab, startXenLab } from '../lab/xen-lab.js';
import { type BenchResult, type Benchmark, type Target, interleave, now, round, series, skippedResult, verdict } from './harness.js';
import { type BenchConsole, followLines, plainLink, protectPairs, quantile, startBenchConsole, stopPairs, xenBenchUnavailable } from './xen-rig.js';

const NAME = 'xen-latency';
const TITLE = 'Xen: cycle line on the host → CycleRecord at the API, at 100 cycles/s';
const TARGET: Target = { kind: 'max-value', value: 50 };
const PERIOD_MS = 10;
const DOMAIN = 'web01';
/** After a window closes, how long a cycle written in it may still take to arrive before it counts as missing. */
const GRACE_MS = 1000;

/** Wall-clock ms with sub-ms resolution, comparable with the emulator's (performance.timeOrigin + now()). */
const wallMs = (): number => performance.timeOrigin + performance.now();

interface Written { seq: number; at: number }

function readTimings(file: string): Written[] {
  let text: string;
  try {
    text = readFileSync(file, 'utf8');
  } catch {
    return [];
  }
  const out: Written[] = [];
  for (const line of text.split('\n')) {
    const [domain, seq, at] = line.split(' ');
    if (domain === DOMAIN && seq !== undefined && at !== undefined) out.push({ seq: Number(seq), at: Number(at) });
  }
  return out;
}

export const xenLatency: Benchmark = {
  name: NAME,
  title: TITLE,
  timeLimitMs: { quick: 180_000, full: 300_000 },
  async run({ quick, log }): Promise<BenchResult> {
    const unavailable = xenBenchUnavailable();
    if (unavailable !== null) return skippedResult(this, 'p95 latency', 'ms', false, TARGET, unavailable);
    const t0 = now();
    const rounds = quick ? 1 : 3;
    const windowMs = quick ? 4000 : 10_000;
    const dir = mkdtempSync(path.join(tmpdir(), 'colo-bench-latency-'));
    const timingFile = path.join(dir, 'cycles.timing');
    const probeFile = path.join(dir, 'probe.log');
    writeFileSync(timingFile, '');
    writeFileSync(probeFile, '');
    let lab: XenLab | undefined;
    let bc: BenchConsole | undefined;
    let pairIds: string[] = [];
    const link = (): ReturnType<typeof plainLink> => (probeLink ??= plainLink(lab!, 'a'));
    let probeLink: ReturnType<typeof plainLink> | undefined;
    try {
      lab = await startXenLab({ coloPeriodMs: PERIOD_MS, timingFile });
      log(`  lab: ${lab.mode}: ${lab.note}`);
      bc = await startBenchConsole(lab);
      // By pair: the subscription is open before the pair exists (so its first cycles are not missed).
      const arrivalsByPair = new Map<string, Map<number, number>>();
      // Each cycle's own time (its phases but the wait for the trigger), to explain the rate achieved.
      const busy: number[] = [];
      const sub = bc.client.subscribe('cycles', {}, (events) => {
        const at = wallMs();
        for (const e of events) {
          let arrivals = arrivalsByPair.get(e.pairId);
          if (arrivals === undefined) arrivalsByPair.set(e.pairId, (arrivals = new Map<number, number>()));
          if (!arrivals.has(e.seq)) {
            arrivals.set(e.seq, at);
            if (e.seq > 0) busy.push(e.phases.filter((p) => p.name !== 'wait').reduce((sum, p) => sum + p.durationMs, 0));
          }
        }
      });
      await sub.ready;
      pairIds = await protectPairs(bc, lab, [DOMAIN]);
      const pairId = pairIds[0]!;
      const arrivals = arrivalsByPair.get(pairId) ?? new Map<number, number>();
      arrivalsByPair.set(pairId, arrivals);
      log(`  ${DOMAIN} protected; warm-up`);
      await delay(quick ? 1500 : 3000);

      const subjectAll: number[] = [];
      const baselineAll: number[] = [];
      let cyclesMeasured = 0;
      let cyclesMissing = 0;
      // Arrivals stamped before the write began: the two processes' clocks disagree, or the seqs do.
      const early: number[] = [];
      const rates: number[] = [];
      const subjectRound = async (): Promise<number> => {
        const from = wallMs();
        await delay(windowMs);
        const to = wallMs();
        await delay(GRACE_MS);
        const written = readTimings(timingFile).filter((w) => w.at >= from && w.at < to);
        rates.push(written.length / ((to - from) / 1000));
        const lat: number[] = [];
        for (const w of written) {
          const arrived = arrivals.get(w.seq);
          if (arrived === undefined) cyclesMissing++;
          else if (arrived < w.at) early.push(w.at - arrived);
          else lat.push(arrived - w.at);
        }
        if (lat.length === 0) throw new Error(`no cycle of ${DOMAIN} reached the API in a ${windowMs} ms window (${written.length} written, ${arrivals.size} arrived in all)`);
        cyclesMeasured += lat.length;
        subjectAll.push(...lat);
        return quantile(lat, 0.95);
      };
      const baselineRound = async (): Promise<number> => {
        const sent = new Map<number, number>();
        const lat: number[] = [];
        let ready = false;
        const tail = followLines(link(), ['tail', '-n', '0', '-F', '--', probeFile], (line) => {
          const at = wallMs();
          if (line === 'ready') ready = true;
          const i = Number(line.split(' ')[0]);
          const t = sent.get(i);
          if (t !== undefined) lat.push(at - t);
        });
        try {
          // tail -n 0 prints only what is appended once it runs: knock until it answers.
          const deadline = Date.now() + 10_000;
          while (!ready) {
            if (Date.now() > deadline) throw new Error('the baseline tail on host a printed nothing within 10 s');
            appendFileSync(probeFile, 'ready\n');
            await delay(100);
          }
          let i = 0;
          const start = now();
          // Same pace as the subject's cycles: one line per period, on the period grid (no drift from timer lateness).
          while (now() - start < windowMs) {
            sent.set(i, wallMs());
            appendFileSync(probeFile, `${i} line of the latency baseline, about as long as a libxl debug line of xl -vvv\n`);
            i++;
            const next = start + i * PERIOD_MS;
            await delay(Math.max(0, next - now()));
          }
          await delay(GRACE_MS);
        } finally {
          await tail.stop().catch((err: unknown) => log(`  baseline tail: ${(err as Error).message}`));
        }
        if (lat.length === 0) throw new Error('no baseline line came back through the tail');
        baselineAll.push(...lat);
        return quantile(lat, 0.95);
      };
      const { baseline, subject } = await interleave(rounds, baselineRound, subjectRound, log, (v) => `p95 ${v.toFixed(1)} ms`);
      const b = series('line appended on host a → plain tail -F over ssh: p95', baseline.map((v) => round(v, 3)));
      const s = series(`${DOMAIN}'s last cycle line written → CycleRecord at the API client: p95`, subject.map((v) => round(v, 3)));
      const q = (v: number[]): { p50: number; p95: number; p99: number; max: number } => ({
        p50: round(quantile(v, 0.5), 3), p95: round(quantile(v, 0.95), 3), p99: round(quantile(v, 0.99), 3), max: round(quantile(v, 1), 3),
      });
      const sq = q(subjectAll);
      const bq = q(baselineAll);
      const rate = rates.reduce((x, y) => x + y, 0) / rates.length;
      const cycleBusy = { p50: round(quantile(busy, 0.5), 2), p95: round(quantile(busy, 0.95), 2) };
      const notes = [
        `subject  (${cyclesMeasured} cycles): p50 ${sq.p50.toFixed(2)} ms, p95 ${sq.p95.toFixed(2)} ms, p99 ${sq.p99.toFixed(2)} ms, max ${sq.max.toFixed(1)} ms`,
        `baseline (${baselineAll.length} lines): p50 ${bq.p50.toFixed(2)} ms, p95 ${bq.p95.toFixed(2)} ms, p99 ${bq.p99.toFixed(2)} ms, max ${bq.max.toFixed(1)} ms`,
        `checkpoint rate achieved on host a: ${rate.toFixed(1)} cycles/s (asked: ${1000 / PERIOD_MS}/s, coloPeriodMs ${PERIOD_MS}); a cycle itself (suspend to SVM_RESUMED) takes ${cycleBusy.p50.toFixed(1)} ms (p50), ${cycleBusy.p95.toFixed(1)} ms (p95)`,
      ];
      if (cyclesMissing > 0) notes.push(`${cyclesMissing} cycles written in a window did not reach the API within ${GRACE_MS} ms of its end`);
      if (early.length > 0) notes.push(`${early.length} cycles stamped at the API before the host began writing them (by up to ${Math.max(...early).toFixed(2)} ms): left out; clocks of two processes, or seqs that disagree`);
      notes.push(`the subject includes the API server's topic batching: events go out every ${DEFAULT_FLUSH_MS} ms (serve()'s default flushIntervalMs), which alone adds 0–${DEFAULT_FLUSH_MS} ms per cycle`);
      if (arrivalsByPair.size > 1) notes.push(`cycles of ${arrivalsByPair.size - 1} other pairs seen (there should be none)`);
      return {
        name: NAME,
        title: TITLE,
        metric: 'p95 latency',
        unit: 'ms',
        higherIsBetter: false,
        ...verdict(b, s, TARGET),
        rounds,
        elapsedMs: now() - t0,
        details: {
          labMode: lab.mode,
          windowMs,
          askedRate: 1000 / PERIOD_MS,
          achievedRate: round(rate, 2),
          ratesPerRound: rates.map((r) => round(r, 2)),
          cycleBusyMs: cycleBusy,
          cyclesMeasured,
          cyclesMissing,
          arrivedBeforeWritten: early.length,
          subject: sq,
          baseline: bq,
        },
        notes,
      };
    } finally {
      if (bc !== undefined) {
        await stopPairs(bc, pairIds).catch((err: unknown) => log(`  stop pairs: ${(err as Error).message}`));
        await bc.close().catch((err: unknown) => log(`  close console: ${(err as Error).message}`));
      }
      probeLink?.close();
      await lab?.stop();
      rmSync(dir, { recursive: true, force: true });
    }
  },
};
