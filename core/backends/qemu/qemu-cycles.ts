// Checkpoints from QMP events (qemu-colo.md §1.3, §1.6). QEMU counts nothing per checkpoint, but each side
// announces its pauses: STOP when its VM is paused for a checkpoint, RESUME when it runs again, each stamped by
// QEMU itself. So a checkpoint is, on the primary, STOP → RESUME (its pause), and on the secondary, which pauses
// just before the primary and resumes just before it, STOP → RESUME (its pause). Each pause is timed on one
// host's clock, so no clock skew between the hosts enters it: both figures are measured. What QEMU never says is
// why a checkpoint began, nor how much it copied: the trigger is inferred from the interval (a periodic one comes
// x-checkpoint-delay after the last; an earlier one was colo-compare's miscompare), and the counts stay 0.

import type { CheckpointTrigger, CycleOutcome, CycleRecord, OpenCheckpoint } from '../../colo/types.js';

export interface CycleSink {
  checkpointStarted(open: OpenCheckpoint): void;
  cycle(record: CycleRecord): void;
}

interface Open {
  seq: number;
  trigger: CheckpointTrigger;
  /** When its STOP arrived here (the hosts' clocks are not ours). */
  seenAt: number;
  /** QEMU's timestamps, ms since the epoch. */
  primaryStopAt: number;
}

interface SecondaryPause {
  stopAt: number;
  resumeAt?: number;
}

/** A periodic checkpoint may start this much before its delay is up and still count as the timer's. */
const TIMER_SLACK = 0.9;
/**
 * The two sides' events come over two connections, in either order. A checkpoint that resumed on the primary waits
 * this long for the secondary's RESUME before it is reported without the secondary's pause.
 */
export const SECONDARY_GRACE_MS = 100;
/** The secondary pauses just before the primary (§1.3 steps 2–3); this much earlier still counts as the same checkpoint. */
const SECONDARY_LEAD_MS = 1000;
const KEEP_SECONDARY_PAUSES = 8;

export class QemuCycleTracker {
  private open: Open | null = null;
  private nextSeq: number;
  private lastStartAt: number | undefined;
  /** The secondary's recent pauses, matched to checkpoints by QEMU's timestamps. */
  private readonly secondary: SecondaryPause[] = [];
  /** Resumed on the primary, waiting a moment for the secondary's RESUME. */
  private closing: { open: Open; at: number; timer: NodeJS.Timeout } | null = null;

  constructor(
    private readonly sink: CycleSink,
    /** The current x-checkpoint-delay, for the trigger; null when unknown. */
    private readonly delayMs: () => number | null,
    /** The first seq to report: 0 for a fresh start (the initial copy), or the next after an attach. */
    firstSeq = 0,
    private readonly now: () => number = Date.now,
  ) {
    this.nextSeq = firstSeq;
  }

  /** The checkpoint in progress, if any. */
  get openSeq(): number | null {
    return this.open?.seq ?? null;
  }

  /** When the last checkpoint began, by this process's clock; undefined before any. */
  lastStartSeenAt: number | undefined;

  /** When the checkpoint in progress began, by this process's clock; null when none is open. */
  get openSince(): number | null {
    return this.open?.seenAt ?? null;
  }

  /** The last seq reported as committed, -1 before any. */
  lastCommitted = -1;

  /** Whether the secondary's pauses are expected (COLO runs); the initial copy has none. */
  expectSecondary = false;

  /**
   * COLO runs. A primary that was paused through the initial copy (a launched one starts with -S) never ran before
   * it, so there was no guest pause to report: the next checkpoint is still number 1.
   */
  coloStarted(): void {
    this.flush();
    if (this.nextSeq === 0 && this.open === null) this.nextSeq = 1;
  }

  primaryStop(at: number): void {
    if (this.open !== null) return;
    this.flush();
    const seq = this.nextSeq++;
    const trigger = seq === 0 ? 'initial' : this.triggerAt(at);
    this.open = { seq, trigger, primaryStopAt: at, seenAt: this.now() };
    this.lastStartSeenAt = this.open.seenAt;
    this.lastStartAt = at;
    this.sink.checkpointStarted({ seq, trigger, startedAt: at });
  }

  primaryResume(at: number): void {
    const o = this.open;
    if (o === null) return;
    this.open = null;
    if (!this.expectSecondary || this.secondaryPause(o, at)?.resumeAt !== undefined) return this.report(o, at, 'committed', true);
    const timer = setTimeout(() => this.flush(), SECONDARY_GRACE_MS);
    timer.unref();
    this.closing = { open: o, at, timer };
  }

  secondaryStop(at: number): void {
    this.secondary.push({ stopAt: at });
    if (this.secondary.length > KEEP_SECONDARY_PAUSES) this.secondary.shift();
  }

  secondaryResume(at: number): void {
    const last = this.secondary.at(-1);
    if (last !== undefined && last.resumeAt === undefined) last.resumeAt = at;
    const c = this.closing;
    if (c !== null && this.secondaryPause(c.open, c.at)?.resumeAt !== undefined) this.flush();
  }

  /** The run ended with a checkpoint open (`at` is the console's clock): it failed, or was ended from outside. */
  end(at: number, outcome: Exclude<CycleOutcome, 'committed'>): void {
    this.flush();
    const o = this.open;
    if (o === null) return;
    this.open = null;
    this.report(o, at, outcome, false);
  }

  /** Reports a checkpoint that resumed and was waiting for the secondary's RESUME. */
  private flush(): void {
    const c = this.closing;
    if (c === null) return;
    this.closing = null;
    clearTimeout(c.timer);
    this.report(c.open, c.at, 'committed', true);
  }

  /** The secondary's pause of this checkpoint: the one that began shortly before the primary's and before its end. */
  private secondaryPause(o: Open, primaryResumeAt: number): SecondaryPause | undefined {
    return this.secondary.find((p) => p.stopAt >= o.primaryStopAt - SECONDARY_LEAD_MS && p.stopAt <= primaryResumeAt);
  }

  private report(o: Open, at: number, outcome: CycleOutcome, byQemu: boolean): void {
    const sp = this.expectSecondary ? this.secondaryPause(o, at) : undefined;
    const secondaryPauseMs = sp?.resumeAt !== undefined ? Math.max(0, sp.resumeAt - sp.stopAt) : undefined;
    if (sp !== undefined) this.secondary.splice(0, this.secondary.indexOf(sp) + 1);
    if (outcome === 'committed') this.lastCommitted = o.seq;
    this.sink.cycle({
      seq: o.seq,
      mode: 'colo',
      trigger: o.trigger,
      startedAt: o.primaryStopAt,
      phases: [],
      primaryPauseMs: Math.max(0, at - o.primaryStopAt),
      ...(secondaryPauseMs === undefined ? {} : { secondaryPauseMs }),
      dirtyPages: 0,
      pagesSent: 0,
      bytesSent: 0,
      outcome,
      // The end of a pause QEMU did not report is our own observation, not QEMU's timestamp.
      provenance: byQemu ? 'measured' : 'derived',
    });
  }

  private triggerAt(at: number): CheckpointTrigger {
    const delay = this.delayMs();
    if (delay === null || this.lastStartAt === undefined) return 'timer';
    return at - this.lastStartAt >= TIMER_SLACK * delay ? 'timer' : 'miscompare';
  }
}
