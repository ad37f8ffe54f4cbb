// The demo's account of a run: every cycle that started, whatever its outcome, with its real pause; a checkpoint
// still open counts with its pause so far, so neither the p99 nor the max can hide a guest that is paused now.
// Also decides how the run ended (the exit status), with the alarms that outrank states: split brain and a
// frozen guest.

import { performance } from 'node:perf_hooks';
import { quantile } from '../colo/stats.js';
import { frozenAfterMs } from '../service/frozen-rule.js';
import { DEFAULT_SETTINGS } from '../service/settings.js';
import type { CheckpointTrigger, CycleOutcome, CycleRecord, OpenCheckpoint, ProtectionState } from '../colo/types.js';

/** A checkpoint open this long freezes the guest in the console's eyes: the service's default threshold. */
export const FROZEN_THRESHOLD_MS = DEFAULT_SETTINGS.frozenThresholdMs;
/** The recent pauses that set the frozen threshold: those that started within this long before the open one. */
const RECENT_MS = 60_000;

/** The demo's exit statuses; 1 and 2 are the CLI's own (could not run; usage error). */
export const EXIT = {
  /** The run ended with the guest on one copy: protected until stopped, failed over, or unprotected after a loss. */
  ok: 0,
  splitBrain: 3,
  guestFrozen: 4,
  /** The pair ended in its error state for another reason (for example the guest was lost). */
  pairError: 5,
} as const;

export type Ending = 'ok' | 'split-brain' | 'guest-frozen' | 'pair-error';

const EXIT_OF: Record<Ending, number> = { ok: EXIT.ok, 'split-brain': EXIT.splitBrain, 'guest-frozen': EXIT.guestFrozen, 'pair-error': EXIT.pairError };

export interface OpenPause {
  seq: number;
  trigger: CheckpointTrigger;
  pausedMs: number;
}

export interface DemoSummary {
  /** Every cycle reported, whatever its outcome. */
  cycles: number;
  outcomes: Record<CycleOutcome, number>;
  triggers: Partial<Record<CheckpointTrigger, number>>;
  /** Over every cycle after the initial copy, committed, failed or aborted, plus a checkpoint still open at the end. */
  primaryPauseMs: { p50: number; p99: number; max: number };
  /** The cycle with the longest pause: its seq and outcome, or 'open' for a checkpoint that never finished. */
  longestPause: { seq: number; outcome: CycleOutcome | 'open'; ms: number } | null;
  /** A checkpoint still open when the run ended (its cycle never arrived), counted above with its pause so far. */
  openAtEnd: OpenPause | null;
  pagesSent: number;
  bytesSent: number;
  outputLatencyMs: { p50: number; p99: number; packets: number };
  finalState: ProtectionState;
  ending: Ending;
  exitCode: number;
  /** For a frozen guest: the open pause and the threshold it passed when the run ended. */
  frozen?: { seq: number; pausedMs: number; thresholdMs: number };
}

interface Open extends OpenCheckpoint {
  /** performance.now() when the pause began (as reported), for a monotonic duration. */
  startedMono: number;
}

/** Collects a run's cycles and its open checkpoint as the pair reports them. */
export class CycleLog {
  readonly cycles: CycleRecord[] = [];
  private open: Open | undefined;
  private frozenAtEnd: { seq: number; pausedMs: number; thresholdMs: number } | undefined;

  /** The pair paused the primary for checkpoint `open.seq`. */
  started(open: OpenCheckpoint, now = performance.now(), wallNow = Date.now()): void {
    // startedAt is wall-clock; carried over to the monotonic clock once, here.
    this.open = { ...open, startedMono: now - Math.max(0, wallNow - open.startedAt) };
  }

  /** A cycle ended (committed, failed or aborted); it closes the open checkpoint it belongs to. */
  cycle(record: CycleRecord): void {
    this.cycles.push(record);
    if (this.open && record.seq >= this.open.seq) this.open = undefined;
  }

  /** The checkpoint open now and its pause so far, if any. */
  openPause(now = performance.now()): OpenPause | undefined {
    if (!this.open) return undefined;
    return { seq: this.open.seq, trigger: this.open.trigger, pausedMs: Math.max(0, now - this.open.startedMono) };
  }

  /** How long a checkpoint may stay open before the guest counts as frozen, given the pauses before it. */
  frozenThresholdMs(beforeStartedAt = Infinity): number {
    const recent = this.cycles
      .filter((c) => c.trigger !== 'initial' && c.outcome === 'committed' && c.startedAt < beforeStartedAt && c.startedAt >= beforeStartedAt - RECENT_MS)
      .map((c) => c.primaryPauseMs);
    return frozenAfterMs(FROZEN_THRESHOLD_MS, recent.length ? quantile(recent, 0.99) : null);
  }

  /** The open checkpoint, if it has been open past the threshold now: the guest is frozen. */
  frozen(now = performance.now()): { seq: number; pausedMs: number; thresholdMs: number } | undefined {
    const open = this.openPause(now);
    if (!open || !this.open) return undefined;
    const thresholdMs = this.frozenThresholdMs(this.open.startedAt);
    return open.pausedMs >= thresholdMs ? { seq: open.seq, pausedMs: open.pausedMs, thresholdMs } : undefined;
  }

  /** Call when the run is over, before protection is torn down: whether it ended with the guest frozen. */
  markEnd(now = performance.now()): void {
    this.frozenAtEnd = this.frozen(now);
  }

  summarise(outputLatency: readonly number[], finalState: ProtectionState, now = performance.now()): DemoSummary {
    const outcomes: Record<CycleOutcome, number> = { committed: 0, failed: 0, aborted: 0 };
    const triggers: Partial<Record<CheckpointTrigger, number>> = {};
    const pauses: number[] = [];
    let longest: DemoSummary['longestPause'] = null;
    for (const c of this.cycles) {
      outcomes[c.outcome]++;
      triggers[c.trigger] = (triggers[c.trigger] ?? 0) + 1;
      if (c.trigger === 'initial') continue;
      pauses.push(c.primaryPauseMs);
      if (!longest || c.primaryPauseMs > longest.ms) longest = { seq: c.seq, outcome: c.outcome, ms: c.primaryPauseMs };
    }
    const open = this.openPause(now) ?? null;
    if (open && open.trigger !== 'initial') {
      pauses.push(open.pausedMs);
      if (!longest || open.pausedMs > longest.ms) longest = { seq: open.seq, outcome: 'open', ms: open.pausedMs };
    }
    const ending: Ending = finalState.reasonCode === 'split-brain'
      ? 'split-brain'
      : finalState.state === 'error'
        ? 'pair-error'
        : this.frozenAtEnd
          ? 'guest-frozen'
          : 'ok';
    return {
      cycles: this.cycles.length,
      outcomes,
      triggers,
      primaryPauseMs: { p50: quantile(pauses, 0.5), p99: quantile(pauses, 0.99), max: pauses.length ? Math.max(...pauses) : NaN },
      longestPause: longest,
      openAtEnd: open,
      pagesSent: this.cycles.reduce((n, c) => n + c.pagesSent, 0),
      bytesSent: this.cycles.reduce((n, c) => n + c.bytesSent, 0),
      outputLatencyMs: { p50: quantile(outputLatency, 0.5), p99: quantile(outputLatency, 0.99), packets: outputLatency.length },
      finalState,
      ending,
      exitCode: EXIT_OF[ending],
      ...(ending === 'guest-frozen' && this.frozenAtEnd ? { frozen: this.frozenAtEnd } : {}),
    };
  }
}
