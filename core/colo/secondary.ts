// The secondary's side of the checkpoint protocol (xen-colo.md §2.3, §2.5, §2.8, §2.9). It loads the initial
// copy, then for each checkpoint suspends its copy of the guest, reports the pages that copy dirtied, buffers
// the whole checkpoint and applies it only once complete. When the stream breaks it discards any partial
// checkpoint and takes over with the guest as of its last complete one.

import type { Readable, Writable } from 'node:stream';
import {
  CheckpointState,
  type CheckpointStateId,
  type DecoderOptions,
  LibxcRecord,
  LibxlRecord,
  type PageData,
  RecordReader,
  StreamDecoder,
  type StreamItem,
  XL_RECEIVER_BANNER,
  checkpointStateName,
  CHECKPOINT_STATE_RECORDS,
  encodeDirtyPfnList,
} from '../stream/index.js';
import { applyPageData } from './checkpoint-records.js';
import type { CpuContext, Domain, HvmParam, TscInfo } from './domain.js';
import { ChannelLostError, ProtocolError, describeError } from './errors.js';
import { now } from './cycle-timer.js';
import { StreamWriter } from './stream-writer.js';
import type { FailoverEvent, ReplicationMode } from './types.js';

/** LIBXL_COLO_SETUPED / SUSPENDED / RESUMED. */
export type SecondaryStatus = 'setup' | 'suspended' | 'resumed';

export interface SecondaryCycle {
  seq: number;
  /** From suspending the secondary's copy to resuming it (COLO only). */
  pauseMs?: number;
  /** Pages the secondary's copy dirtied since it last resumed (COLO only). */
  dirtyPages?: number;
  pagesApplied: number;
  /** From the first record of the checkpoint to it being applied. */
  loadMs: number;
}

export interface SecondaryEvents {
  cycle?(cycle: SecondaryCycle): void;
  status?(status: SecondaryStatus): void;
  takeover?(event: FailoverEvent): void;
  /** The xl, libxl and libxc headers as they are read (an emulated xl prints its start lines from them). */
  header?(item: StreamItem): void;
  /** Checkpoint `seq` is fully buffered, then applied ('processed'); COLO and the initial copy only. */
  checkpointLoaded?(seq: number, stage: 'buffered' | 'processed'): void;
}

export interface SecondaryOptions {
  mode: ReplicationMode;
  domain: Domain;
  forward: Readable;
  back: Writable;
  events?: SecondaryEvents;
  decoder?: DecoderOptions;
  /** Called with checkpoint `seq` applied and the copy still suspended (preresume: the proxy's checkpoint). */
  beforeResume?(seq: number): void;
  /** Awaited (when it returns a promise) after checkpoint `seq` is applied and before SVM_READY is sent. */
  beforeReady?(seq: number): Promise<void> | void;
}

export type SecondaryExit =
  | { kind: 'took-over'; lastSeq: number; reason: string }
  | { kind: 'setup-failed'; reason: string }
  | { kind: 'destroyed'; lastSeq: number };

interface Checkpoint {
  pages: PageData[];
  tsc?: TscInfo;
  hvmContext?: Uint8Array;
  hvmParams?: HvmParam[];
  deviceState?: Uint8Array;
}

export class ColoSecondary {
  private readonly reader: RecordReader;
  private readonly writer: StreamWriter;
  private status: SecondaryStatus = 'setup';
  private lastComplete = -1;
  private destroyed = false;

  constructor(private readonly o: SecondaryOptions) {
    this.reader = new RecordReader(o.forward, new StreamDecoder('xl', { ...o.decoder, p2mSize: o.domain.pageCount }));
    this.writer = new StreamWriter(o.back);
  }

  get lastCompleteSeq(): number {
    return this.lastComplete;
  }

  /** The secondary's copy is destroyed (admin stop, or the secondary host died): the channels close. */
  destroy(): void {
    this.destroyed = true;
    this.o.forward.destroy();
    this.o.back.destroy();
  }

  async run(): Promise<SecondaryExit> {
    try {
      this.writer.send([XL_RECEIVER_BANNER]);
      await this.initial();
      for (;;) {
        if (this.o.mode === 'colo') await this.coloCheckpoint();
        else await this.remusCheckpoint();
      }
    } catch (err) {
      return this.takeOver(err);
    }
  }

  private setStatus(status: SecondaryStatus): void {
    this.status = status;
    this.o.events?.status?.(status);
  }

  private async next(): Promise<StreamItem> {
    const item = await this.reader.next();
    if (item === null) throw new ChannelLostError('replication stream ended');
    return item;
  }

  private sendState(id: CheckpointStateId): void {
    this.writer.send([CHECKPOINT_STATE_RECORDS[id]]);
  }

  private async expect(kind: StreamItem['kind'], what: string): Promise<StreamItem> {
    const item = await this.next();
    if (item.kind !== kind) throw new ProtocolError(`expected ${what}, got ${item.kind === 'record' ? item.name : item.kind} at byte ${item.offset}`);
    if (kind !== 'record') this.o.events?.header?.(item);
    return item;
  }

  private async initial(): Promise<void> {
    await this.expect('xl-header', 'the xl save-file header');
    await this.expect('libxl-header', 'the libxl stream header');
    const ctx = await this.expect('record', 'LIBXC_CONTEXT');
    if (ctx.kind !== 'record' || ctx.type !== LibxlRecord.LIBXC_CONTEXT) throw new ProtocolError('the libxl stream does not start with LIBXC_CONTEXT');
    await this.expect('libxc-header', 'the libxc image header');
    // The initial copy is applied as it arrives: if it breaks, the secondary is destroyed anyway (status setup).
    const started = now();
    const checkpoint = await this.readCheckpoint(true);
    this.loaded(0, 'buffered');
    this.apply(checkpoint);
    this.lastComplete = 0;
    this.loaded(0, 'processed');
    if (this.o.mode === 'colo') {
      await this.o.beforeReady?.(0);
      this.o.domain.enableLogDirty();
      this.o.domain.takeDirtyPfns();
      this.sendState(CheckpointState.SVM_READY);
      this.o.beforeResume?.(0);
      this.o.domain.resume();
      this.setStatus('resumed');
      this.sendState(CheckpointState.SVM_RESUMED);
    }
    this.o.events?.cycle?.({ seq: 0, pagesApplied: checkpoint.applied, loadMs: now() - started });
  }

  private async coloCheckpoint(): Promise<void> {
    const seq = this.lastComplete + 1;
    const item = this.reader.tryNext() ?? (await this.next());
    if (item.kind !== 'record' || item.parsed?.kind !== 'checkpoint-state' || item.parsed.id !== CheckpointState.NEW) {
      const got = item.kind === 'record' && item.parsed?.kind === 'checkpoint-state' ? item.parsed.id : -1;
      throw new ProtocolError(`invalid section: ${got}, expected: ${CheckpointState.NEW} (${item.kind === 'record' ? item.name : item.kind} at byte ${item.offset})`);
    }
    const suspendedAt = now();
    await this.o.domain.suspend();
    this.setStatus('suspended');
    const dirty = this.o.domain.takeDirtyPfns();
    this.writer.batch(() => {
      this.sendState(CheckpointState.SVM_SUSPENDED);
      this.writer.send(encodeDirtyPfnList(dirty));
    });
    const loadStart = now();
    const checkpoint = await this.readCheckpoint(false);
    this.loaded(seq, 'buffered');
    this.apply(checkpoint);
    this.lastComplete = seq;
    this.loaded(seq, 'processed');
    const gate = this.o.beforeReady?.(seq);
    if (gate !== undefined) await gate;
    // READY and RESUMED leave in one write: resuming takes microseconds, and a syscall each would cost more.
    this.writer.batch(() => {
      this.sendState(CheckpointState.SVM_READY);
      this.o.beforeResume?.(seq);
      this.o.domain.resume();
      this.setStatus('resumed');
      this.sendState(CheckpointState.SVM_RESUMED);
    });
    const end = now();
    this.o.events?.cycle?.({ seq, pauseMs: end - suspendedAt, dirtyPages: dirty.length, pagesApplied: checkpoint.applied, loadMs: end - loadStart });
  }

  private loaded(seq: number, stage: 'buffered' | 'processed'): void {
    if (this.o.mode === 'colo') this.o.events?.checkpointLoaded?.(seq, stage);
  }

  private async remusCheckpoint(): Promise<void> {
    const seq = this.lastComplete + 1;
    const loadStart = now();
    const checkpoint = await this.readCheckpoint(false);
    this.apply(checkpoint);
    this.lastComplete = seq;
    this.o.events?.cycle?.({ seq, pagesApplied: checkpoint.applied, loadMs: now() - loadStart });
  }

  /**
   * Reads one checkpoint: libxc records up to CHECKPOINT, then libxl records up to CHECKPOINT_END. With `direct`
   * pages are written as they arrive (the initial copy); otherwise everything is held until the end.
   */
  private async readCheckpoint(direct: boolean): Promise<Checkpoint & { applied: number }> {
    const cp: Checkpoint & { applied: number } = { pages: [], applied: 0 };
    for (;;) {
      const item = this.reader.tryNext() ?? (await this.next());
      if (item.kind !== 'record') throw new ProtocolError(`unexpected ${item.kind} at byte ${item.offset} inside a checkpoint`);
      if (item.skipped) continue;
      const parsed = item.parsed;
      if (item.layer === 'libxc') {
        switch (item.type) {
          case LibxcRecord.PAGE_DATA:
            if (parsed?.kind !== 'page-data') break;
            if (direct) cp.applied += applyPageData(this.o.domain, parsed.value);
            else cp.pages.push(parsed.value);
            break;
          case LibxcRecord.X86_TSC_INFO:
            if (parsed?.kind === 'tsc') cp.tsc = parsed.value;
            break;
          case LibxcRecord.HVM_CONTEXT:
            cp.hvmContext = item.body;
            break;
          case LibxcRecord.HVM_PARAMS:
            if (parsed?.kind === 'hvm-params') cp.hvmParams = parsed.value;
            break;
          case LibxcRecord.END:
            throw new ProtocolError(`the primary ended the stream (libxc END at byte ${item.offset})`);
        }
        continue;
      }
      switch (item.type) {
        case LibxlRecord.EMULATOR_CONTEXT:
          if (parsed?.kind === 'emulator') cp.deviceState = parsed.value.data;
          break;
        case LibxlRecord.CHECKPOINT_END:
          return cp;
        case LibxlRecord.END:
          throw new ProtocolError(`the primary ended the stream (libxl END at byte ${item.offset})`);
        case LibxlRecord.CHECKPOINT_STATE:
          throw new ProtocolError(`unexpected CHECKPOINT_STATE(${checkpointStateName(parsed?.kind === 'checkpoint-state' ? parsed.id : -1)}) inside a checkpoint at byte ${item.offset}`);
      }
    }
  }

  private apply(cp: Checkpoint & { applied: number }): void {
    const { domain } = this.o;
    if (!cp.tsc || !cp.hvmContext || !cp.hvmParams) {
      throw new ProtocolError('checkpoint lacks X86_TSC_INFO, HVM_CONTEXT or HVM_PARAMS');
    }
    if (!cp.deviceState) throw new ProtocolError('checkpoint lacks EMULATOR_CONTEXT');
    for (const pages of cp.pages) cp.applied += applyPageData(domain, pages);
    const context: CpuContext = { tsc: cp.tsc, hvmContext: cp.hvmContext, hvmParams: cp.hvmParams };
    domain.setCpuContext(context);
    domain.setDeviceState(cp.deviceState);
  }

  private takeOver(err: unknown): SecondaryExit {
    const reason = describeError(err);
    if (this.destroyed) return { kind: 'destroyed', lastSeq: this.lastComplete };
    this.o.forward.destroy();
    this.o.back.destroy();
    if (this.status === 'setup' && this.lastComplete < 0) {
      // "migration fails": the initial copy never completed, so there is nothing to run.
      return { kind: 'setup-failed', reason };
    }
    const detectedAt = now();
    const { domain } = this.o;
    domain.disableLogDirty();
    // SUSPENDED: resume from the last complete checkpoint (the partial one was only buffered, never applied).
    // Remus: the backup was never running; unpause it. RESUMED: it already runs.
    if (!domain.running) domain.resume();
    this.setStatus('resumed');
    this.o.events?.takeover?.({
      detectedBy: 'secondary',
      cause: reason,
      at: Date.now(),
      survivor: 'secondary',
      lastCheckpointSeq: this.lastComplete,
      guestDowntimeMs: now() - detectedAt,
    });
    return { kind: 'took-over', lastSeq: this.lastComplete, reason };
  }
}
