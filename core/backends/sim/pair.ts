// The embedded simulated COLO pair: two SimDomains with a guest workload each, the checkpoint engine's primary and
// secondary talking over a real loopback TCP connection (through a link model), and an output comparator
// deciding when to checkpoint. Faults are injected the way they happen to real hosts, and the pair ends in the
// state Xen would reach.

import { once } from 'node:events';
import net from 'node:net';
import { performance } from 'node:perf_hooks';
import { ColoPrimary, type PrimaryExit } from '../../colo/primary.js';
import { ColoSecondary, type SecondaryCycle, type SecondaryExit } from '../../colo/secondary.js';
import { type CheckpointTriggers, PeriodicTriggers, XEN_COLO_MAX_WAIT_MS, XL_REMUS_DEFAULT_INTERVAL_MS } from '../../colo/triggers.js';
import type {
  CycleRecord,
  FailoverEvent,
  OpenCheckpoint,
  ProtectionReasonCode,
  ProtectionState,
  ProtectionStateName,
  ReplicationMode,
} from '../../colo/types.js';
import { type ComparatorStats, OutputComparator } from './comparator.js';
import { ComparatorTriggers } from './comparator-triggers.js';
import { LINK_PRESETS, type LinkPresetName, LinkModel } from './link.js';
import { ManualTriggers } from './manual-triggers.js';
import type { GuestPacket } from './packet.js';
import { PRESETS, type PresetName, STOP_COST_MS_PER_VCPU } from './presets.js';
import { RemusOutputBuffer } from './remus-buffer.js';
import { SimDomain } from './sim-domain.js';
import { StallableDomain } from './stallable-domain.js';
import { Workload, type WorkloadConfig } from './workload.js';

export type SimFault = 'kill-primary' | 'kill-secondary' | 'cut-link' | 'slow-link' | 'stall-secondary';
export const SIM_FAULTS: readonly SimFault[] = ['kill-primary', 'kill-secondary', 'cut-link', 'slow-link', 'stall-secondary'];

/** The slow-link fault: a link degraded to 100 Mbit/s. */
export const SLOW_LINK_BITS_PER_SECOND = 1e8;

export interface SimPairOptions {
  name?: string;
  preset?: PresetName;
  mode?: ReplicationMode;
  link?: LinkPresetName;
  /** Remus checkpoint interval; xl's default is 200 ms. */
  remusIntervalMs?: number;
  /** Guest size in pages, overriding the preset (tests use small guests). */
  pageCount?: number;
  workload?: Partial<WorkloadConfig>;
  /** COLO's longest wait between checkpoints (Xen: 5 s). */
  maxWaitMs?: number;
  compareTimeoutMs?: number;
  /** Model the vCPU stop cost in every pause (qemu-colo.md §2); default true. */
  stopCost?: boolean;
  /** Primary pauses longer than this mark protection degraded. */
  slowPauseMs?: number;
  /** Receives a byte-for-byte copy of the forward stream. */
  recordFd?: number;
  /** Seed of the guest program (both copies share it; divergence stays host-local). */
  seed?: number;
}

export interface SimPairListener {
  /** The primary paused for a checkpoint; its cycle() follows (committed, failed or aborted). */
  checkpointStarted?(open: OpenCheckpoint): void;
  cycle?(record: CycleRecord): void;
  state?(state: ProtectionState): void;
  failover?(event: FailoverEvent): void;
  /** A guest packet reached the client: how long it was held, in ms. */
  output?(latencyMs: number): void;
}

export interface SimPairOutcome {
  primary: PrimaryExit;
  secondary: SecondaryExit;
  state: ProtectionState;
}

export class SimPair {
  readonly name: string;
  readonly mode: ReplicationMode;
  readonly primaryDomain: SimDomain;
  private readonly stopCostPerPause: number;
  readonly secondaryDomain: SimDomain;
  private readonly secondaryView: StallableDomain;
  private readonly primaryWorkload: Workload;
  private readonly secondaryWorkload: Workload;
  private readonly comparator: OutputComparator;
  private readonly remusBuffer: RemusOutputBuffer;
  private readonly triggers: ManualTriggers;
  private readonly link: LinkModel;
  private readonly listeners = new Set<SimPairListener>();
  private readonly secondaryCycles = new Map<number, SecondaryCycle>();
  private primary: ColoPrimary | undefined;
  private secondary: ColoSecondary | undefined;
  private sockets: net.Socket[] = [];
  private server: net.Server | undefined;
  private current: ProtectionState = { state: 'unprotected', since: Date.now(), reasonCode: 'not-started', reason: 'Protection has not started.' };
  private adminAction: 'stop' | 'failover' | undefined;
  private primaryKilledAt: number | undefined;
  private linkCut = false;
  private secondaryLive = false;
  private replicating = false;
  private secondaryTookOverAlready = false;
  private primaryLive = true;
  /** The longest any packet waited, among those released when protection broke (for the failover report). */
  private heldAtBreakMs: number | undefined;
  private measuringRelease: { maxMs: number } | undefined;
  private finished: Promise<SimPairOutcome> | undefined;
  private settled = false;

  constructor(private readonly options: SimPairOptions = {}) {
    const preset = PRESETS[options.preset ?? 'web-server'];
    this.name = options.name ?? 'demo-vm';
    this.mode = options.mode ?? 'colo';
    const pageCount = options.pageCount ?? preset.guestPages;
    // The guest's vCPUs are fixed for this run, so is what stopping them costs; only whether it is modelled changes.
    this.stopCostPerPause = preset.vcpus * STOP_COST_MS_PER_VCPU;
    const stopCostMs = options.stopCost === false ? 0 : this.stopCostPerPause;
    this.primaryDomain = new SimDomain({ name: this.name, pageCount, vcpus: preset.vcpus, running: true, fill: 'random', stopCostMs });
    this.secondaryDomain = new SimDomain({ name: `${this.name}--incoming`, pageCount, vcpus: preset.vcpus, stopCostMs });
    this.secondaryView = new StallableDomain(this.secondaryDomain);
    const config: WorkloadConfig = {
      dirtyPagesPerSec: preset.dirtyPagesPerSec,
      workingSetPages: preset.workingSetPages,
      packetsPerSec: preset.packetsPerSec,
      packetBytes: preset.packetBytes,
      divergenceProbability: preset.divergenceProbability,
      ...options.workload,
    };
    const seed = options.seed ?? 1;
    this.primaryWorkload = new Workload(this.primaryDomain, config, { seed, onPacket: (p) => this.primaryPacket(p) });
    this.secondaryWorkload = new Workload(this.secondaryDomain, config, { seed, onPacket: (p) => this.secondaryPacket(p) });
    const release = (p: GuestPacket, at: number): void => this.emitOutput(at - p.producedAt);
    this.comparator = new OutputComparator({ release, compareTimeoutMs: options.compareTimeoutMs });
    this.remusBuffer = new RemusOutputBuffer({ release });
    const inner: CheckpointTriggers = this.mode === 'colo'
      ? new ComparatorTriggers(this.comparator, options.maxWaitMs ?? XEN_COLO_MAX_WAIT_MS)
      : new PeriodicTriggers(options.remusIntervalMs ?? XL_REMUS_DEFAULT_INTERVAL_MS);
    this.triggers = new ManualTriggers(inner);
    this.link = new LinkModel(options.link ?? '10gbe');
    // A cut link is an expected event here; the engine sees it through the socket.
    this.link.on('error', () => {});
  }

  get state(): ProtectionState {
    return this.current;
  }

  /** The guest workload's settings as they are now (rates travel with checkpoints; divergence is per host). */
  get workloadConfig(): WorkloadConfig {
    return this.primaryWorkload.getConfig();
  }

  get comparatorStats(): ComparatorStats {
    return this.comparator.stats;
  }

  subscribe(listener: SimPairListener): () => void {
    this.listeners.add(listener);
    return () => this.listeners.delete(listener);
  }

  /** Connects the two sides and starts protection; resolves once both engines run. */
  async start(): Promise<void> {
    if (this.finished) throw new Error('the pair has already been started');
    this.server = net.createServer();
    this.server.listen(0, '127.0.0.1');
    await once(this.server, 'listening');
    const { port } = this.server.address() as net.AddressInfo;
    const accepted = once(this.server, 'connection') as Promise<[net.Socket]>;
    const primarySocket = net.connect(port, '127.0.0.1');
    await once(primarySocket, 'connect');
    const [secondarySocket] = await accepted;
    this.server.close();
    for (const s of [primarySocket, secondarySocket]) {
      s.setNoDelay(true);
      // Socket errors reach the engines through their reads and writes; the listener only keeps them from
      // being thrown as unhandled.
      s.on('error', () => {});
    }
    this.sockets = [primarySocket, secondarySocket];
    this.link.pipe(primarySocket);
    // The link stands in for the primary's socket: once the connection under it closes (the secondary host died,
    // or the pair is torn down), writes into it must fail as a socket's would, not wait for a drain forever.
    primarySocket.once('close', () => this.link.destroy());

    this.primary = new ColoPrimary({
      mode: this.mode,
      domain: this.primaryDomain,
      forward: this.link,
      back: primarySocket,
      triggers: this.triggers,
      recordFd: this.options.recordFd,
      slowPauseMs: this.options.slowPauseMs ?? 500,
      domainConfig: { c_info: { type: 'hvm', name: this.name }, b_info: { max_memkb: (this.primaryDomain.pageCount * 4) } },
      onSuspend: () => {
        if (this.mode === 'remus') this.remusBuffer.plug();
      },
      onCommit: () => {
        // From the first committed checkpoint on, the primary's output waits for the comparator (or the next
        // Remus commit); before it the guest is not protected and its output goes straight out.
        this.replicating = true;
        if (this.mode === 'remus') this.remusBuffer.commit();
      },
      secondaryPause: (seq) => {
        const cycle = this.secondaryCycles.get(seq);
        this.secondaryCycles.delete(seq);
        return cycle?.pauseMs;
      },
      events: {
        checkpointStarted: (open) => this.emit((l) => l.checkpointStarted?.(open)),
        cycle: (r) => this.emit((l) => l.cycle?.(r)),
        state: (s) => this.primaryState(s),
        // Seen from the primary it survived; if the secondary took over as well, the pair has two. The primary
        // kept the guest running: what its clients felt is how long their output was held.
        failover: (e) => {
          const held = this.heldAtBreakMs === undefined ? {} : { outputHeldMs: this.heldAtBreakMs };
          this.emit((l) => l.failover?.(this.secondaryTookOverAlready ? { ...e, ...held, survivor: 'both' } : { ...e, ...held }));
        },
      },
    });
    this.secondary = new ColoSecondary({
      mode: this.mode,
      domain: this.secondaryView,
      forward: secondarySocket,
      back: secondarySocket,
      beforeResume: () => {
        // colo-compare's COLO_CHECKPOINT: both copies are paused and equal, so queued output is settled, and
        // both start the new epoch at the same packet.
        if (this.mode === 'colo') this.comparator.checkpointed();
        this.secondaryLive = this.mode === 'colo';
      },
      events: {
        cycle: (c) => {
          this.secondaryCycles.set(c.seq, c);
          if (this.secondaryCycles.size > 64) this.secondaryCycles.delete(this.secondaryCycles.keys().next().value!);
        },
        takeover: (e) => this.secondaryTookOver(e),
      },
    });
    this.primaryWorkload.start();
    this.secondaryWorkload.start();
    if (this.mode === 'colo') this.comparator.start();
    const primaryRun = this.primary.run();
    const secondaryRun = this.secondary.run();
    this.finished = Promise.all([primaryRun, secondaryRun]).then(([p, s]) => this.settle(p, s));
  }

  /** Resolves when replication has ended, with how it ended. */
  outcome(): Promise<SimPairOutcome> {
    if (!this.finished) throw new Error('the pair was never started');
    return this.finished;
  }

  requestCheckpoint(): void {
    this.triggers.request();
  }

  /** Turns the modelled vCPU stop cost on or off for the pauses to come, on both sides. */
  setStopCost(on: boolean): void {
    const ms = on ? this.stopCostPerPause : 0;
    this.primaryDomain.setStopCostMs(ms);
    this.secondaryDomain.setStopCostMs(ms);
  }

  setWorkload(change: Partial<WorkloadConfig>): void {
    this.primaryWorkload.setConfig(change);
    if ('divergenceProbability' in change) this.secondaryWorkload.setConfig({ divergenceProbability: change.divergenceProbability });
  }

  /** Stops protection as `xl` users must: destroy the secondary's copy first, so only the primary runs on. */
  async stop(): Promise<SimPairOutcome> {
    this.adminAction ??= 'stop';
    this.destroySecondary();
    this.primary?.stop();
    return this.outcome();
  }

  /** Manual failover: destroy the primary's copy (`xl destroy`); the secondary takes over. */
  async failover(): Promise<SimPairOutcome> {
    this.adminAction ??= 'failover';
    this.setState('failing-over', 'failover-by-admin', 'Failover requested: destroying the primary copy; the secondary will take over.');
    this.killPrimary();
    return this.outcome();
  }

  inject(fault: SimFault, on = true): void {
    switch (fault) {
      case 'kill-primary':
        this.setState('failing-over', 'primary-lost', 'The primary host is gone; the secondary is taking over.');
        this.killPrimary();
        return;
      case 'kill-secondary':
        this.destroySecondary();
        return;
      case 'cut-link':
        this.linkCut = true;
        this.link.cut('replication link cut');
        for (const s of this.sockets) s.destroy();
        return;
      case 'slow-link':
        this.link.setBandwidth(on ? SLOW_LINK_BITS_PER_SECOND : LINK_PRESETS[this.options.link ?? '10gbe'].bitsPerSecond);
        return;
      case 'stall-secondary':
        if (on) this.secondaryView.stall();
        else this.secondaryView.unstall();
        return;
    }
  }

  /**
   * After split brain, destroys one side's copy (`xl destroy` there); the other runs on. Only once replication
   * has ended: while it runs, stop() and failover() are the ways to end a side.
   */
  async destroyCopy(side: 'primary' | 'secondary'): Promise<void> {
    if (!this.settled) throw new Error('replication is still running: stop or fail over instead');
    if (side === 'primary') {
      this.primaryLive = false;
      this.primaryWorkload.stop();
      await this.primaryDomain.suspend();
    } else {
      this.secondaryWorkload.stop();
      await this.secondaryDomain.suspend();
    }
  }

  /** Ends everything: engines, workloads, sockets. Safe to call at any time. */
  async dispose(): Promise<void> {
    this.secondaryView.unstall();
    if (this.finished) await (this.settled ? this.finished : this.stop());
    this.primaryWorkload.stop();
    this.secondaryWorkload.stop();
    this.comparator.stop();
    for (const s of this.sockets) s.destroy();
    this.server?.close();
  }

  private killPrimary(): void {
    this.primaryKilledAt = performance.now();
    this.primaryLive = false;
    this.primaryWorkload.stop();
    this.primary?.kill();
    // A destroyed domain runs no more; suspending is the simulator's nearest equivalent.
    void this.primaryDomain.suspend();
  }

  private destroySecondary(): void {
    this.secondaryWorkload.stop();
    this.secondary?.destroy();
    void this.secondaryDomain.suspend();
  }

  private primaryPacket(p: GuestPacket): void {
    if (!this.replicating) this.emitOutput(0);
    else if (this.mode === 'colo') this.comparator.pushPrimary(p);
    else this.remusBuffer.push(p);
  }

  private secondaryPacket(p: GuestPacket): void {
    // Before a takeover the secondary's output only feeds the comparator; after it, it is the guest's output.
    if (this.current.state === 'failed-over' || this.current.state === 'error') this.emitOutput(0);
    else if (this.mode === 'colo' && this.secondaryLive) this.comparator.pushSecondary(p);
  }

  private emitOutput(latencyMs: number): void {
    if (this.measuringRelease !== undefined) this.measuringRelease.maxMs = Math.max(this.measuringRelease.maxMs, latencyMs);
    this.emit((l) => l.output?.(latencyMs));
  }

  private primaryState(s: ProtectionState): void {
    // Once the pair is failing over or has ended, the primary's own view no longer describes the pair.
    const final: ProtectionStateName[] = ['failing-over', 'failed-over', 'stopped', 'error'];
    if (final.includes(this.current.state)) return;
    if ((s.state === 'unprotected' || s.state === 'stopped') && this.adminAction === 'stop') return;
    if (s.state === 'unprotected') this.releaseHeldOutput();
    this.current = s;
    this.emit((l) => l.state?.(s));
  }

  private secondaryTookOver(e: FailoverEvent): void {
    this.secondaryTookOverAlready = true;
    const downtime = this.primaryKilledAt === undefined ? e.guestDowntimeMs : performance.now() - this.primaryKilledAt;
    this.emit((l) => l.failover?.({ ...e, guestDowntimeMs: downtime, survivor: this.primaryLive ? 'both' : 'secondary' }));
  }

  private releaseHeldOutput(): void {
    const wasReplicating = this.replicating;
    this.replicating = false;
    this.measuringRelease = { maxMs: 0 };
    try {
      if (this.mode === 'colo') this.comparator.checkpointed();
      else this.remusBuffer.releaseAll();
    } finally {
      if (wasReplicating && this.heldAtBreakMs === undefined) this.heldAtBreakMs = this.measuringRelease.maxMs;
      this.measuringRelease = undefined;
    }
  }

  private settle(p: PrimaryExit, s: SecondaryExit): SimPairOutcome {
    this.settled = true;
    this.comparator.stop();
    const tookOver = s.kind === 'took-over';
    if (p.kind === 'killed' && tookOver) {
      const why = this.adminAction === 'failover' ? 'failover-by-admin' : 'primary-lost';
      this.setState('failed-over', why, `The secondary took over from checkpoint ${s.lastSeq}; the guest runs on the secondary host, unprotected.`);
    } else if (p.kind === 'killed') {
      this.setState('error', 'primary-lost', `The primary is gone and the secondary could not take over (${s.kind === 'setup-failed' ? 'the initial copy never completed' : 'it was destroyed'}).`);
    } else if (tookOver) {
      this.releaseHeldOutput();
      this.setState('error', 'split-brain', `Split brain: the ${this.linkCut ? 'replication link was cut' : 'stream broke'}; the primary resumed unprotected and the secondary took over from checkpoint ${s.lastSeq}. Two copies of the guest are running.`);
    } else if (this.adminAction === 'stop') {
      this.releaseHeldOutput();
      if (this.current.state !== 'stopped') this.setState('stopped', 'stopped-by-admin', 'Protection stopped: the secondary copy was destroyed; the guest runs on the primary only.');
    } else if (this.current.state !== 'unprotected') {
      this.releaseHeldOutput();
      this.setState('unprotected', 'secondary-lost', 'The secondary is gone; the guest runs on the primary, unprotected.');
    }
    return { primary: p, secondary: s, state: this.current };
  }

  private setState(state: ProtectionStateName, reasonCode: ProtectionReasonCode, reason: string): void {
    this.current = { state, since: Date.now(), reasonCode, reason };
    const s = this.current;
    this.emit((l) => l.state?.(s));
  }

  private emit(fn: (l: SimPairListener) => void): void {
    for (const l of this.listeners) fn(l);
  }
}
