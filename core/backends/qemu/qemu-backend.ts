// The ReplicationBackend for QEMU COLO pairs over SSH (issue 9): each side's QMP monitor reached through its host's
// shared SSH link (streamlocal forwarding, nothing installed on the host), COLO started the way QEMU's COLO
// documentation and qemu-colo.md §3 give it (x-colo and events on both sides, x-checkpoint-delay, migrate), and the
// pair then watched from its QMP events (QemuPairHandle). Every monitor command the console sends is audited as
// the JSON it sent.

import { setTimeout as delay } from 'node:timers/promises';
import type { QemuPairStatus } from '../../api/console-contract.js';
import type { ProtectionState } from '../../colo/types.js';
import type {
  BackendCapabilities,
  BackendContext,
  DomainSummary,
  HostLinks,
  HostProbe,
  PairEvents,
  PairHandle,
  PairSpec,
  PreflightCheck,
  ReplicationBackend,
} from '../../service/backend.js';
import type { HostRecord } from '../../service/registry.js';
import { shellCommand } from '../../ssh/shell-quote.js';
import { exitSummary, firstLine, LOG_DIR, runOnHost } from '../host-command.js';
import { heartbeatOf, networkOf, type QemuPairOptions, QEMU_DEFAULTS, readQemuOptions } from './qemu-options.js';
import { type HandleTiming, QemuPairHandle } from './qemu-pair-handle.js';
import { coloLayout, diskResyncStart, primaryAloneSteps, primaryProxySteps, RESYNC_JOB } from './qemu-colo-plumbing.js';
import { launchHostChecks } from './qemu-host-checks.js';
import { type LaunchPlan, launchPlan, type QmpStep, supervisedLaunch } from './qemu-launch.js';
import { type QemuProbe, probeQemu, qemuVersionOf, releaseWarnings } from './qemu-probe.js';
import { LIST_QEMU_ARGV, qemuDomainSummary, readQemuList } from './qemu-processes.js';
import { QmpClient, QmpError } from './qmp-client.js';
import { sshSocket } from './qmp-session.js';

export interface QemuBackendOptions {
  links: HostLinks;
  clock?: () => number;
  /** Longest one monitor or host command may take; default 10 s. */
  commandTimeoutMs?: number;
  /** Longest a start or attach waits for both monitors; default 15 s. */
  connectTimeoutMs?: number;
  /** After a failover or stop, how long a side may take to run alone; default 15 s. */
  settleTimeoutMs?: number;
}

/** Enough for hundreds of QEMU command lines; a host that prints more is refused, not believed. */
const MAX_LIST_BYTES = 8 * 1024 * 1024;
/** How often a re-protect's disk copy is asked for its progress, and how long it may stand still before it fails. */
const RESYNC_POLL_MS = 250;
const RESYNC_STALL_MS = 60_000;
/** Where a launched QEMU's own messages go (COLO's errors among them), on its host. */
export function logFile(vm: string, side: 'primary' | 'secondary'): string {
  return `${LOG_DIR}/qemu-${vm}-${side}.log`;
}

export class QemuBackend implements ReplicationBackend {
  readonly kind = 'qemu';
  readonly capabilities: BackendCapabilities = { checkpoints: 'observed', manualCheckpoint: false, modes: ['colo'], attach: true, simulation: false, failoverWhileFrozen: true };
  private readonly clock: () => number;
  private readonly timing: HandleTiming;
  private readonly connectTimeoutMs: number;
  private readonly live = new Set<QemuPairHandle>();
  private readonly lastExits = new Map<string, NonNullable<QemuPairStatus['lastColoExit']>>();

  constructor(private readonly o: QemuBackendOptions) {
    this.clock = o.clock ?? Date.now;
    const command = o.commandTimeoutMs ?? 10_000;
    this.timing = { commandTimeoutMs: command, settleTimeoutMs: o.settleTimeoutMs ?? 15_000, quitTimeoutMs: 10_000 };
    this.connectTimeoutMs = o.connectTimeoutMs ?? 15_000;
  }

  /** The host's QEMU binary, by its --version (the monitors are asked per pair, in preflight). */
  async probe(host: HostRecord, ctx: BackendContext): Promise<HostProbe> {
    const r = await runOnHost(this.o.links.link(host), host, [QEMU_DEFAULTS.binary, '--version'], ctx, { timeoutMs: this.timing.commandTimeoutMs, maxOutputBytes: 64 * 1024 });
    if (r.code !== 0) throw new Error(`${host.name}: ${QEMU_DEFAULTS.binary} --version failed (${exitSummary(r)}); is qemu-system-x86 installed?`);
    const v = qemuVersionOf(r.stdout);
    if (v === null) throw new Error(`${host.name}: ${QEMU_DEFAULTS.binary} --version printed no version ("${firstLine(r.stdout).slice(0, 200)}").`);
    // Whether it offers x-colo is known only from a monitor; the release's warnings hold regardless.
    return { hypervisor: 'qemu', version: `QEMU ${v.major}.${v.minor}.${v.micro}${v.package ? ` (${v.package})` : ''}`, capabilities: [], warnings: releaseWarnings(v) };
  }

  /** The QEMU processes on the host, each with its QMP socket (what an attach needs), from /proc. */
  async inventory(host: HostRecord, ctx: BackendContext): Promise<DomainSummary[]> {
    const r = await runOnHost(this.o.links.link(host), host, LIST_QEMU_ARGV, ctx, { timeoutMs: this.timing.commandTimeoutMs, maxOutputBytes: MAX_LIST_BYTES });
    if (r.code !== 0) throw new Error(`${host.name}: listing QEMU processes failed (${exitSummary(r)}).`);
    return readQemuList(r.stdout).processes.map(qemuDomainSummary);
  }

  async preflight(pair: PairSpec, ctx: BackendContext): Promise<PreflightCheck[]> {
    const o = readQemuOptions(pair.options);
    if (typeof o === 'string') return [{ id: 'options', label: 'Pair options', status: 'fail', detail: o }];
    if (o.launch === true) return this.launchPreflight(pair, o, ctx);
    const checks: PreflightCheck[] = [];
    const probes = await Promise.all((['primary', 'secondary'] as const).map(async (side) => {
      const host = side === 'primary' ? pair.primary : pair.secondary;
      const socket = side === 'primary' ? o.primaryQmp : o.secondaryQmp;
      try {
        const probe = await this.probeMonitor(pair, side, socket);
        ctx.command({ hostId: host.id, command: `QMP ${socket}: query-version, query-migrate-capabilities, query-status, query-colo-status`, result: 'ok', detail: `${probe.version}, ${probe.runState}` });
        return probe;
      } catch (err) {
        const message = err instanceof Error ? err.message : String(err);
        ctx.command({ hostId: host.id, command: `QMP ${socket}: query-version`, result: 'error', detail: message.slice(0, 500) });
        checks.push({ id: `monitor-${side}`, label: `The ${side}'s QMP monitor on ${host.name}`, status: 'fail', detail: `${message} Fix: start QEMU there with -qmp unix:${socket},server=on,wait=off (or check the path).` });
        return null;
      }
    }));
    const [p, s] = probes;
    if (p === null || s === null || p === undefined || s === undefined) return checks;
    for (const [side, probe, host] of [['primary', p, pair.primary], ['secondary', s, pair.secondary]] as const) {
      checks.push({ id: `monitor-${side}`, label: `The ${side}'s QMP monitor on ${host.name}`, status: 'pass', detail: `${probe.version}: ${probe.runState}${probe.colo ? `, COLO mode ${probe.colo.mode}` : ''}` });
      checks.push({ id: `x-colo-${side}`, label: `${host.name}'s QEMU offers COLO (x-colo)`, status: probe.capabilities.includes('x-colo') ? 'pass' : 'fail', ...(probe.capabilities.includes('x-colo') ? {} : { detail: 'This QEMU was built without replication support. Fix: use a QEMU built with CONFIG_REPLICATION.' }) });
      for (const w of releaseWarnings(probe.qemu)) checks.push({ id: `version-${side}`, label: `QEMU on ${host.name}`, status: 'warn', detail: w });
    }
    const running = p.colo?.mode === 'primary' && s.colo?.mode === 'secondary';
    if (running) {
      checks.push({ id: 'colo-running', label: 'COLO already runs', status: 'pass', detail: `${pair.name} is already protected by this pair: the console follows it (no new copy).` });
      return checks;
    }
    checks.push(p.running
      ? { id: 'primary-running', label: `The guest runs on ${pair.primary.name}`, status: 'pass' }
      : { id: 'primary-running', label: `The guest runs on ${pair.primary.name}`, status: 'fail', detail: `Its QEMU is ${p.runState}. Fix: start (cont) the guest on the primary first.` });
    checks.push(s.runState === 'inmigrate'
      ? { id: 'secondary-incoming', label: `${pair.secondary.name}'s QEMU waits for the guest (-incoming)`, status: 'pass' }
      : { id: 'secondary-incoming', label: `${pair.secondary.name}'s QEMU waits for the guest (-incoming)`, status: 'fail', detail: `Its QEMU is ${s.runState}. Fix: start a fresh secondary QEMU with -incoming tcp:<address>:<port>: every protection starts with a full copy into a new secondary.` });
    checks.push(o.incomingUri !== undefined
      ? { id: 'incoming-uri', label: 'Where the primary sends the guest', status: 'pass', detail: o.incomingUri }
      : { id: 'incoming-uri', label: 'Where the primary sends the guest', status: 'fail', detail: 'The pair has no incomingUri. Fix: set it to the secondary\'s -incoming address as the primary reaches it (tcp:<address>:<port>).' });
    return checks;
  }

  async protect(pair: PairSpec, events: PairEvents, ctx: BackendContext): Promise<PairHandle> {
    let o = this.options(pair);
    const plan = o.launch === true ? this.plan(pair, o) : null;
    const launchedPrimary = plan !== null && await this.launch(pair, o, plan, ctx);
    if (plan !== null) o = { ...o, incomingUri: plan.incomingUri };
    const resync: ResyncProgress = { paused: false, childAdded: false };
    const handle = this.handle(pair, o, events, ctx, { phase: 'starting', firstSeq: 0, state: { state: 'starting', since: this.clock(), reasonCode: 'initial-sync', reason: `Enabling COLO on ${pair.primary.name} and ${pair.secondary.name}.` } });
    try {
      await handle.connected(this.connectTimeoutMs);
      const { started } = handle.watch();
      if (plan !== null) {
        for (const step of plan.afterLaunch.secondary) await handle.command('secondary', step.command, step.arguments, ctx);
        if (!launchedPrimary && plan.nbdTarget !== null) await this.resyncDisk(handle, pair, plan.nbdTarget, ctx, resync);
        if (launchedPrimary || plan.nbdTarget !== null) {
          resync.childAdded = true;
          for (const step of plan.afterLaunch.primary) await handle.command('primary', step.command, step.arguments, ctx);
        }
        if (!launchedPrimary) for (const step of await this.proxyToRestore(handle, o, plan, ctx)) await handle.command('primary', step.command, step.arguments, ctx);
      }
      const caps = { capabilities: [{ capability: 'x-colo', state: true }, { capability: 'events', state: true }] };
      await handle.command('secondary', 'migrate-set-capabilities', caps, ctx);
      await handle.command('primary', 'migrate-set-capabilities', caps, ctx);
      if (o.checkpointDelayMs !== undefined) await handle.qemu.setCheckpointDelay(o.checkpointDelayMs, ctx);
      if (o.incomingUri === undefined) throw new Error('The pair has no incomingUri: the primary does not know where to send the guest.');
      handle.sendingMigrate();
      await handle.command('primary', 'migrate', { uri: o.incomingUri }, ctx);
      handle.migrating();
      await started;
      return handle;
    } catch (err) {
      // A guest that ran before runs on as it was: the disk's replication child out again, and resumed if the
      // console paused it for the last of its disk copy.
      if (!launchedPrimary && (resync.paused || resync.jobStarted === true)) await this.resumeAlone(handle, o, resync, ctx);
      // What the console launched for a start that failed is not left behind half set up; a guest that ran before stays.
      if (plan !== null) await handle.end(launchedPrimary ? ['secondary', 'primary'] : ['secondary'], ctx);
      await handle.detach();
      throw err;
    }
  }

  async attach(pair: PairSpec, events: PairEvents, ctx: BackendContext): Promise<PairHandle | null> {
    const o = readQemuOptions(pair.options);
    if (typeof o === 'string') return null;
    let p: QemuProbe;
    let s: QemuProbe;
    try {
      [p, s] = await Promise.all([this.probeMonitor(pair, 'primary', o.primaryQmp), this.probeMonitor(pair, 'secondary', o.secondaryQmp)]);
    } catch {
      // Not reachable now: nothing to follow (the pair shows as not running; a start will say why).
      return null;
    }
    const inColo = p.colo?.mode === 'primary' && s.colo?.mode === 'secondary';
    if (!inColo) return null;
    const firstSeq = (pair.lastSeq ?? -1) + 1;
    const state: ProtectionState = { state: 'protected', since: this.clock() };
    const handle = this.handle(pair, o, events, ctx, { phase: 'colo', firstSeq, state });
    try {
      await handle.connected(this.connectTimeoutMs);
    } catch (err) {
      await handle.detach();
      throw err;
    }
    // The service learns the run's state from its events, as from a start.
    events.state(state);
    handle.watch();
    return handle;
  }

  swappedOptions(options: Readonly<Record<string, string | number | boolean>>): Record<string, string | number | boolean> {
    const out: Record<string, string | number | boolean> = { ...options };
    if (options.primaryQmp !== undefined && options.secondaryQmp !== undefined) {
      out.primaryQmp = options.secondaryQmp;
      out.secondaryQmp = options.primaryQmp;
    }
    // The old incoming address was the old secondary's; the new secondary (a fresh QEMU on the old primary's host)
    // listens wherever it is started.
    delete out.incomingUri;
    // Each side's replication address goes with its host; one given for a side alone falls back to the host's own.
    delete out.replicationAddress;
    delete out.primaryReplicationAddress;
    if (options.primaryReplicationAddress !== undefined) out.replicationAddress = options.primaryReplicationAddress;
    if (options.replicationAddress !== undefined) out.primaryReplicationAddress = options.replicationAddress;
    return out;
  }

  idleStatus(pair: PairSpec): QemuPairStatus | undefined {
    const o = readQemuOptions(pair.options);
    if (typeof o === 'string') return undefined;
    return {
      checkpointDelayMs: o.checkpointDelayMs ?? null,
      migration: null,
      heartbeat: heartbeatOf(o),
      // Nobody watches its monitors.
      primary: null,
      secondary: null,
      lastColoExit: this.lastExits.get(pair.id) ?? null,
      launch: o.launch === true,
    };
  }

  async close(): Promise<void> {
    for (const h of [...this.live]) await h.detach();
  }

  // ---------------------------------------------------------------------------------------------------------------

  private plan(pair: PairSpec, o: QemuPairOptions): LaunchPlan {
    const address = o.replicationAddress ?? pair.secondary.address;
    if (address === undefined) throw new Error(`${pair.name}: set replicationAddress: ${pair.secondary.name} has no address for the primary to migrate to.`);
    const primaryAddress = o.primaryReplicationAddress ?? pair.primary.address;
    if (primaryAddress === undefined && networkOf(o) !== 'none') throw new Error(`${pair.name}: set primaryReplicationAddress: ${pair.primary.name} has no address for the secondary's COLO proxy to connect to.`);
    return launchPlan(pair.domain, o, address, primaryAddress);
  }

  /** What a launch will run, and whether the hosts can: the command lines shown as checks, QEMU's version on each. */
  private async launchPreflight(pair: PairSpec, o: QemuPairOptions, ctx: BackendContext): Promise<PreflightCheck[]> {
    let plan: LaunchPlan;
    try {
      plan = this.plan(pair, o);
    } catch (err) {
      return [{ id: 'launch-plan', label: 'The QEMU command lines', status: 'fail', detail: err instanceof Error ? err.message : String(err) }];
    }
    let running: Awaited<ReturnType<QemuBackend['runningSides']>>;
    try {
      running = await this.runningSides(pair, o);
    } catch (err) {
      return [{ id: 'sockets-free', label: 'The QMP sockets the launch will use', status: 'fail', detail: err instanceof Error ? err.message : String(err) }];
    }
    const checks: PreflightCheck[] = [];
    const line = (side: 'primary' | 'secondary'): string => [...plan[side].prepare, supervisedLaunch(plan[side].argv, logFile(pair.domain, side))].map(shellCommand).join('\n');
    if (running.secondary !== null) {
      checks.push({ id: 'secondary-free', label: `No QEMU at ${o.secondaryQmp} on ${pair.secondary.name}`, status: 'fail', detail: `A QEMU (${running.secondary.runState}) already answers there. Fix: end it (every start copies the guest into a fresh secondary), or attach instead of launching.` });
    } else {
      checks.push({ id: 'command-line-secondary', label: `The console will run this on ${pair.secondary.name}`, status: 'pass', detail: line('secondary') });
    }
    if (running.primary === null) {
      checks.push({ id: 'command-line-primary', label: `The console will run this on ${pair.primary.name}`, status: 'pass', detail: line('primary') });
    } else {
      const disk = o.disk === undefined ? '' : ` Its disk is copied first, whole, into the new secondary's image (drive-mirror over NBD) while the guest runs; the guest then pauses for the last of it.`;
      const proxy = networkOf(o) === 'none' ? '' : ' What it lacks of the COLO proxy is added to it first (chardev-add, object-add).';
      checks.push({ id: 'primary-running', label: `The guest already runs on ${pair.primary.name}`, status: 'pass', detail: `Its QEMU at ${o.primaryQmp} is ${running.primary.runState}: only a new secondary is launched, and the guest is copied to it in full.${disk}${proxy}` });
    }
    const launched = [
      ...(running.primary === null ? [{ side: 'primary' as const, host: pair.primary }] : []),
      ...(running.secondary === null ? [{ side: 'secondary' as const, host: pair.secondary }] : []),
    ];
    const bridge = networkOf(o) === 'bridge' ? o.bridge : undefined;
    const hostChecks = launchHostChecks(plan, launched, bridge, (host, argv, okCodes) =>
      runOnHost(this.o.links.link(host), host, argv, ctx, { timeoutMs: this.timing.commandTimeoutMs, maxOutputBytes: 4 * 1024 * 1024, ...(okCodes === undefined ? {} : { okCodes }) }));
    const binary = o.binary ?? QEMU_DEFAULTS.binary;
    await Promise.all([pair.primary, pair.secondary].map(async (host) => {
      try {
        const r = await runOnHost(this.o.links.link(host), host, [binary, '--version'], ctx, { timeoutMs: this.timing.commandTimeoutMs, maxOutputBytes: 64 * 1024 });
        const v = r.code === 0 ? qemuVersionOf(r.stdout) : null;
        if (v === null) {
          checks.push({ id: `binary-${host.id}`, label: `${binary} on ${host.name}`, status: 'fail', detail: `${binary} --version: ${exitSummary(r)}. Fix: install QEMU there, or set the binary.` });
          return;
        }
        checks.push({ id: `binary-${host.id}`, label: `${binary} on ${host.name}`, status: 'pass', detail: `QEMU ${v.major}.${v.minor}.${v.micro}` });
        for (const w of releaseWarnings(v)) checks.push({ id: `version-${host.id}`, label: `QEMU on ${host.name}`, status: 'warn', detail: w });
        if (o.disk !== undefined) {
          const d = await runOnHost(this.o.links.link(host), host, ['test', '-r', o.disk], ctx, { timeoutMs: this.timing.commandTimeoutMs });
          checks.push(d.code === 0
            ? { id: `disk-${host.id}`, label: `The disk image on ${host.name}`, status: 'pass', detail: o.disk }
            : { id: `disk-${host.id}`, label: `The disk image on ${host.name}`, status: 'fail', detail: `${o.disk} cannot be read there. Fix: put the same image at the same path on both hosts.` });
        }
      } catch (err) {
        checks.push({ id: `binary-${host.id}`, label: `${binary} on ${host.name}`, status: 'fail', detail: err instanceof Error ? err.message : String(err) });
      }
    }));
    checks.push(...await hostChecks);
    return checks;
  }

  /**
   * "Resume replication" for the disk of a guest that ran on alone: its whole disk mirrored into the new secondary's
   * NBD export while it runs, then paused for the last of it. Progress shows on the pair; a copy that stops moving
   * for RESYNC_STALL_MS, or ends before it is ready, fails the start.
   */
  private async resyncDisk(handle: QemuPairHandle, pair: PairSpec, nbdTarget: string, ctx: BackendContext, resync: ResyncProgress): Promise<void> {
    const quiet: BackendContext = { ...ctx, command: () => {} };
    const what = `the copy of ${pair.name}'s disk to ${pair.secondary.name} (${nbdTarget})`;
    const start = diskResyncStart(nbdTarget);
    await handle.command('primary', start.command, start.arguments, ctx);
    resync.jobStarted = true;
    // The generic job list: it keeps a job that ended (auto-dismiss off) with QEMU's error, until it is dismissed.
    const job = async (): Promise<Record<string, unknown> | undefined> => {
      const jobs = await handle.command<unknown>('primary', 'query-jobs', undefined, quiet);
      return (Array.isArray(jobs) ? jobs : []).find((j): j is Record<string, unknown> => typeof j === 'object' && j !== null && (j as Record<string, unknown>).id === RESYNC_JOB);
    };
    const ended = (j: Record<string, unknown> | undefined): boolean => j === undefined || ['concluded', 'null', 'aborting'].includes(String(j.status));
    let lastDone = -1;
    let movedAt = this.clock();
    for (;;) {
      const j = await job();
      if (ended(j)) {
        const error = typeof j?.error === 'string' ? j.error : 'it ended before it was complete';
        throw new Error(`${pair.primary.name}: ${what} failed: ${error}.`);
      }
      const done = Number(j!['current-progress']) || 0;
      if (!handle.resyncing(done, Number(j!['total-progress']) || 0)) throw new Error(`${pair.name}: the start was given up during the disk copy.`);
      if (j!.status === 'ready') break;
      if (done !== lastDone) {
        lastDone = done;
        movedAt = this.clock();
      } else if (this.clock() - movedAt > RESYNC_STALL_MS) {
        throw new Error(`${pair.primary.name}: ${what} has not moved for ${RESYNC_STALL_MS / 1000} s (at ${done} of ${String(j!['total-progress'])} bytes).`);
      }
      await delay(RESYNC_POLL_MS);
    }
    resync.paused = true;
    await handle.command('primary', 'stop', undefined, ctx);
    // On a ready mirror, cancel completes it without switching the guest to the copy.
    await handle.command('primary', 'block-job-cancel', { device: RESYNC_JOB }, ctx);
    const deadline = this.clock() + this.timing.commandTimeoutMs;
    for (let j = await job(); !ended(j); j = await job()) {
      if (this.clock() > deadline) throw new Error(`${pair.primary.name}: the disk copy's job did not end within ${this.timing.commandTimeoutMs / 1000} s of block-job-cancel.`);
      await delay(RESYNC_POLL_MS);
    }
    await handle.command('primary', 'job-dismiss', { id: RESYNC_JOB }, ctx);
    resync.jobStarted = false;
  }

  /** After a failed re-protect: the running guest as it was before it, each step tried whatever became of the last. */
  private async resumeAlone(handle: QemuPairHandle, o: QemuPairOptions, resync: ResyncProgress, ctx: BackendContext): Promise<void> {
    const layout = coloLayout(o);
    const steps: QmpStep[] = [
      ...(resync.jobStarted ? [{ command: 'block-job-cancel', arguments: { device: RESYNC_JOB, force: true } }, { command: 'job-dismiss', arguments: { id: RESYNC_JOB } }] : []),
      ...(resync.childAdded && layout !== null ? primaryAloneSteps({ ...layout, network: false }) : []),
      ...(resync.paused ? [{ command: 'cont' }] : []),
    ];
    for (const step of steps) await handle.command('primary', step.command, step.arguments, ctx).catch(() => {});
  }

  /**
   * The COLO proxy a guest that ran on alone needs again before a new start: it lost its own when it left COLO, or
   * had a secondary's. Read from what its QEMU holds now, so a step is never repeated.
   */
  private async proxyToRestore(handle: QemuPairHandle, o: QemuPairOptions, plan: LaunchPlan, ctx: BackendContext): Promise<QmpStep[]> {
    const layout = coloLayout(o);
    if (layout === null || !layout.network) return [];
    const [objects, chardevs] = await Promise.all([
      handle.command<unknown>('primary', 'qom-list', { path: '/objects' }, ctx),
      handle.command<unknown>('primary', 'query-chardev', undefined, ctx),
    ]);
    return primaryProxySteps(layout, plan.proxyAddress, { objects: idsIn(objects, 'name'), chardevs: idsIn(chardevs, 'label') });
  }

  /** The sides whose QEMU already answers at the pair's socket (a guest that ran on after a stop or a failover). */
  private async runningSides(pair: PairSpec, o: QemuPairOptions): Promise<{ primary: QemuProbe | null; secondary: QemuProbe | null }> {
    // No connection means no QEMU there. A connection that answered, but not as a monitor should, means something
    // holds the socket: launching over it would take its path from a QEMU that may run on.
    const look = (side: 'primary' | 'secondary', socket: string): Promise<QemuProbe | null> => this.probeMonitor(pair, side, socket).catch((err: unknown) => {
      if (err instanceof QmpError) throw new Error(`Something answers at ${socket} on ${side === 'primary' ? pair.primary.name : pair.secondary.name}, but not as QEMU's monitor should (${err.message}); the console launches nothing over it. Fix: find what holds that socket.`);
      return null;
    });
    const [primary, secondary] = await Promise.all([look('primary', o.primaryQmp), look('secondary', o.secondaryQmp)]);
    return { primary, secondary };
  }

  /**
   * Starts the QEMUs detached on their hosts: the secondary first (it waits on -incoming), then the primary (paused)
   * unless the guest already runs there; returns whether the primary was launched.
   */
  private async launch(pair: PairSpec, o: QemuPairOptions, plan: LaunchPlan, ctx: BackendContext): Promise<boolean> {
    const running = await this.runningSides(pair, o);
    if (running.secondary !== null) throw new Error(`${pair.secondary.name}: a QEMU already answers at ${o.secondaryQmp}; end it first (every start copies the guest into a fresh secondary).`);
    const sides = running.primary === null ? (['secondary', 'primary'] as const) : (['secondary'] as const);
    for (const side of sides) {
      const host = side === 'primary' ? pair.primary : pair.secondary;
      const link = this.o.links.link(host);
      for (const argv of [...plan[side].prepare, supervisedLaunch(plan[side].argv, logFile(pair.domain, side))]) {
        const r = await runOnHost(link, host, argv, ctx, { timeoutMs: this.timing.commandTimeoutMs * 3, maxOutputBytes: 256 * 1024 });
        if (r.code !== 0) throw new Error(`${host.name}: starting the ${side}'s QEMU failed at \`${argv[0]}\` (${exitSummary(r)}): ${r.stderr.trim().slice(-600)}`);
      }
    }
    return running.primary === null;
  }

  private options(pair: PairSpec): QemuPairOptions {
    const o = readQemuOptions(pair.options);
    if (typeof o === 'string') throw new Error(`${pair.name}: ${o}`);
    return o;
  }

  private handle(pair: PairSpec, o: QemuPairOptions, events: PairEvents, ctx: BackendContext, start: { phase: 'starting' | 'colo'; firstSeq: number; state: ProtectionState }): QemuPairHandle {
    const h: QemuPairHandle = new QemuPairHandle(
      pair,
      events,
      { primary: this.o.links.link(pair.primary), secondary: this.o.links.link(pair.secondary) },
      { primary: o.primaryQmp, secondary: o.secondaryQmp },
      ctx,
      this.clock,
      this.timing,
      heartbeatOf(o),
      start,
      coloLayout(o),
      () => {
        this.live.delete(h);
        // What QEMU said last outlives the run: a failover's COLO_EXIT stays on the pair's screen.
        const exit = h.qemu.status().lastColoExit;
        if (exit !== null) this.lastExits.set(pair.id, exit);
      },
    );
    this.live.add(h);
    return h;
  }

  /** One look at a side's monitor through a connection of its own, closed after; a refused socket fails at once. */
  private async probeMonitor(pair: PairSpec, side: 'primary' | 'secondary', socket: string): Promise<QemuProbe> {
    const host = side === 'primary' ? pair.primary : pair.secondary;
    const name = `${pair.name} (${side}, ${host.name})`;
    const stream = await withTimeout(sshSocket(this.o.links.link(host), socket)(), this.connectTimeoutMs, `${name}: the monitor socket ${socket} could not be reached within ${this.connectTimeoutMs / 1000} s.`);
    const client = await QmpClient.open(stream, { name, timeoutMs: this.timing.commandTimeoutMs, clock: this.clock });
    try {
      return await probeQemu(name, client);
    } finally {
      client.close();
    }
  }
}

function withTimeout<T>(p: Promise<T>, ms: number, message: string): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  return Promise.race([p, new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new Error(message)), ms);
  })]).finally(() => clearTimeout(timer));
}

/** How far a re-protect got with the running guest's disk, so that a failure can put it back as it was. */
interface ResyncProgress {
  jobStarted?: boolean;
  paused: boolean;
  childAdded: boolean;
}

/** The string `key` of each entry of a QMP list reply; anything else in it is ignored. */
function idsIn(reply: unknown, key: string): Set<string> {
  const ids = new Set<string>();
  if (Array.isArray(reply)) {
    for (const item of reply) {
      const v: unknown = typeof item === 'object' && item !== null ? (item as Record<string, unknown>)[key] : undefined;
      if (typeof v === 'string') ids.add(v);
    }
  }
  return ids;
}

