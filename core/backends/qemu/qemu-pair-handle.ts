// One QEMU COLO pair as the console watches it: a monitor session per side (through the host's SSH link), the
// checkpoints read from their STOP/RESUME events, the console's own heartbeat to both monitors, and the admin's
// actions in QEMU's terms (qemu-colo.md §1.5–1.6, §3):
// - stop: the primary leaves COLO (yank out of band, x-colo-lost-heartbeat) and runs on alone; then the
//   secondary's QEMU is ended with `quit`.
// - failover: the primary's copy is ended (`quit`), or the admin confirms it cannot run on (fenced); then the
//   secondary is released: yank out of band (a monitor blocked on a dead socket still answers it), then
//   x-colo-lost-heartbeat, and it runs from its last checkpoint.
// The split-brain guard: the secondary is never promoted while the primary may still run. The console promotes on
// its own only when the primary's QEMU is gone for certain (its host answers, its monitor socket is gone); a
// primary that is silent or whose host cannot be reached needs the admin's typed word that it is fenced.

import type { QemuPairStatus, QemuSideStatus } from '../../api/console-contract.js';
import type { FailoverEvent, ProtectionState, Side } from '../../colo/types.js';
import {
  type BackendContext,
  type FailoverOptions,
  type FailoverResult,
  FencingRequiredError,
  type PairEvents,
  type PairHandle,
  type PairSpec,
  type QemuControls,
} from '../../service/backend.js';
import type { HostRecord } from '../../service/registry.js';
import type { SshHostLink } from '../../ssh/host-link.js';
import { setTimeout as delay } from 'node:timers/promises';
import { type ColoLayout, primaryAloneSteps, secondaryAloneSteps, stepName } from './qemu-colo-plumbing.js';
import { QemuCycleTracker } from './qemu-cycles.js';
import type { Heartbeat } from './qemu-options.js';
import type { QmpStep } from './qemu-launch.js';
import { QmpError, type QmpEvent } from './qmp-client.js';
import { QmpSession, type QmpSessionState, sshSocket } from './qmp-session.js';

export interface HandleTiming {
  /** Longest any one monitor command may take. */
  commandTimeoutMs: number;
  /** After a failover or stop was sent, how long to wait for the side to run alone. */
  settleTimeoutMs: number;
  /** How long `quit` may take to end a QEMU (its socket gone). */
  quitTimeoutMs: number;
}

interface SideWatch {
  side: Side;
  host: HostRecord;
  link: SshHostLink;
  socket: string;
  session: QmpSession;
  status: QemuSideStatus;
  /** The last time this side was seen running (an answer saying so, or its RESUME), console clock. */
  lastRunningAt: number | undefined;
  /** QEMU said SHUTDOWN (a quit, or the guest powered off): its process is ending. */
  shutdown: boolean;
  /** The last session state, to tell a socket that refused a new connection from one that closed. */
  lastSession: QmpSessionState['kind'];
  /** The host answered over SSH but the monitor socket refused a connection: the QEMU process is gone. */
  refused: boolean;
}

type Phase = 'starting' | 'syncing' | 'colo' | 'ended';

const SIDES: readonly Side[] = ['primary', 'secondary'];

/** A 7.2 (Debian 12) QEMU: its periodic checkpoints deadlock (qemu-colo.md §3). */
function isQemu72(version: string | undefined): boolean {
  return version !== undefined && /^QEMU 7\.2\./.test(version);
}

export class QemuPairHandle implements PairHandle {
  readonly ended: Promise<ProtectionState>;
  readonly qemu: QemuControls;
  private current: ProtectionState;
  private phase: Phase;
  private readonly sides: Record<Side, SideWatch>;
  private readonly tracker: QemuCycleTracker;
  private heartbeat: Heartbeat;
  private beatTimer: NodeJS.Timeout | null = null;
  private beating = false;
  /** When COLO was seen to run (the start of the overdue rule before any checkpoint). */
  private coloSince: number | undefined;
  /** Judged only once watch() ran: while the sessions first connect, one side is up before the other. */
  private watching = false;
  private resolveEnded!: (s: ProtectionState) => void;
  private finished = false;
  private detached = false;
  private busy: 'stop' | 'failover' | 'keep-primary' | null = null;
  private failoverEvent: FailoverEvent | null = null;
  private migration: string | null = null;
  private checkpointDelayMs: number | null = null;
  private lastColoExit: QemuPairStatus['lastColoExit'] = null;
  private coloExitSeen: Partial<Record<Side, string>> = {};
  private startWaiter: { resolve(): void; reject(e: Error): void } | null = null;
  private migrateSent = false;
  /** For the questions the console asks all the time (heartbeats, waits): not one audit entry per second. */
  private readonly unaudited: BackendContext;

  constructor(
    private readonly spec: PairSpec,
    private readonly events: PairEvents,
    links: { primary: SshHostLink; secondary: SshHostLink },
    sockets: { primary: string; secondary: string },
    private readonly ctx: BackendContext,
    private readonly clock: () => number,
    private readonly timing: HandleTiming,
    heartbeat: Heartbeat,
    start: { phase: 'starting' | 'syncing' | 'colo'; firstSeq: number; state: ProtectionState },
    /** What the console set up around a guest it launched (null: attached, the admin's own set-up). */
    private readonly layout: ColoLayout | null,
    private readonly released: () => void = () => {},
  ) {
    this.heartbeat = heartbeat;
    this.unaudited = { ...ctx, command: () => {} };
    this.phase = start.phase;
    this.current = start.state;
    this.ended = new Promise((resolve) => (this.resolveEnded = resolve));
    this.tracker = new QemuCycleTracker({
      checkpointStarted: (o) => {
        if (!this.detached) this.events.checkpointStarted?.(o);
      },
      cycle: (r) => {
        if (!this.detached) this.events.cycle(r);
      },
    }, () => this.checkpointDelayMs, start.firstSeq, clock);
    this.tracker.expectSecondary = start.phase === 'colo';
    if (start.phase === 'colo') this.coloSince = clock();
    const watch = (side: Side): SideWatch => {
      const host = side === 'primary' ? spec.primary : spec.secondary;
      const w: SideWatch = {
        side,
        host,
        link: links[side],
        socket: sockets[side],
        status: { monitor: 'unreachable', missedHeartbeats: 0, lastAnswerAt: null },
        lastRunningAt: undefined,
        shutdown: false,
        lastSession: 'connecting',
        refused: false,
        session: null as unknown as QmpSession,
      };
      w.session = new QmpSession({
        name: `${spec.name} (${side}, ${host.name})`,
        transport: sshSocket(links[side], sockets[side]),
        timeoutMs: timing.commandTimeoutMs,
        // Soon after a drop: a socket that refuses a fresh connection is what tells a dead QEMU from a blip.
        backoff: { initialMs: Math.min(200, heartbeat.intervalMs), maxMs: 5000 },
        clock,
        onEvent: (e) => this.onEvent(w, e),
        onState: (s) => this.onSession(w, s),
      });
      return w;
    };
    this.sides = { primary: watch('primary'), secondary: watch('secondary') };
    this.qemu = {
      status: () => this.status(),
      setCheckpointDelay: (ms, c) => this.setCheckpointDelay(ms, c),
      setHeartbeat: (h) => {
        this.heartbeat = h;
        this.armHeartbeat();
        this.events.changed?.();
      },
    };
  }

  get state(): ProtectionState {
    return this.current;
  }

  /** Resolves once both monitors answered (or rejects after `timeoutMs`). */
  async connected(timeoutMs: number): Promise<void> {
    await Promise.all(SIDES.map((s) => this.sides[s].session.connected(timeoutMs)));
  }

  /** Runs a command on one side's monitor and reports it for the audit log. */
  async command<T = unknown>(side: Side, command: string, args: Record<string, unknown> | undefined, ctx: BackendContext, o: { oob?: boolean; timeoutMs?: number } = {}): Promise<T> {
    const w = this.sides[side];
    const text = `QMP ${w.socket}: ${JSON.stringify({ [o.oob ? 'exec-oob' : 'execute']: command, ...(args === undefined ? {} : { arguments: args }) })}`;
    try {
      const r = await w.session.execute<T>(command, args, { ...(o.oob ? { oob: true } : {}), timeoutMs: o.timeoutMs ?? this.timing.commandTimeoutMs });
      ctx.command({ hostId: w.host.id, command: text, result: 'ok' });
      return r;
    } catch (err) {
      ctx.command({ hostId: w.host.id, command: text, result: 'error', detail: messageOf(err).slice(0, 500) });
      throw err;
    }
  }

  /** Starts the heartbeat; `started` settles once the initial copy is under way (or failed). */
  watch(): { started: Promise<void> } {
    const started = new Promise<void>((resolve, reject) => {
      if (this.phase !== 'starting') resolve();
      else this.startWaiter = { resolve, reject };
    });
    started.catch(() => {});
    this.watching = true;
    this.armHeartbeat();
    void this.beat();
    return { started };
  }

  /** A re-protect's disk copy to the new secondary (before `migrate`), in bytes; false once the run is over. */
  resyncing(done: number, total: number): boolean {
    if (this.phase !== 'starting' || this.finished || this.detached) return false;
    const pct = total > 0 ? Math.floor((100 * done) / total) : 0;
    this.setState({
      state: 'starting',
      since: this.current.since,
      reasonCode: 'initial-sync',
      reason: `Copying ${this.spec.name}'s disk to ${this.spec.secondary.name} (drive-mirror): ${pct}% of ${(total / 1048576).toFixed(1)} MiB. The guest runs meanwhile, pauses for the last of it, and then its memory is copied in full.`,
    });
    return true;
  }

  /**
   * The start's `migrate` is about to be sent. The primary's STOP at the end of the initial copy can then arrive in the
   * same read as the reply to `migrate`, before `migrating()` runs: it still opens checkpoint 0.
   */
  sendingMigrate(): void {
    this.migrateSent = true;
  }

  /** The start's `migrate` was accepted: the initial copy runs (MIGRATION events say how it goes). */
  migrating(): void {
    if (this.phase !== 'starting') return;
    this.phase = 'syncing';
    this.setState({ state: 'syncing', since: this.clock(), reasonCode: 'initial-sync', reason: `Initial copy of ${this.spec.name} from ${this.spec.primary.name} to ${this.spec.secondary.name}: every start is a full copy of the guest's memory.` });
    this.startWaiter?.resolve();
    this.startWaiter = null;
  }

  /** Ends these sides' QEMUs (launched for a start that failed); errors are ignored, each quit is audited. */
  async end(sides: readonly Side[], ctx: BackendContext): Promise<void> {
    for (const side of sides) await this.quit(side, ctx).catch(() => {});
  }

  async stop(ctx: BackendContext): Promise<ProtectionState> {
    if (this.finished) return this.current;
    this.busy = 'stop';
    try {
      const p = this.sides.primary;
      if (p.status.monitor !== 'connected') {
        throw new Error(`${this.spec.primary.name}: the primary's monitor ${p.status.monitor === 'silent' ? 'does not answer (QEMU 7.2\'s checkpoint deadlock holds it, if this is 7.2)' : 'cannot be reached'}, so it cannot be told to run on alone. Fail over to ${this.spec.secondary.name} instead.`);
      }
      const { note } = await this.leaveColo('primary', ctx);
      await this.quit('secondary', ctx);
      return this.finish({ state: 'stopped', since: this.clock(), reasonCode: 'stopped-by-admin', reason: `Protection stopped: ${this.spec.name} left COLO on ${this.spec.primary.name} and runs there alone; the secondary's QEMU on ${this.spec.secondary.name} was ended.${note}` }, 'aborted');
    } catch (err) {
      if (!this.finished) this.busy = null;
      throw err;
    }
  }

  async failover(ctx: BackendContext, options: FailoverOptions = {}): Promise<FailoverResult> {
    if (this.finished) return { state: this.current, event: this.failoverEvent };
    const before = this.current;
    this.busy = 'failover';
    try {
      const since = await this.fencePrimary(ctx, options.fenced === true);
      this.setState({ state: 'failing-over', since: this.clock(), reasonCode: 'failover-by-admin', reason: `${this.spec.secondary.name} takes over from its last checkpoint.` }, true);
      const final = await this.promoteSecondary(ctx, 'admin', options.fenced === true ? `Failover by the admin, who confirmed that ${this.spec.primary.name} is fenced.` : `Failover by the admin: the primary's QEMU on ${this.spec.primary.name} was ended.`, since);
      return { state: final, event: this.failoverEvent };
    } catch (err) {
      if (!this.finished) {
        this.busy = null;
        this.setState(before, true);
      }
      throw err;
    }
  }

  detach(): Promise<void> {
    if (this.detached) return Promise.resolve();
    this.detached = true;
    this.released();
    this.stopHeartbeat();
    this.startWaiter?.reject(new Error('detached before the initial copy started'));
    this.startWaiter = null;
    for (const s of SIDES) this.sides[s].session.close();
    return Promise.resolve();
  }

  // ---------------------------------------------------------------------------------------------------------------

  private status(): QemuPairStatus {
    const fencing = this.fencingNeeded();
    return {
      checkpointDelayMs: this.checkpointDelayMs,
      migration: this.migration,
      heartbeat: { ...this.heartbeat },
      primary: { ...this.sides.primary.status },
      secondary: { ...this.sides.secondary.status },
      ...(fencing === null ? {} : { fencingRequired: fencing }),
      lastColoExit: this.lastColoExit,
      launch: this.layout !== null,
    };
  }

  private async setCheckpointDelay(ms: number, ctx: BackendContext): Promise<void> {
    await this.command('primary', 'migrate-set-parameters', { 'x-checkpoint-delay': ms }, ctx);
    this.checkpointDelayMs = ms;
    this.events.changed?.();
  }

  /** Why promoting the secondary now could leave two copies running; null when the console can rule it out. */
  private fencingNeeded(): string | null {
    const p = this.sides.primary;
    const name = this.spec.primary.name;
    if (p.status.monitor === 'connected') return null;
    if (p.status.monitor === 'silent') {
      return `QEMU on ${name} is connected but its monitor does not answer${isQemu72(p.status.version) ? ' (QEMU 7.2\'s checkpoint deadlock)' : ''}: the console cannot end it. Make sure it cannot run on (kill its process, or power ${name} off), then confirm by typing ${name}.`;
    }
    if (this.primaryGoneForCertain()) return null;
    return `${name} cannot be reached${p.status.detail ? ` (${p.status.detail})` : ''}: its QEMU may still be running. Make sure it cannot run on (power ${name} off, or cut it off), then confirm by typing ${name}.`;
  }

  /** The primary's QEMU has ended: it said so, or its host answers over SSH while its monitor socket refuses. */
  private primaryGoneForCertain(): boolean {
    return gone(this.sides.primary);
  }

  /** Ends the primary's copy, or accepts the admin's word that it is fenced; returns when it was last seen running. */
  private async fencePrimary(ctx: BackendContext, fenced: boolean): Promise<number> {
    const p = this.sides.primary;
    if (p.status.monitor === 'connected' && !p.shutdown) {
      const at = this.clock();
      await this.quit('primary', ctx);
      return at;
    }
    const why = this.fencingNeeded();
    if (why !== null && !fenced) throw new FencingRequiredError(`Not failed over: ${why}`);
    if (p.status.monitor === 'silent') {
      // A hung QEMU still answers out of band: cut its migration socket, so it cannot send the secondary more.
      await this.command('primary', 'yank', { instances: [{ type: 'migration' }] }, ctx, { oob: true, timeoutMs: 2000 }).catch(() => {});
    }
    return p.lastRunningAt ?? this.clock();
  }

  /** `quit` on one side, then waits for its monitor to go. */
  private async quit(side: Side, ctx: BackendContext): Promise<void> {
    const w = this.sides[side];
    if (w.status.monitor === 'unreachable') return;
    try {
      await this.command(side, 'quit', undefined, ctx);
    } catch (err) {
      // The connection closing under the reply is the quit working.
      if (!(err instanceof QmpError && err.kind === 'closed')) throw err;
    }
    w.shutdown = true;
    const deadline = this.clock() + this.timing.quitTimeoutMs;
    while (w.session.state.kind === 'connected' && this.clock() < deadline) await delay(20);
    if (w.session.state.kind === 'connected') throw new Error(`${w.host.name}: QEMU answered quit but its monitor is still open after ${this.timing.quitTimeoutMs / 1000} s.`);
  }

  /**
   * Takes `side` out of COLO so it runs alone: yank out of band, then x-colo-lost-heartbeat; for a launched guest,
   * with what the console set up for COLO taken down around it, as the documentation's failover steps do. Returns
   * when the side was seen running alone (console clock), and a sentence on that clean-up for the record.
   */
  private async leaveColo(side: Side, ctx: BackendContext): Promise<{ runningAt: number; note: string }> {
    await this.command(side, 'yank', { instances: [{ type: 'migration' }] }, ctx, { oob: true }).catch((err: unknown) => {
      // Nothing to yank: the COLO connection is already gone.
      if (!(err instanceof QmpError && err.kind === 'command')) throw err;
    });
    const l = this.layout;
    const steps = l === null ? { before: [], after: [] } : side === 'primary' ? { before: primaryAloneSteps(l), after: [] } : secondaryAloneSteps(l);
    const failed = await this.cleanUp(side, steps.before, ctx);
    try {
      await this.command(side, 'x-colo-lost-heartbeat', undefined, ctx);
    } catch (err) {
      // Already out of COLO (a COLO_EXIT raced us): fine if it runs.
      if (!(err instanceof QmpError && err.kind === 'command')) throw err;
    }
    // The guest runs from here: what comes after does not count as its downtime.
    const runningAt = await this.waitRunningAlone(side);
    failed.push(...await this.cleanUp(side, steps.after, ctx));
    const all = [...steps.before, ...steps.after];
    const host = this.sides[side].host.name;
    const note = all.length === 0 ? ''
      : failed.length === 0 ? ` Taken down on ${host}, as QEMU's COLO failover steps do: ${all.map(stepName).join(', ')}.`
        : ` Not taken down on ${host} (do it by hand): ${failed.join('; ')}.`;
    return { runningAt, note };
  }

  /** Runs each clean-up step whatever became of the one before; returns the ones that failed, with QEMU's words. */
  private async cleanUp(side: Side, steps: readonly QmpStep[], ctx: BackendContext): Promise<string[]> {
    const failed: string[] = [];
    for (const step of steps) {
      try {
        await this.command(side, step.command, step.arguments, ctx);
      } catch (err) {
        failed.push(`${stepName(step)} (${messageOf(err)})`);
      }
    }
    return failed;
  }

  private async waitRunningAlone(side: Side): Promise<number> {
    const deadline = this.clock() + this.timing.settleTimeoutMs;
    for (;;) {
      try {
        const [st, colo] = await Promise.all([
          this.command<{ status?: unknown; running?: unknown }>(side, 'query-status', undefined, this.unaudited, { timeoutMs: 2000 }),
          this.command<{ mode?: unknown }>(side, 'query-colo-status', undefined, this.unaudited, { timeoutMs: 2000 }),
        ]);
        if (st.running === true && colo.mode === 'none') return this.clock();
      } catch {
        // Asked again below until the deadline.
      }
      if (this.clock() >= deadline) throw new Error(`${this.sides[side].host.name}: QEMU did not run alone within ${this.timing.settleTimeoutMs / 1000} s after leaving COLO.`);
      await delay(20);
    }
  }

  /** Releases the secondary to run from its last checkpoint; ends the run as failed over. */
  private async promoteSecondary(ctx: BackendContext, detectedBy: FailoverEvent['detectedBy'], cause: string, primaryLastRunningAt: number): Promise<ProtectionState> {
    this.tracker.end(this.clock(), 'failed');
    // In COLO the secondary's copy runs too, but its output goes nowhere: the guest is back once it runs alone.
    const { runningAt, note } = await this.leaveColo('secondary', ctx);
    const seq = Math.max(0, this.tracker.lastCommitted);
    const exit = this.lastColoExit?.side === 'secondary' ? ` QEMU on ${this.spec.secondary.name}: COLO_EXIT mode ${this.lastColoExit.mode}, reason ${this.lastColoExit.reason}.` : '';
    this.failoverEvent = {
      detectedBy,
      cause,
      at: this.clock(),
      survivor: 'secondary',
      lastCheckpointSeq: seq,
      guestDowntimeMs: Math.max(0, runningAt - primaryLastRunningAt),
      detail: `yank (out of band) and x-colo-lost-heartbeat on ${this.spec.secondary.name}.${exit}${note}`,
    };
    if (!this.detached) this.events.failover(this.failoverEvent);
    return this.finish({ state: 'failed-over', since: this.clock(), reasonCode: detectedBy === 'admin' ? 'failover-by-admin' : 'primary-lost', reason: `${this.spec.secondary.name} took over from checkpoint ${seq}; the guest runs on ${this.spec.secondary.name}, unprotected. Protecting it again is a new full copy.` }, null);
  }

  /** The secondary is lost: the primary leaves COLO and runs on alone; what is left of the secondary is ended. */
  private async keepPrimary(why: string): Promise<void> {
    if (this.busy !== null || this.finished) return;
    this.busy = 'keep-primary';
    const ctx = this.ctx;
    try {
      this.tracker.end(this.clock(), 'failed');
      const { note } = await this.leaveColo('primary', ctx);
      if (this.sides.secondary.status.monitor === 'connected') await this.quit('secondary', ctx).catch(() => {});
      const seq = Math.max(0, this.tracker.lastCommitted);
      this.failoverEvent = { detectedBy: 'primary', cause: `${this.spec.secondary.name} was lost: ${why}. The guest runs on ${this.spec.primary.name}, unprotected.`, at: this.clock(), survivor: 'primary', lastCheckpointSeq: seq, guestDowntimeMs: 0, detail: `${why}.${note}` };
      if (!this.detached) this.events.failover(this.failoverEvent);
      this.finish({ state: 'unprotected', since: this.clock(), reasonCode: 'secondary-lost', reason: `${this.spec.secondary.name} is gone (${why}); ${this.spec.name} left COLO and runs on ${this.spec.primary.name}, unprotected.` }, null);
    } catch (err) {
      this.busy = null;
      this.setState({ state: 'degraded', since: this.clock(), reasonCode: 'secondary-lost', reason: `${this.spec.secondary.name} is gone (${why}), and ${this.spec.primary.name} could not be taken out of COLO: ${messageOf(err)}` });
    }
  }

  private async autoFailover(): Promise<void> {
    if (this.busy !== null || this.finished) return;
    this.busy = 'failover';
    const since = this.sides.primary.lastRunningAt ?? this.clock();
    try {
      this.setState({ state: 'failing-over', since: this.clock(), reasonCode: 'primary-lost', reason: `The primary's QEMU on ${this.spec.primary.name} is gone; ${this.spec.secondary.name} takes over from its last checkpoint.` }, true);
      await this.promoteSecondary(this.ctx, 'secondary', `The primary's QEMU on ${this.spec.primary.name} is gone: its host answers, its monitor socket does not.`, since);
    } catch (err) {
      this.busy = null;
      this.setState({ state: 'error', since: this.clock(), reasonCode: 'primary-lost', reason: `The primary's QEMU on ${this.spec.primary.name} is gone and the takeover by ${this.spec.secondary.name} failed: ${messageOf(err)}` });
    }
  }

  private finish(final: ProtectionState, openOutcome: 'aborted' | 'failed' | null): ProtectionState {
    if (this.finished) return this.current;
    if (openOutcome !== null) this.tracker.end(this.clock(), openOutcome);
    this.phase = 'ended';
    this.finished = true;
    this.current = final;
    this.stopHeartbeat();
    this.startWaiter?.reject(new Error(final.reason ?? final.state));
    this.startWaiter = null;
    if (!this.detached) this.events.state(final);
    for (const s of SIDES) this.sides[s].session.close();
    this.released();
    this.resolveEnded(final);
    return final;
  }

  private setState(s: ProtectionState, force = false): void {
    if (this.finished || this.detached) return;
    if (this.busy !== null && !force) return;
    if (s.state === this.current.state && s.reasonCode === this.current.reasonCode && s.reason === this.current.reason && s.progress?.pagesDone === this.current.progress?.pagesDone) return;
    this.current = s;
    this.events.state(s);
  }

  // ---------------------------------------------------------------------------------------------------------------
  // What QEMU says.

  private onSession(w: SideWatch, s: QmpSessionState): void {
    const before = w.status.monitor;
    // A fresh attempt that failed while the SSH link is up: the socket refused (a connection that merely closed
    // goes connected → waiting, and may be a passing fault).
    if (s.kind === 'waiting') w.refused = w.lastSession === 'connecting' && w.link.state.kind === 'connected';
    else if (s.kind === 'connected') w.refused = false;
    w.lastSession = s.kind;
    if (s.kind === 'connected') {
      w.status = { ...w.status, monitor: 'connected' };
      delete w.status.detail;
      const v = w.session.greeting?.version;
      if (v !== undefined) w.status.version = `QEMU ${v.major}.${v.minor}.${v.micro}`;
    } else if (s.kind === 'waiting') {
      w.status = { ...w.status, monitor: 'unreachable', detail: s.error.slice(0, 500) };
    }
    if (before !== w.status.monitor || w.refused) {
      this.events.changed?.();
      void this.judge();
    }
  }

  private onEvent(w: SideWatch, e: QmpEvent): void {
    if (this.finished || this.detached) return;
    const primary = w.side === 'primary';
    switch (e.event) {
      case 'STOP':
        w.status.runState = 'paused';
        if (this.phase !== 'ended' && this.busy === null) {
          if (primary) {
            if (this.phase === 'syncing' || this.phase === 'colo' || (this.phase === 'starting' && this.migrateSent)) this.tracker.primaryStop(e.at);
          } else if (this.phase === 'colo') this.tracker.secondaryStop(e.at);
        }
        break;
      case 'RESUME':
        w.status.runState = 'running';
        w.lastRunningAt = Math.max(w.lastRunningAt ?? 0, e.receivedAt);
        if (this.busy !== null) break;
        if (primary) {
          this.tracker.primaryResume(e.at);
          if (this.phase === 'syncing' && this.migration === 'colo') this.enterColo();
        } else this.tracker.secondaryResume(e.at);
        this.judgeSoon();
        break;
      case 'MIGRATION': {
        const status = typeof e.data?.status === 'string' ? e.data.status.slice(0, 64) : null;
        if (!primary || status === null) break;
        this.migration = status;
        this.events.changed?.();
        if (status === 'failed' && this.phase !== 'colo') void this.startFailed();
        break;
      }
      case 'COLO_EXIT': {
        const mode = typeof e.data?.mode === 'string' ? e.data.mode.slice(0, 32) : '?';
        const reason = typeof e.data?.reason === 'string' ? e.data.reason.slice(0, 32) : '?';
        this.lastColoExit = { side: w.side, mode, reason, at: e.at };
        this.coloExitSeen[w.side] = reason;
        this.events.changed?.();
        void this.judge();
        break;
      }
      case 'SHUTDOWN':
        w.shutdown = true;
        this.events.changed?.();
        break;
      default:
        break;
    }
  }

  private enterColo(): void {
    this.phase = 'colo';
    this.coloSince = this.clock();
    this.tracker.expectSecondary = true;
    this.tracker.coloStarted();
    this.setState({ state: 'protected', since: this.clock() });
    // The sides' COLO modes as they are now, not as the last heartbeat before COLO saw them.
    void this.beat();
  }

  private async startFailed(): Promise<void> {
    let why = 'the migration failed';
    try {
      const m = await this.command<{ 'error-desc'?: unknown }>('primary', 'query-migrate', undefined, this.unaudited, { timeoutMs: 2000 });
      if (typeof m['error-desc'] === 'string') why = m['error-desc'].slice(0, 500);
    } catch {
      // The reason stays general.
    }
    this.startWaiter?.reject(new Error(`${this.spec.primary.name}: the initial copy to ${this.spec.secondary.name} failed: ${why}`));
    this.startWaiter = null;
    this.finish({ state: 'unprotected', since: this.clock(), reasonCode: 'stream-error', reason: `The initial copy to ${this.spec.secondary.name} failed (${why}); ${this.spec.name} runs on ${this.spec.primary.name}, unprotected.` }, 'failed');
  }

  // ---------------------------------------------------------------------------------------------------------------
  // The heartbeat: every interval, each side's run state (and the primary's migration status); a side that misses
  // `misses` answers in a row is lost, and judge() decides what that means.

  private armHeartbeat(): void {
    this.stopHeartbeat();
    if (this.finished || this.detached) return;
    this.beatTimer = setInterval(() => void this.beat(), this.heartbeat.intervalMs);
    this.beatTimer.unref();
  }

  private stopHeartbeat(): void {
    if (this.beatTimer !== null) clearInterval(this.beatTimer);
    this.beatTimer = null;
  }

  private async beat(): Promise<void> {
    if (this.beating || this.finished || this.detached) return;
    this.beating = true;
    try {
      const timeoutMs = Math.max(50, Math.min(this.heartbeat.intervalMs, this.timing.commandTimeoutMs));
      await Promise.all(SIDES.map(async (side) => {
        const w = this.sides[side];
        const before = JSON.stringify({ ...w.status, lastAnswerAt: null });
        try {
          const st = await w.session.execute<{ status?: unknown; running?: unknown }>('query-status', undefined, { timeoutMs });
          const colo = await w.session.execute<{ mode?: unknown }>('query-colo-status', undefined, { timeoutMs }).catch(() => null);
          const now = this.clock();
          w.status = {
            ...w.status,
            monitor: 'connected',
            missedHeartbeats: 0,
            lastAnswerAt: now,
            ...(typeof st.status === 'string' ? { runState: st.status.slice(0, 64) } : {}),
            ...(colo !== null && (colo.mode === 'none' || colo.mode === 'primary' || colo.mode === 'secondary') ? { coloMode: colo.mode } : {}),
          };
          delete w.status.detail;
          if (st.running === true) w.lastRunningAt = now;
          if (side === 'primary') await this.readPrimary(timeoutMs);
        } catch (err) {
          const silent = err instanceof QmpError && err.kind === 'timeout';
          w.status = {
            ...w.status,
            monitor: silent ? 'silent' : 'unreachable',
            missedHeartbeats: w.status.missedHeartbeats + 1,
            detail: silent ? `no answer to query-status within ${timeoutMs} ms` : (w.status.detail ?? messageOf(err).slice(0, 500)),
          };
        }
        if (JSON.stringify({ ...w.status, lastAnswerAt: null }) !== before) this.events.changed?.();
      }));
      await this.judge();
    } finally {
      this.beating = false;
    }
  }

  private async readPrimary(timeoutMs: number): Promise<void> {
    const m = await this.command<{ status?: unknown; ram?: { total?: unknown; remaining?: unknown; 'page-size'?: unknown; 'dirty-sync-count'?: unknown } }>('primary', 'query-migrate', undefined, this.unaudited, { timeoutMs });
    if (typeof m.status === 'string') this.migration = m.status.slice(0, 64);
    if (this.checkpointDelayMs === null) {
      const p = await this.command<Record<string, unknown>>('primary', 'query-migrate-parameters', undefined, this.unaudited, { timeoutMs });
      if (typeof p['x-checkpoint-delay'] === 'number') this.checkpointDelayMs = p['x-checkpoint-delay'];
    }
    if (this.phase === 'syncing' && m.status === 'active' && m.ram !== undefined) {
      const total = Number(m.ram.total);
      const remaining = Number(m.ram.remaining);
      const page = Number(m.ram['page-size']) || 4096;
      if (Number.isFinite(total) && Number.isFinite(remaining) && total > 0) {
        this.setState({
          ...this.current,
          progress: { iteration: Math.max(1, Number(m.ram['dirty-sync-count']) || 1), pagesDone: Math.round(Math.max(0, total - remaining) / page), pagesTotal: Math.round(total / page) },
        });
      }
    }
    // Attached during COLO start, or an event lost over a reconnect: the primary's word settles it.
    if (this.phase === 'syncing' && m.status === 'colo' && this.sides.primary.status.runState === 'running') this.enterColo();
  }

  private async primaryAnswers(): Promise<boolean> {
    try {
      const st = await this.sides.primary.session.execute<{ running?: unknown }>('query-status', undefined, { timeoutMs: Math.min(1000, this.heartbeat.intervalMs) });
      return typeof st.running === 'boolean';
    } catch {
      return false;
    }
  }

  /** A checkpoint has been open on the primary for longer than the heartbeat allows a side to stay silent. */
  private checkpointHeld(): boolean {
    const since = this.tracker.openSince;
    return since !== null && this.clock() - since > this.heartbeat.misses * this.heartbeat.intervalMs;
  }

  /**
   * No checkpoint has begun for two delays and the heartbeat's allowance: the primary cannot reach the secondary
   * either (a checkpoint request to a vanished host waits, with the guest's output held, and no STOP is ever sent).
   */
  private checkpointsOverdue(): boolean {
    const delay = this.checkpointDelayMs;
    if (delay === null) return false;
    const since = this.tracker.lastStartSeenAt ?? this.coloSince;
    return since !== undefined && this.clock() - since > 2 * delay + this.heartbeat.misses * this.heartbeat.intervalMs;
  }

  private judgeSoon(): void {
    if (this.current.state === 'degraded') void this.judge();
  }

  /** What the sides' health means for the pair; acts where acting is safe. */
  private async judge(): Promise<void> {
    if (!this.watching || this.finished || this.detached || this.busy !== null || this.phase === 'starting') return;
    const p = this.sides.primary;
    const s = this.sides.secondary;
    const n = this.heartbeat.misses;
    const pName = this.spec.primary.name;
    const sName = this.spec.secondary.name;
    const primaryLost = gone(p) || p.status.missedHeartbeats >= n;
    const secondaryLost = gone(s) || s.status.missedHeartbeats >= n;

    if (this.phase === 'syncing') {
      if (primaryLost || secondaryLost) {
        const who = primaryLost ? `the primary's QEMU on ${pName}` : `the secondary's QEMU on ${sName}`;
        this.setState({ state: 'degraded', since: this.clock(), reasonCode: primaryLost ? 'primary-lost' : 'secondary-lost', reason: `The initial copy cannot complete: ${who} does not answer (${(primaryLost ? p : s).status.detail ?? 'no answer'}).` });
      }
      return;
    }

    const open = this.tracker.openSeq;
    // One slow answer is not news (a loaded host, a checkpoint under way); two in a row inside a checkpoint are.
    const stalled = p.status.monitor === 'silent' && open !== null && p.status.missedHeartbeats >= Math.min(2, n);
    if (primaryLost || stalled) {
      if (primaryLost && gone(p) && !secondaryLost && this.heartbeat.autoFailover) return this.autoFailover();
      if (p.status.monitor === 'silent' && open !== null) {
        // No counts in the words: a reason that changed every heartbeat would be a new event each time.
        const v = primaryLost && isQemu72(p.status.version) ? ' This is QEMU 7.2\'s known checkpoint deadlock (its COLO thread waits on a lock it already holds): it will not resume.' : '';
        this.setState({ state: 'degraded', since: this.clock(), reasonCode: 'checkpoint-stalled', reason: `${this.spec.name} is paused on ${pName} in checkpoint ${open}, and its monitor has stopped answering${primaryLost ? ` (${n} heartbeats missed)` : ''}.${v}` });
        return;
      }
      this.setState({ state: 'degraded', since: this.clock(), reasonCode: 'primary-lost', reason: this.fencingNeeded() ?? `The primary's QEMU on ${pName} is gone; automatic failover is off: fail over by hand.` });
      return;
    }
    if (p.status.monitor === 'silent') return;
    if (p.status.monitor !== 'connected') {
      // Not yet lost: its connection dropped, a passing fault or the start of one; the next heartbeats decide.
      this.setState({ state: 'degraded', since: this.clock(), reasonCode: 'primary-lost', reason: `The primary's monitor on ${pName} does not answer${p.status.detail ? ` (${p.status.detail})` : ''}; it counts as lost after ${n} missed heartbeats.` });
      return;
    }
    const secondaryExited = this.coloExitSeen.secondary !== undefined;
    const primaryExited = this.coloExitSeen.primary !== undefined;
    // The console not reaching the secondary's host is not the secondary gone: COLO goes on between the hosts as
    // long as the primary's checkpoints complete. Only a checkpoint held open by it makes it the guest's problem.
    const onlyOutOfSight = secondaryLost && !gone(s) && s.status.monitor === 'unreachable' && s.link.state.kind !== 'connected';
    if (onlyOutOfSight && !secondaryExited && !primaryExited && !this.checkpointHeld() && !this.checkpointsOverdue()) {
      this.setState({ state: 'degraded', since: this.clock(), reasonCode: 'secondary-lost', reason: `The console cannot reach ${sName}${s.status.detail ? ` (${s.status.detail})` : ''}; COLO goes on between the hosts while ${pName}'s checkpoints complete.` });
      return;
    }
    if (secondaryLost || secondaryExited || primaryExited) {
      // A secondary that left COLO may mean a dead primary whose monitor has not yet been seen to go: ask it now.
      if (!secondaryLost && !primaryExited && !(await this.primaryAnswers())) return;
      // QEMU's own word first: what the console saw of the secondary may be only its own view.
      const why = secondaryExited || primaryExited
        ? `COLO_EXIT on the ${secondaryExited ? 'secondary' : 'primary'} (reason ${this.coloExitSeen[secondaryExited ? 'secondary' : 'primary']})`
        : `its QEMU ${s.shutdown ? 'shut down' : gone(s) ? 'is gone (its monitor socket refuses connections)' : `missed ${s.status.missedHeartbeats} heartbeats (${s.status.detail ?? 'no answer'})`}`;
      return this.keepPrimary(why);
    }
    if (this.current.state === 'degraded' && this.tracker.openSeq === null) this.setState({ state: 'protected', since: this.clock() });
  }
}

/** A side's QEMU has ended: it said so, or its host answers over SSH while its monitor socket refuses. */
function gone(w: SideWatch): boolean {
  return w.shutdown || (w.refused && w.status.monitor === 'unreachable');
}

function messageOf(err: unknown): string {
  return err instanceof Error ? err.message : String(err);
}

