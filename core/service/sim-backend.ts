// The ReplicationBackend of the embedded simulator: each protection run is one SimPair (core/backends/sim/pair.ts),
// the real checkpoint engine between two simulated domains over a loopback socket. The console drives its
// checkpoints, so every cycle is 'measured'.
//
// Every start builds a fresh SimPair, which does a full initial sync, as Xen requires after a stop or a failover
// (xen-colo.md §2.8: "Restarting protection means a brand-new xl remus -c"). Re-protecting "in the other direction"
// after a failover is, in the simulator, a fresh SimPair with the hosts swapped: the guest that took over is not
// carried into the new pair (its memory starts afresh), which is acceptable for a simulation and keeps SimPair
// unchanged. Commands to the simulator are audited like commands to a real host, named for what they do.

import { SimPair, type SimPairOptions } from '../backends/sim/pair.js';
import type { CycleRecord, FailoverEvent, ProtectionState, Side } from '../colo/types.js';
import type {
  BackendCapabilities,
  BackendContext,
  DomainSummary,
  FailoverResult,
  HostProbe,
  PairEvents,
  PairHandle,
  PairSpec,
  PreflightCheck,
  ReplicationBackend,
  SimControls,
} from './backend.js';
import type { HostRecord } from './registry.js';

export class SimBackend implements ReplicationBackend {
  readonly kind = 'sim';
  readonly capabilities: BackendCapabilities = {
    checkpoints: 'driven',
    manualCheckpoint: true,
    modes: ['colo', 'remus'],
    attach: false,
    simulation: true,
  };
  private readonly live = new Set<SimPairHandle>();

  /** `overrides` win over each pair's settings: tests use them for small guests and an unpaced link. */
  constructor(private readonly overrides: Partial<SimPairOptions> = {}) {}

  probe(host: HostRecord): Promise<HostProbe> {
    const warnings = host.kind === 'sim' ? [] : [`host ${host.id} is not the embedded simulator`];
    return Promise.resolve({ hypervisor: 'sim', version: 'embedded simulator', capabilities: ['colo', 'remus', 'fault-injection'], warnings });
  }

  inventory(host: HostRecord): Promise<DomainSummary[]> {
    const out: DomainSummary[] = [];
    if (host.kind !== 'sim') return Promise.resolve(out);
    for (const h of this.live) out.push(...h.domains());
    return Promise.resolve(out);
  }

  preflight(pair: PairSpec): Promise<PreflightCheck[]> {
    const checks: PreflightCheck[] = [
      {
        id: 'sim-hosts',
        label: 'Both sides are the embedded simulator',
        status: pair.primary.kind === 'sim' && pair.secondary.kind === 'sim' ? 'pass' : 'fail',
      },
      {
        id: 'sim-settings',
        label: 'Simulation settings present',
        status: pair.sim === undefined ? 'fail' : 'pass',
        ...(pair.sim === undefined ? { detail: 'a simulated pair needs a preset and a link' } : {}),
      },
    ];
    return Promise.resolve(checks);
  }

  async protect(spec: PairSpec, events: PairEvents, ctx: BackendContext): Promise<PairHandle> {
    const sim = spec.sim;
    if (sim === undefined) throw new Error(`pair ${spec.id} has no simulation settings`);
    const options: SimPairOptions = {
      name: spec.domain,
      preset: sim.preset,
      mode: spec.mode,
      link: sim.link,
      remusIntervalMs: sim.remusIntervalMs,
      stopCost: sim.stopCost,
      workload: { divergenceProbability: sim.divergenceProbability },
      ...this.overrides,
    };
    const pair = new SimPair(options);
    const seen: { failover: FailoverEvent | null } = { failover: null };
    // Attached before start(): the engine reports 'starting' from inside it.
    pair.subscribe({
      checkpointStarted: (open) => events.checkpointStarted?.(open),
      state: (s: ProtectionState) => events.state(s),
      cycle: (r: CycleRecord) => events.cycle(r),
      failover: (e: FailoverEvent) => {
        seen.failover = e;
        events.failover(e);
      },
      output: (ms: number) => events.output?.(ms),
    });
    const command = `simulator: protect ${spec.domain} from ${spec.primary.id} to ${spec.secondary.id} (${spec.mode}, ${options.preset ?? 'web-server'} workload, ${options.link ?? '10gbe'} link; new pair, full initial sync)`;
    try {
      await pair.start();
    } catch (err) {
      ctx.command({ hostId: spec.primary.id, command, result: 'error', detail: (err as Error).message });
      await pair.dispose().catch(() => {});
      throw err;
    }
    ctx.command({ hostId: spec.primary.id, command, result: 'ok' });
    const handle = new SimPairHandle(pair, spec, seen, () => this.live.delete(handle));
    this.live.add(handle);
    return handle;
  }

  async close(): Promise<void> {
    const noAudit: BackendContext = { command: () => {} };
    await Promise.all([...this.live].map((h) => h.detach(noAudit)));
  }
}

class SimPairHandle implements PairHandle {
  readonly ended: Promise<ProtectionState>;
  readonly sim: SimControls;
  private detaching: Promise<void> | undefined;
  private settled = false;

  constructor(
    private readonly pair: SimPair,
    private readonly spec: PairSpec,
    private readonly seen: { failover: FailoverEvent | null },
    private readonly onDetached: () => void,
  ) {
    this.ended = pair.outcome().then((o) => {
      this.settled = true;
      return o.state;
    });
    this.sim = {
      inject: (fault, on, ctx) => {
        this.run(ctx, this.spec.primary.id, `simulator: ${on ? 'inject' : 'clear'} fault ${fault} on ${this.spec.domain}`, () => pair.inject(fault, on));
      },
      setWorkload: (change, ctx) => {
        const what = Object.entries(change).map(([k, v]) => `${k}=${String(v)}`).join(' ');
        this.run(ctx, this.spec.primary.id, `simulator: set workload of ${this.spec.domain}: ${what}`, () => pair.setWorkload(change));
      },
      setStopCost: (on, ctx) => {
        this.run(ctx, this.spec.primary.id, `simulator: ${on ? 'model' : 'leave out'} the vCPU stop time of ${this.spec.domain}`, () => pair.setStopCost(on));
      },
    };
  }

  get state(): ProtectionState {
    return this.pair.state;
  }

  domains(): DomainSummary[] {
    if (this.settled) return [];
    return [
      { name: this.spec.domain, state: this.pair.primaryDomain.running ? 'running' : 'suspended', role: 'primary' },
      { name: `${this.spec.domain}--incoming`, state: this.pair.secondaryDomain.running ? 'running' : 'suspended', role: 'secondary' },
    ];
  }

  async stop(ctx: BackendContext): Promise<ProtectionState> {
    const command = `simulator: destroy ${this.spec.domain}--incoming on ${this.spec.secondary.id}, then end replication on ${this.spec.primary.id}`;
    const outcome = await this.runAsync(ctx, this.spec.secondary.id, command, () => {
      // `xl destroy` kills a hung secondary as surely as a healthy one; a simulated stall must not outlive it.
      this.pair.inject('stall-secondary', false);
      return this.pair.stop();
    });
    return outcome.state;
  }

  async failover(ctx: BackendContext): Promise<FailoverResult> {
    const command = `simulator: destroy ${this.spec.domain} on ${this.spec.primary.id} (the secondary on ${this.spec.secondary.id} takes over)`;
    const outcome = await this.runAsync(ctx, this.spec.primary.id, command, () => this.pair.failover());
    return { state: outcome.state, event: this.seen.failover };
  }

  /** Split brain: destroy the other side's copy; the kept one runs on alone (xl destroy on that host). */
  async keep(side: Side, ctx: BackendContext): Promise<ProtectionState> {
    const lost: Side = side === 'primary' ? 'secondary' : 'primary';
    const host = lost === 'primary' ? this.spec.primary : this.spec.secondary;
    const keptHost = side === 'primary' ? this.spec.primary : this.spec.secondary;
    const domain = lost === 'primary' ? this.spec.domain : `${this.spec.domain}--incoming`;
    await this.runAsync(ctx, host.id, `simulator: destroy ${domain} on ${host.id} (split brain: keeping the copy on ${keptHost.id})`, () => this.pair.destroyCopy(lost));
    return {
      state: 'unprotected',
      since: Date.now(),
      reasonCode: 'stopped-by-admin',
      reason: `Split brain ended: the copy on ${keptHost.name} was kept and the copy on ${host.name} destroyed. The guest runs on ${keptHost.name}, unprotected.`,
    };
  }

  requestCheckpoint(ctx: BackendContext): void {
    this.run(ctx, this.spec.primary.id, `simulator: request a checkpoint of ${this.spec.domain}`, () => this.pair.requestCheckpoint());
  }

  /** The simulated pair lives in this process: detaching ends it (secondary destroyed first, as in stop). */
  detach(ctx: BackendContext): Promise<void> {
    this.detaching ??= (async () => {
      try {
        if (this.settled) {
          await this.pair.dispose();
        } else {
          await this.runAsync(ctx, this.spec.primary.id, `simulator: end protection of ${this.spec.domain} (console closing)`, () => this.pair.dispose());
        }
      } finally {
        this.onDetached();
      }
    })();
    return this.detaching;
  }

  private run(ctx: BackendContext, hostId: string, command: string, fn: () => void): void {
    try {
      fn();
    } catch (err) {
      ctx.command({ hostId, command, result: 'error', detail: (err as Error).message });
      throw err;
    }
    ctx.command({ hostId, command, result: 'ok' });
  }

  private async runAsync<T>(ctx: BackendContext, hostId: string, command: string, fn: () => Promise<T>): Promise<T> {
    let value: T;
    try {
      value = await fn();
    } catch (err) {
      ctx.command({ hostId, command, result: 'error', detail: (err as Error).message });
      throw err;
    }
    ctx.command({ hostId, command, result: 'ok' });
    return value;
  }
}
