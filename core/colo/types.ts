// The vocabulary every backend reports in (DESIGN.md, "The data that flows"). The engine in core/colo is the
// reference implementation, so the types live here; core/api wraps them in runtime schemas.

export type ReplicationMode = 'colo' | 'remus';

/** Why a checkpoint started. `timer` is the periodic one (Remus interval, Xen's 5 s longest wait). */
export type CheckpointTrigger = 'initial' | 'miscompare' | 'timer' | 'timeout' | 'manual';

/** The protocol phases of one cycle, in order (DESIGN.md, CycleRecord). */
export type PhaseName = 'wait' | 'suspend' | 'transfer' | 'device' | 'svm-load' | 'resume';

export const PHASE_ORDER: readonly PhaseName[] = ['wait', 'suspend', 'transfer', 'device', 'svm-load', 'resume'];

export interface PhaseTiming {
  name: PhaseName;
  /** Milliseconds from the cycle's start (monotonic clock). */
  startMs: number;
  durationMs: number;
}

/**
 * `committed`: the secondary holds this checkpoint. `failed`: it broke (a side or the link died mid-checkpoint).
 * `aborted`: it was ended from outside before it could finish (protection stopped, the console closed).
 * Failed and aborted cycles keep their real duration: the guest was paused for all of it.
 */
export type CycleOutcome = 'committed' | 'failed' | 'aborted';

export interface CycleRecord {
  /** 0 is the initial copy; then one per checkpoint. */
  seq: number;
  mode: ReplicationMode;
  trigger: CheckpointTrigger;
  /** Wall-clock time of the cycle's start, ms since the epoch (for display; durations use the monotonic clock). */
  startedAt: number;
  /** Only the phases the backend saw. */
  phases: PhaseTiming[];
  /** From primary suspend to primary resume. */
  primaryPauseMs: number;
  /** From secondary suspend to secondary resume, where known. */
  secondaryPauseMs?: number;
  /** Pages the primary dirtied since the last checkpoint. */
  dirtyPages: number;
  /** Pages the secondary reported dirty (COLO), merged into the set sent. */
  secondaryDirtyPages?: number;
  pagesSent: number;
  /** Bytes written on the forward stream for this cycle, headers and padding included. */
  bytesSent: number;
  outcome: CycleOutcome;
  /** `measured`: every phase was timed by us. `derived`: some timings were inferred from coarser observations. */
  provenance: 'measured' | 'derived';
}

export type ProtectionStateName =
  | 'unprotected'
  | 'starting'
  | 'syncing'
  | 'protected'
  | 'degraded'
  | 'failing-over'
  | 'failed-over'
  | 'stopped'
  | 'error';

/** Machine-readable cause of a state other than `protected`; `reason` carries the sentence for people. */
export type ProtectionReasonCode =
  | 'not-started'
  | 'initial-sync'
  | 'secondary-lost'
  | 'primary-lost'
  | 'link-broken'
  | 'split-brain'
  | 'checkpoint-stalled'
  | 'checkpoint-overdue'
  | 'guest-frozen'
  | 'slow-checkpoints'
  | 'stopped-by-admin'
  | 'failover-by-admin'
  | 'stream-error'
  | 'internal-error';

export interface SyncProgress {
  /** Live iteration number (1-based); the final pass runs with the domain suspended. */
  iteration: number;
  pagesDone: number;
  pagesTotal: number;
}

export interface ProtectionState {
  state: ProtectionStateName;
  /** Wall-clock ms since the epoch when this state was entered. */
  since: number;
  reasonCode?: ProtectionReasonCode;
  reason?: string;
  progress?: SyncProgress;
}

export type Side = 'primary' | 'secondary';

export interface FailoverEvent {
  /** Which side noticed, or `admin` when it was asked for. */
  detectedBy: Side | 'admin';
  /** What was detected, in words. */
  cause: string;
  /** Wall-clock ms since the epoch of the detection. */
  at: number;
  /** Which copy of the guest runs afterwards. `both` is split brain. */
  survivor: Side | 'both' | 'none';
  /** Sequence number of the last complete checkpoint the survivor holds. */
  lastCheckpointSeq: number;
  /** How long the guest had no running copy, ms (monotonic). 0 when a copy kept running throughout. */
  guestDowntimeMs: number;
  /**
   * When the primary survived (its secondary was lost): how long the guest's output was held back waiting for a
   * checkpoint that never completed, ms. The guest ran on, but its clients saw nothing for this long.
   */
  outputHeldMs?: number;
  /** The hypervisor's own words for what happened (an xl log line, a QMP COLO_EXIT reason), for the detail view. */
  detail?: string;
}

/** A checkpoint that has started and not finished: the primary is paused from `startedAt` on. */
export interface OpenCheckpoint {
  seq: number;
  trigger: CheckpointTrigger;
  /** Wall-clock ms since the epoch when the primary was paused. */
  startedAt: number;
}
