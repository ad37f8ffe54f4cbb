// One protected pair's life in the service: which protection run is current, what state it is in, which admin
// actions are allowed now (and why not), and the actions themselves, including the drill. It is backend-neutral:
// everything it does to the hosts goes through a ReplicationBackend's PairHandle.
//
// Runs are numbered by a generation counter; events from a run that is no longer current (a late callback from a
// pair that was stopped or replaced) are ignored, so they can never overwrite the state of its successor.

import { performance } from 'node:perf_hooks';
import {
  type DrillReport,
  type OpenCheckpointInfo,
  PAIR_ACTIONS,
  type PairAction,
  type PairAlarm,
  type PairEvent,
  type QemuPairStatus,
  type SimSettings,
} from '../api/console-contract.js';
import { RpcError } from '../api/errors.js';
import type { SimFault } from '../backends/sim/pair.js';
import { PRESETS } from '../backends/sim/presets.js';
import type { CycleRecord, FailoverEvent, OpenCheckpoint, ProtectionState, ProtectionStateName, Side } from '../colo/types.js';
import { type BackendContext, FencingRequiredError, type PairEvents, type PairHandle, type PairSpec, type ReplicationBackend } from './backend.js';
import { heartbeatOf, type QemuLiveSettings, readQemuOptions } from '../backends/qemu/qemu-options.js';
import { frozenAfterMs } from './frozen-rule.js';
import type { History } from './history.js';
import type { PairLive } from './live.js';
import type { PairRecord, Registry } from './registry.js';

export const ACTIONS: readonly PairAction[] = PAIR_ACTIONS;
const ACTIVE: readonly ProtectionStateName[] = ['starting', 'syncing', 'protected', 'degraded'];
// The contract's bounds on event messages, state reasons and action reasons.
const MAX_MESSAGE = 2000;
const MAX_REASON = 500;
/** A checkpoint open this long (or 3× the recent p99, if longer) is overdue: protection is no longer assured. */
const OVERDUE_MIN_MS = 1000;
const OVERDUE_P99_FACTOR = 3;

export interface ActionVerdict {
  allowed: boolean;
  reason?: string;
}

export interface ControllerDeps {
  readonly backend: ReplicationBackend | undefined;
  readonly registry: Registry;
  readonly history: History;
  readonly live: PairLive;
  readonly clock: () => number;
  /** A backend context whose host commands are audited under `actor`. */
  context(actor: string): BackendContext;
  /** A cycle for the live topic (already stored by the controller). */
  emitCycle(pairId: string, record: CycleRecord): void;
  emitEvent(event: PairEvent): void;
  /** The pair's summary changed (state, settings, busy): publish it now. */
  changed(pairId: string): void;
  log(err: unknown, where: string): void;
  /** How long a stop or failover may take before the action reports an error. */
  readonly actionTimeoutMs: number;
  /** How long a drill waits for the re-protected pair to reach 'protected'. */
  readonly reprotectTimeoutMs: number;
  /** The admin's Guest-frozen threshold (settings.frozenThresholdMs). */
  frozenThresholdMs(): number;
  /** A simulated host went down (a kill fault) or came back (null). */
  simHostDown(hostId: string, why: string | null): void;
  readonly lastEventSeq: number | null;
  readonly lastFailover: FailoverEvent | null;
}

interface StateWaiter {
  done(state: ProtectionState): boolean;
}

export class PairController {
  /** What the pair shows: the backend's state, overridden while a checkpoint is overdue or the guest frozen. */
  private current: ProtectionState;
  /** What the backend last reported. */
  private reported: ProtectionState;
  private handle: PairHandle | null = null;
  /** A run that ended in split brain: both copies still run, and this handle can destroy either. */
  private splitHandle: PairHandle | null = null;
  /** The checkpoint in progress on the current run, if any. */
  private open: OpenCheckpoint | null = null;
  /** The generation whose takeover already moved the guest in the registry. */
  private swappedGeneration = -1;
  /** The highest cycle seq stored for the current run. */
  private lastStoredSeq = -1;
  private generation = 0;
  private runId = 0;
  private busy: 'start' | 'stop' | 'failover' | 'drill' | 'keep' | null = null;
  private eventSeq: number;
  private failoverEvent: FailoverEvent | null;
  private activeFaults = { slowLink: false, stallSecondary: false };
  private readonly waiters = new Set<StateWaiter>();

  constructor(readonly id: string, private readonly deps: ControllerDeps) {
    this.current = { state: 'unprotected', since: deps.clock(), reasonCode: 'not-started', reason: 'Protection has not been started.' };
    this.reported = this.current;
    this.eventSeq = deps.lastEventSeq ?? -1;
    this.failoverEvent = deps.lastFailover;
    if (deps.backend === undefined) {
      this.current = { ...this.current, reason: `No ${this.record.backend} backend is available in this build.` };
      this.reported = this.current;
    }
  }

  get record(): PairRecord {
    const r = this.deps.registry.pair(this.id);
    if (r === undefined) throw new Error(`pair ${this.id} vanished from the registry`);
    return r;
  }

  get state(): ProtectionState {
    return this.current;
  }

  get lastFailover(): FailoverEvent | null {
    return this.failoverEvent;
  }

  /** Start of the checkpoint in progress (wall clock), for stats that must not hide an open pause. */
  get openSince(): number | undefined {
    return this.open?.startedAt;
  }

  openCheckpoint(now: number): OpenCheckpointInfo | null {
    const o = this.open;
    return o === null ? null : { ...o, pausedMs: Math.max(0, now - o.startedAt) };
  }

  /** The loudest thing about the pair now: split brain, then a frozen guest. */
  alarm(): PairAlarm | null {
    const s = this.current;
    const r = this.record;
    const name = r.name;
    if (s.reasonCode === 'split-brain') {
      const seq = this.failoverEvent?.lastCheckpointSeq;
      const since = seq === undefined ? 'the split' : `checkpoint ${seq}`;
      return {
        kind: 'split-brain',
        since: s.since,
        headline: bound(`Split brain: ${name} is running on both ${this.hostName(r.primaryHostId)} and ${this.hostName(r.secondaryHostId)}.`, MAX_REASON),
        detail: bound(`Each copy has taken its own writes since ${since}. Keep one copy: the other is destroyed, and its writes since ${since} are lost. ${s.reason ?? ''}`.trim()),
      };
    }
    if (s.reasonCode === 'guest-frozen' && this.open !== null) {
      return {
        kind: 'guest-frozen',
        since: s.since,
        headline: bound(`Guest frozen: ${name} has been paused on ${this.hostName(r.primaryHostId)} since checkpoint ${this.open.seq} began, and it has not completed.`, MAX_REASON),
        detail: bound(`${this.deps.backend?.capabilities.failoverWhileFrozen === true
          ? `Fail over to end it: ${this.hostName(r.secondaryHostId)} holds the last completed checkpoint and takes over from it (you confirm that ${this.hostName(r.primaryHostId)} is fenced).`
          : `Stop protection to end it: the copy on ${this.hostName(r.secondaryHostId)} is destroyed and ${name} resumes on ${this.hostName(r.primaryHostId)}, unprotected.`}${this.reported.reason ? ` The replication engine says: ${this.reported.reason}` : ''}`),
      };
    }
    return null;
  }

  /** Hosts on which the guest runs now (two in split brain, none when it is down); null when not known. */
  runningOn(): string[] | null {
    const s = this.current;
    const r = this.record;
    if (s.reasonCode === 'split-brain') return this.splitHandle === null ? null : [r.primaryHostId, r.secondaryHostId];
    if (s.state === 'failing-over') return null;
    if (s.state === 'error' && s.reasonCode === 'primary-lost') return [];
    if (s.state === 'error') return null;
    return [r.primaryHostId];
  }

  /**
   * Re-judges the open checkpoint against the overdue and frozen thresholds (the service calls this a few times
   * a second); publishes when the verdict changes.
   */
  tick(now: number): void {
    const next = this.effective(this.reported, now);
    if (next.state !== this.current.state || next.reasonCode !== this.current.reasonCode) this.show(next);
  }

  /** A watched QEMU pair's live status; undefined otherwise. */
  qemuStatus(): QemuPairStatus | undefined {
    return this.handle?.qemu?.status();
  }

  /** Changes a QEMU pair's settings: stored first, then applied to the running pair (the delay at once). */
  async configureQemu(actor: string, change: QemuLiveSettings): Promise<void> {
    const record = this.record;
    if (record.backend !== 'qemu') throw new RpcError('bad-request', `${record.name} is not a QEMU pair.`);
    const defined = Object.fromEntries(Object.entries(change).filter(([, v]) => v !== undefined)) as Record<string, number | boolean>;
    if (Object.keys(defined).length === 0) throw new RpcError('bad-request', 'Nothing to change: give a checkpoint delay or heartbeat settings.');
    const next = { ...(record.options ?? {}), ...defined };
    const handle = this.handle;
    if (change.checkpointDelayMs !== undefined && handle?.qemu !== undefined) {
      // Applied before it is stored: a delay the primary refused must not look set.
      await handle.qemu.setCheckpointDelay(change.checkpointDelayMs, this.deps.context(actor));
    }
    this.deps.registry.updatePair(this.id, (p) => ({ ...p, options: next }));
    if (handle?.qemu !== undefined && (change.heartbeatIntervalMs !== undefined || change.heartbeatMisses !== undefined || change.autoFailover !== undefined)) {
      const stored = readQemuOptions(next);
      if (typeof stored !== 'string') handle.qemu.setHeartbeat(heartbeatOf(stored));
    }
    const said = Object.entries(defined).map(([k, v]) => `${k} ${String(v)}`).join(', ');
    this.event('action', `Settings of ${record.name} changed by ${actor}: ${said}${handle === null ? '' : ' (applied to the running pair)'}.`);
    this.deps.changed(this.id);
  }

  get faults(): SimSettings['faults'] {
    return { ...this.activeFaults };
  }

  /** Whether each action is allowed now, with the reason when it is not. */
  actions(): Record<PairAction, ActionVerdict> {
    const out = {} as Record<PairAction, ActionVerdict>;
    for (const a of ACTIONS) {
      const v = this.verdict(a);
      out[a] = v.reason === undefined ? v : { allowed: v.allowed, reason: bound(v.reason, MAX_REASON) };
    }
    return out;
  }

  // ---------------------------------------------------------------------------------------------------------------
  // Admin actions. Each throws an RpcError ('bad-request', 'invalid-state') the RPC passes on unchanged.

  async start(actor: string): Promise<void> {
    this.require('start');
    this.busy = 'start';
    this.deps.changed(this.id);
    try {
      this.event('action', `Start requested by ${actor}.`);
      await this.protect(actor);
    } finally {
      this.busy = null;
      this.deps.changed(this.id);
    }
  }

  async stop(actor: string, confirmName: string): Promise<void> {
    this.confirm(confirmName, 'stop protection');
    this.require('stop');
    const handle = this.handle!;
    const gen = this.generation;
    this.busy = 'stop';
    this.deps.changed(this.id);
    try {
      this.event('action', `Stop requested by ${actor}: destroying the secondary copy; the guest keeps running on the primary.`);
      const final = await withTimeout(handle.stop(this.deps.context(actor)), this.deps.actionTimeoutMs, 'protection to stop');
      await this.retire(gen, handle, final);
    } finally {
      this.busy = null;
      this.deps.changed(this.id);
    }
  }

  async failover(actor: string, confirmName: string, fencedHost?: string): Promise<void> {
    this.confirm(confirmName, 'fail over');
    const primary = this.hostName(this.record.primaryHostId);
    if (fencedHost !== undefined && fencedHost.normalize('NFC') !== primary.normalize('NFC')) {
      throw new RpcError('bad-request', `To confirm that the primary is fenced, type its host's name exactly as shown ("${primary}"); "${fencedHost.slice(0, 128)}" does not match.`);
    }
    this.require('failover');
    this.busy = 'failover';
    this.deps.changed(this.id);
    try {
      this.event('action', fencedHost === undefined
        ? `Failover requested by ${actor}: destroying the primary copy; the secondary takes over.`
        : `Failover requested by ${actor}, who confirmed that ${primary} is fenced: the secondary takes over.`);
      await this.failOver(actor, fencedHost !== undefined);
    } finally {
      this.busy = null;
      this.deps.changed(this.id);
    }
  }

  /**
   * A failover drill: fail over (destroy the primary copy), then protect the guest again in the other direction,
   * from the host it now runs on back to the old primary. Reports the guest's downtime as the backend measured it
   * (FailoverEvent.guestDowntimeMs) and the time to re-protect: from the moment the primary copy was destroyed,
   * i.e. protection was lost, until the new pair reports 'protected' (monotonic clock).
   */
  async drill(actor: string, confirmName: string): Promise<DrillReport> {
    this.confirm(confirmName, 'run a failover drill');
    this.require('drill');
    this.busy = 'drill';
    this.deps.changed(this.id);
    const name = this.record.name;
    try {
      this.event('drill', `Drill started by ${actor}: failing ${name} over to ${this.hostName(this.record.secondaryHostId)}, then re-protecting it in the other direction.`);
      const lostAt = performance.now();
      const failover = await this.failOver(actor);
      if (failover === null) throw new RpcError('invalid-state', `Drill stopped: the backend reported no takeover for ${name}; protection was not restarted.`);
      await this.protect(actor);
      const finalState = await this.waitForState(
        (s) => s.state === 'protected',
        this.deps.reprotectTimeoutMs,
        `${name} to be protected again`,
      );
      const report: DrillReport = {
        pairId: this.id,
        guestDowntimeMs: failover.guestDowntimeMs,
        timeToReprotectMs: performance.now() - lostAt,
        failover,
        finalState,
      };
      this.event('drill', `Drill complete: the guest was down ${report.guestDowntimeMs.toFixed(1)} ms and protected again after ${(report.timeToReprotectMs / 1000).toFixed(2)} s.`, report);
      return report;
    } catch (err) {
      this.event('drill', `Drill failed: ${err instanceof Error ? err.message : String(err)}`);
      throw err;
    } finally {
      this.busy = null;
      this.deps.changed(this.id);
    }
  }

  /**
   * Ends split brain by keeping the copy on one side: the other copy is destroyed, and what it wrote since the split
   * is lost. Keeping the secondary's copy makes its host the pair's primary.
   */
  async keep(actor: string, confirmName: string, side: Side): Promise<void> {
    const r = this.record;
    const keptHost = this.hostName(side === 'primary' ? r.primaryHostId : r.secondaryHostId);
    const lostHost = this.hostName(side === 'primary' ? r.secondaryHostId : r.primaryHostId);
    this.confirm(confirmName, `keep the copy on ${keptHost}`);
    this.require(side === 'primary' ? 'keep-primary' : 'keep-secondary');
    const handle = this.splitHandle!;
    this.busy = 'keep';
    this.deps.changed(this.id);
    try {
      this.event('action', `Keep requested by ${actor}: keeping the copy of ${r.name} on ${keptHost}, destroying the copy on ${lostHost}.`);
      const final = await withTimeout(handle.keep!(side, this.deps.context(actor)), this.deps.actionTimeoutMs, `the copy on ${lostHost} to be destroyed`);
      this.splitHandle = null;
      if (side === 'secondary') this.swapHosts();
      this.reported = final;
      this.show(final);
      try {
        await handle.detach(this.deps.context(SYSTEM));
      } catch (err) {
        this.deps.log(err, `pair ${this.id} detach`);
      }
    } finally {
      this.busy = null;
      this.deps.changed(this.id);
    }
  }

  checkpoint(actor: string): void {
    this.require('checkpoint');
    this.handle!.requestCheckpoint!(this.deps.context(actor));
    this.event('action', `Checkpoint requested by ${actor}.`);
  }

  /** Changes a simulated pair's settings; what a running pair cannot change live is refused with the reason. */
  configureSim(actor: string, change: { mode?: 'colo' | 'remus'; sim?: Partial<SimSettings> }): void {
    const record = this.record;
    if (record.backend !== 'sim' || record.sim === undefined) throw new RpcError('bad-request', `${record.name} is not a simulated pair.`);
    if (this.busy !== null) throw new RpcError('invalid-state', `${record.name}: ${this.busyReason()}`);
    const { faults, ...rest } = change.sim ?? {};
    const mode = change.mode ?? record.mode;
    const next = { ...record.sim, ...rest };
    // A new preset brings its own divergence figure unless one was given alongside.
    if (rest.preset !== undefined && rest.preset !== record.sim.preset && rest.divergenceProbability === undefined) {
      next.divergenceProbability = PRESETS[rest.preset].divergenceProbability;
    }
    const running = this.handle !== null;
    if (running) {
      const fixed: string[] = [];
      if (mode !== record.mode) fixed.push('the mode');
      if (next.link !== record.sim.link) fixed.push('the link');
      if (mode === 'remus' && next.remusIntervalMs !== record.sim.remusIntervalMs) fixed.push('the Remus interval');
      if (fixed.length > 0) {
        throw new RpcError('invalid-state', `${record.name} is being protected: stop protection before changing ${fixed.join(' and ')} (a running pair cannot change it without a new initial sync).`);
      }
    } else if (faults?.slowLink || faults?.stallSecondary) {
      throw new RpcError('invalid-state', `${record.name} is not being protected: there is no running pair to inject a fault into.`);
    }
    this.deps.registry.updatePair(this.id, (p) => ({ ...p, mode, sim: next }));
    const ctx = this.deps.context(actor);
    const sim = this.handle?.sim;
    if (sim !== undefined) {
      if (next.preset !== record.sim.preset) {
        // The guest's size is fixed for this run; its behaviour (rates, working set) follows the preset now.
        const { dirtyPagesPerSec, workingSetPages, packetsPerSec, packetBytes } = PRESETS[next.preset];
        sim.setWorkload({ dirtyPagesPerSec, workingSetPages, packetsPerSec, packetBytes, divergenceProbability: next.divergenceProbability }, ctx);
      } else if (next.divergenceProbability !== record.sim.divergenceProbability) {
        sim.setWorkload({ divergenceProbability: next.divergenceProbability }, ctx);
      }
      if ((next.stopCost ?? true) !== (record.sim.stopCost ?? true)) sim.setStopCost(next.stopCost ?? true, ctx);
      if (faults?.slowLink !== undefined && faults.slowLink !== this.activeFaults.slowLink) this.applyFault(sim, 'slow-link', faults.slowLink, ctx);
      if (faults?.stallSecondary !== undefined && faults.stallSecondary !== this.activeFaults.stallSecondary) {
        this.applyFault(sim, 'stall-secondary', faults.stallSecondary, ctx);
      }
    }
    const what = [
      mode !== record.mode ? `mode ${mode}` : '',
      ...Object.entries(rest).filter(([k, v]) => record.sim![k as keyof typeof rest] !== v).map(([k, v]) => `${k} ${String(v)}`),
    ].filter(Boolean).join(', ');
    this.event('action', `Simulation settings changed by ${actor}${what ? `: ${what}` : ''}.`);
    this.deps.changed(this.id);
  }

  /** Injects a simulated fault into the running pair. */
  inject(actor: string, fault: SimFault, on: boolean): void {
    const record = this.record;
    if (record.backend !== 'sim') throw new RpcError('bad-request', `${record.name} is not a simulated pair.`);
    if (!on && fault !== 'slow-link' && fault !== 'stall-secondary') {
      throw new RpcError('bad-request', `${fault} cannot be undone; start protection again instead.`);
    }
    const sim = this.handle?.sim;
    // Clearing a fault is allowed as long as the run exists, even mid-failover: a takeover may be waiting on it.
    if (sim === undefined || (on && !ACTIVE.includes(this.current.state))) {
      throw new RpcError('invalid-state', `${record.name} is not being protected: there is no running pair to inject a fault into.`);
    }
    this.applyFault(sim, fault, on, this.deps.context(actor));
    if (fault === 'kill-primary' || fault === 'kill-secondary') {
      const hostId = fault === 'kill-primary' ? record.primaryHostId : record.secondaryHostId;
      this.deps.simHostDown(hostId, `Its copy of ${record.name} was killed by the ${fault} fault at ${new Date(this.deps.clock()).toISOString()}; starting protection again brings the simulated host back.`);
    }
    this.event('fault', `${on ? 'Fault injected' : 'Fault cleared'} by ${actor}: ${fault}.`);
    this.deps.changed(this.id);
  }

  /** Stops watching the current run (service shutdown); for the simulator that ends it. */
  async detach(ctx: BackendContext): Promise<void> {
    const handle = this.handle;
    const split = this.splitHandle;
    this.handle = null;
    this.splitHandle = null;
    this.generation++;
    this.recordUnfinished();
    for (const w of [...this.waiters]) w.done(this.current);
    if (handle !== null) await handle.detach(ctx);
    if (split !== null) await split.detach(ctx);
  }

  // ---------------------------------------------------------------------------------------------------------------

  private verdict(action: PairAction): ActionVerdict {
    if (this.deps.backend === undefined) return { allowed: false, reason: `No ${this.record.backend} backend is available in this build.` };
    if (this.busy !== null) return { allowed: false, reason: this.busyReason() };
    const s = this.current;
    const running = this.handle !== null && ACTIVE.includes(s.state);
    const notRunning = 'Protection is not running.';
    switch (action) {
      case 'start':
        if (s.state === 'failing-over') return { allowed: false, reason: 'A failover is in progress.' };
        if (this.splitHandle !== null) return { allowed: false, reason: 'Two copies of the guest are running (split brain): keep one of them first.' };
        if (this.handle !== null || ACTIVE.includes(s.state)) {
          return { allowed: false, reason: `Protection is already running (${s.state}).` };
        }
        return { allowed: true };
      case 'stop':
        return running ? { allowed: true } : { allowed: false, reason: s.state === 'failing-over' ? 'A failover is in progress.' : notRunning };
      case 'failover':
      case 'drill': {
        if (running && (s.state === 'starting' || s.state === 'syncing')) {
          return { allowed: false, reason: 'The initial copy has not finished: the secondary holds no consistent copy of the guest to take over from.' };
        }
        if (!running) return { allowed: false, reason: s.state === 'failing-over' ? 'A failover is in progress.' : `${notRunning} There is no secondary to fail over to.` };
        if (action === 'drill' && this.record.backend === 'qemu') {
          return { allowed: false, reason: 'A QEMU drill would need a new secondary on the old primary\'s host; fail over, then start protection again (a new full sync).' };
        }
        if (this.deps.backend.capabilities.failoverWhileFrozen === true && action === 'failover') return { allowed: true };
        if (s.state === 'degraded' && s.reasonCode === 'guest-frozen') {
          return { allowed: false, reason: 'The guest is frozen in a checkpoint the secondary has not completed: a takeover would wait on it. Stop protection instead.' };
        }
        if (s.state === 'degraded' && (s.reasonCode === 'checkpoint-stalled' || s.reasonCode === 'checkpoint-overdue')) {
          return { allowed: false, reason: `The secondary is not responding${s.reason ? ` (${s.reason})` : ''}: a takeover would wait on it. Stop protection instead, or wait for it to recover.` };
        }
        if (action === 'drill' && s.state !== 'protected') {
          return { allowed: false, reason: `Protection is degraded${s.reason ? ` (${s.reason})` : ''}; a drill needs a healthy protected pair.` };
        }
        return { allowed: true };
      }
      case 'keep-primary':
      case 'keep-secondary':
        if (s.reasonCode !== 'split-brain' || this.splitHandle === null) return { allowed: false, reason: 'Only split brain (two running copies) needs a copy chosen.' };
        if (this.splitHandle.keep === undefined) return { allowed: false, reason: `The ${this.record.backend} backend cannot destroy a copy for you: destroy one on its host.` };
        return { allowed: true };
      case 'checkpoint':
        if (!this.deps.backend.capabilities.manualCheckpoint) {
          return { allowed: false, reason: 'The hypervisor decides when checkpoints happen; this backend cannot request one.' };
        }
        if (!running || this.handle?.requestCheckpoint === undefined || (s.state !== 'protected' && s.state !== 'degraded')) {
          return { allowed: false, reason: 'Checkpoints can be requested only while the pair is protected.' };
        }
        return { allowed: true };
    }
  }

  private busyReason(): string {
    switch (this.busy) {
      case 'start': return 'Protection is starting.';
      case 'stop': return 'Protection is stopping.';
      case 'failover': return 'A failover is in progress.';
      case 'drill': return 'A failover drill is in progress.';
      case 'keep': return 'One copy is being destroyed to end split brain.';
      default: return '';
    }
  }

  private require(action: PairAction): void {
    const v = this.verdict(action);
    if (!v.allowed) throw new RpcError('invalid-state', `Cannot ${ACTION_WORDS[action]} ${this.record.name}: ${v.reason ?? 'not allowed now.'}`);
  }

  private confirm(confirmName: string, what: string): void {
    const name = this.record.name;
    // What the admin typed and what is stored may be composed differently (é as one code point or two).
    if (confirmName.normalize('NFC') !== name.normalize('NFC')) {
      throw new RpcError('bad-request', `To ${what}, type the VM's name exactly as shown ("${name}"); "${confirmName.slice(0, 128)}" does not match.`);
    }
  }

  /**
   * Picks up protection that runs on the hosts without the console (the console restarted): the backend finds the
   * run and resumes following it where it stopped. Cycles continue the pair's latest stored run; any the backend
   * reports again are refused by seq. Returns whether a run was found.
   */
  async attach(actor: string): Promise<boolean> {
    const backend = this.deps.backend;
    if (backend?.attach === undefined || !backend.capabilities.attach || this.handle !== null) return false;
    const spec = this.spec();
    const gen = ++this.generation;
    // Before the backend is asked: it may report what it replays at once.
    const resumed = this.deps.history.resumeLatestRun(this.id);
    this.runId = resumed?.runId ?? 0;
    this.lastStoredSeq = resumed?.lastSeq ?? -1;
    this.open = null;
    const handle = await backend.attach(resumed === null || resumed.lastSeq === null ? spec : { ...spec, lastSeq: resumed.lastSeq }, this.listener(gen), this.deps.context(actor));
    if (handle === null) return false;
    if (gen !== this.generation) {
      await handle.detach(this.deps.context(actor));
      return false;
    }
    // No stored run (the console's data was lost, say): the run found on the hosts starts one here.
    if (resumed === null) this.runId = this.deps.history.beginRun(this.id, this.deps.clock(), spec.mode);
    this.adopt(gen, handle);
    this.event('action', `Following the protection of ${spec.name} that ran on ${spec.primary.name} while the console was away.`);
    return true;
  }

  /** Starts a new run: preflight, then the backend's protect(). */
  private async protect(actor: string): Promise<void> {
    const backend = this.deps.backend!;
    const spec = this.spec();
    if (!backend.capabilities.modes.includes(spec.mode)) {
      throw new RpcError('invalid-state', `Cannot protect ${spec.name}: the ${backend.kind} backend does not support ${spec.mode} mode.`);
    }
    const ctx = this.deps.context(actor);
    const failed = (await backend.preflight(spec, ctx)).filter((c) => c.status === 'fail');
    if (failed.length > 0) {
      throw new RpcError('invalid-state', `Cannot protect ${spec.name}: preflight failed: ${failed.map((c) => (c.detail ? `${c.label} (${c.detail})` : c.label)).join('; ')}.`);
    }
    const gen = ++this.generation;
    this.activeFaults = { slowLink: false, stallSecondary: false };
    this.open = null;
    this.lastStoredSeq = -1;
    if (this.record.backend === 'sim') {
      // Starting again is the simulated hosts' restart.
      this.deps.simHostDown(spec.primary.id, null);
      this.deps.simHostDown(spec.secondary.id, null);
    }
    this.runId = this.deps.history.beginRun(this.id, this.deps.clock(), spec.mode);
    this.setState({ state: 'starting', since: this.deps.clock(), reason: `Starting protection from ${spec.primary.name} to ${spec.secondary.name}.` });
    let handle: PairHandle;
    try {
      handle = await backend.protect(spec, this.listener(gen), ctx);
    } catch (err) {
      const message = err instanceof Error ? err.message : String(err);
      if (gen === this.generation) {
        this.setState({ state: 'error', since: this.deps.clock(), reasonCode: 'internal-error', reason: `Protection could not start: ${message}` });
      }
      throw new RpcError('invalid-state', `Protection of ${spec.name} could not start: ${message}`);
    }
    if (gen !== this.generation) {
      // Detached (service closing) while the backend was starting: do not leave the new run behind.
      await handle.detach(ctx);
      throw new RpcError('invalid-state', `Protection of ${spec.name} was cancelled: the console is closing.`);
    }
    this.adopt(gen, handle);
  }

  /** Makes `handle` the pair's running protection, retired when its run ends. */
  private adopt(gen: number, handle: PairHandle): void {
    this.handle = handle;
    handle.ended.then(
      (final) => this.retire(gen, handle, final),
      (err: unknown) => this.deps.log(err, `pair ${this.id} run`),
    ).catch((err: unknown) => this.deps.log(err, `pair ${this.id} retire`));
  }

  /** Fails the current run over; returns what the backend saw of the takeover. */
  private async failOver(actor: string, fenced = false): Promise<FailoverEvent | null> {
    const handle = this.handle!;
    const gen = this.generation;
    let result;
    try {
      result = await withTimeout(handle.failover(this.deps.context(actor), fenced ? { fenced } : {}), this.deps.actionTimeoutMs, 'the failover to finish');
    } catch (err) {
      if (err instanceof FencingRequiredError) throw new RpcError('invalid-state', err.message);
      throw err;
    }
    await this.retire(gen, handle, result.state);
    if (result.state.state !== 'failed-over') {
      throw new RpcError('invalid-state', `The failover of ${this.record.name} ended in state ${result.state.state}${result.state.reason ? `: ${result.state.reason}` : ''}`);
    }
    return result.event;
  }

  /** A run has ended: drop its handle, release its resources, and after a takeover swap the pair's hosts. */
  private async retire(gen: number, handle: PairHandle, final: ProtectionState): Promise<void> {
    if (this.handle !== handle) return;
    this.handle = null;
    this.recordUnfinished();
    if (gen === this.generation && final.state === 'failed-over' && this.swappedGeneration !== gen) {
      this.swappedGeneration = gen;
      this.swapHosts();
    }
    if (gen === this.generation && final.reasonCode === 'split-brain' && handle.keep !== undefined) {
      // Both copies still run: the handle stays, so that the admin can keep one and destroy the other.
      this.splitHandle = handle;
      this.show(this.effective(this.reported, this.deps.clock()));
      for (const w of [...this.waiters]) w.done(this.current);
      return;
    }
    this.deps.changed(this.id);
    for (const w of [...this.waiters]) w.done(this.current);
    try {
      await handle.detach(this.deps.context(SYSTEM));
    } catch (err) {
      this.deps.log(err, `pair ${this.id} detach`);
    }
  }

  /** After a takeover the guest runs on the old secondary: it is the primary of the next start. */
  private swapHosts(): void {
    const before = this.record;
    const backend = this.deps.backend;
    const after = this.deps.registry.updatePair(this.id, (p) => ({
      ...p,
      primaryHostId: p.secondaryHostId,
      secondaryHostId: p.primaryHostId,
      ...(backend?.swappedOptions !== undefined && p.options !== undefined ? { options: backend.swappedOptions(p.options) } : {}),
    }));
    if (before.primaryHostId !== before.secondaryHostId) {
      this.event('action', `${after.name} now runs on ${this.hostName(after.primaryHostId)}; the next start protects it from there to ${this.hostName(after.secondaryHostId)}.`);
    }
  }

  private hostName(hostId: string): string {
    return this.deps.registry.host(hostId)?.name ?? hostId;
  }

  /** A checkpoint the run never reported an end for: recorded as aborted, with the pause it caused so far. */
  private recordUnfinished(): void {
    const o = this.open;
    if (o === null) return;
    this.open = null;
    const record: CycleRecord = {
      seq: o.seq,
      mode: this.record.mode,
      trigger: o.trigger,
      startedAt: o.startedAt,
      phases: [],
      primaryPauseMs: Math.max(0, this.deps.clock() - o.startedAt),
      dirtyPages: 0,
      pagesSent: 0,
      bytesSent: 0,
      outcome: 'aborted',
      // The backend never said how it ended: the pause is our clock's, from its start to the end of the run.
      provenance: 'derived',
    };
    this.storeCycle(record);
  }

  private storeCycle(r: CycleRecord): void {
    // (run, seq) names one cycle: a record for a seq already stored (say, one the service closed as aborted and
    // the backend reported late) would be a second version of it.
    if (r.seq <= this.lastStoredSeq) {
      this.deps.log(new Error(`cycle ${r.seq} of run ${this.runId} of pair ${this.id} was reported again (${r.outcome}); the first record stands`), `pair ${this.id} cycle`);
      return;
    }
    this.lastStoredSeq = r.seq;
    this.deps.live.addCycle(r);
    this.deps.history.addCycle(this.id, this.runId, r);
    this.deps.emitCycle(this.id, r);
  }

  /** The state to show: the backend's, unless the checkpoint in progress is overdue or has frozen the guest. */
  private effective(reported: ProtectionState, now: number): ProtectionState {
    const o = this.open;
    if (o === null || !ACTIVE.includes(reported.state) || reported.state === 'starting' || reported.state === 'syncing') return reported;
    const paused = now - o.startedAt;
    const p99 = this.deps.live.stats(now).pausePrimaryP99Ms ?? 0;
    const frozenAfter = frozenAfterMs(this.deps.frozenThresholdMs(), p99);
    if (paused >= frozenAfter) {
      return {
        state: 'degraded',
        since: o.startedAt + frozenAfter,
        reasonCode: 'guest-frozen',
        reason: `The guest has been paused for over ${(frozenAfter / 1000).toFixed(1)} s in checkpoint ${o.seq}, which has not completed.`,
      };
    }
    const overdueAfter = Math.max(OVERDUE_MIN_MS, OVERDUE_P99_FACTOR * p99);
    if (paused >= overdueAfter && reported.state === 'protected') {
      return {
        state: 'degraded',
        since: o.startedAt + overdueAfter,
        reasonCode: 'checkpoint-overdue',
        reason: `Checkpoint ${o.seq} has not completed after ${(overdueAfter / 1000).toFixed(1)} s; the guest is paused until it does.`,
      };
    }
    return reported;
  }

  private listener(gen: number): PairEvents {
    return {
      state: (s) => {
        if (gen === this.generation) this.setState(s);
      },
      checkpointStarted: (o) => {
        if (gen !== this.generation) return;
        // A start without its predecessor's end: that one will never be reported.
        if (this.open !== null && this.open.seq !== o.seq) this.recordUnfinished();
        this.open = { seq: o.seq, trigger: o.trigger, startedAt: o.startedAt };
      },
      cycle: (r) => {
        if (gen !== this.generation) return;
        const wasOpen = this.open;
        if (wasOpen !== null && r.seq >= wasOpen.seq) this.open = null;
        this.storeCycle(r);
        if (wasOpen !== null && this.open === null && this.current !== this.reported) this.show(this.effective(this.reported, this.deps.clock()));
      },
      failover: (e) => {
        if (gen !== this.generation) return;
        this.failoverEvent = e;
        this.event('failover', describeFailover(e), e);
        this.deps.changed(this.id);
      },
      output: (ms) => {
        if (gen === this.generation) this.deps.live.addOutput(ms);
      },
      changed: () => {
        if (gen === this.generation) this.deps.changed(this.id);
      },
    };
  }

  /** A state from the backend. */
  private setState(next: ProtectionState): void {
    // A backend's reason may quote a host's output at length; the contract allows 2000 characters.
    const s = next.reason !== undefined && next.reason.length > MAX_MESSAGE ? { ...next, reason: bound(next.reason) } : next;
    this.reported = s;
    if (s.state === 'failed-over' && this.swappedGeneration !== this.generation) {
      // The guest runs on the old secondary from now on: every screen must say so at once, not after cleanup.
      this.swappedGeneration = this.generation;
      this.swapHosts();
    }
    this.show(this.effective(s, this.deps.clock()));
  }

  private show(s: ProtectionState): void {
    const prev = this.current;
    this.current = s;
    if (prev.state !== s.state || prev.reasonCode !== s.reasonCode) {
      this.event('state', `${s.state}${s.reason ? `: ${s.reason}` : ''}`);
    }
    this.deps.changed(this.id);
    for (const w of [...this.waiters]) w.done(s);
  }

  /** Resolves once the state satisfies `ok`; rejects if the run ends first or `ms` pass. */
  private waitForState(ok: (s: ProtectionState) => boolean, ms: number, what: string): Promise<ProtectionState> {
    return new Promise((resolve, reject) => {
      const finish = (fn: () => void): boolean => {
        clearTimeout(timer);
        this.waiters.delete(waiter);
        fn();
        return true;
      };
      const waiter: StateWaiter = {
        done: (s) => {
          if (ok(s)) return finish(() => resolve(s));
          if (this.handle === null || !ACTIVE.includes(s.state)) {
            return finish(() => reject(new RpcError('invalid-state', `Gave up waiting for ${what}: the pair is ${s.state}${s.reason ? ` (${s.reason})` : ''}.`)));
          }
          return false;
        },
      };
      const timer = setTimeout(() => finish(() => reject(new RpcError('invalid-state', `Gave up waiting for ${what} after ${ms / 1000} s (state ${this.current.state}).`))), ms);
      this.waiters.add(waiter);
      waiter.done(this.current);
    });
  }

  private event(kind: PairEvent['kind'], message: string, data?: unknown): void {
    const e: PairEvent = { pairId: this.id, seq: ++this.eventSeq, at: this.deps.clock(), kind, message: bound(message) };
    this.deps.live.addEvent(e);
    this.deps.history.addEvent(data === undefined ? e : { ...e, data });
    this.deps.emitEvent(e);
  }

  private applyFault(sim: NonNullable<PairHandle['sim']>, fault: SimFault, on: boolean, ctx: BackendContext): void {
    sim.inject(fault, on, ctx);
    if (fault === 'slow-link') this.activeFaults.slowLink = on;
    if (fault === 'stall-secondary') this.activeFaults.stallSecondary = on;
  }

  private spec(): PairSpec {
    const r = this.record;
    const primary = this.deps.registry.host(r.primaryHostId);
    const secondary = this.deps.registry.host(r.secondaryHostId);
    if (primary === undefined || secondary === undefined) throw new RpcError('invalid-state', `${r.name} refers to a host that no longer exists.`);
    return {
      id: r.id,
      name: r.name,
      domain: r.domain ?? r.name,
      mode: r.mode,
      primary,
      secondary,
      ...(r.sim ? { sim: r.sim } : {}),
      ...(r.options ? { options: r.options } : {}),
    };
  }
}

/** Who the audit log names for what the console does by itself. */
const SYSTEM = 'colo-console';

const ACTION_WORDS: Record<PairAction, string> = {
  start: 'start protecting',
  stop: 'stop protecting',
  failover: 'fail over',
  drill: 'run a drill on',
  checkpoint: 'request a checkpoint of',
  'keep-primary': 'keep the primary copy of',
  'keep-secondary': 'keep the secondary copy of',
};

function describeFailover(e: FailoverEvent): string {
  const who = e.detectedBy === 'admin' ? 'the admin' : `the ${e.detectedBy}`;
  return `Failover detected by ${who}: ${e.cause.replace(/\.\s*$/, '')}. Survivor: ${e.survivor}; last checkpoint ${e.lastCheckpointSeq}; guest down ${e.guestDowntimeMs.toFixed(1)} ms.`;
}

function bound(text: string, max = MAX_MESSAGE): string {
  return text.length <= max ? text : `${text.slice(0, max - 1)}…`;
}

async function withTimeout<T>(work: Promise<T>, ms: number, what: string): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new RpcError('invalid-state', `Gave up waiting for ${what} after ${ms / 1000} s.`)), ms);
  });
  try {
    return await Promise.race([work, timeout]);
  } finally {
    clearTimeout(timer);
  }
}
