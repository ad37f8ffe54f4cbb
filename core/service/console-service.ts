// ConsoleService: the one object the Electron main process (or the headless `serve`) owns. It holds the registry
// of hosts and pairs, one PairController per pair, the live buffers, the history and audit databases and the
// settings, and it is what consoleHandlers() exposes as the ConsoleContract over any RPC channel.
//
// Every admin action goes through act(): it runs the action, then appends one audit entry with the result, ok or
// error, so a refused action (wrong confirmation, wrong state) is on record too. Commands the backends send to
// hosts are audited as they happen, under the admin who caused them.

import { mkdirSync } from 'node:fs';
import { userInfo } from 'node:os';
import path from 'node:path';
import { performance } from 'node:perf_hooks';
import { z } from 'zod';
import type {
  AuditEntry,
  ConsoleContract,
  DrillRecord,
  DrillReport,
  HostInfo,
  PairEvent,
  PairInfo,
  RunSummary,
  Settings,
  SimSettings,
} from '../api/console-contract.js';
import { RpcError } from '../api/errors.js';
import type { Handlers } from '../api/server.js';
import type { SimFault, SimPairOptions } from '../backends/sim/pair.js';
import type { CycleRecord } from '../colo/types.js';
import { appVersion } from './app-version.js';
import { type AuditInput, AuditLog, type AuditVerdict } from './audit.js';
import type { BackendContext, BackendKind, ReplicationBackend } from './backend.js';
import { type ExportFile, exportCsv, exportJson } from './export.js';
import type { Problem } from './files.js';
import { History, type StoredEvent } from './history.js';
import { LIVE_EVENTS, type PairLive } from './live.js';
import { PairController } from './pair-controller.js';
import { RecordingPairLive, RunOutputRecorder, SAVE_EVERY_MS } from './run-output.js';
import { DEMO_PAIR_ID, type HostRecord, Registry } from './registry.js';
import { SettingsStore } from './settings.js';
import { SimBackend } from './sim-backend.js';

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
/** States in which a pair's current run goes on (a settings change then lands in the middle of it). */
const RUN_ACTIVE: ReadonlySet<string> = new Set(['starting', 'syncing', 'protected', 'degraded', 'failing-over']);
/** States in which the guest's output goes through the replication (held until the copies agree or commit). */
const REPLICATING: ReadonlySet<string> = new Set(['protected', 'degraded']);

export interface ConsoleServiceOptions {
  /** Where registry.json, settings.json, history.sqlite and audit.sqlite live (created if missing). */
  dataDir: string;
  /** Start protecting the demo pair when the service starts; default true. */
  autoStartDemo?: boolean;
  /** Wall clock for the service's own timestamps (audit, events, retention, stats); default Date.now. */
  clock?: () => number;
  /** Overrides for every simulated pair (tests: small guests, an unpaced link, a short COLO wait). */
  simOverrides?: Partial<SimPairOptions>;
  /** Backends by family; default: the simulator only (Xen and QEMU arrive in later issues). */
  backends?: Partial<Record<BackendKind, ReplicationBackend>>;
  /** Reported by app.info; default: the version in package.json. */
  version?: string;
  /** Faults inside the service that no caller is waiting for (a history write failing, a backend teardown). */
  onError?: (err: unknown, where: string) => void;
  /** Longest a stop or failover may take; default 30 s. */
  actionTimeoutMs?: number;
  /** Longest a drill waits for the re-protected pair to be 'protected'; default 120 s. */
  reprotectTimeoutMs?: number;
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

  constructor(opts: ConsoleServiceOptions) {
    this.opts = opts;
    this.dataDir = path.resolve(opts.dataDir);
    this.clock = opts.clock ?? Date.now;
    this.version = opts.version ?? appVersion();
    this.backends = new Map();
    const given = opts.backends ?? {};
    this.backends.set('sim', given.sim ?? new SimBackend(opts.simOverrides));
    if (given.xen) this.backends.set('xen', given.xen);
    if (given.qemu) this.backends.set('qemu', given.qemu);
    const onListenerError = (err: unknown): void => this.log(err, 'listener');
    this.pairListeners = new Listeners(onListenerError);
    this.cycleListeners = new Listeners(onListenerError);
    this.eventListeners = new Listeners(onListenerError);
    this.outputListeners = new Listeners(onListenerError);
    this.auditListeners = new Listeners(onListenerError);
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
    const report = (p: Problem): void => {
      this.problemList.push(p);
    };
    try {
      this.settingsStore = SettingsStore.load(this.dataDir, report, now);
      this.registryStore = Registry.load(this.dataDir, report, now);
      this.auditLog = new AuditLog(this.dataDir, { report, now, clock: this.clock });
      this.historyDb = new History(this.dataDir, { report, now, onError: (err, where) => this.log(err, where) });
    } catch (err) {
      this.historyDb?.close();
      this.auditLog?.close();
      this.historyDb = undefined;
      this.auditLog = undefined;
      this.state = 'closed';
      throw err;
    }
    this.historyDb.describeRunsWith((pairId) => this.registry.pair(pairId)?.sim ?? null);
    const audit = this.auditLog;
    const verdict = audit.verify();
    if (!verdict.ok) {
      // Evidence: the log is kept as it is, never moved aside or repaired.
      report({ at: now, file: path.join(this.dataDir, 'audit.sqlite'), message: `The audit log failed its integrity check at entry ${verdict.firstBadSeq}: ${verdict.reason}` });
    }
    for (const p of this.problemList) {
      audit.append({ actor: SYSTEM_ACTOR, action: 'file.recover', target: path.basename(p.file), result: 'error', detail: p.message });
    }
    audit.onAppend((e) => this.auditListeners.emit(e));

    for (const record of this.registry.pairs()) this.addController(record.id);
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
    await this.pruning.catch(() => {});
    if (this.historyDb !== undefined) this.runOutput.save();
    this.historyDb?.close();
    this.auditLog?.close();
    for (const l of [this.pairListeners, this.cycleListeners, this.eventListeners, this.outputListeners, this.auditListeners]) l.clear();
    this.state = 'closed';
  }

  /** Files that were corrupt and moved aside (or could not be), found at start; the UI should show them. */
  get problems(): readonly Problem[] {
    return [...this.problemList];
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

  auditVerify(): AuditVerdict {
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

  async failover(pairId: string, confirmName: string, actor: string): Promise<PairInfo> {
    return this.act(actor, 'pairs.failover', pairId, async (c) => {
      await c.failover(actor, confirmName);
      return this.pairInfo(c);
    });
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
      throw err instanceof RpcError ? err : new RpcError('bad-request', `invalid settings: ${err instanceof z.ZodError ? z.prettifyError(err) : messageOf(err)}`);
    }
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

  /** Runs one admin action and audits its outcome, whatever it is. */
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
    try {
      const c = this.controller(pairId);
      target = `pair ${pairId} (${c.record.name})`;
      const value = await fn(c);
      const detail = [request, okDetail?.(value)].filter(Boolean).join('; ');
      this.record({ actor, action, target, result: 'ok', ...(detail ? { detail } : {}) });
      return value;
    } catch (err) {
      this.record({ actor, action, target, result: 'error', detail: [request, messageOf(err)].filter(Boolean).join('; ') });
      throw err;
    }
  }

  /**
   * Appends to the audit log. The action has happened by now, so a failing append (disk full, the service closing
   * under a long action) must not turn its result into an error: it is reported through onError instead.
   */
  private record(input: AuditInput): void {
    try {
      this.audit.append(input);
    } catch (err) {
      this.log(err, `audit ${input.action}`);
    }
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
      state: c.state,
      stats: this.lives.get(r.id)!.stats(now, c.openSince),
      ...(r.sim === undefined ? {} : { sim: { ...r.sim, faults: c.faults } }),
      lastFailover: c.lastFailover,
      alarm: c.alarm(),
      openCheckpoint: c.openCheckpoint(now),
      runningOn: c.runningOn(),
      actions: c.actions(),
    };
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
    if (!this.backends.has(h.hypervisor)) {
      return { ...base, status: 'disconnected', statusReason: `No ${h.hypervisor} backend is available in this build.` };
    }
    // Connection tracking arrives with the SSH backends; until then a real host is not connected.
    return { ...base, status: 'disconnected' };
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

function messageOf(err: unknown): string {
  return err instanceof Error ? err.message : String(err);
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
      'pairs.list': () => service.pairs(),
      'pairs.get': ({ pairId }) => service.pair(pairId),
      'pairs.start': ({ pairId }) => service.startPair(pairId, actor),
      'pairs.stop': ({ pairId, confirmName }) => service.stopPair(pairId, confirmName, actor),
      'pairs.failover': ({ pairId, confirmName }) => service.failover(pairId, confirmName, actor),
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
    },
  };
}
