// The state both emulated monitors of a COLO pair share: each side's run state, migration status, COLO mode and
// migration settings, and the timeline QEMU 7.2 was recorded following (qemu-colo.md §1.3–1.5, §3): the initial
// copy, COLO start, periodic checkpoints (STOP on both sides, the secondary resumes first, then the primary), the
// COLO link breaking when a side dies or is yanked, and failover by x-colo-lost-heartbeat. Unlike 7.2 here, the
// checkpoints go on at x-checkpoint-delay unless told to hang like 7.2 does.

import type { Json } from './wire.js';
import { MIGRATION_CAPABILITIES, defaultMigrationParameters } from './qemu-7.2.js';

export type Side = 'primary' | 'secondary';
export type ColoMode = 'none' | 'primary' | 'secondary';
export type MigrationStatus = 'none' | 'setup' | 'active' | 'colo' | 'completed' | 'failed';
export type RunState = 'running' | 'inmigrate' | 'finish-migrate' | 'colo' | 'postmigrate' | 'paused';

export interface SideState {
  alive: boolean;
  runState: RunState;
  capabilities: Map<string, boolean>;
  parameters: Record<string, number | string | boolean>;
  migration: MigrationStatus;
  mode: ColoMode;
  lastMode: ColoMode;
  /** Failover finished on this side (query-colo-status reason `request`). */
  failedOver: boolean;
  /** The COLO connection to the peer broke (peer died, yank); COLO_EXIT(error) was sent, failover still pending. */
  linkBroken: boolean;
  /** The main loop is blocked (7.2's checkpoint deadlock): no in-band answers, no events. */
  hung: boolean;
  /** Why the last migration failed (query-migrate's error-desc). */
  migrationError?: string;
}

export interface PairTimings {
  /** From `migrate` to the migration thread's first pass (status setup until then); 3 ms in the recording. */
  setupMs: number;
  /** From `migrate` to the end of the initial copy (primary STOP); 140 ms in the recording. */
  initialCopyMs: number;
  /** From the primary's STOP to COLO running (both RESUME); 255 ms in the recording. */
  coloStartMs: number;
  /** How long the secondary is paused per checkpoint; 48 ms in the recording. */
  checkpointPauseMs: number;
  /** How much later than the secondary the primary resumes (it waits for vmstate-loaded). */
  primaryResumeLagMs: number;
}

export const DEFAULT_TIMINGS: PairTimings = { setupMs: 3, initialCopyMs: 140, coloStartMs: 255, checkpointPauseMs: 45, primaryResumeLagMs: 2 };

type Emit = (event: string, data?: Json) => void;

export interface PairOptions {
  timings?: Partial<PairTimings>;
  /** The secondary's `-incoming` address; `migrate` to anything else fails. */
  incomingUri: string;
  /** Behave like Debian's 7.2 here: the first periodic checkpoint never ends on the primary. */
  qemu72Deadlock?: boolean;
  /** Guest RAM in MiB, for the initial copy's counters in query-migrate; default 64. */
  ramMiB?: number;
}

function freshSide(runState: RunState): SideState {
  return {
    alive: true,
    runState,
    capabilities: new Map(MIGRATION_CAPABILITIES.map((c) => [c, false])),
    parameters: defaultMigrationParameters(),
    migration: 'none',
    mode: 'none',
    lastMode: 'none',
    failedOver: false,
    linkBroken: false,
    hung: false,
  };
}

export class ColoPair {
  readonly sides: Record<Side, SideState> = { primary: freshSide('running'), secondary: freshSide('inmigrate') };
  readonly timings: PairTimings;
  private readonly sinks: Record<Side, Set<Emit>> = { primary: new Set(), secondary: new Set() };
  private readonly timers = new Set<NodeJS.Timeout>();
  private checkpointTimer: NodeJS.Timeout | null = null;
  private lastCheckpointStart = 0;
  private checkpointing = false;
  /** Both sides resumed after the initial copy: from here the periodic timer runs. */
  private coloRunning = false;
  private checkpointDue = false;
  private hangNext: boolean;
  private passes = 0;
  /** Checkpoints completed so far (both sides resumed). */
  checkpoints = 0;
  private copyStartedAt = 0;
  /** When `migrate` was accepted (query-migrate's total-time). */
  migrationStartedAt = 0;

  /**
   * query-migrate's `ram` while the initial copy runs, in a real 7.2's shape: the guest's pages go out at an even
   * pace over initialCopyMs (a real one sends zero pages as a count, so `remaining` falls faster than `transferred`
   * grows; modelled as equal here).
   */
  initialCopyRam(): Json {
    const page = 4096;
    const total = (this.o.ramMiB ?? 64) * 1024 * 1024;
    const done = Math.min(1, Math.max(0, (Date.now() - this.copyStartedAt) / Math.max(1, this.timings.initialCopyMs)));
    const sent = Math.floor((total * done) / page) * page;
    return {
      total, 'postcopy-requests': 0, 'dirty-sync-count': 1, 'multifd-bytes': 0, 'pages-per-second': 0, 'downtime-bytes': 0,
      'page-size': page, remaining: total - sent, 'postcopy-bytes': 0, mbps: 0, transferred: sent, 'dirty-sync-missed-zero-copy': 0,
      'precopy-bytes': sent, duplicate: 0, 'dirty-pages-rate': 0, skipped: 0, 'normal-bytes': sent, normal: sent / page,
    };
  }

  constructor(private readonly o: PairOptions) {
    this.timings = { ...DEFAULT_TIMINGS, ...o.timings };
    this.hangNext = o.qemu72Deadlock ?? false;
  }

  /** Where a side's events go: each of its monitors (QEMU sends every event to all its QMP monitors); returns the detach. */
  attach(side: Side, emit: Emit): () => void {
    this.sinks[side].add(emit);
    return () => {
      this.sinks[side].delete(emit);
    };
  }

  /** Makes the next periodic checkpoint hang the primary the way 7.2 does. */
  hangNextCheckpoint(): void {
    this.hangNext = true;
  }

  private emit(side: Side, event: string, data?: Json): void {
    const s = this.sides[side];
    if (!s.alive || s.hung) return;
    for (const sink of this.sinks[side]) sink(event, data);
  }

  /** MIGRATION and MIGRATION_PASS are sent only with the `events` capability on (qemu-colo.md §1.6). */
  private migrationEvent(side: Side, event: 'MIGRATION' | 'MIGRATION_PASS', data: Json): void {
    if (this.sides[side].capabilities.get('events')) this.emit(side, event, data);
  }

  private setMigration(side: Side, status: MigrationStatus): void {
    this.sides[side].migration = status;
    this.migrationEvent(side, 'MIGRATION', { status });
  }

  private setRun(side: Side, state: RunState): void {
    const s = this.sides[side];
    const wasRunning = s.runState === 'running';
    s.runState = state;
    if (wasRunning && state !== 'running') this.emit(side, 'STOP');
    if (!wasRunning && state === 'running') this.emit(side, 'RESUME');
  }

  private after(ms: number, fn: () => void): NodeJS.Timeout {
    const t = setTimeout(() => {
      this.timers.delete(t);
      fn();
    }, ms);
    this.timers.add(t);
    return t;
  }

  private inColo(side: Side): boolean {
    const s = this.sides[side];
    return s.alive && s.mode !== 'none' && !s.linkBroken;
  }

  /** Whether the side has a migration connection a `yank` of type migration can cut. */
  hasMigrationYank(side: Side): boolean {
    const m = this.sides[side].migration;
    return m === 'setup' || m === 'active' || m === 'colo';
  }

  /** `migrate` on the primary was accepted: runs the initial copy and, with x-colo, COLO start. */
  migrate(uri: string): void {
    const s = this.sides.secondary;
    delete this.sides.primary.migrationError;
    this.migrationStartedAt = Date.now();
    this.setMigration('primary', 'setup');
    // The reply to `migrate` goes out after the setup event; the rest happens on the migration thread.
    this.after(this.timings.setupMs, () => {
      if (uri !== this.o.incomingUri || !s.alive || s.runState !== 'inmigrate') {
        // Nothing listens there (the words of a real 7.2 for a tcp: URI).
        this.sides.primary.migrationError = `Failed to connect to '${uri.replace(/^tcp:/, '')}': Connection refused`;
        this.setMigration('primary', 'failed');
        return;
      }
      this.migrationEvent('primary', 'MIGRATION_PASS', { pass: ++this.passes });
      this.copyStartedAt = Date.now();
      this.setMigration('primary', 'active');
      this.setMigration('secondary', 'active');
      this.after(this.timings.initialCopyMs, () => this.finishInitialCopy());
    });
  }

  private finishInitialCopy(): void {
    if (!this.sides.primary.alive || this.sides.primary.migration !== 'active') return;
    if (!this.sides.secondary.alive) return this.setMigration('primary', 'failed');
    this.migrationEvent('primary', 'MIGRATION_PASS', { pass: ++this.passes });
    this.setRun('primary', 'finish-migrate');
    this.migrationEvent('primary', 'MIGRATION_PASS', { pass: ++this.passes });
    if (!this.sides.primary.capabilities.get('x-colo')) {
      // Plain migration: the source stays stopped, the destination runs.
      this.setMigration('primary', 'completed');
      this.setRun('primary', 'postmigrate');
      this.after(5, () => {
        this.setMigration('secondary', 'completed');
        this.setRun('secondary', 'running');
      });
      return;
    }
    this.setMigration('primary', 'colo');
    this.sides.primary.mode = 'primary';
    this.after(this.timings.coloStartMs, () => {
      const s = this.sides.secondary;
      if (!s.alive || !this.sides.primary.alive) return;
      s.mode = 'secondary';
      this.setMigration('secondary', 'colo');
      this.setRun('secondary', 'running');
      this.setRun('primary', 'running');
      this.coloRunning = true;
      this.lastCheckpointStart = Date.now();
      this.armCheckpointTimer();
    });
  }

  /** The periodic timer runs start to start; a change of x-checkpoint-delay re-arms it from the last start. */
  armCheckpointTimer(): void {
    if (this.checkpointTimer !== null) {
      clearTimeout(this.checkpointTimer);
      this.timers.delete(this.checkpointTimer);
      this.checkpointTimer = null;
    }
    if (!this.coloRunning || !this.inColo('primary') || this.sides.primary.hung) return;
    const delay = Number(this.sides.primary.parameters['x-checkpoint-delay']);
    const wait = Math.max(0, this.lastCheckpointStart + delay - Date.now());
    this.checkpointTimer = this.after(wait, () => {
      this.checkpointTimer = null;
      this.lastCheckpointStart = Date.now();
      if (this.checkpointing) this.checkpointDue = true;
      else this.checkpoint();
      this.armCheckpointTimer();
    });
  }

  private checkpoint(): void {
    if (!this.inColo('primary')) return;
    if (!this.inColo('secondary')) {
      // The request to the secondary fails before the primary pauses.
      return this.linkLost('primary');
    }
    this.checkpointing = true;
    // The secondary pauses before it replies to checkpoint-request; the primary right after (§1.3 steps 2–3).
    this.setRun('secondary', 'colo');
    this.setRun('primary', 'colo');
    this.migrationEvent('primary', 'MIGRATION_PASS', { pass: ++this.passes });
    const hang = this.hangNext;
    this.hangNext = false;
    if (hang) {
      // 7.2: the primary's COLO thread blocks on the big lock before vm_start. Its main loop is stuck from the
      // checkpoint's start here, as in the recording (a real one sometimes still answers while the state is sent).
      this.sides.primary.hung = true;
    }
    this.after(this.timings.checkpointPauseMs, () => {
      if (this.inColo('secondary')) this.setRun('secondary', 'running');
      if (hang) return;
      this.after(this.timings.primaryResumeLagMs, () => {
        this.checkpointing = false;
        if (!this.inColo('primary')) return;
        this.setRun('primary', 'running');
        this.checkpoints++;
        if (this.checkpointDue) {
          this.checkpointDue = false;
          this.checkpoint();
        }
      });
    });
  }

  /** The COLO connection broke on `side`: its COLO thread reports COLO_EXIT(error) and waits for failover. */
  private linkLost(side: Side): void {
    const s = this.sides[side];
    if (!s.alive || s.mode === 'none' || s.linkBroken) return;
    s.linkBroken = true;
    this.emit(side, 'COLO_EXIT', { mode: s.mode, reason: 'error' });
  }

  /** Ends the side's process once `quit` was answered (set by the monitors' owner, which closes the socket). */
  onQuit: ((side: Side) => void) | null = null;

  /** `quit`: SHUTDOWN, then the process ends, as on a kill. */
  quit(side: Side): void {
    this.emit(side, 'SHUTDOWN', { guest: false, reason: 'host-qmp-quit' });
    setImmediate(() => this.onQuit?.(side));
  }

  /** The process of `side` is gone (SIGKILL): the peer's COLO link breaks, or its incoming migration fails. */
  kill(side: Side): void {
    const s = this.sides[side];
    if (!s.alive) return;
    s.alive = false;
    const peer: Side = side === 'primary' ? 'secondary' : 'primary';
    if (this.sides[peer].mode !== 'none') {
      // The secondary reads the link all the time and notices at once; the primary notices at its next checkpoint.
      if (peer === 'secondary') this.linkLost('secondary');
    } else if (this.sides[peer].migration === 'active' || this.sides[peer].migration === 'setup') {
      this.setMigration(peer, 'failed');
    }
  }

  /** `yank` of the migration instance on `side`: the COLO connection is shut down under both ends. */
  yankMigration(side: Side): void {
    const peer: Side = side === 'primary' ? 'secondary' : 'primary';
    this.linkLost(side);
    this.linkLost(peer);
  }

  /**
   * x-colo-lost-heartbeat on `side` (already checked to be in COLO). The side stops, completes the migration and
   * runs alone, in the order a real 7.2 secondary was seen to: STOP, MIGRATION completed, then (only if the COLO
   * link was still up) COLO_EXIT with reason `request`, the reply, RESUME. A link that was up breaks for the peer.
   */
  failover(side: Side, reply: () => void): void {
    const s = this.sides[side];
    const peer: Side = side === 'primary' ? 'secondary' : 'primary';
    const linkWasUp = !s.linkBroken;
    if (side === 'primary' && this.checkpointTimer !== null) {
      clearTimeout(this.checkpointTimer);
      this.checkpointTimer = null;
    }
    if (s.runState === 'running') this.setRun(side, 'colo');
    this.setMigration(side, 'completed');
    if (linkWasUp) this.emit(side, 'COLO_EXIT', { mode: s.mode, reason: 'request' });
    reply();
    s.lastMode = s.mode;
    s.mode = 'none';
    s.failedOver = true;
    s.linkBroken = false;
    this.after(3, () => {
      this.setRun(side, 'running');
      // The secondary reads the link all the time; a primary would notice only at its next checkpoint.
      if (linkWasUp && peer === 'secondary') this.linkLost(peer);
    });
  }

  coloStatus(side: Side): Json {
    const s = this.sides[side];
    // §1.5: none before any failover, request once it completed, processing while a failover is under way.
    const reason = s.failedOver ? 'request' : 'none';
    return { 'last-mode': s.lastMode, mode: s.mode, reason };
  }

  stop(): void {
    for (const t of this.timers) clearTimeout(t);
    this.timers.clear();
    this.checkpointTimer = null;
  }
}
