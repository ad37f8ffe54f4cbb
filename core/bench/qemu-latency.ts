// Benchmark: the QEMU backend's event-to-API latency: "the primary's RESUME leaves QEMU → CycleRecord at the API,
// p95 ≤ 50 ms", the figure issue 8 §5 sets for Xen (xen-latency), held to the same target here.
//
// The QEMU lab's emulated pair (core/lab/qmp/, behind two real sshds qemu-a and qemu-b) checkpoints every
// CHECKPOINT_DELAY_MS with a short pause (the rate achieved is measured and reported). A fresh ConsoleService (demo
// off) adds both hosts as QEMU hosts (key auth, host keys checked against the lab's and trusted), adds the lab's
// pair by its QMP sockets and incomingUri and starts it; an API client subscribed to the `cycles` topic over the
// RPC layer stamps each CycleRecord as it arrives. A CycleRecord's startedAt is the primary's STOP as QEMU stamped
// it and startedAt + primaryPauseMs its RESUME, both wall-clock ms (µs resolution) on this machine, so
// latency = arrival − (startedAt + primaryPauseMs), per cycle.
//   subject   the primary's RESUME event → CycleRecord at the API client. The path: the emulated monitor's socket,
//             sshd's streamlocal forwarding on qemu-a, the console's SSH link and QmpClient, the handle's cycle
//             tracker (which holds a cycle until the secondary's RESUME has come over qemu-b's link too, at most
//             SECONDARY_GRACE_MS), the pair controller, history, and the RPC topic, whose batching
//             (DEFAULT_FLUSH_MS) alone adds up to one flush interval.
//   baseline  the raw path of the same events through the same sshd: a bare QmpClient over a second monitor of the
//             primary (as a second -qmp gives a real QEMU) reached through qemu-a's streamlocal forwarding;
//             latency = arrival − QEMU's timestamp of each RESUME.
// p95 latency in ms per round (rounds interleaved); target: subject p95 ≤ 50 ms (absolute, as for Xen).
// The emulated QEMU runs in this process, beside the console and the API client: on 2 shared cores its timers,
// the console and sshd compete, which falls on both sides alike.

import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { performance } from 'node:perf_hooks';
import { setTimeout as delay } from 'node:timers/promises';
import { DEFAULT_FLUSH_MS } from '../api/server.js';
import { SECONDARY_GRACE_MS } from '../backends/qemu/qemu-cycles.js';
import { QmpClient, type QmpEvent } from '../backends/qemu/qmp-client.js';
import { sshSocket } from '../backends/qemu/qmp-session.js';
import { type QemuLab, qemuLabUnavailable, startQemuLab } from '../lab/qemu-lab.js';
import type { SshHostLink } from '../ssh/host-link.js';
import { type BenchResult, type Benchmark, type Target, interleave, now, round, series, skippedResult, verdict } from './harness.js';
import { type BenchConsole, plainLink, quantile, startBenchConsole, stopPairs, untilProtected } from './xen-rig.js';

const NAME = 'qemu-latency';
const CHECKPOINT_DELAY_MS = 10;
/** The emulated secondary's pause per checkpoint (the primary resumes primaryResumeLagMs after it): short, so the pace is the delay's. */
const CHECKPOINT_PAUSE_MS = 2;
const TITLE = `QEMU: the primary's RESUME event → CycleRecord at the API, x-checkpoint-delay ${CHECKPOINT_DELAY_MS} ms`;
const TARGET: Target = { kind: 'max-value', value: 50 };
/** After a window closes, how long a cycle resumed in it may still take to arrive before it counts as missing. */
const GRACE_MS = 1000;

/** Wall-clock ms with sub-ms resolution, the clock the emulator stamps its events with. */
const wallMs = (): number => performance.timeOrigin + performance.now();

interface Arrival {
  /** The primary's RESUME, QEMU's timestamp. */
  resumeAt: number;
  at: number;
  /** When the service handed the record to its listeners (the topic among them), this process's clock. */
  serviceAt: number | undefined;
  /** The record carries the secondary's pause: its RESUME reached the tracker within the grace. */
  withSecondary: boolean;
}

/** A bare QmpClient on a monitor socket of a lab host, through that host's sshd; its events go to `onEvent`. */
async function bareClient(link: SshHostLink, socket: string, name: string, onEvent: (e: QmpEvent, at: number) => void): Promise<QmpClient> {
  const stream = await sshSocket(link, socket)();
  try {
    return await QmpClient.open(stream, { name, timeoutMs: 5000, maxEventsPerSecond: 100_000, onEvent: (e) => onEvent(e, wallMs()) });
  } catch (err) {
    stream.destroy();
    throw err;
  }
}

export const qemuLatency: Benchmark = {
  name: NAME,
  title: TITLE,
  timeLimitMs: { quick: 90_000, full: 120_000 },
  async run({ quick, log }): Promise<BenchResult> {
    const unavailable = qemuLabUnavailable('emulated');
    if (unavailable !== null) return skippedResult(this, 'p95 latency', 'ms', false, TARGET, `the QEMU lab cannot run here: ${unavailable}`);
    const t0 = now();
    const rounds = quick ? 1 : 3;
    const windowMs = quick ? 3000 : 6000;
    const dir = mkdtempSync(path.join(tmpdir(), 'colo-bench-qemu-'));
    let lab: QemuLab | undefined;
    let bc: BenchConsole | undefined;
    let pairId: string | undefined;
    const links: SshHostLink[] = [];
    try {
      lab = await startQemuLab({ kind: 'emulated', checkpointDelayMs: CHECKPOINT_DELAY_MS, timings: { checkpointPauseMs: CHECKPOINT_PAUSE_MS } });
      const emulated = lab.emulated!;
      // The baseline's own monitors, beside the console's (QEMU serves one client per monitor).
      const benchSockets = { primary: path.join(dir, 'primary-bench.qmp'), secondary: path.join(dir, 'secondary-bench.qmp') };
      await emulated.addMonitor('primary', benchSockets.primary);
      await emulated.addMonitor('secondary', benchSockets.secondary);
      bc = await startBenchConsole(lab, undefined, 'qemu');
      const arrivals = new Map<number, Arrival>();
      // The service's own hand-off of each record, to tell the backend's part of the path from the RPC topic's.
      const servedAt = new Map<number, number>();
      let otherPairs = 0;
      const stopWatching = bc.service.onCycle((id, r) => {
        if (id === pairId && !servedAt.has(r.seq)) servedAt.set(r.seq, wallMs());
      });
      const sub = bc.client.subscribe('cycles', {}, (events) => {
        const at = wallMs();
        for (const e of events) {
          if (e.pairId !== pairId) {
            otherPairs++;
            continue;
          }
          if (e.outcome !== 'committed' || arrivals.has(e.seq)) continue;
          arrivals.set(e.seq, { resumeAt: e.startedAt + e.primaryPauseMs, at, serviceAt: servedAt.get(e.seq), withSecondary: e.secondaryPauseMs !== undefined });
          servedAt.delete(e.seq);
        }
      });
      await sub.ready;
      // The id is set before start, so the subscription counts this pair's first cycles.
      const pair = await bc.client.call('pairs.add', {
        name: lab.vm, backend: 'qemu', domain: lab.vm, primaryHostId: bc.hostIds.a, secondaryHostId: bc.hostIds.b, mode: 'colo',
        options: { primaryQmp: lab.primarySocket, secondaryQmp: lab.secondarySocket, incomingUri: lab.incomingUri, checkpointDelayMs: CHECKPOINT_DELAY_MS },
      });
      pairId = pair.id;
      await bc.client.call('pairs.start', { pairId });
      await untilProtected(bc, [pairId], 30_000);
      log(`  ${lab.vm} protected (emulated pair behind qemu-a and qemu-b); warm-up`);
      await delay(quick ? 1000 : 2000);

      const linkA = plainLink(lab, 'a');
      const linkB = plainLink(lab, 'b');
      links.push(linkA, linkB);
      const subjectAll: Arrival[] = [];
      const baselineAll: number[] = [];
      let cyclesMissing = 0;
      let early = 0;
      const rates: number[] = [];
      // From the baseline's view of both sides: how often the secondary's RESUME reached this process after the
      // primary's (what makes the tracker wait), and by how much.
      let secondaryLate = 0;
      let pairsCompared = 0;
      const secondaryLag: number[] = [];

      const subjectRound = async (): Promise<number> => {
        const from = wallMs();
        const before = emulated.state.checkpoints;
        await delay(windowMs);
        const to = wallMs();
        rates.push((emulated.state.checkpoints - before) / ((to - from) / 1000));
        await delay(GRACE_MS);
        const seqs = [...arrivals.entries()].filter(([, a]) => a.resumeAt >= from && a.resumeAt < to).map(([seq]) => seq).sort((x, y) => x - y);
        if (seqs.length === 0) throw new Error(`no cycle of ${lab!.vm} reached the API in a ${windowMs} ms window (${arrivals.size} arrived in all)`);
        // Seqs run on without gaps: one not there by now never arrived (or took longer than the grace).
        cyclesMissing += seqs.at(-1)! - seqs[0]! + 1 - seqs.length;
        const lat: number[] = [];
        for (const seq of seqs) {
          const a = arrivals.get(seq)!;
          if (a.at < a.resumeAt) early++;
          else {
            lat.push(a.at - a.resumeAt);
            subjectAll.push(a);
          }
        }
        return quantile(lat, 0.95);
      };

      const baselineRound = async (): Promise<number> => {
        const primary: { at: number; arrived: number }[] = [];
        const secondary: { at: number; arrived: number }[] = [];
        const record = (into: typeof primary) => (e: QmpEvent, arrived: number): void => {
          if (e.event === 'RESUME') into.push({ at: e.at, arrived });
        };
        const p = await bareClient(linkA, benchSockets.primary, `${lab!.vm} (primary, bench monitor)`, record(primary));
        let s: QmpClient | undefined;
        try {
          s = await bareClient(linkB, benchSockets.secondary, `${lab!.vm} (secondary, bench monitor)`, record(secondary));
          await delay(windowMs);
        } finally {
          p.close();
          s?.close();
        }
        if (primary.length === 0) throw new Error('no RESUME came through the bare QMP client in the baseline window');
        const lat = primary.map((r) => r.arrived - r.at);
        baselineAll.push(...lat);
        // Each primary RESUME's checkpoint: the secondary resumes just before it (by QEMU's timestamps).
        for (const r of primary) {
          const sec = secondary.filter((x) => x.at <= r.at && x.at > r.at - CHECKPOINT_DELAY_MS).at(-1);
          if (sec === undefined) continue;
          pairsCompared++;
          secondaryLag.push(sec.arrived - r.arrived);
          if (sec.arrived > r.arrived) secondaryLate++;
        }
        return quantile(lat, 0.95);
      };

      const { baseline, subject } = await interleave(rounds, baselineRound, subjectRound, log, (v) => `p95 ${v.toFixed(2)} ms`);
      stopWatching();
      const b = series('primary RESUME → bare QmpClient over qemu-a\'s sshd: p95', baseline.map((v) => round(v, 3)));
      const s = series('primary RESUME → CycleRecord at the API client: p95', subject.map((v) => round(v, 3)));
      const q = (v: number[]): { p50: number; p95: number; p99: number; max: number } => ({
        p50: round(quantile(v, 0.5), 3), p95: round(quantile(v, 0.95), 3), p99: round(quantile(v, 0.99), 3), max: round(quantile(v, 1), 3),
      });
      const subjectLat = subjectAll.map((a) => a.at - a.resumeAt);
      const sq = q(subjectLat);
      const bq = q(baselineAll);
      const alone = subjectAll.filter((a) => !a.withSecondary);
      const aloneQ = q(alone.map((a) => a.at - a.resumeAt));
      const withSecondaryQ = q(subjectAll.filter((a) => a.withSecondary).map((a) => a.at - a.resumeAt));
      const served = subjectAll.filter((a) => a.serviceAt !== undefined);
      const toService = q(served.map((a) => a.serviceAt! - a.resumeAt));
      const toClient = q(served.map((a) => a.at - a.serviceAt!));
      const rate = rates.reduce((x, y) => x + y, 0) / rates.length;
      const lag = q(secondaryLag);
      const notes = [
        `subject  (${subjectAll.length} cycles): p50 ${sq.p50.toFixed(2)} ms, p95 ${sq.p95.toFixed(2)} ms, p99 ${sq.p99.toFixed(2)} ms, max ${sq.max.toFixed(1)} ms`,
        `baseline (${baselineAll.length} RESUME events): p50 ${bq.p50.toFixed(2)} ms, p95 ${bq.p95.toFixed(2)} ms, p99 ${bq.p99.toFixed(2)} ms, max ${bq.max.toFixed(1)} ms`,
        `ratio of the p95s over all cycles (subject / baseline): ${(sq.p95 / bq.p95).toFixed(1)}×`,
        `checkpoint rate achieved by the emulated pair: ${rate.toFixed(1)}/s (x-checkpoint-delay ${CHECKPOINT_DELAY_MS} ms, pause ${CHECKPOINT_PAUSE_MS} + ${lab.emulated!.state.timings.primaryResumeLagMs} ms)`,
        `split at the service's hand-off (${served.length} cycles): RESUME → service (SSH, QmpClient, tracker, controller, history) p50 ${toService.p50.toFixed(2)} ms, p95 ${toService.p95.toFixed(2)} ms; service → API client (RPC topic) p50 ${toClient.p50.toFixed(2)} ms, p95 ${toClient.p95.toFixed(2)} ms`,
        `${alone.length} of ${subjectAll.length} cycles reached the API without the secondary's pause (its RESUME not matched before the grace of ${SECONDARY_GRACE_MS} ms or the next checkpoint's STOP ended the wait)${alone.length > 0 ? `: their latency p50 ${aloneQ.p50.toFixed(1)} ms, max ${aloneQ.max.toFixed(1)} ms; the others' p50 ${withSecondaryQ.p50.toFixed(2)} ms, p95 ${withSecondaryQ.p95.toFixed(2)} ms, p99 ${withSecondaryQ.p99.toFixed(2)} ms` : ''}`,
        `the secondary's RESUME reached this process after the primary's in ${secondaryLate} of ${pairsCompared} checkpoints (bare clients; arrival of secondary − primary: p50 ${lag.p50.toFixed(2)} ms, p95 ${lag.p95.toFixed(2)} ms)`,
        `the subject includes the API server's topic batching: events go out every ${DEFAULT_FLUSH_MS} ms (serve()'s default flushIntervalMs), which alone adds 0–${DEFAULT_FLUSH_MS} ms per cycle`,
      ];
      if (cyclesMissing > 0) notes.push(`${cyclesMissing} cycles resumed in a window did not reach the API within ${GRACE_MS} ms of its end`);
      if (early > 0) notes.push(`${early} cycles stamped at the API before their RESUME's QEMU timestamp: left out (one clock here: should be none)`);
      if (otherPairs > 0) notes.push(`${otherPairs} cycles of other pairs seen (there should be none)`);
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
          windowMs,
          checkpointDelayMs: CHECKPOINT_DELAY_MS,
          checkpointPauseMs: CHECKPOINT_PAUSE_MS,
          achievedRate: round(rate, 2),
          ratesPerRound: rates.map((r) => round(r, 2)),
          cyclesMeasured: subjectAll.length,
          cyclesMissing,
          arrivedBeforeResume: early,
          withoutSecondaryPause: { count: alone.length, latency: aloneQ },
          withSecondaryPause: withSecondaryQ,
          resumeToService: toService,
          serviceToClient: toClient,
          secondaryResumeLate: { count: secondaryLate, of: pairsCompared, arrivalLagMs: lag },
          subject: sq,
          baseline: bq,
          p95Ratio: round(sq.p95 / bq.p95, 3),
        },
        notes,
      };
    } finally {
      if (bc !== undefined) {
        if (pairId !== undefined) await stopPairs(bc, [pairId]).catch((err: unknown) => log(`  stop pair: ${(err as Error).message}`));
        await bc.close().catch((err: unknown) => log(`  close console: ${(err as Error).message}`));
      }
      for (const l of links) l.close();
      await lab?.stop().catch((err: unknown) => log(`  stop lab: ${(err as Error).message}`));
      rmSync(dir, { recursive: true, force: true });
    }
  },
};
