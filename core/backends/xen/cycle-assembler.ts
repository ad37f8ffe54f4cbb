// Turns the classified lines of one `xl -vvv remus` log (the primary's stderr with the secondary's mixed in through
// ssh) into what the console reports: ProtectionState while it starts and syncs, a checkpointStarted and then one
// CycleRecord per checkpoint, and what it learned of the end (exit reason, error lines, takeover) for the monitor,
// which settles the end with the hosts' own word (`xl list -l`).
//
// The per-cycle lines (xen-colo.md §3.3; in this order):
//   P `Domain now suspended`  the guest is paused: the checkpoint starts
//   P `Checkpointed save: N/N` the dirty pages are on the wire
//   S `All records buffered`, `All records processed`  (COLO) the secondary has applied it
//   P `Record: 5, length 4` twice (-vvv)  SVM_READY (the primary resumes right after it), then SVM_RESUMED
// Remus has no secondary lines and no records: its cycle ends at `Checkpointed save`.
//
// Timestamps are the console's arrival times of the lines (xl's -T has 1 s resolution), so every timing is derived
// from line arrival, not measured: every record says 'derived'. The state is plain JSON so that the run store can
// keep it with the log offset, and attaching later resumes exactly where it stopped.

import type { CheckpointTrigger, CycleOutcome, CycleRecord, OpenCheckpoint, PhaseTiming, ProtectionState, ReplicationMode, SyncProgress } from '../../colo/types.js';
import type { XlEvent } from './xl-log-line.js';

/** libxc's page size: COLO guests are x86 HVM. */
const PAGE_BYTES = 4096;
/** libxc's PAGE_DATA record carries one 8-byte pfn entry per page. */
const PFN_ENTRY_BYTES = 8;
/**
 * What one checkpoint sends besides the pages, roughly: record headers, vCPU and HVM context, the libxl device
 * model record. An estimate: xl never says how many bytes it wrote.
 */
const CHECKPOINT_OVERHEAD_BYTES = 64 * 1024;
/** CHECKPOINT_STATE records on the back channel: SVM_READY, then SVM_RESUMED. */
const RECORD_CHECKPOINT_STATE = 5;
const KEEP_ERROR_LINES = 8;

export interface OpenCycle {
  seq: number;
  trigger: CheckpointTrigger;
  startedAt: number;
  checkpointedAt?: number;
  pages?: number;
  bufferedAt?: number;
  processedAt?: number;
  /** The first line after `All records processed` (COLO without -vvv: the nearest sign the primary resumed). */
  afterProcessedAt?: number;
  readyAt?: number;
  records: number;
}

export type ExitReason = 'backup-failed' | 'primary-destroyed' | 'suspend-failed';

export interface AssemblerState {
  mode: ReplicationMode;
  /** Whether the log has libxl's debug lines (the console runs `xl -vvv`): Record lines end the pause. */
  verbose: boolean;
  phase: 'starting' | 'syncing' | 'protected' | 'degraded' | 'ended';
  /** xl wrote its stream header ("Saving to migration stream…"); libxl's COLO checks may still refuse after it. */
  streamStarted: boolean;
  /** libxc is sending the guest (live progress or the first suspend): COLO setup was accepted. */
  sending?: boolean;
  nextSeq: number;
  lastCommittedSeq: number;
  open: OpenCycle | null;
  progress?: SyncProgress;
  lastLineAt?: number;
  exitReason?: ExitReason;
  teardownRc?: number;
  /** Error lines seen, the last few, in the hypervisor's own words. */
  errors: string[];
  secondaryFailover: boolean;
  takeoverDomid?: number;
  lines: number;
  unknownLines: number;
}

export interface AssemblerSink {
  state(s: ProtectionState): void;
  checkpointStarted(o: OpenCheckpoint): void;
  cycle(r: CycleRecord): void;
}

export function initialAssemblerState(mode: ReplicationMode, verbose: boolean): AssemblerState {
  return { mode, verbose, phase: 'starting', streamStarted: false, nextSeq: 0, lastCommittedSeq: -1, open: null, errors: [], secondaryFailover: false, lines: 0, unknownLines: 0 };
}

export class CycleAssembler {
  constructor(readonly s: AssemblerState, private readonly sink: AssemblerSink) {}

  /** One line's event, stamped with the line's arrival time (ms since the epoch). */
  line(e: XlEvent, at: number): void {
    const s = this.s;
    s.lines++;
    s.lastLineAt = at;
    if (e.kind === 'unknown') s.unknownLines++;
    // COLO without Record lines (xl not run with -vvv): the first line after the secondary's "processed" is the
    // nearest sign that the primary resumed, so it ends the pause and the cycle.
    if (s.open !== null && s.open.processedAt !== undefined && !s.verbose) {
      s.open.afterProcessedAt = at;
      this.close(s.open, 'committed', at);
    }
    const o = s.open;
    switch (e.kind) {
      case 'stream-started':
        s.streamStarted = true;
        if (s.phase === 'starting') this.enter('syncing', at, { reasonCode: 'initial-sync', reason: 'Initial copy of the guest to the secondary (live migration).' });
        return;
      case 'live-progress': {
        const before = s.progress;
        s.progress = { iteration: e.iteration, pagesDone: e.done, pagesTotal: e.total };
        s.sending = true;
        if (s.phase === 'starting') s.streamStarted = true;
        if (s.phase === 'starting' || (s.phase === 'syncing' && (before === undefined || before.iteration !== e.iteration || before.pagesDone !== e.done))) {
          this.enter('syncing', at, { reasonCode: 'initial-sync', reason: `Initial copy, iteration ${e.iteration}: ${e.done} of ${e.total} pages.`, progress: s.progress });
        }
        return;
      }
      case 'suspended':
        if (s.phase === 'ended') return;
        s.sending = true;
        if (o !== null) this.closeAtNextStart(o, at);
        this.open(at);
        return;
      case 'checkpointed':
        if (o === null) return;
        o.checkpointedAt = at;
        o.pages = e.pages;
        if (s.mode === 'remus') this.close(o, 'committed', at);
        return;
      case 'secondary-buffered':
        if (o !== null) o.bufferedAt = at;
        return;
      case 'secondary-processed':
        if (o === null) return;
        o.processedAt = at;
        return;
      case 'record':
        if (o === null || e.type !== RECORD_CHECKPOINT_STATE || o.checkpointedAt === undefined) return;
        o.records++;
        if (o.records === 1) o.readyAt = at;
        else this.close(o, 'committed', at);
        return;
      case 'error':
        s.errors.push(e.text.slice(0, 500));
        if (s.errors.length > KEEP_ERROR_LINES) s.errors.shift();
        return;
      case 'primary-teardown':
        s.teardownRc = e.rc;
        if (o !== null) this.close(o, 'failed', at);
        return;
      case 'exit-reason':
        s.exitReason = e.reason;
        if (o !== null) this.close(o, 'failed', at);
        return;
      case 'secondary-failover':
      case 'secondary-teardown':
        if (e.kind === 'secondary-failover' || e.failover) s.secondaryFailover = true;
        if (o !== null) this.close(o, 'failed', at);
        return;
      case 'takeover-complete':
        s.secondaryFailover = true;
        s.takeoverDomid = e.domid;
        return;
      default:
        return;
    }
  }

  /** No line for `overdueMs` while protected (xl checkpoints at least every 5 s): degraded, until a cycle ends. */
  tick(now: number, overdueMs: number): void {
    const s = this.s;
    if (s.phase !== 'protected' || s.open !== null || s.lastLineAt === undefined) return;
    const silent = now - s.lastLineAt;
    if (silent < overdueMs) return;
    this.enter('degraded', now, {
      reasonCode: 'checkpoint-overdue',
      reason: `No checkpoint for ${(silent / 1000).toFixed(1)} s while xl remus runs; xl checkpoints at least every 5 s.`,
    });
  }

  /** The run has ended (xl remus exited, or the admin ended it): a checkpoint left open ends with it. */
  end(at: number, outcome: CycleOutcome): void {
    if (this.s.open !== null) this.close(this.s.open, outcome, at);
    this.s.phase = 'ended';
  }

  private open(at: number): void {
    const s = this.s;
    const o: OpenCycle = { seq: s.nextSeq, trigger: s.nextSeq === 0 ? 'initial' : 'timer', startedAt: at, records: 0 };
    s.nextSeq++;
    s.open = o;
    this.sink.checkpointStarted({ seq: o.seq, trigger: o.trigger, startedAt: at });
  }

  /** A new checkpoint began before this one's end was seen: it ended, committed if the secondary got it. */
  private closeAtNextStart(o: OpenCycle, at: number): void {
    const got = this.s.mode === 'remus' ? o.checkpointedAt !== undefined : o.processedAt !== undefined;
    this.close(o, got ? 'committed' : 'failed', at);
  }

  private close(o: OpenCycle, outcome: CycleOutcome, at: number): void {
    const s = this.s;
    s.open = null;
    const t = (x: number): number => Math.max(0, x - o.startedAt);
    const pauseEnd = outcome !== 'committed' ? at : s.mode === 'remus' ? (o.checkpointedAt ?? at) : (o.readyAt ?? o.afterProcessedAt ?? o.processedAt ?? at);
    const phases: PhaseTiming[] = [];
    // Suspending is inside 'transfer': no line marks its end.
    if (o.checkpointedAt !== undefined) phases.push({ name: 'transfer', startMs: 0, durationMs: t(o.checkpointedAt) });
    if (o.bufferedAt !== undefined && o.processedAt !== undefined) phases.push({ name: 'svm-load', startMs: t(o.bufferedAt), durationMs: Math.max(0, o.processedAt - o.bufferedAt) });
    if (o.readyAt !== undefined && outcome === 'committed' && o.records >= 2) phases.push({ name: 'resume', startMs: t(o.readyAt), durationMs: Math.max(0, at - o.readyAt) });
    const pages = o.pages ?? 0;
    const record: CycleRecord = {
      seq: o.seq,
      mode: s.mode,
      trigger: o.trigger,
      startedAt: o.startedAt,
      phases,
      primaryPauseMs: t(pauseEnd),
      // "Checkpointed save: N/N" counts the primary's dirty pages plus deferred ones (xen-colo.md §3.3): the
      // closest xl comes to the dirty count.
      dirtyPages: pages,
      pagesSent: pages,
      bytesSent: o.pages === undefined ? 0 : estimateCheckpointBytes(pages),
      outcome,
      provenance: 'derived',
    };
    if (outcome === 'committed') s.lastCommittedSeq = o.seq;
    if (outcome === 'failed' && (s.phase === 'protected' || s.phase === 'degraded')) {
      // Until the log ends and the hosts say where the guest runs, the last word must not be an old "committed".
      // Said before the cycle is reported, so that a listener that shows the latest state when a checkpoint
      // closes never shows the one before.
      const why = s.errors.at(-1);
      this.enter('degraded', at, {
        reasonCode: 'stream-error',
        reason: `Checkpoint ${o.seq} failed${why === undefined ? '' : ` (${why.slice(0, 300)})`}; the secondary may not hold checkpoint ${o.seq}. Waiting for xl remus to end.`,
      });
    }
    this.sink.cycle(record);
    if (outcome === 'committed' && (s.phase === 'syncing' || s.phase === 'starting' || s.phase === 'degraded')) {
      this.enter('protected', at, { reason: `Checkpoint ${o.seq} committed; the secondary holds a copy.` });
    }
  }

  private enter(phase: 'syncing' | 'protected' | 'degraded', at: number, rest: Omit<ProtectionState, 'state' | 'since'>): void {
    this.s.phase = phase;
    this.sink.state({ state: phase, since: at, ...rest });
  }
}

/** Bytes a checkpoint of N pages puts on the wire: an estimate (pages, their pfn entries, a fixed overhead). */
export function estimateCheckpointBytes(pages: number): number {
  return pages * (PAGE_BYTES + PFN_ENTRY_BYTES) + CHECKPOINT_OVERHEAD_BYTES;
}
