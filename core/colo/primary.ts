// The primary's side of the checkpoint protocol (xen-colo.md §2.3, §2.4, §2.9): the initial live copy, then one
// checkpoint per trigger. It suspends the guest, sends what changed (its own dirty pages and the secondary's),
// and resumes the guest once the secondary holds the checkpoint (COLO) or once it is written (Remus).
// If the secondary goes away it resumes the guest unprotected, as `xl remus` does.

import type { Readable, Writable } from 'node:stream';
import {
  CHECKPOINT_NEW,
  CheckpointState,
  type Chunks,
  type DecoderOptions,
  LibxlRecord,
  PAGE_DATA_BATCH_MAX,
  RecordReader,
  StreamDecoder,
  type StreamItem,
  checkpointStateName,
  encodeLibxcHeaders,
  encodeLibxl,
  encodeLibxlHeader,
  encodeXlHeader,
} from '../stream/index.js';
import { DirtySet, deviceRecords, endOfCheckpointRecords, pageDataRecords, staticRecords } from './checkpoint-records.js';
import type { Domain } from './domain.js';
import { ChannelLostError, ProtocolError, describeError } from './errors.js';
import { CycleTimer, now } from './cycle-timer.js';
import { quantile } from './stats.js';
import { StreamWriter } from './stream-writer.js';
import type { CheckpointTriggers } from './triggers.js';
import type {
  CheckpointTrigger,
  CycleRecord,
  FailoverEvent,
  OpenCheckpoint,
  PhaseName,
  ProtectionReasonCode,
  ProtectionState,
  ProtectionStateName,
  ReplicationMode,
  SyncProgress,
} from './types.js';

/** libxc's live-migration limits (SPP_MAX_ITERATIONS, SPP_TARGET_DIRTY_COUNT in xg_sr_save.c). */
export const MAX_LIVE_ITERATIONS = 5;
export const TARGET_DIRTY_COUNT = 50;
/** Checkpoints whose median pause decides whether protection is degraded by slow checkpoints. */
const SLOW_WINDOW = 5;
/** Up to this many pages, a checkpoint's records and device state go out in one write. */
const SMALL_CHECKPOINT_PAGES = 16;
const NO_PFNS = new Uint32Array(0);

export interface PrimaryEvents {
  /** The guest was paused for checkpoint `seq`; a cycle() follows, committed, failed or aborted. */
  checkpointStarted?(open: OpenCheckpoint): void;
  cycle?(record: CycleRecord): void;
  state?(state: ProtectionState): void;
  failover?(event: FailoverEvent): void;
  /**
   * A phase of checkpoint `seq` began (an emulated xl prints its progress lines here). `pagesSent` is what the
   * checkpoint has sent so far, once its page data is out.
   */
  phase?(p: { seq: number; phase: PhaseName; pagesSent?: number }): void;
}

export interface PrimaryOptions {
  mode: ReplicationMode;
  domain: Domain;
  /** Primary → secondary. */
  forward: Writable;
  /** Secondary → primary. */
  back: Readable;
  triggers: CheckpointTriggers;
  events?: PrimaryEvents;
  /** Called right after the guest is suspended for checkpoint `seq` (postsuspend: Remus plugs its net buffer). */
  onSuspend?(seq: number): void;
  /** Called once checkpoint `seq` is safe (COLO: the secondary holds it; Remus: it is written): output may go. */
  onCommit?(seq: number): void;
  /** The secondary's own pause for a cycle, where the backend can see it. */
  secondaryPause?(seq: number): number | undefined;
  /** The domain config carried in the xl header. */
  domainConfig?: unknown;
  xenVersion?: { major: number; minor: number };
  /** File descriptor that receives a byte-for-byte copy of the forward stream. */
  recordFd?: number;
  /** A checkpoint waiting this long on the secondary marks protection degraded. */
  stallAfterMs?: number;
  /** A primary pause longer than this marks protection degraded until a cycle is quick again. */
  slowPauseMs?: number;
  decoder?: DecoderOptions;
}

export type PrimaryExit =
  | { kind: 'stopped'; lastSeq: number }
  | { kind: 'secondary-lost'; reason: string; lastSeq: number }
  | { kind: 'killed'; lastSeq: number };

class Stopped extends Error {}

/** xl's words when the primary gives up on its secondary (xen-colo.md §2.8); kept for the failover's detail. */
export const XL_BACKUP_FAILED = 'Backup failed? resuming domain at primary';

/** The checkpoint in progress: from the guest's suspend until its record is reported. */
interface OpenCycle {
  timer: CycleTimer;
  trigger: CheckpointTrigger;
  dirtyPages: number;
  pagesSent: number;
  bytesSent: number;
}

export class ColoPrimary {
  private readonly writer: StreamWriter;
  private readonly reader: RecordReader;
  private readonly dirty: DirtySet;
  private readonly abort = new AbortController();
  private seq = 0;
  private lastCommitted = -1;
  private stopRequested: 'stop' | 'kill' | undefined;
  private suspendedAt: number | undefined;
  private stateName: ProtectionStateName = 'unprotected';
  private stateReason: ProtectionReasonCode | undefined;
  /** What a checkpoint is waiting for, as the stall message words it, and since when. */
  private waiting: { stall: string; since: number } | undefined;
  private readonly recentPauses: number[] = [];
  private open: OpenCycle | undefined;

  constructor(private readonly o: PrimaryOptions) {
    this.writer = new StreamWriter(o.forward, o.recordFd);
    this.reader = new RecordReader(o.back, new StreamDecoder('back', o.decoder));
    this.dirty = new DirtySet(o.domain.pageCount);
    // Between checkpoints nothing reads the back channel, so a secondary that vanished would go unnoticed until
    // the next trigger (COLO: up to 5 s). The socket closing is news at once: protection is already broken.
    o.back.once('close', () => {
      if (this.stopRequested || this.stateName === 'unprotected' || this.stateName === 'stopped') return;
      this.setState('degraded', 'link-broken', 'The replication link to the secondary closed; the next checkpoint will fail and the guest will run on the primary, unprotected.');
    });
  }

  get lastCommittedSeq(): number {
    return this.lastCommitted;
  }

  /** Ends protection from the primary's side: no more checkpoints; the guest keeps running here. */
  stop(): void {
    this.stopRequested ??= 'stop';
    this.abort.abort();
    this.o.forward.destroy();
    this.o.back.destroy();
  }

  /** The primary host died: nothing more is sent and the guest is not resumed. */
  kill(): void {
    this.stopRequested = 'kill';
    this.abort.abort();
    this.o.forward.destroy();
    this.o.back.destroy();
  }

  async run(): Promise<PrimaryExit> {
    const stopWatchdog = this.startWatchdog();
    try {
      this.setState('starting');
      await this.expectBanner();
      await this.initialSync();
      for (;;) await this.checkpoint();
    } catch (err) {
      return this.teardown(err);
    } finally {
      stopWatchdog();
    }
  }

  private teardown(err: unknown): PrimaryExit {
    const lastSeq = this.lastCommitted;
    if (this.stopRequested === 'kill') {
      // The guest died paused: that checkpoint failed, and its pause lasted until the host went.
      this.closeOpenCycle('failed', this.suspendedAt === undefined ? this.primaryPause : now() - this.suspendedAt);
      return { kind: 'killed', lastSeq };
    }
    const pausedFor = this.suspendedAt === undefined ? 0 : now() - this.suspendedAt;
    if (this.suspendedAt !== undefined) this.resumeGuest();
    if (this.stopRequested === 'stop') {
      this.closeOpenCycle('aborted', this.open !== undefined && pausedFor === 0 ? this.primaryPause : pausedFor);
      this.setState('stopped', 'stopped-by-admin', 'Protection stopped; the guest runs on the primary only.');
      return { kind: 'stopped', lastSeq };
    }
    this.closeOpenCycle('failed', this.open !== undefined && pausedFor === 0 ? this.primaryPause : pausedFor);
    // As `xl remus` exiting does: the channels close, so a secondary still waiting learns it is on its own.
    this.o.forward.destroy();
    this.o.back.destroy();
    const reason = describeError(err);
    const code: ProtectionReasonCode = err instanceof ProtocolError || err instanceof Error && err.name === 'StreamError' ? 'stream-error' : 'secondary-lost';
    const what = code === 'stream-error' ? 'The replication stream broke' : 'The secondary was lost';
    this.setState('unprotected', code, `${what} (${reason}); the guest runs on at the primary, unprotected.`);
    this.o.events?.failover?.({
      detectedBy: 'primary',
      cause: reason,
      at: Date.now(),
      survivor: 'primary',
      lastCheckpointSeq: lastSeq,
      guestDowntimeMs: pausedFor,
      detail: `${XL_BACKUP_FAILED}: ${reason}`,
    });
    return { kind: 'secondary-lost', reason, lastSeq };
  }

  /** Reports the checkpoint that was in progress when the run ended, with the pause it really caused. */
  private closeOpenCycle(outcome: 'failed' | 'aborted', pauseMs: number): void {
    const open = this.open;
    if (open === undefined) return;
    this.open = undefined;
    this.o.events?.cycle?.({
      seq: this.seq,
      mode: this.o.mode,
      trigger: open.trigger,
      startedAt: open.timer.startedAt,
      phases: open.timer.finish(),
      primaryPauseMs: pauseMs,
      dirtyPages: open.dirtyPages,
      pagesSent: open.pagesSent,
      bytesSent: open.bytesSent,
      outcome,
      provenance: 'measured',
    });
    this.seq++;
  }

  /** The guest is paused for checkpoint `seq`: from here on a record is owed, whatever happens. */
  /** `bytesSoFar`: what this cycle sent before the guest was paused (the live copy; CHECKPOINT_NEW). */
  private openCycle(timer: CycleTimer, trigger: CheckpointTrigger, bytesSoFar: number): OpenCycle {
    this.open = { timer, trigger, dirtyPages: 0, pagesSent: 0, bytesSent: bytesSoFar };
    this.o.events?.checkpointStarted?.({ seq: this.seq, trigger, startedAt: Date.now() });
    return this.open;
  }

  private setState(state: ProtectionStateName, reasonCode?: ProtectionReasonCode, reason?: string, progress?: SyncProgress): void {
    // Syncing progress and a stall's growing duration are news; the same degraded reason again is not.
    const news = state === 'syncing' || (state === 'degraded' && (reasonCode !== this.stateReason || reasonCode === 'checkpoint-stalled'));
    if (state === this.stateName && !news) return;
    this.stateName = state;
    this.stateReason = reasonCode;
    this.o.events?.state?.({ state, since: Date.now(), reasonCode, reason, progress });
  }

  private send(chunks: Chunks): number {
    if (this.stopRequested) throw new Stopped();
    // Remus resumes the guest before the secondary has read the bytes, and page views may still sit in a queue
    // between us and the socket then; a copy makes what is sent exactly what was in memory at suspend time.
    // COLO resumes only after SVM_READY, when every byte has been received.
    const n = this.writer.send(this.o.mode === 'remus' ? [Buffer.concat(chunks)] : chunks);
    // A cycle that breaks still reports what it put on the wire.
    if (this.open !== undefined) this.open.bytesSent += n;
    return n;
  }

  /**
   * Waits for the next item on the back channel. Callers write `reader.tryNext() ?? (await this.next(…))`, so a
   * checkpoint pays for a promise only where it really waits for bytes.
   */
  private async next(waitingFor: string): Promise<StreamItem> {
    this.waiting = { stall: `no ${waitingFor} from the secondary`, since: now() };
    try {
      const item = await this.reader.next();
      if (item === null) throw new ChannelLostError(`back channel closed while waiting for ${waitingFor}`);
      return item;
    } finally {
      this.waiting = undefined;
    }
  }

  /**
   * Waits for the checkpoint's bytes to leave. A channel that stops draining (its far end gone, or the link
   * stalled) holds the guest paused just as a missing answer does, so the watchdog counts this wait too.
   */
  private async flushed(): Promise<void> {
    if (!this.writer.backlogged) return this.writer.flushed();
    this.waiting = { stall: "the replication link has not taken the checkpoint's bytes", since: now() };
    try {
      await this.writer.flushed();
    } finally {
      this.waiting = undefined;
    }
  }

  /** One timer for the engine's life (not one per read): marks protection degraded while a checkpoint hangs. */
  private startWatchdog(): () => void {
    const stallAfter = this.o.stallAfterMs ?? 1000;
    const timer = setInterval(() => {
      const w = this.waiting;
      if (!w) return;
      const waited = now() - w.since;
      if (waited < stallAfter) return;
      const paused = this.suspendedAt === undefined ? '' : `; primary paused ${((now() - this.suspendedAt) / 1000).toFixed(1)} s`;
      this.setState('degraded', 'checkpoint-stalled', `Checkpoint stalled: ${w.stall} for ${(waited / 1000).toFixed(1)} s${paused}.`);
    }, Math.max(50, Math.min(stallAfter / 2, 250)));
    timer.unref();
    return () => clearInterval(timer);
  }

  private async expectBanner(): Promise<void> {
    const item = this.reader.tryNext() ?? (await this.next('the receiver banner'));
    if (item.kind !== 'banner') throw new ProtocolError(`expected the receiver banner, got ${item.kind}`);
  }

  private checkState(item: StreamItem, id: number): void {
    if (item.kind !== 'record' || item.parsed?.kind !== 'checkpoint-state') {
      throw new ProtocolError(`expected CHECKPOINT_STATE(${checkpointStateName(id)}) on the back channel, got ${item.kind === 'record' ? item.name : item.kind}`);
    }
    if (item.parsed.id !== id) {
      throw new ProtocolError(`invalid section: ${item.parsed.id}, expected: ${id} (${checkpointStateName(item.parsed.id)} instead of ${checkpointStateName(id)})`);
    }
  }

  private dirtyPfns(item: StreamItem): Float64Array {
    if (item.kind !== 'record' || item.parsed?.kind !== 'dirty-pfns') {
      throw new ProtocolError(`expected CHECKPOINT_DIRTY_PFN_LIST on the back channel, got ${item.kind === 'record' ? item.name : item.kind}`);
    }
    return item.parsed.pfns;
  }

  private async suspendGuest(): Promise<void> {
    this.suspendedAt = now();
    await this.o.domain.suspend();
    this.o.onSuspend?.(this.seq);
  }

  private resumeGuest(): number {
    const paused = this.suspendedAt === undefined ? 0 : now() - this.suspendedAt;
    this.o.domain.resume();
    this.suspendedAt = undefined;
    // Kept at once, not when the cycle completes: a cycle that fails after the resume still reports this pause.
    this.primaryPause = paused;
    return paused;
  }

  /** Cycle 0: stream headers, live iterations over all memory, then the final pass with the guest suspended. */
  private async initialSync(): Promise<void> {
    const { domain } = this.o;
    const timer = new CycleTimer();
    const version = this.o.xenVersion ?? { major: 4, minor: 20 };
    let bytes = this.send([
      encodeXlHeader(JSON.stringify(this.o.domainConfig ?? { c_info: { type: 'hvm', name: domain.name } })),
      encodeLibxlHeader(),
      ...encodeLibxl(LibxlRecord.LIBXC_CONTEXT),
      encodeLibxcHeaders({ xenMajor: version.major, xenMinor: version.minor }),
      ...staticRecords(),
    ]);
    domain.enableLogDirty();
    domain.takeDirtyPfns();
    this.enter(timer, 'transfer');
    let pfns: Uint32Array = Uint32Array.from({ length: domain.pageCount }, (_, i) => i);
    let pagesSent = 0;
    for (let iteration = 1; ; iteration++) {
      bytes += await this.sendLive(pfns, iteration);
      pagesSent += pfns.length;
      pfns = domain.takeDirtyPfns();
      if (pfns.length <= TARGET_DIRTY_COUNT || iteration >= MAX_LIVE_ITERATIONS) break;
    }
    this.enter(timer, 'suspend');
    const open = this.openCycle(timer, 'initial', bytes);
    await this.suspendGuest();
    this.enter(timer, 'transfer');
    const final = domain.takeDirtyPfns();
    const last = this.dirty.union(pfns, final);
    const dirtyPages = last.length;
    open.dirtyPages = dirtyPages;
    bytes += this.send(pageDataRecords(domain, last));
    bytes += this.send(endOfCheckpointRecords(domain.getCpuContext()));
    pagesSent += last.length;
    open.pagesSent = pagesSent;
    this.enter(timer, 'device');
    bytes += this.send(deviceRecords(domain));
    this.primaryPause = await this.commitAndResume(timer, 0);
    this.finishCycle(timer, 'initial', { dirtyPages, pagesSent, bytesSent: bytes });
  }

  private async sendLive(pfns: Uint32Array, iteration: number): Promise<number> {
    let bytes = 0;
    let lastReport = 0;
    for (let start = 0; start < pfns.length; start += PAGE_DATA_BATCH_MAX) {
      const end = Math.min(start + PAGE_DATA_BATCH_MAX, pfns.length);
      bytes += this.send(pageDataRecords(this.o.domain, pfns, start, end));
      // The guest runs during live iterations: wait for the bytes to leave before its pages can change again,
      // and let the event loop breathe so the guest actually runs.
      await this.writer.flushed();
      if (end === pfns.length || now() - lastReport > 50) {
        lastReport = now();
        this.setState('syncing', 'initial-sync', `Initial copy, iteration ${iteration}`, { iteration, pagesDone: end, pagesTotal: pfns.length });
      }
    }
    return bytes;
  }

  /**
   * The common tail of every cycle. COLO: wait for SVM_READY, release output, resume, wait for SVM_RESUMED.
   * Remus: the checkpoint counts once written; there is no answer from the secondary.
   */
  private async commitAndResume(timer: CycleTimer, seq: number): Promise<number> {
    if (this.o.mode === 'colo') {
      this.enter(timer, 'svm-load');
      this.checkState(this.reader.tryNext() ?? (await this.next(checkpointStateName(CheckpointState.SVM_READY))), CheckpointState.SVM_READY);
      this.enter(timer, 'resume');
      this.lastCommitted = seq;
      this.o.onCommit?.(seq);
      const paused = this.resumeGuest();
      this.checkState(this.reader.tryNext() ?? (await this.next(checkpointStateName(CheckpointState.SVM_RESUMED))), CheckpointState.SVM_RESUMED);
      return paused;
    }
    await this.flushed();
    this.enter(timer, 'resume');
    this.lastCommitted = seq;
    this.o.onCommit?.(seq);
    return this.resumeGuest();
  }

  private primaryPause = 0;

  private enter(timer: CycleTimer, phase: PhaseName): void {
    timer.phase(phase);
    this.o.events?.phase?.({ seq: this.seq, phase, ...(this.open === undefined ? {} : { pagesSent: this.open.pagesSent }) });
  }

  private finishCycle(
    timer: CycleTimer,
    trigger: CheckpointTrigger,
    counts: { dirtyPages: number; pagesSent: number; bytesSent: number; secondaryDirtyPages?: number },
  ): void {
    this.open = undefined;
    const phases = timer.finish();
    const record: CycleRecord = {
      seq: this.seq,
      mode: this.o.mode,
      trigger,
      startedAt: timer.startedAt,
      phases,
      primaryPauseMs: this.primaryPause,
      ...counts,
      outcome: 'committed',
      provenance: 'measured',
    };
    const secondaryPause = this.o.secondaryPause?.(this.seq);
    if (secondaryPause !== undefined) record.secondaryPauseMs = secondaryPause;
    this.seq++;
    this.o.events?.cycle?.(record);
    // One slow checkpoint is weather; the median of the last few is climate. Judging by the median keeps a busy
    // moment from flipping the pair between protected and degraded.
    if (trigger !== 'initial') {
      this.recentPauses.push(record.primaryPauseMs);
      if (this.recentPauses.length > SLOW_WINDOW) this.recentPauses.shift();
    }
    const slow = this.o.slowPauseMs ?? 1000;
    const median = quantile(this.recentPauses, 0.5);
    if (this.recentPauses.length >= SLOW_WINDOW && median > slow) {
      this.setState('degraded', 'slow-checkpoints', `Checkpoints are slow: the primary's median pause over the last ${SLOW_WINDOW} is ${median.toFixed(0)} ms (over ${slow} ms).`);
    } else {
      this.setState('protected');
    }
  }

  private async checkpoint(): Promise<void> {
    const { domain } = this.o;
    const timer = new CycleTimer();
    this.enter(timer, 'wait');
    let trigger: CheckpointTrigger;
    try {
      trigger = await this.o.triggers.next(this.abort.signal);
    } catch (err) {
      if (this.stopRequested) throw new Stopped();
      throw err;
    }
    const colo = this.o.mode === 'colo';
    let bytes = 0;
    if (colo) bytes += this.send([CHECKPOINT_NEW]);
    this.enter(timer, 'suspend');
    const open = this.openCycle(timer, trigger, bytes);
    await this.suspendGuest();
    let secondaryDirty: ArrayLike<number> = NO_PFNS;
    if (colo) {
      this.checkState(this.reader.tryNext() ?? (await this.next(checkpointStateName(CheckpointState.SVM_SUSPENDED))), CheckpointState.SVM_SUSPENDED);
      this.enter(timer, 'transfer');
      secondaryDirty = this.dirtyPfns(this.reader.tryNext() ?? (await this.next('the dirty pfn list')));
    } else {
      this.enter(timer, 'transfer');
    }
    const own = domain.takeDirtyPfns();
    const pfns = this.dirty.union(own, secondaryDirty);
    open.dirtyPages = own.length;
    open.pagesSent = pfns.length;
    if (colo) {
      // Phases end when their bytes have left, not when they were queued, so `transfer` shows the wire time. A
      // small checkpoint leaves in one write with the device state: a syscall costs more than the phase itself.
      const small = pfns.length <= SMALL_CHECKPOINT_PAGES;
      if (small) this.writer.cork();
      bytes += this.send(pageDataRecords(domain, pfns));
      bytes += this.send(endOfCheckpointRecords(domain.getCpuContext()));
      if (!small) await this.flushed();
      this.enter(timer, 'device');
      bytes += this.send(deviceRecords(domain));
      if (small) this.writer.uncork();
      await this.flushed();
      this.primaryPause = await this.commitAndResume(timer, this.seq);
    } else {
      bytes += this.send(pageDataRecords(domain, pfns));
      bytes += this.send(endOfCheckpointRecords(domain.getCpuContext()));
      // Remus resumes the guest once libxc's part is out, then sends the device state (xen-colo.md §2.9).
      await this.flushed();
      this.enter(timer, 'resume');
      const device = deviceRecords(domain);
      this.primaryPause = this.resumeGuest();
      this.enter(timer, 'device');
      bytes += this.send(device);
      await this.flushed();
      this.lastCommitted = this.seq;
      this.o.onCommit?.(this.seq);
    }
    this.finishCycle(timer, trigger, {
      dirtyPages: own.length,
      secondaryDirtyPages: colo ? secondaryDirty.length : undefined,
      pagesSent: pfns.length,
      bytesSent: bytes,
    });
  }
}
