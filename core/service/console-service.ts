// ConsoleService: the one object the Electron main process (or the headless `serve`) owns. It holds the registry
// of hosts and pairs, one PairController per pair, the live buffers, the history and audit databases and the
// settings, and it is what consoleHandlers() exposes as the ConsoleContract over any RPC channel.
//
// Every admin action goes through act(): it runs the action, then appends one audit entry with the result, ok or
// error, so a refused action (wrong confirmation, wrong state) is on record too. Commands the backends send to
// hosts are audited as they happen, under the admin who caused them.

import { chmodSync, mkdirSync } from 'node:fs';
import { userInfo } from 'node:os';
import path from 'node:path';
import { performance } from 'node:perf_hooks';
import { z } from 'zod';
import type {
  AuditEntry,
  ConsoleContract,
  DomainSummaryInfo,
  DrillRecord,
  DrillReport,
  HostAdd,
  HostInfo,
  HostProbeInfo,
  PairDraft,
  PreflightCheckInfo,
  PairEvent,
  PairInfo,
  QemuPairStatus,
  RunSummary,
  Settings,
  SimSettings,
} from '../api/console-contract.js';
import { RpcError } from '../api/errors.js';
import type { Handlers } from '../api/server.js';
import type { QemuLiveSettings } from '../backends/qemu/qemu-options.js';
import type { SimFault, SimPairOptions } from '../backends/sim/pair.js';
import type { CycleRecord } from '../colo/types.js';
import { appVersion } from './app-version.js';
import { AUDIT_FILE, type AuditInput, AuditLog, type AuditVerdict } from './audit.js';
import { domainNameProblem } from '../backends/xen/xl-commands.js';
import type { Backoff } from '../ssh/host-link.js';
import type { BackendContext, BackendKind, HostLinks, HostProbe, PairSpec, ReplicationBackend } from './backend.js';
import { HostConnections, HostKeyRefusal } from './host-connections.js';
import { newHostRecord, uniqueId } from './new-host.js';
import { type ExportFile, exportCsv, exportJson } from './export.js';
import { type DataDirLock, acquireDataDirLock } from './data-dir-lock.js';
import { type Problem, removeStaleTempFiles } from './files.js';
import { HISTORY_FILE, History, type StoredEvent } from './history.js';
import { LIVE_EVENTS, type PairLive } from './live.js';
import { PairController } from './pair-controller.js';
import { RecordingPairLive, RunOutputRecorder, SAVE_EVERY_MS } from './run-output.js';
import { DEMO_PAIR_ID, type HostRecord, type PairRecord, Registry } from './registry.js';
import { SettingsStore } from './settings.js';
import { SimBackend } from './sim-backend.js';
import { XenBackend } from '../backends/xen/xen-backend.js';
import { QemuBackend } from '../backends/qemu/qemu-backend.js';
import { JsonFileRunStore } from '../backends/xen/xen-run-store.js';

/** The actor of what the console does by itself (auto-start, file recovery, shutdown). */
export const SYSTEM_ACTOR = 'colo-console';

const STATS_TICK_MS = 1000;
const OUTPUT_SLOT_MS = 100;
const OUTPUT_SLOTS = 10;
const RETENTION_EVERY_MS = 3_600_000;
const EXPORT_MAX_CYCLES = 100_000;
const EXPORT_DEFAULT_WINDOW_MS = 86_400_000;
const CLOSE_PAIR_MS = 15_000;
/** How often open checkpoints are judged against the overdue and frozen thresholds. */
const ALARM_TICK_MS = 250;
/** How much longer than one SSH handshake an answer waits for a connection attempt (hops add their own). */
const SETTLE_SLACK_MS = 5000;
/** States in which a pair's current run goes on (a settings change then lands in the middle of it). */
const RUN_ACTIVE: ReadonlySet<string> = new Set(['starting', 'syncing', 'protected', 'degraded', 'failing-over']);
/** States in which the guest's output goes through the replication (held until the copies agree or commit). */
const REPLICATING: ReadonlySet<string> = new Set(['protected', 'degraded']);
/** The same write failure becomes a problem at most this often (a full disk fails every flush, 4 a second). */
const PROBLEM_REPEAT_MS = 60_000;
/** Problems kept for app.problems; the oldest go first. */
const MAX_PROBLEMS = 500;

/** Actions that destroy or stop something: each is performed only once its intent is in the audit log. */
const DESTRUCTIVE_ACTIONS: ReadonlySet<string> = new Set(['pairs.stop', 'pairs.failover', 'pairs.drill', 'pairs.keep', 'pairs.remove']);
const DESTRUCTIVE_FAULTS: ReadonlySet<string> = new Set(['kill-primary', 'kill-secondary', 'cut-link']);

/** Whether a call is destructive: `fault` is sim.inject's (absent or unreadable counts as destructive). */
export function isDestructive(method: string, fault?: unknown): boolean {
  if (DESTRUCTIVE_ACTIONS.has(method)) return true;
  return method === 'sim.inject' && (typeof fault !== 'string' || DESTRUCTIVE_FAULTS.has(fault));
}

export interface ConsoleServiceOptions {
  /** Where registry.json, settings.json, history.sqlite and audit.sqlite live (created if missing). */
  dataDir: string;
  /** Start protecting the demo pair when the service starts; default true. */
  autoStartDemo?: boolean;
  /** Wall clock for the service's own timestamps (audit, events, retention, stats); default Date.now. */
  clock?: () => number;
  /** Overrides for every simulated pair (tests: small guests, an unpaced link, a short COLO wait). */
  simOverrides?: Partial<SimPairOptions>;
  /**
   * Backends by family; default: the simulator, and Xen over the service's SSH links. As a function, it is given
   * those links (one per host, host keys and secrets handled by the service) to build the SSH backends with.
   */
  backends?: Partial<Record<BackendKind, ReplicationBackend>> | ((links: HostLinks) => Partial<Record<BackendKind, ReplicationBackend>>);
  /** SSH settings: the user's known_hosts and ssh config (tests point these at their own), the agent, the pace. */
  ssh?: {
    userKnownHosts?: readonly string[];
    sshConfigFile?: string;
    agentSocket?: string;
    readyTimeoutMs?: number;
    backoff?: Backoff;
  };
  /** Reported by app.info; default: the version in package.json. */
  version?: string;
  /** Faults inside the service that no caller is waiting for (a history write failing, a backend teardown). */
  onError?: (err: unknown, where: string) => void;
  /** Longest a stop or failover may take; default 30 s. */
  actionTimeoutMs?: number;
  /** Longest a drill waits for the re-protected pair to be 'protected'; default 120 s. */
  reprotectTimeoutMs?: number;
  /** What this process is, for the data directory's lock (a second console names it); default: its command line. */
  owner?: string;
}

export interface OutputEvent {
  pairId: string;
  heldP50Ms: number | null;
  heldP99Ms: number | null;
  packetsPerSecond: number;
}

type Listener<A extends unknown[]> = (...args: A) => void;

class Listeners<A extends unknown[]> {
  private readonly set = new Set<Listener<A>>();
  constructor(private readonly onError: (err: unknown) => void) {}
  add(fn: Listener<A>): () => void {
    this.set.add(fn);
    return () => this.set.delete(fn);
  }
  get size(): number {
    return this.set.size;
  }
  emit(...args: A): void {
    for (const fn of this.set) {
      try {
        fn(...args);
      } catch (err) {
        this.onError(err);
      }
    }
  }
  clear(): void {
    this.set.clear();
  }
}

export class ConsoleService {
  readonly dataDir: string;
  readonly version: string;
  private readonly clock: () => number;
  private readonly opts: ConsoleServiceOptions;
  private readonly backends: Map<BackendKind, ReplicationBackend>;
  /** One shared SSH link per host; host keys and this session's secrets. */
  readonly connections: HostConnections;
  /** The last probe of each SSH host, or why it failed. */
  private readonly probes = new Map<string, { probe: HostProbe } | { error: string }>();
  /** Hosts whose link was connected when last seen, so that each (re)connection probes once. */
  private readonly hostsUp = new Set<string>();
  private readonly problemList: Problem[] = [];
  private readonly controllers = new Map<string, PairController>();
  private readonly lives = new Map<string, PairLive>();
  private readonly lastStatsKey = new Map<string, string>();
  /** Simulated hosts a kill fault took down, with why, until protection starts again. */
  private readonly simHostsDown = new Map<string, string>();
  private readonly timers: NodeJS.Timeout[] = [];
  private settingsStore: SettingsStore | undefined;
  private registryStore: Registry | undefined;
  private historyDb: History | undefined;
  private auditLog: AuditLog | undefined;
  private state: 'new' | 'starting' | 'running' | 'closing' | 'closed' = 'new';
  private outputSlot = 0;
  private pruning: Promise<unknown> = Promise.resolve();
  private closing: Promise<void> | undefined;
  private readonly runOutput = new RunOutputRecorder(() => this.history, () => this.clock(), (err, where) => this.log(err, where));

  private readonly pairListeners: Listeners<[PairInfo]>;
  private readonly cycleListeners: Listeners<[string, CycleRecord]>;
  private readonly eventListeners: Listeners<[PairEvent]>;
  private readonly outputListeners: Listeners<[OutputEvent]>;
  private readonly auditListeners: Listeners<[AuditEntry]>;
  private readonly problemListeners: Listeners<[Problem]>;
  private readonly hostListeners: Listeners<[HostInfo]>;
  private readonly problemLastAt = new Map<string, number>();
  private lock: DataDirLock | undefined;
  /** The last audit append failed: until one succeeds, every action writes its intent first (audit or refuse). */
  private auditFailing = false;

  constructor(opts: ConsoleServiceOptions) {
    this.opts = opts;
    this.dataDir = path.resolve(opts.dataDir);
    this.clock = opts.clock ?? Date.now;
    this.version = opts.version ?? appVersion();
    this.backends = new Map();
    const ssh = opts.ssh ?? {};
    this.connections = new HostConnections({
      dataDir: this.dataDir,
      ...(ssh.userKnownHosts === undefined ? {} : { userKnownHosts: ssh.userKnownHosts }),
      ...(ssh.agentSocket === undefined ? {} : { agentSocket: ssh.agentSocket }),
      ...(ssh.readyTimeoutMs === undefined ? {} : { readyTimeoutMs: ssh.readyTimeoutMs }),
      ...(ssh.backoff === undefined ? {} : { backoff: ssh.backoff }),
      now: this.clock,
      onChange: (hostId) => this.hostChanged(hostId),
    });
    const onListenerError = (err: unknown): void => this.log(err, 'listener');
    this.pairListeners = new Listeners(onListenerError);
    this.cycleListeners = new Listeners(onListenerError);
    this.eventListeners = new Listeners(onListenerError);
    this.outputListeners = new Listeners(onListenerError);
    this.auditListeners = new Listeners(onListenerError);
    this.problemListeners = new Listeners(onListenerError);
    this.hostListeners = new Listeners(onListenerError);
  }

  /**
   * Opens (or creates) every file, recovering from corrupt ones, then starts the demo pair unless told not to.
   * Corrupt files never stop the start: they are moved aside and listed in `problems` (and audited).
   */
  async start(): Promise<void> {
    if (this.state !== 'new') throw new Error('ConsoleService.start() may be called once');
    this.state = 'starting';
    mkdirSync(this.dataDir, { recursive: true, mode: 0o700 });
    const now = this.clock();
    try {
      // First the lock: nothing in the directory is touched while another console may be writing it.
      this.lock = acquireDataDirLock(this.dataDir, this.opts.owner ?? defaultOwner(), now);
      if (process.platform !== 'win32') chmodSync(this.dataDir, 0o700);
      removeStaleTempFiles(this.dataDir);
      const report = (p: Problem): void => this.addProblem(p);
      this.settingsStore = SettingsStore.load(this.dataDir, report, now);
      this.registryStore = Registry.load(this.dataDir, report, now);
      // The backends keep their own files here too (a Xen run's log offset), so they come after the lock.
      this.createBackends(report);
      this.auditLog = new AuditLog(this.dataDir, {
        report,
        now,
        clock: this.clock,
        onAnchorError: (err) => this.writeFailed(path.join(this.dataDir, 'audit.anchor'), 'The audit log\'s anchor could not be updated', err),
      });
      const anchored = this.auditLog.anchoredEntries;
      this.historyDb = new History(this.dataDir, {
        report,
        now,
        onError: (err, where) => this.writeFailed(path.join(this.dataDir, HISTORY_FILE), `The metrics history could not be written (${where})`, err),
        dataExisted: () => (anchored > 0 ? `the audit log records ${anchored} entries, so the console has stored history here before` : null),
      });
    } catch (err) {
      this.historyDb?.close();
      this.auditLog?.close();
      this.historyDb = undefined;
      this.auditLog = undefined;
      this.lock?.release();
      this.state = 'closed';
      throw err;
    }
    this.historyDb.describeRunsWith((pairId) => this.registry.pair(pairId)?.sim ?? null);
    const audit = this.auditLog;
    for (const p of this.problemList) {
      audit.append({ actor: SYSTEM_ACTOR, action: 'file.recover', target: path.basename(p.file), result: 'error', detail: p.message });
    }
    audit.onAppend((e) => this.auditListeners.emit(e));
    // The whole chain is walked in the background (slices; a million entries take seconds): the start only compared
    // the head with its anchor. A break found here is a problem like any other; the log is evidence and stays as is.
    void audit.verify().then((verdict) => {
      if (verdict.ok || verdict.reason === audit.startFinding?.reason) return;
      this.addProblem({ at: this.clock(), file: path.join(this.dataDir, AUDIT_FILE), message: `The audit log failed its integrity check at entry ${verdict.firstBadSeq}: ${verdict.reason}` });
    }, (err: unknown) => {
      if (this.state !== 'running') return;
      // A damaged page (SQLITE_CORRUPT) read by the walk: the start skipped the O(N) integrity check for this.
      this.addProblem({ at: this.clock(), file: path.join(this.dataDir, AUDIT_FILE), message: `The audit log could not be verified: ${messageOf(err)}` });
    });

    for (const record of this.registry.pairs()) this.addController(record.id);
    for (const h of this.registry.hosts()) if (h.kind === 'ssh') this.connections.connect(h);
    // Protection on real hosts went on without the console: follow it again, from where the console stopped.
    for (const [id, c] of this.controllers) {
      c.attach(SYSTEM_ACTOR).catch((err: unknown) => this.log(err, `attach ${id}`));
    }
    this.startTimers();
    this.pruning = this.prune();
    this.state = 'running';

    if (this.opts.autoStartDemo ?? true) {
      try {
        await this.startPair(DEMO_PAIR_ID, SYSTEM_ACTOR);
      } catch (err) {
        // Audited by act(); the console still starts, showing the pair's error state.
        this.log(err, 'demo auto-start');
      }
    }
  }

  /**
   * Ends every simulated pair cleanly (real hosts keep replicating), flushes history and closes the files. Safe to
   * call more than once; later calls wait for the first. A pair that does not let go within CLOSE_PAIR_MS is
   * logged and left behind, so quitting the app can never hang on it.
   */
  close(): Promise<void> {
    this.closing ??= this.shutDown();
    return this.closing;
  }

  private async shutDown(): Promise<void> {
    if (this.state === 'new' || this.state === 'closed') {
      this.state = 'closed';
      return;
    }
    this.state = 'closing';
    for (const t of this.timers) clearInterval(t);
    this.timers.length = 0;
    const ctx = this.context(SYSTEM_ACTOR);
    await Promise.all([...this.controllers.values()].map(async (c) => {
      let timer: NodeJS.Timeout | undefined;
      try {
        await Promise.race([
          c.detach(ctx),
          new Promise((_, reject) => {
            timer = setTimeout(() => reject(new Error(`pair ${c.id} did not stop within ${CLOSE_PAIR_MS} ms`)), CLOSE_PAIR_MS);
          }),
        ]);
      } catch (err) {
        this.log(err, `close pair ${c.id}`);
      } finally {
        clearTimeout(timer);
      }
    }));
    for (const b of this.backends.values()) {
      try {
        await b.close();
      } catch (err) {
        this.log(err, `close backend ${b.kind}`);
      }
    }
    this.connections.close();
    await this.pruning.catch(() => {});
    if (this.historyDb !== undefined) this.runOutput.save();
    this.historyDb?.close();
    this.auditLog?.close();
    this.lock?.release();
    for (const l of [this.pairListeners, this.cycleListeners, this.eventListeners, this.outputListeners, this.auditListeners, this.problemListeners, this.hostListeners]) l.clear();
    this.state = 'closed';
  }

  /**
   * Problems with the console's own data: files found corrupt at start (moved aside, or not), a broken audit chain,
   * writes that failed while running. The UI shows each; onProblem() delivers them as they happen.
   */
  get problems(): readonly Problem[] {
    return [...this.problemList];
  }

  /** The backends by family: the simulator always; Xen over the service's SSH links unless the caller gives its own. */
  private createBackends(report: (p: Problem) => void): void {
    const opts = this.opts;
    const given = typeof opts.backends === 'function' ? opts.backends(this.connections) : (opts.backends ?? {});
    this.backends.set('sim', given.sim ?? new SimBackend(opts.simOverrides));
    this.backends.set('xen', given.xen ?? new XenBackend({ links: this.connections, runStore: new JsonFileRunStore(this.dataDir, report, this.clock) }));
    this.backends.set('qemu', given.qemu ?? new QemuBackend({ links: this.connections, clock: this.clock }));
  }

  /** A host's connection, host-key step or probe result changed. */
  onHost(fn: (h: HostInfo) => void): () => void {
    return this.hostListeners.add(fn);
  }

  private emitHost(hostId: string): void {
    const host = this.registry.host(hostId);
    if (host !== undefined && this.hostListeners.size > 0) this.hostListeners.emit(this.hostInfo(host));
  }

  onProblem(fn: (p: Problem) => void): () => void {
    return this.problemListeners.add(fn);
  }

  private addProblem(p: Problem): void {
    this.problemList.push(p);
    if (this.problemList.length > MAX_PROBLEMS) this.problemList.splice(0, this.problemList.length - MAX_PROBLEMS);
    this.problemListeners.emit(p);
  }

  /** A write that failed while running: logged each time, a problem at most once a minute per kind. */
  private writeFailed(file: string, what: string, err: unknown): void {
    this.log(err, what);
    const message = `${what}: ${messageOf(err)}`.slice(0, 4000);
    const key = `${file}\0${what}\0${errnoOf(err)}`;
    const now = this.clock();
    const last = this.problemLastAt.get(key);
    if (last !== undefined && now - last < PROBLEM_REPEAT_MS) return;
    this.problemLastAt.set(key, now);
    this.addProblem({ at: now, file, message });
  }

  // ---------------------------------------------------------------------------------------------------------------
  // Reads

  hosts(): HostInfo[] {
    return this.registry.hosts().map((h) => this.hostInfo(h));
  }

  pairs(): PairInfo[] {
    return [...this.controllers.values()].map((c) => this.pairInfo(c));
  }

  pair(pairId: string): PairInfo {
    return this.pairInfo(this.controller(pairId));
  }

  /** History for charts: oldest first, decimated to `limit` keeping spikes (History.cycles). */
  cycles(pairId: string, q: { since: number; until?: number; limit: number }): CycleRecord[] {
    this.controller(pairId);
    return this.history.cycles(pairId, q);
  }

  /** The pair's most recent events, oldest first: from memory when the live buffer holds enough, else from disk. */
  events(pairId: string, limit: number): PairEvent[] {
    this.controller(pairId);
    if (limit <= LIVE_EVENTS) {
      const ring = this.lives.get(pairId)!.events;
      return ring.toArray().slice(-limit);
    }
    return this.history.events(pairId, limit).map(stripData);
  }

  exportPair(pairId: string, format: 'csv' | 'json', since?: number): ExportFile {
    const c = this.controller(pairId);
    const now = this.clock();
    const from = since ?? now - EXPORT_DEFAULT_WINDOW_MS;
    const rows = this.history.recentCyclesWithRun(pairId, from, EXPORT_MAX_CYCLES + 1);
    const truncated = rows.length > EXPORT_MAX_CYCLES;
    const record = c.record;
    const input = {
      pair: { id: record.id, name: record.name, backend: record.backend, mode: record.mode },
      cycles: truncated ? rows.slice(rows.length - EXPORT_MAX_CYCLES) : rows,
      events: this.events(pairId, 10_000).filter((e) => e.at >= from),
      since: from,
      exportedAt: now,
      truncated,
    };
    return format === 'csv' ? exportCsv(input) : exportJson(input);
  }

  /** The pair's most recent protection runs, newest first, with settings and figures (held output saved first). */
  runs(pairId: string, limit: number): RunSummary[] {
    this.controller(pairId);
    this.runOutput.save();
    return this.history.runs(pairId, limit);
  }

  drills(pairId: string, limit: number): DrillRecord[] {
    this.controller(pairId);
    return this.history.drills(pairId, limit);
  }

  cycleCount(pairId: string, since: number, until?: number): number {
    this.controller(pairId);
    return this.history.cycleCount(pairId, since, until);
  }

  auditList(limit: number, beforeSeq?: number): AuditEntry[] {
    return this.audit.list(limit, beforeSeq);
  }

  /** Walks the chain without blocking the service (AuditLog.verify yields between slices). */
  auditVerify(): Promise<AuditVerdict> {
    return this.audit.verify();
  }

  settings(): Settings {
    return this.settingsStore!.get();
  }

  // ---------------------------------------------------------------------------------------------------------------
  // Admin actions (audited)

  async startPair(pairId: string, actor: string): Promise<PairInfo> {
    return this.act(actor, 'pairs.start', pairId, async (c) => {
      await c.start(actor);
      return this.pairInfo(c);
    });
  }

  async stopPair(pairId: string, confirmName: string, actor: string): Promise<PairInfo> {
    return this.act(actor, 'pairs.stop', pairId, async (c) => {
      await c.stop(actor, confirmName);
      return this.pairInfo(c);
    });
  }

  async failover(pairId: string, confirmName: string, actor: string, fencedHost?: string): Promise<PairInfo> {
    return this.act(actor, 'pairs.failover', pairId, async (c) => {
      await c.failover(actor, confirmName, fencedHost);
      return this.pairInfo(c);
    }, undefined, fencedHost === undefined ? undefined : `the admin confirmed by typing "${fencedHost.slice(0, 256)}" that the primary host is fenced`);
  }

  /** A QEMU pair's checkpoint delay (live while protected) and heartbeat settings. */
  async configureQemu(pairId: string, change: QemuLiveSettings, actor: string): Promise<PairInfo> {
    return this.act(actor, 'qemu.configure', pairId, async (c) => {
      await c.configureQemu(actor, change);
      return this.pairInfo(c);
    }, undefined, JSON.stringify(change));
  }

  async drill(pairId: string, confirmName: string, actor: string): Promise<DrillReport> {
    // A drill that started (its 'drill' event) is kept with its outcome; one refused before starting is not.
    let startedAt: number | null = null;
    const mode = this.controllers.get(pairId)?.record.mode ?? 'colo';
    const off = this.eventListeners.add((e) => {
      if (e.pairId === pairId && e.kind === 'drill') startedAt ??= e.at;
    });
    try {
      const report = await this.act(actor, 'pairs.drill', pairId, (c) => c.drill(actor, confirmName), (r) =>
        `guest downtime ${r.guestDowntimeMs.toFixed(1)} ms, re-protected after ${r.timeToReprotectMs.toFixed(0)} ms`);
      this.keepDrill({
        pairId, at: startedAt ?? this.clock(), mode, ok: true, guestDowntimeMs: report.guestDowntimeMs,
        timeToReprotectMs: report.timeToReprotectMs, failover: report.failover, finalState: report.finalState,
      });
      return report;
    } catch (err) {
      if (startedAt !== null) {
        const c = this.controllers.get(pairId);
        const failover = c?.lastFailover && c.lastFailover.at >= startedAt ? c.lastFailover : null;
        this.keepDrill({
          pairId, at: startedAt, mode, ok: false, error: messageOf(err),
          ...(failover === null ? {} : { failover, guestDowntimeMs: failover.guestDowntimeMs }),
          ...(c === undefined ? {} : { finalState: c.state }),
        });
      }
      throw err;
    } finally {
      off();
    }
  }

  /** Stores a drill's outcome; a failing write is reported, it does not change the drill's result. */
  private keepDrill(drill: Parameters<History['addDrill']>[0]): void {
    try {
      this.history.addDrill(drill);
    } catch (err) {
      this.log(err, 'store drill');
    }
  }

  /** Ends split brain: keeps the copy on `keep`'s host and destroys the other (typed confirmation). */
  async keepCopy(pairId: string, keep: 'primary' | 'secondary', confirmName: string, actor: string): Promise<PairInfo> {
    return this.act(actor, 'pairs.keep', pairId, async (c) => {
      await c.keep(actor, confirmName, keep);
      return this.pairInfo(c);
    }, undefined, `keep the ${keep}'s copy`);
  }

  async checkpoint(pairId: string, actor: string): Promise<PairInfo> {
    return this.act(actor, 'pairs.checkpoint', pairId, (c) => {
      c.checkpoint(actor);
      return Promise.resolve(this.pairInfo(c));
    });
  }

  async configureSim(pairId: string, change: { mode?: 'colo' | 'remus'; sim?: Partial<SimSettings> }, actor: string): Promise<PairInfo> {
    return this.act(actor, 'sim.configure', pairId, (c) => {
      const before = JSON.stringify(c.record.sim);
      c.configureSim(actor, change);
      if (RUN_ACTIVE.has(c.state.state) && JSON.stringify(c.record.sim) !== before) this.history.runSettingsChanged(pairId, this.clock());
      return Promise.resolve(this.pairInfo(c));
    }, undefined, JSON.stringify(change));
  }

  async injectSim(pairId: string, fault: SimFault, on: boolean, actor: string): Promise<PairInfo> {
    return this.act(actor, 'sim.inject', pairId, (c) => {
      c.inject(actor, fault, on);
      return Promise.resolve(this.pairInfo(c));
    }, undefined, `${fault} ${on ? 'on' : 'off'}`);
  }

  setSettings(change: Partial<Settings>, actor: string): Settings {
    const detail = JSON.stringify(change);
    try {
      const before = this.settingsStore!.get();
      const next = this.settingsStore!.set(change);
      this.record({ actor, action: 'settings.set', target: 'settings', result: 'ok', detail });
      if (next.historyRetentionDays < before.historyRetentionDays) this.pruning = this.prune();
      return next;
    } catch (err) {
      this.record({ actor, action: 'settings.set', target: 'settings', result: 'error', detail: `${detail}: ${messageOf(err)}` });
      if (err instanceof RpcError) throw err;
      if (err instanceof z.ZodError) throw new RpcError('bad-request', `invalid settings: ${z.prettifyError(err)}`);
      // The store changes its value only after the file is written, so nothing changed.
      throw new RpcError('invalid-state', `Settings not changed: they could not be saved (${errnoOf(err)}).`);
    }
  }

  // ---------------------------------------------------------------------------------------------------------------
  // Hosts and pairs (audited; never with a secret)

  /** Adds an SSH host, then makes the first connection attempt, so the answer shows the host-key step if needed. */
  async addHost(req: HostAdd, actor: string): Promise<HostInfo> {
    const detail = `${req.alias !== undefined ? `alias ${req.alias}` : `address ${req.address ?? ''}`}${req.port ? ` port ${req.port}` : ''}${req.user ? ` user ${req.user}` : ''}, auth ${req.auth.kind}, ${req.hypervisor}`;
    const record = await this.hostAct(actor, 'hosts.add', `host ${req.name.slice(0, 200)}`, async () => {
      const host = await newHostRecord(req, { existing: this.registry.hosts(), ...(this.opts.ssh?.sshConfigFile === undefined ? {} : { sshConfigFile: this.opts.ssh.sshConfigFile }) });
      return this.registry.addHost(host);
    }, detail, (h) => `id ${h.id}, ${h.user ?? ''}${h.user ? '@' : ''}${h.address ?? ''}:${h.port ?? 22}`);
    await this.settle(record);
    return this.hostInfo(record);
  }

  async trustHostKey(hostId: string, fingerprint: string, save: boolean, actor: string): Promise<HostInfo> {
    const host = this.sshHost(hostId);
    await this.hostAct(actor, 'hosts.trustKey', `host ${hostId}`, () => {
      this.connections.trust(host, fingerprint, save);
      return Promise.resolve();
    }, `${fingerprint} ${save ? `saved to ${this.connections.consoleKnownHosts}` : 'trusted once (this session)'}`);
    await this.settle(host);
    return this.hostInfo(host);
  }

  /** The secret is given to the link and nothing else: the audit says only that one was entered. */
  async unlockHost(hostId: string, secret: { passphrase?: string; password?: string }, actor: string): Promise<HostInfo> {
    const host = this.sshHost(hostId);
    const what = secret.passphrase !== undefined ? 'passphrase' : 'password';
    await this.hostAct(actor, 'hosts.unlock', `host ${hostId}`, () => {
      const expected = host.auth?.kind === 'password' ? 'password' : 'passphrase';
      if (what !== expected) throw new RpcError('bad-request', `${host.name} needs a ${expected}, not a ${what}.`);
      this.connections.unlock(host, (secret.passphrase ?? secret.password)!);
      return Promise.resolve();
    }, `a ${what} was entered (held in memory for this session only)`);
    await this.settle(host);
    return this.hostInfo(host);
  }

  async retryHost(hostId: string): Promise<HostInfo> {
    const host = this.sshHost(hostId);
    this.connections.retry(host);
    await this.settle(host);
    return this.hostInfo(host);
  }

  async removeHost(hostId: string, actor: string): Promise<{ removed: string }> {
    return this.hostAct(actor, 'hosts.remove', `host ${hostId.slice(0, 128)}`, () => {
      const host = this.sshHost(hostId);
      const users = this.registry.pairs().filter((p) => p.primaryHostId === hostId || p.secondaryHostId === hostId);
      if (users.length > 0) throw new RpcError('invalid-state', `${host.name} cannot be removed: the pair${users.length > 1 ? 's' : ''} ${users.map((p) => p.name).join(', ')} use${users.length > 1 ? '' : 's'} it. Remove ${users.length > 1 ? 'them' : 'it'} first.`);
      this.connections.forget(hostId);
      this.probes.delete(hostId);
      this.hostsUp.delete(hostId);
      this.registry.removeHost(hostId);
      return Promise.resolve({ removed: hostId });
    });
  }

  /**
   * Each time a host's link comes up, its hypervisor is probed in the background (version, capabilities, the
   * Xen ≥ 4.18 warning), so hosts.list shows them without anyone asking; the commands are audited as the console's.
   */
  private hostChanged(hostId: string): void {
    if (this.state !== 'running') return;
    const host = this.registry.host(hostId);
    if (host === undefined || host.kind !== 'ssh') return;
    this.emitHost(hostId);
    const up = this.connections.status(host).status === 'connected';
    if (!up) {
      this.hostsUp.delete(hostId);
      return;
    }
    if (this.hostsUp.has(hostId)) return;
    this.hostsUp.add(hostId);
    if (!this.backends.has(host.hypervisor)) return;
    this.probeHost(hostId, SYSTEM_ACTOR).catch((err: unknown) => this.log(err, `probe ${hostId}`));
  }

  /** Reads the hypervisor's version and capabilities; the result shows in hostInfo until the next probe. */
  async probeHost(hostId: string, actor: string): Promise<HostProbeInfo> {
    const host = this.sshHost(hostId);
    const backend = this.backendFor(host.hypervisor);
    try {
      const probe = await backend.probe(host, this.context(actor));
      this.probes.set(hostId, { probe });
      return probe;
    } catch (err) {
      this.probes.set(hostId, { error: messageOf(err).slice(0, 900) });
      throw asRpcError(err, 'invalid-state');
    } finally {
      this.emitHost(hostId);
    }
  }

  async hostDomains(hostId: string, actor: string): Promise<DomainSummaryInfo[]> {
    const host = this.sshHost(hostId);
    try {
      return await this.backendFor(host.hypervisor).inventory(host, this.context(actor));
    } catch (err) {
      throw asRpcError(err, 'invalid-state');
    }
  }

  async addPair(draft: PairDraft, actor: string): Promise<PairInfo> {
    const id = await this.hostAct(actor, 'pairs.add', `pair ${draft.name.slice(0, 128)}`, () => {
      const record = this.pairRecord(draft);
      this.registry.addPair(record);
      this.addController(record.id);
      return Promise.resolve(record.id);
    }, `${draft.backend} ${draft.mode} of ${draft.domain} from ${draft.primaryHostId} to ${draft.secondaryHostId} ${JSON.stringify(draft.options)}`, (pid) => `id ${pid}`);
    this.publishPair(id);
    return this.pair(id);
  }

  /** Preflight of a saved pair or of the wizard's draft; read-only on the hosts (their commands are audited). */
  async preflight(req: { pairId?: string; draft?: PairDraft }, actor: string): Promise<PreflightCheckInfo[]> {
    const record = req.pairId !== undefined ? this.controller(req.pairId).record : this.pairRecord(req.draft!);
    const backend = this.backendFor(record.backend);
    try {
      return await backend.preflight(this.pairSpec(record), this.context(actor));
    } catch (err) {
      throw asRpcError(err, 'invalid-state');
    }
  }

  /** Forgets a pair that is not running (its history stays on disk); typed confirmation. */
  async removePair(pairId: string, confirmName: string, actor: string): Promise<{ removed: string }> {
    return this.act(actor, 'pairs.remove', pairId, async (c) => {
      if (pairId === DEMO_PAIR_ID) throw new RpcError('invalid-state', 'The demo pair is built in; it cannot be removed.');
      if (confirmName.normalize('NFC') !== c.record.name.normalize('NFC')) {
        throw new RpcError('bad-request', `To remove the pair, type the VM's name exactly as shown ("${c.record.name}"); "${confirmName.slice(0, 128)}" does not match.`);
      }
      if (RUN_ACTIVE.has(c.state.state)) throw new RpcError('invalid-state', `${c.record.name} is ${c.state.state}: stop its protection before removing it.`);
      await c.detach(this.context(actor));
      this.controllers.delete(pairId);
      this.lives.delete(pairId);
      this.lastStatsKey.delete(pairId);
      this.registry.removePair(pairId);
      return { removed: pairId };
    });
  }

  private pairRecord(d: PairDraft): PairRecord {
    const problem = domainNameProblem(d.domain);
    if (problem !== null) throw new RpcError('bad-request', `Domain: ${problem}.`);
    for (const [role, hostId] of [['primary', d.primaryHostId], ['secondary', d.secondaryHostId]] as const) {
      const h = this.registry.host(hostId);
      if (h === undefined) throw new RpcError('not-found', `No host with id "${hostId}" (the ${role}).`);
      if (h.kind !== 'ssh' || h.hypervisor !== d.backend) throw new RpcError('bad-request', `The ${role}, ${h.name}, is not a ${d.backend} host reached over SSH.`);
    }
    if (d.backend === 'xen') {
      if (d.mode === 'colo' && d.options.remusIntervalMs !== undefined) throw new RpcError('bad-request', 'A checkpoint interval is for Remus mode only: COLO checkpoints when the copies\' output differs.');
      if (d.mode === 'remus' && d.options.userspaceProxy === true) throw new RpcError('bad-request', 'The userspace proxy (-p) is for COLO mode only.');
    } else if (d.options.launch !== true && d.options.disk !== undefined) {
      throw new RpcError('bad-request', 'A disk is part of a launch definition: the console attaches to QEMUs that already have theirs.');
    }
    const options = Object.fromEntries(Object.entries(d.options).filter(([, v]) => v !== undefined)) as Record<string, string | number | boolean>;
    return {
      id: uniqueId(d.name, this.registry.pairs().map((p) => p.id)),
      name: d.name,
      backend: d.backend,
      mode: d.mode,
      primaryHostId: d.primaryHostId,
      secondaryHostId: d.secondaryHostId,
      domain: d.domain,
      ...(Object.keys(options).length > 0 ? { options } : {}),
    };
  }

  private pairSpec(r: PairRecord): PairSpec {
    return {
      id: r.id,
      name: r.name,
      domain: r.domain ?? r.name,
      mode: r.mode,
      primary: this.registry.host(r.primaryHostId)!,
      secondary: this.registry.host(r.secondaryHostId)!,
      ...(r.options ? { options: r.options } : {}),
    };
  }

  private sshHost(hostId: string): HostRecord {
    const h = this.registry.host(hostId);
    if (h === undefined) throw new RpcError('not-found', `No host with id "${hostId.slice(0, 128)}".`);
    if (h.kind !== 'ssh') throw new RpcError('bad-request', `${h.name} is the embedded simulator, not a host reached over SSH.`);
    return h;
  }

  private backendFor(kind: BackendKind): ReplicationBackend {
    const b = this.backends.get(kind);
    if (b === undefined) throw new RpcError('invalid-state', `No ${kind} backend is available in this build.`);
    return b;
  }

  /**
   * Waits for the link's current attempt to end, so answers show its outcome; bounded, since a hop's forward to
   * an unreachable host can take as long as the hop's own TCP timeout. The attempt itself goes on regardless.
   */
  private async settle(host: HostRecord): Promise<void> {
    let timer: NodeJS.Timeout | undefined;
    try {
      this.connections.connect(host);
      await Promise.race([
        this.connections.link(host).connection(),
        new Promise<void>((resolve) => {
          timer = setTimeout(resolve, (this.opts.ssh?.readyTimeoutMs ?? 15_000) + SETTLE_SLACK_MS);
        }),
      ]);
    } catch {
      // The outcome is in the link's state, which hostInfo reports.
    } finally {
      clearTimeout(timer);
    }
  }

  /** Runs a host or pair management action and audits its outcome; detail and okDetail never carry secrets. */
  private async hostAct<T>(actor: string, action: string, target: string, fn: () => Promise<T>, detail?: string, okDetail?: (v: T) => string): Promise<T> {
    if (this.state !== 'running') throw new RpcError('invalid-state', 'the console service is not running');
    let value: T;
    try {
      value = await fn();
    } catch (err) {
      const e = err instanceof HostKeyRefusal ? new RpcError('bad-request', err.message) : asRpcError(err, 'invalid-state');
      this.record({ actor, action, target, result: 'error', detail: [detail, e.message].filter(Boolean).join('; ').slice(0, 2000) });
      throw e;
    }
    const done = [detail, okDetail?.(value)].filter(Boolean).join('; ');
    this.record({ actor, action, target, result: 'ok', ...(done ? { detail: done.slice(0, 2000) } : {}) });
    return value;
  }

  /** Deletes history past the retention period now (also runs at start and hourly). */
  async prune(): Promise<number> {
    const days = this.settingsStore!.get().historyRetentionDays;
    try {
      return await this.history.prune(this.clock(), days);
    } catch (err) {
      this.log(err, 'history retention');
      return 0;
    }
  }

  // ---------------------------------------------------------------------------------------------------------------
  // Live streams. Each returns its unsubscribe function.

  onPair(fn: (p: PairInfo) => void): () => void {
    return this.pairListeners.add(fn);
  }

  onCycle(fn: (pairId: string, r: CycleRecord) => void): () => void {
    return this.cycleListeners.add(fn);
  }

  onEvent(fn: (e: PairEvent) => void): () => void {
    return this.eventListeners.add(fn);
  }

  onOutput(fn: (e: OutputEvent) => void): () => void {
    return this.outputListeners.add(fn);
  }

  onAudit(fn: (e: AuditEntry) => void): () => void {
    return this.auditListeners.add(fn);
  }

  hasPair(pairId: string): boolean {
    return this.controllers.has(pairId);
  }

  // ---------------------------------------------------------------------------------------------------------------

  private get registry(): Registry {
    if (this.registryStore === undefined) throw new RpcError('invalid-state', 'the console service has not started');
    return this.registryStore;
  }

  private get history(): History {
    if (this.historyDb === undefined || this.state === 'closed') throw new RpcError('invalid-state', 'the console service is not running');
    return this.historyDb;
  }

  private get audit(): AuditLog {
    if (this.auditLog === undefined || this.state === 'closed') throw new RpcError('invalid-state', 'the console service is not running');
    return this.auditLog;
  }

  private controller(pairId: string): PairController {
    const c = this.controllers.get(pairId);
    if (c === undefined) throw new RpcError('not-found', `No pair with id "${pairId.slice(0, 128)}".`);
    return c;
  }

  /**
   * Runs one admin action and audits its outcome, whatever it is. A destructive one first writes its intent
   * (`<action>.requested`) and is refused, undone, if that entry cannot be written: nothing destructive happens
   * unaudited. The outcome entry follows; if that one fails the intent is on record and the failure is a problem.
   * A non-destructive action whose outcome cannot be recorded tells its caller so, and from then on every action
   * writes its intent first until the log can be written again.
   */
  private async act<T>(
    actor: string,
    action: string,
    pairId: string,
    fn: (c: PairController) => Promise<T>,
    okDetail?: (value: T) => string,
    request?: string,
  ): Promise<T> {
    if (this.state !== 'running') throw new RpcError('invalid-state', 'the console service is not running');
    let target = `pair ${pairId.slice(0, 128)}`;
    const destructive = isDestructive(action, action === 'sim.inject' ? request?.split(' ')[0] : undefined);
    let value: T;
    try {
      const c = this.controller(pairId);
      target = `pair ${pairId} (${c.record.name})`;
      // While the log is known to be failing, every action proves it can be audited before it runs.
      if (destructive || this.auditFailing) {
        try {
          this.audit.append({ actor, action: `${action}.requested`, target, result: 'ok', ...(request ? { detail: request } : {}) });
          this.auditFailing = false;
        } catch (err) {
          this.auditFailing = true;
          this.writeFailed(path.join(this.dataDir, AUDIT_FILE), 'The audit log could not be written; actions are refused until it can be', err);
          throw new RpcError('invalid-state', `Not done: the audit log cannot be written (${errnoOf(err)}), and ${destructive ? 'a destructive action is never performed unaudited' : 'no action is performed unaudited'}. Free space in the data directory, then try again.`);
        }
      }
      value = await fn(c);
    } catch (err) {
      this.record({ actor, action, target, result: 'error', detail: [request, messageOf(err)].filter(Boolean).join('; ') });
      throw err;
    }
    const detail = [request, okDetail?.(value)].filter(Boolean).join('; ');
    const failure = this.record({ actor, action, target, result: 'ok', ...(detail ? { detail } : {}) });
    if (failure !== null && !destructive) {
      // Done, but not on record: said to the caller, not only to the log (a destructive one has its intent entry).
      throw new RpcError('invalid-state', `${action} was done, but its audit entry could not be written (${errnoOf(failure)}); actions are refused until the audit log can be written.`);
    }
    return value;
  }

  /**
   * Appends to the audit log. The action has happened by now, so a failing append (disk full, the service closing
   * under a long action) must not turn its result into an error: it becomes a problem the UI shows, never silence.
   */
  private record(input: AuditInput): unknown {
    try {
      this.audit.append(input);
      this.auditFailing = false;
      return null;
    } catch (err) {
      if (this.state === 'running') {
        this.auditFailing = true;
        this.writeFailed(path.join(this.dataDir, AUDIT_FILE), `The audit log could not record ${input.action}`, err);
      } else {
        this.log(err, `audit ${input.action}`);
      }
      return err ?? new Error('audit append failed');
    }
  }

  /** Audits a destructive call the RPC layer refused before any handler ran (bad or missing fields). */
  recordRejected(actor: string, method: string, rawReq: unknown, message: string): void {
    if (this.state !== 'running') return;
    const raw = (typeof rawReq === 'object' && rawReq !== null ? rawReq : {}) as Record<string, unknown>;
    if (!isDestructive(method, raw.fault)) return;
    const pairId = typeof raw.pairId === 'string' ? raw.pairId.slice(0, 128) : '?';
    this.record({ actor, action: method, target: `pair ${pairId}`, result: 'error', detail: `refused: ${message}` });
  }

  /** A backend context whose host commands are audited under `actor`. */
  private context(actor: string): BackendContext {
    return {
      command: (cmd) => this.record({
        actor,
        action: 'host.command',
        target: `host ${cmd.hostId}`,
        command: cmd.command,
        result: cmd.result,
        ...(cmd.detail === undefined ? {} : { detail: cmd.detail }),
      }),
    };
  }

  private addController(pairId: string): void {
    const record = this.registry.pair(pairId)!;
    // Only output released while the copies replicate counts for the run: before the first checkpoint (and after
    // protection is lost) packets leave at once, and would make any mode look like it holds nothing.
    const live = new RecordingPairLive((heldMs) => {
      if (REPLICATING.has(this.controllers.get(pairId)?.state.state ?? 'unprotected')) this.runOutput.add(pairId, heldMs);
    });
    // The event buffer starts with the stored tail, so recent events read the same before and after a restart.
    for (const e of this.history.events(pairId, LIVE_EVENTS)) live.addEvent(stripData(e));
    this.lives.set(pairId, live);
    const controller = new PairController(pairId, {
      backend: this.backends.get(record.backend),
      registry: this.registry,
      history: this.history,
      live,
      clock: this.clock,
      context: (actor) => this.context(actor),
      emitCycle: (id, r) => this.cycleListeners.emit(id, r),
      emitEvent: (e) => this.eventListeners.emit(e),
      changed: (id) => this.publishPair(id),
      log: (err, where) => this.log(err, where),
      frozenThresholdMs: () => this.settingsStore!.get().frozenThresholdMs,
      simHostDown: (hostId, why) => {
        if (why === null) this.simHostsDown.delete(hostId);
        else this.simHostsDown.set(hostId, why);
      },
      actionTimeoutMs: this.opts.actionTimeoutMs ?? 30_000,
      reprotectTimeoutMs: this.opts.reprotectTimeoutMs ?? 120_000,
      lastEventSeq: this.history.lastEventSeq(pairId),
      lastFailover: this.history.lastFailover(pairId),
    });
    this.controllers.set(pairId, controller);
  }

  private publishPair(pairId: string): void {
    const c = this.controllers.get(pairId);
    if (c === undefined || this.pairListeners.size === 0) return;
    const info = this.pairInfo(c);
    this.lastStatsKey.set(pairId, JSON.stringify(info.stats));
    this.pairListeners.emit(info);
  }

  private pairInfo(c: PairController): PairInfo {
    const r = c.record;
    const now = this.clock();
    return {
      id: r.id,
      name: r.name,
      backend: r.backend,
      mode: r.mode,
      primaryHostId: r.primaryHostId,
      secondaryHostId: r.secondaryHostId,
      ...(r.domain === undefined ? {} : { domain: r.domain }),
      state: c.state,
      stats: this.lives.get(r.id)!.stats(now, c.openSince),
      ...(r.sim === undefined ? {} : { sim: { ...r.sim, faults: c.faults } }),
      ...(r.backend === 'qemu' ? this.qemuStatus(c) : {}),
      lastFailover: c.lastFailover,
      alarm: c.alarm(),
      openCheckpoint: c.openCheckpoint(now),
      runningOn: c.runningOn(),
      actions: c.actions(),
    };
  }

  private qemuStatus(c: PairController): { qemu?: QemuPairStatus } {
    const status = c.qemuStatus() ?? this.backends.get('qemu')?.idleStatus?.(this.pairSpec(c.record));
    return status === undefined ? {} : { qemu: status };
  }

  private hostInfo(h: HostRecord): HostInfo {
    const base = {
      id: h.id,
      name: h.name,
      kind: h.kind,
      hypervisor: h.hypervisor,
      ...(h.address === undefined ? {} : { address: h.address }),
      ...(h.port === undefined ? {} : { port: h.port }),
      ...(h.user === undefined ? {} : { user: h.user }),
    };
    if (h.kind === 'sim') {
      const down = this.simHostsDown.get(h.id);
      return { ...base, version: 'embedded simulator', ...(down === undefined ? { status: 'connected' } : { status: 'down', statusReason: down }) };
    }
    const link = this.connections.status(h);
    const probed = this.probes.get(h.id);
    const warnings = [
      ...(this.backends.has(h.hypervisor) ? [] : [`No ${h.hypervisor} backend is available in this build.`]),
      ...(probed !== undefined && 'probe' in probed ? probed.probe.warnings : []),
      ...(probed !== undefined && 'error' in probed ? [`The last probe failed: ${probed.error}`] : []),
    ];
    const usedBy = this.registry.pairs().filter((p) => p.primaryHostId === h.id || p.secondaryHostId === h.id).map((p) => p.id);
    return {
      ...base,
      status: link.status,
      ...(link.reason === undefined ? {} : { statusReason: link.reason.slice(0, 2000) }),
      ...(h.alias === undefined ? {} : { alias: h.alias }),
      ...(h.auth === undefined ? {} : { auth: h.auth.kind }),
      ...(h.auth?.kind === 'key' ? { keyPath: h.auth.keyPath } : {}),
      ...(h.jumps === undefined ? {} : { jumps: h.jumps.map((j) => `${j.user ?? h.user ?? ''}${j.user ?? h.user ? '@' : ''}${j.address}:${j.port}`) }),
      ...(link.hostKey === undefined ? {} : { hostKey: link.hostKey }),
      ...(link.needs === undefined ? {} : { needs: link.needs }),
      ...(probed !== undefined && 'probe' in probed ? {
        ...(probed.probe.version === undefined ? {} : { version: probed.probe.version.slice(0, 128) }),
        capabilities: probed.probe.capabilities.slice(0, 64),
      } : {}),
      ...(warnings.length > 0 ? { warnings: warnings.slice(0, 20) } : {}),
      ...(usedBy.length > 0 ? { usedBy } : {}),
    };
  }

  private startTimers(): void {
    // Pairs: fresh stats at most once a second, and only when they changed.
    const stats = setInterval(() => {
      if (this.pairListeners.size === 0) return;
      for (const c of this.controllers.values()) {
        const info = this.pairInfo(c);
        const key = JSON.stringify(info.stats);
        if (this.lastStatsKey.get(c.id) === key) continue;
        this.lastStatsKey.set(c.id, key);
        this.pairListeners.emit(info);
      }
    }, STATS_TICK_MS);
    // Output gauges: each simulated pair once a second, in its own 100 ms slot. The topic keeps only the latest
    // value per subscriber, so gauges of different pairs emitted in one flush would replace each other.
    const output = setInterval(() => {
      const slot = this.outputSlot;
      this.outputSlot = (slot + 1) % OUTPUT_SLOTS;
      if (this.outputListeners.size === 0) return;
      let i = 0;
      for (const c of this.controllers.values()) {
        if (c.record.backend === 'sim' && i % OUTPUT_SLOTS === slot) {
          this.outputListeners.emit({ pairId: c.id, ...this.lives.get(c.id)!.outputGauge(performance.now()) });
        }
        i++;
      }
    }, OUTPUT_SLOT_MS);
    const retention = setInterval(() => {
      this.pruning = this.prune();
    }, RETENTION_EVERY_MS);
    const alarms = setInterval(() => {
      const now = this.clock();
      for (const c of this.controllers.values()) c.tick(now);
    }, ALARM_TICK_MS);
    const runOutput = setInterval(() => this.runOutput.save(), SAVE_EVERY_MS);
    for (const t of [stats, output, retention, alarms, runOutput]) {
      t.unref();
      this.timers.push(t);
    }
  }

  private log(err: unknown, where: string): void {
    try {
      this.opts.onError?.(err, where);
    } catch {
      // The logger must not break the service.
    }
  }
}

function stripData({ pairId, seq, at, kind, message }: StoredEvent): PairEvent {
  return { pairId, seq, at, kind, message };
}

/** An RpcError as is; anything else (an SshError, a backend's error) keeps its message under `code`. */
function asRpcError(err: unknown, code: 'invalid-state' | 'bad-request'): RpcError {
  return err instanceof RpcError ? err : new RpcError(code, messageOf(err));
}

function messageOf(err: unknown): string {
  return err instanceof Error ? err.message : String(err);
}

/** The errno (or SQLite code) of a failed write, for a message that must not carry paths. */
function errnoOf(err: unknown): string {
  const code = (err as { code?: unknown }).code;
  if (code === 'SQLITE_FULL') return 'ENOSPC: the disk is full';
  return typeof code === 'string' ? code : messageOf(err).slice(0, 200);
}

/** What the data directory's lock names this process by when the caller gave nothing better. */
function defaultOwner(): string {
  return ['node', ...process.argv.slice(1).map((a) => path.basename(a))].join(' ').slice(0, 200);
}

/** Who the audit log names for actions arriving over a transport: the local OS user, and how they came. */
export function localActor(transport: 'electron' | 'browser'): string {
  let user = 'local-user';
  try {
    user = userInfo().username || user;
  } catch {
    // No passwd entry (containers): keep the generic name.
  }
  return `${user.slice(0, 64)} (${transport})`;
}

export interface HandlerOptions {
  transport: 'electron' | 'browser';
  /** Who the audit log names; default: the local OS user and the transport. */
  actor?: string;
  /** Reported by app.info: how the shell runs that the admin must know about (the desktop app's sandbox off). */
  warnings?: readonly string[];
}

/** The ConsoleContract's handlers for serve(), backed by `service`. */
export function consoleHandlers(service: ConsoleService, options: HandlerOptions): Handlers<ConsoleContract> {
  const actor = options.actor ?? localActor(options.transport);
  const requirePair = (pairId: string | undefined): void => {
    if (pairId !== undefined && !service.hasPair(pairId)) throw new RpcError('not-found', `No pair with id "${pairId}".`);
  };
  return {
    methods: {
      'app.info': () => ({ version: service.version, transport: options.transport, ...(options.warnings?.length ? { warnings: [...options.warnings] } : {}) }),
      'app.problems': () => [...service.problems],
      'hosts.list': () => service.hosts(),
      'hosts.add': (req) => service.addHost(req, actor),
      'hosts.trustKey': ({ hostId, fingerprint, save }) => service.trustHostKey(hostId, fingerprint, save, actor),
      'hosts.unlock': ({ hostId, passphrase, password }) => service.unlockHost(hostId, { ...(passphrase === undefined ? {} : { passphrase }), ...(password === undefined ? {} : { password }) }, actor),
      'hosts.retry': ({ hostId }) => service.retryHost(hostId),
      'hosts.remove': ({ hostId }) => service.removeHost(hostId, actor),
      'hosts.probe': ({ hostId }) => service.probeHost(hostId, actor),
      'hosts.domains': ({ hostId }) => service.hostDomains(hostId, actor),
      'pairs.add': (draft) => service.addPair(draft, actor),
      'pairs.preflight': ({ pairId, draft }) => service.preflight({ ...(pairId === undefined ? {} : { pairId }), ...(draft === undefined ? {} : { draft }) }, actor),
      'pairs.remove': ({ pairId, confirmName }) => service.removePair(pairId, confirmName, actor),
      'pairs.list': () => service.pairs(),
      'pairs.get': ({ pairId }) => service.pair(pairId),
      'pairs.start': ({ pairId }) => service.startPair(pairId, actor),
      'pairs.stop': ({ pairId, confirmName }) => service.stopPair(pairId, confirmName, actor),
      'pairs.failover': ({ pairId, confirmName, fencedHost }) => service.failover(pairId, confirmName, actor, fencedHost),
      'qemu.configure': ({ pairId, ...change }) => service.configureQemu(pairId, change, actor),
      'pairs.drill': ({ pairId, confirmName }) => service.drill(pairId, confirmName, actor),
      'pairs.checkpoint': ({ pairId }) => service.checkpoint(pairId, actor),
      'pairs.keep': ({ pairId, keep, confirmName }) => service.keepCopy(pairId, keep, confirmName, actor),
      'pairs.cycles': ({ pairId, since, until, limit }) => service.cycles(pairId, { since, limit, ...(until === undefined ? {} : { until }) }),
      'pairs.events': ({ pairId, limit }) => service.events(pairId, limit),
      'pairs.export': ({ pairId, format, since }) => service.exportPair(pairId, format, since),
      'sim.configure': ({ pairId, mode, sim }) => service.configureSim(pairId, { ...(mode ? { mode } : {}), ...(sim ? { sim } : {}) }, actor),
      'sim.inject': ({ pairId, fault, on }) => service.injectSim(pairId, fault, on, actor),
      'pairs.runs': ({ pairId, limit }) => service.runs(pairId, limit),
      'pairs.drills': ({ pairId, limit }) => service.drills(pairId, limit),
      'pairs.cycleCount': ({ pairId, since, until }) => ({ count: service.cycleCount(pairId, since, until) }),
      'audit.list': ({ limit, beforeSeq }) => service.auditList(limit, beforeSeq),
      'audit.verify': () => service.auditVerify(),
      'settings.get': () => service.settings(),
      'settings.set': (change) => service.setSettings(change, actor),
    },
    topics: {
      pairs: (sink) => {
        const off = service.onPair((p) => sink.emit(p));
        // A new subscriber starts from the current picture, then gets changes.
        for (const p of service.pairs()) sink.emit(p);
        return off;
      },
      cycles: (sink, params) => {
        requirePair(params.pairId);
        return service.onCycle((pairId, r) => {
          if (params.pairId === undefined || params.pairId === pairId) sink.emit({ ...r, pairId });
        });
      },
      events: (sink, params) => {
        requirePair(params.pairId);
        return service.onEvent((e) => {
          if (params.pairId === undefined || params.pairId === e.pairId) sink.emit(e);
        });
      },
      output: (sink) => service.onOutput((e) => sink.emit(e)),
      audit: (sink) => service.onAudit((e) => sink.emit(e)),
      hosts: (sink) => {
        const off = service.onHost((h) => sink.emit(h));
        for (const h of service.hosts()) sink.emit(h);
        return off;
      },
      problems: (sink) => {
        const off = service.onProblem((p) => sink.emit(p));
        // Like pairs: the current list first (the UI shows each once, by file, time and message), then new ones.
        for (const p of service.problems) sink.emit(p);
        return off;
      },
    },
    onInvalidRequest: (method, rawReq, message) => service.recordRejected(actor, method, rawReq, message),
  };
}
