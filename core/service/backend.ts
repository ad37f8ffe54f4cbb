// One interface for every hypervisor family (DESIGN.md, backends/). The service talks to nothing else, so the
// simulator, Xen over SSH and QEMU over SSH are interchangeable behind it. They differ in who drives checkpoints:
// - sim: the console runs the checkpoint engine itself and decides when to checkpoint ('driven');
// - xen: `xl remus -c` on the primary's dom0 drives them; the backend parses its log lines (xen-colo.md §3.3) and
//   times what it can see ('observed', cycles often 'derived');
// - qemu: QEMU's COLO thread drives them; the backend watches QMP events (STOP/RESUME, COLO_EXIT) through a
//   forwarded socket (qemu-colo.md §1.5–1.6) ('observed').
// All three report the same vocabulary: ProtectionState, CycleRecord, FailoverEvent (core/colo/types.ts).
//
// What each operation means per family (xen-colo.md §2.8; qemu-colo.md §1.6):
// - protect: sim: a fresh simulated pair; xen: `xl remus -c <dom> <secondary>` under a supervisor; qemu: enable
//   x-colo on both sides, NBD/replication plumbing, then `migrate`. Every start is a full initial sync.
// - stop: destroy the secondary's copy first, so only the primary runs on (xen: `xl destroy <name>--incoming`).
// - failover: destroy the primary's copy (xen: `xl destroy <dom>`; qemu: yank + `x-colo-lost-heartbeat` on the
//   secondary); the secondary takes over from its last checkpoint.
// - detach: stop watching. Protection that lives on real hosts goes on without the console; the simulator's pair
//   lives in this process, so for it detaching ends protection.

import type { CycleRecord, FailoverEvent, OpenCheckpoint, ProtectionState, ReplicationMode, Side } from '../colo/types.js';
import type { SimFault } from '../backends/sim/pair.js';
import type { WorkloadConfig } from '../backends/sim/workload.js';
import type { SshHostLink } from '../ssh/host-link.js';
import type { QemuPairStatus } from '../api/console-contract.js';
import type { HostRecord, StoredSimSettings } from './registry.js';

export type BackendKind = 'sim' | 'xen' | 'qemu';

/** How a backend reaches an SSH host: the service's one shared link per host (host-connections.ts). */
export interface HostLinks {
  link(host: HostRecord): SshHostLink;
}

export interface BackendCapabilities {
  /** 'driven': the console decides when to checkpoint (sim). 'observed': the hypervisor does; we watch. */
  readonly checkpoints: 'driven' | 'observed';
  /** Whether an admin can ask for a checkpoint now (sim; not xl, which has no such command). */
  readonly manualCheckpoint: boolean;
  readonly modes: readonly ReplicationMode[];
  /** Can pick up protection that was running before the console started (xl remus / QEMU keep going without us). */
  readonly attach: boolean;
  /** Fault injection and workload control (the simulator only). */
  readonly simulation: boolean;
  /**
   * Whether the secondary can take over while the primary is frozen in a checkpoint (QEMU: the secondary holds the
   * last checkpoint and is released with yank + x-colo-lost-heartbeat). Elsewhere a takeover would wait on it.
   */
  readonly failoverWhileFrozen?: boolean;
}

/** A command the backend sent to a host, for the audit log: the exact text, where it ran, and how it ended. */
export interface HostCommand {
  hostId: string;
  /** Exactly what was run (argv joined with shell quoting, or a QMP command). Never a secret: the backend omits them. */
  command: string;
  result: 'ok' | 'error';
  /** Exit status, error text or a short summary of the reply. */
  detail?: string;
}

/** Passed to every operation: where to report commands, and when to give up. */
export interface BackendContext {
  readonly signal?: AbortSignal;
  /** Called once per command sent to a host, after its result is known. */
  command(record: HostCommand): void;
}

/** What the backend needs to know about one pair. Hosts are resolved from the registry by the service. */
export interface PairSpec {
  readonly id: string;
  /** The VM's name, as the admin knows it. */
  readonly name: string;
  /** The domain on the primary host (xl name / QEMU VM); usually the same as `name`. */
  readonly domain: string;
  readonly mode: ReplicationMode;
  readonly primary: HostRecord;
  readonly secondary: HostRecord;
  /** Simulated pairs only. */
  readonly sim?: StoredSimSettings;
  /** Attach only: the last checkpoint seq the console stored for the run it continues. */
  readonly lastSeq?: number;
  /** Backend-specific settings from the registry (PairRecord.options); the backend validates them in preflight. */
  readonly options?: Readonly<Record<string, string | number | boolean>>;
}

export interface HostProbe {
  hypervisor: BackendKind;
  /** e.g. Xen 4.17.3, QEMU 9.2.0. */
  version?: string;
  /** e.g. xl info's virt_caps tokens; QMP capabilities such as x-colo. */
  capabilities: string[];
  /** Things the admin should know: "Xen ≥ 4.18: COLO probably broken (xen-colo.md §1.7)". */
  warnings: string[];
}

export interface DomainSummary {
  name: string;
  /** Hypervisor-local id (xl domid); changes across hosts and re-protects. */
  id?: string;
  uuid?: string;
  state: 'running' | 'paused' | 'suspended' | 'shutdown' | 'other';
  memoryMiB?: number;
  vcpus?: number;
  /** 'secondary' for a COLO SVM (`<name>--incoming` on Xen). */
  role?: 'primary' | 'secondary';
  /** QEMU: the VM's QMP monitor socket, as its command line gives it (what an attach needs). */
  qmpSocket?: string;
}

export interface PreflightCheck {
  /** Stable id, e.g. 'hvm', 'xen-version', 'disk-sync', 'x-colo'. */
  id: string;
  label: string;
  status: 'pass' | 'warn' | 'fail';
  detail?: string;
}

/** What a running protection reports. The service attaches these before anything can happen, so nothing is lost. */
export interface PairEvents {
  state(state: ProtectionState): void;
  /**
   * A checkpoint has begun and the primary is paused (Xen: suspend seen; QEMU: STOP). The backend owes a cycle()
   * for it, committed, failed or aborted; the service times the open pause and raises Guest-frozen past the
   * threshold, and records it as aborted if the run ends without that cycle.
   */
  checkpointStarted?(open: OpenCheckpoint): void;
  cycle(record: CycleRecord): void;
  failover(event: FailoverEvent): void;
  /** A guest packet reached its client after being held this long, ms (only backends that can see output). */
  output?(heldMs: number): void;
  /** Backend-specific figures changed (a QEMU side's monitor, the checkpoint delay): publish the pair again. */
  changed?(): void;
}

/** How the admin asked for a failover. */
export interface FailoverOptions {
  /**
   * The admin typed that the primary host is fenced (its copy cannot run on). Without it a backend that cannot rule
   * out a running primary refuses with FencingRequiredError rather than risk two running copies.
   */
  fenced?: boolean;
}

/** A failover refused because the primary may still be running; `message` says why and what to do. */
export class FencingRequiredError extends Error {
  override readonly name = 'FencingRequiredError';
}

export interface FailoverResult {
  /** The pair's state once the takeover has finished (normally 'failed-over'). */
  state: ProtectionState;
  /** What the backend saw of the takeover, including the guest's downtime; null if it saw none. */
  event: FailoverEvent | null;
}

/** Live controls of a simulated pair. */
export interface SimControls {
  inject(fault: SimFault, on: boolean, ctx: BackendContext): void;
  setWorkload(change: Partial<WorkloadConfig>, ctx: BackendContext): void;
  setStopCost(on: boolean, ctx: BackendContext): void;
}

/** Live controls and figures of a QEMU pair. */
export interface QemuControls {
  /** The sides as the heartbeat sees them, the checkpoint delay, why a failover would need fencing. */
  status(): QemuPairStatus;
  /** migrate-set-parameters x-checkpoint-delay on the primary, now. */
  setCheckpointDelay(ms: number, ctx: BackendContext): Promise<void>;
  setHeartbeat(h: { intervalMs: number; misses: number; autoFailover: boolean }): void;
}

/** One running protection of one pair. */
export interface PairHandle {
  readonly state: ProtectionState;
  /** Settles once protection has ended for good (stopped, failed over, lost a side, error), with the final state. */
  readonly ended: Promise<ProtectionState>;
  /** Ends protection; the guest runs on the primary only. Resolves with the final state. */
  stop(ctx: BackendContext): Promise<ProtectionState>;
  /** Destroys the primary's copy; the secondary takes over. Resolves once the takeover has finished. */
  failover(ctx: BackendContext, options?: FailoverOptions): Promise<FailoverResult>;
  /**
   * Ends split brain: keeps the copy on `side` and destroys the other one. Resolves with the final state (normally
   * 'unprotected': the kept copy runs alone). Present where the backend can destroy either copy.
   */
  keep?(side: Side, ctx: BackendContext): Promise<ProtectionState>;
  /** Present only where capabilities.manualCheckpoint. */
  requestCheckpoint?(ctx: BackendContext): void;
  /** Stops watching and releases resources; see the header for what that means per family. Idempotent. */
  detach(ctx: BackendContext): Promise<void>;
  /** Present only where capabilities.simulation. */
  readonly sim?: SimControls;
  /** Present for QEMU pairs. */
  readonly qemu?: QemuControls;
}

export interface ReplicationBackend {
  readonly kind: BackendKind;
  readonly capabilities: BackendCapabilities;
  /** Connects (or re-uses a connection) and reads hypervisor, version and capabilities. */
  probe(host: HostRecord, ctx: BackendContext): Promise<HostProbe>;
  /** The domains on a host. */
  inventory(host: HostRecord, ctx: BackendContext): Promise<DomainSummary[]>;
  /** Checks that protection can start (HVM guest, versions, disks in sync, secondary reachable…); read-only. */
  preflight(pair: PairSpec, ctx: BackendContext): Promise<PreflightCheck[]>;
  /** Starts protection (a full initial sync) and resolves once it is under way; `events` is attached first. */
  protect(pair: PairSpec, events: PairEvents, ctx: BackendContext): Promise<PairHandle>;
  /** Picks up protection already running on the hosts; null if there is none. Only where capabilities.attach. */
  attach?(pair: PairSpec, events: PairEvents, ctx: BackendContext): Promise<PairHandle | null>;
  /**
   * A pair's options after a takeover, when its hosts swap roles (QEMU: the two QMP socket paths swap too); absent
   * where the options name no side.
   */
  swappedOptions?(options: Readonly<Record<string, string | number | boolean>>): Record<string, string | number | boolean>;
  /** What a pair not being watched shows (QEMU: its settings); absent for families with nothing to add. */
  idleStatus?(pair: PairSpec): QemuPairStatus | undefined;
  /** Closes connections. Handles should be detached first. */
  close(): Promise<void>;
}
