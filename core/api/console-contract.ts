// The console's one API: everything the renderer may ask of the ConsoleService and every stream it may watch.
// Electron IPC and browser mode both carry exactly this (DESIGN.md, "one contract, two transports").
// Values the service computes rather than measures carry `derived` in their name or a `provenance` field.

import { z } from 'zod';
import type {
  CycleRecord,
  FailoverEvent,
  ProtectionState,
} from '../colo/types.js';
import { defineContract } from './contract.js';
import { qemuLiveSettings, qemuPairOptions } from '../backends/qemu/qemu-options.js';

const id = z.string().min(1).max(128);
const ms = z.number().finite().nonnegative();
const epochMs = z.number().finite().nonnegative();

export const protectionStateName = z.enum([
  'unprotected', 'starting', 'syncing', 'protected', 'degraded', 'failing-over', 'failed-over', 'stopped', 'error',
]);

export const protectionState = z.object({
  state: protectionStateName,
  since: epochMs,
  reasonCode: z.enum([
    'not-started', 'initial-sync', 'secondary-lost', 'primary-lost', 'link-broken', 'split-brain', 'checkpoint-stalled',
    'checkpoint-overdue', 'guest-frozen', 'slow-checkpoints', 'stopped-by-admin', 'failover-by-admin', 'stream-error', 'internal-error',
  ]).optional(),
  reason: z.string().max(2000).optional(),
  progress: z.object({ iteration: z.number().int().nonnegative(), pagesDone: z.number().int().nonnegative(), pagesTotal: z.number().int().nonnegative() }).optional(),
});

export const phaseTiming = z.object({
  name: z.enum(['wait', 'suspend', 'transfer', 'device', 'svm-load', 'resume']),
  startMs: ms,
  durationMs: ms,
});

export const cycleRecord = z.object({
  seq: z.number().int().nonnegative(),
  mode: z.enum(['colo', 'remus']),
  trigger: z.enum(['initial', 'miscompare', 'timer', 'timeout', 'manual']),
  startedAt: epochMs,
  phases: z.array(phaseTiming).max(16),
  primaryPauseMs: ms,
  secondaryPauseMs: ms.optional(),
  dirtyPages: z.number().int().nonnegative(),
  secondaryDirtyPages: z.number().int().nonnegative().optional(),
  pagesSent: z.number().int().nonnegative(),
  bytesSent: z.number().int().nonnegative(),
  outcome: z.enum(['committed', 'failed', 'aborted']),
  provenance: z.enum(['measured', 'derived']),
});

export const failoverEvent = z.object({
  detectedBy: z.enum(['primary', 'secondary', 'admin']),
  cause: z.string().max(2000),
  at: epochMs,
  survivor: z.enum(['primary', 'secondary', 'both', 'none']),
  lastCheckpointSeq: z.number().int(),
  guestDowntimeMs: ms,
  outputHeldMs: ms.optional(),
  detail: z.string().max(2000).optional(),
});

// The schemas above must describe exactly the engine's types; these lines fail to compile if either drifts.
type Same<A, B> = [A] extends [B] ? ([B] extends [A] ? true : false) : false;
const _stateMatches: Same<z.output<typeof protectionState>, ProtectionState> = true;
const _cycleMatches: Same<z.output<typeof cycleRecord>, CycleRecord> = true;
const _failoverMatches: Same<z.output<typeof failoverEvent>, FailoverEvent> = true;
void _stateMatches;
void _cycleMatches;
void _failoverMatches;

export const hostKeyInfo = z.object({
  /** trusted: listed or trusted once; unknown: the admin decides; changed / revoked: refused, never trustable here. */
  status: z.enum(['trusted', 'unknown', 'changed', 'revoked']),
  /** As OpenSSH prints it: ED25519, RSA, ECDSA. */
  keyType: z.string().max(64),
  /** `SHA256:…`, as OpenSSH prints it. */
  fingerprint: z.string().max(128),
  /** Changed: what the known_hosts files list for this host, each with its `file:line`. */
  knownFingerprints: z.array(z.string().max(4300)).max(20).optional(),
  /** Who presented it: the host, or a ProxyJump hop (`host` or `[host]:port`). */
  presentedBy: z.string().max(300),
});

export const hostProbe = z.object({
  hypervisor: z.enum(['sim', 'xen', 'qemu']),
  version: z.string().max(128).optional(),
  capabilities: z.array(z.string().max(128)).max(64),
  warnings: z.array(z.string().max(1000)).max(20),
});

export const domainSummary = z.object({
  name: z.string().max(256),
  id: z.string().max(64).optional(),
  uuid: z.string().max(64).optional(),
  state: z.enum(['running', 'paused', 'suspended', 'shutdown', 'other']),
  memoryMiB: z.number().nonnegative().optional(),
  vcpus: z.number().int().nonnegative().optional(),
  role: z.enum(['primary', 'secondary']).optional(),
  /** QEMU: the VM's QMP monitor socket, as its command line gives it (what an attach needs). */
  qmpSocket: z.string().max(4096).optional(),
});

export const preflightCheck = z.object({
  id: z.string().max(64),
  label: z.string().max(500),
  status: z.enum(['pass', 'warn', 'fail']),
  detail: z.string().max(2000).optional(),
});

/** A host name, IP address or ssh-config alias: no spaces, nothing ssh would read as an option. */
const sshHostName = z.string().trim().regex(/^[A-Za-z0-9_][A-Za-z0-9._:%@-]{0,252}$/, 'a host name or address: letters, digits and . _ : % @ - only, not starting with -');
const sshUser = z.string().trim().regex(/^[A-Za-z0-9_][A-Za-z0-9._-]{0,63}$/, 'a user name: letters, digits and . _ - only');

export const hostAuthInput = z.discriminatedUnion('kind', [
  z.object({ kind: z.literal('agent') }),
  /** keyPath may be left out for an alias: then the config's first IdentityFile that exists. */
  z.object({ kind: z.literal('key'), keyPath: z.string().trim().min(1).max(4096).optional() }),
  /** Asked each session, held in memory only; the request never carries it (hosts.unlock does). */
  z.object({ kind: z.literal('password') }),
]);

export const hostAdd = z.object({
  name: z.string().trim().min(1).max(256),
  address: sshHostName.optional(),
  alias: sshHostName.optional(),
  port: z.number().int().min(1).max(65535).optional(),
  user: sshUser.optional(),
  auth: hostAuthInput,
  hypervisor: z.enum(['xen', 'qemu']),
}).refine((h) => (h.address === undefined) !== (h.alias === undefined), { message: 'give either an address or an ssh-config alias (one of them, not both)' });

/** Xen pair options (PairRecord.options): flat scalars. */
export const xenPairOptions = z.object({
  /** The address the primary's dom0 uses to reach the secondary over ssh; default: the secondary host's address. */
  secondaryAddress: sshHostName.optional(),
  /** COLO with QEMU's userspace proxy (`xl remus -p`). */
  userspaceProxy: z.boolean().optional(),
  /** Remus checkpoint interval (`xl remus -i`), ms. */
  remusIntervalMs: z.number().int().min(1).max(60_000).optional(),
  /** Run the secondary's `xl migrate-receive` with -vvv (through `xl remus -s`). */
  secondaryVerbose: z.boolean().optional(),
  /** Preflight also checksums the disk images on both hosts (slow on large disks). */
  checksumDisks: z.boolean().optional(),
}).strict();

const pairDraftBase = {
  name: z.string().trim().min(1).max(128),
  /** The xl domain name, or the QEMU VM's name (-name), on the primary. */
  domain: z.string().min(1).max(128),
  primaryHostId: id,
  secondaryHostId: id,
};


export const pairDraft = z.discriminatedUnion('backend', [
  z.object({ ...pairDraftBase, backend: z.literal('xen'), mode: z.enum(['colo', 'remus']), options: xenPairOptions.default({}) }),
  /** QEMU COLO only: QEMU has no Remus mode. */
  z.object({ ...pairDraftBase, backend: z.literal('qemu'), mode: z.literal('colo'), options: qemuPairOptions }),
]).refine((p) => p.primaryHostId !== p.secondaryHostId, { message: 'the primary and the secondary must be two different hosts' });

export const hostInfo = z.object({
  id,
  name: z.string().max(256),
  /** `sim`: the embedded simulator; `ssh`: a machine reached over SSH. */
  kind: z.enum(['sim', 'ssh']),
  address: z.string().max(256).optional(),
  port: z.number().int().min(1).max(65535).optional(),
  user: z.string().max(64).optional(),
  hypervisor: z.enum(['sim', 'xen', 'qemu']),
  version: z.string().max(128).optional(),
  /** `down`: the host itself is gone (crashed, killed); `disconnected`: the console cannot reach it. */
  status: z.enum(['connected', 'connecting', 'disconnected', 'down', 'error']),
  statusReason: z.string().max(2000).optional(),
  /** The ~/.ssh/config alias it was added by (address, port, user and jumps were resolved from it then). */
  alias: z.string().max(253).optional(),
  /** How it logs in: agent, a key file, or a password asked each session. Never the secret. */
  auth: z.enum(['agent', 'key', 'password']).optional(),
  keyPath: z.string().max(4096).optional(),
  /** ProxyJump hops, in order, as `user@host:port`. */
  jumps: z.array(z.string().max(400)).max(8).optional(),
  /** The key the host (or a hop: `presentedBy`) presented last, and what the known_hosts files say of it. */
  hostKey: hostKeyInfo.optional(),
  /** What the admin must enter before the console can log in. */
  needs: z.enum(['passphrase', 'password']).optional(),
  /** From the last probe: e.g. xl info's virt_caps; and what the admin should know (Xen ≥ 4.18). */
  capabilities: z.array(z.string().max(128)).max(64).optional(),
  warnings: z.array(z.string().max(1000)).max(20).optional(),
  /** Pairs that use this host (it cannot be removed while any does). */
  usedBy: z.array(id).max(1000).optional(),
});

export const pairStats = z.object({
  /** Over the last minute; null without checkpoints. Computed by the service from measured cycles. */
  pausePrimaryP50Ms: ms.nullable(),
  pausePrimaryP99Ms: ms.nullable(),
  /** The longest primary pause of the last minute. These three include a checkpoint still open: no figure hides it. */
  pausePrimaryMaxMs: ms.nullable(),
  checkpointsPerMinute: z.number().nonnegative(),
  /**
   * The newest committed checkpoint (the initial copy counts): what the secondary holds and a failover resumes from.
   * A failed or aborted cycle after it does not move these.
   */
  lastCheckpointAt: epochMs.nullable(),
  lastSeq: z.number().int().nullable(),
});

/** A data file that could not be read at start: moved aside (the service started afresh) or left in place. */
export const dataFileProblem = z.object({
  /** Wall-clock ms when it was found. */
  at: epochMs,
  /** The file's path. */
  file: z.string().max(4096),
  message: z.string().max(4000),
  /** Where the bad file now is, when it was moved aside. */
  movedTo: z.string().max(4096).optional(),
});

export const REMUS_INTERVAL_MIN_MS = 1;
export const REMUS_INTERVAL_MAX_MS = 60_000;

export const simSettings = z.object({
  preset: z.enum(['idle', 'file-server', 'web-server', 'database', 'batch']),
  link: z.enum(['1gbe', '10gbe', 'unlimited']),
  /** xl remus -i takes any whole number of ms; below 10 only the simulator keeps up (or a bench asks it to). */
  remusIntervalMs: z.number().int().min(REMUS_INTERVAL_MIN_MS).max(REMUS_INTERVAL_MAX_MS),
  /**
   * Whether each pause includes the time real vCPUs take to stop (4 ms per vCPU, qemu-colo.md §2). Absent means
   * modelled; off shows the protocol's own cost, and lets a bench drive a pair at 100 checkpoints a second.
   */
  stopCost: z.boolean().optional(),
  /** Chance that one output packet differs between the copies (no published figure: a demo setting). */
  divergenceProbability: z.number().min(0).max(1),
  faults: z.object({ slowLink: z.boolean(), stallSecondary: z.boolean() }),
});

/** The alarms that outrank every state (DESIGN.md): the guest frozen in a checkpoint, two running copies. */
export const pairAlarm = z.object({
  kind: z.enum(['guest-frozen', 'split-brain']),
  since: epochMs,
  /** One sentence for the banner, naming the VM and the hosts. */
  headline: z.string().max(500),
  /** What the admin can do, and what the hypervisor said. */
  detail: z.string().max(2000),
});

/** A checkpoint started and not finished: the primary is paused. `pausedMs` is as of the PairInfo's making. */
export const openCheckpoint = z.object({
  seq: z.number().int().nonnegative(),
  trigger: z.enum(['initial', 'miscompare', 'timer', 'timeout', 'manual']),
  startedAt: epochMs,
  pausedMs: ms,
});

/** One side of a QEMU pair as the console's heartbeat sees it. */
export const qemuSideStatus = z.object({
  /** connected: the monitor answers; silent: connected, but in-band commands go unanswered; unreachable: no connection. */
  monitor: z.enum(['connected', 'silent', 'unreachable']),
  /** Why it is silent or unreachable, in words. */
  detail: z.string().max(1000).optional(),
  version: z.string().max(200).optional(),
  /** query-status: running, paused, inmigrate, colo (paused for a checkpoint)… */
  runState: z.string().max(64).optional(),
  coloMode: z.enum(['none', 'primary', 'secondary']).optional(),
  /** Heartbeats missed in a row. */
  missedHeartbeats: z.number().int().nonnegative(),
  lastAnswerAt: epochMs.nullable(),
});

/** What a QEMU pair's screens show beyond the common figures. */
export const qemuPairStatus = z.object({
  /** x-checkpoint-delay as the primary reports it (query-migrate-parameters); null when not known. */
  checkpointDelayMs: z.number().int().nonnegative().nullable(),
  /** The primary's migration status (query-migrate): active during the initial copy, colo while protected. */
  migration: z.string().max(64).nullable(),
  heartbeat: z.object({ intervalMs: z.number().int().positive(), misses: z.number().int().positive(), autoFailover: z.boolean() }),
  /** Null while the console is not watching the pair. */
  primary: qemuSideStatus.nullable(),
  secondary: qemuSideStatus.nullable(),
  /** Why a failover needs the admin's typed word that the primary is fenced; absent when it does not. */
  fencingRequired: z.string().max(1000).optional(),
  /** The last COLO_EXIT either side sent. */
  lastColoExit: z.object({ side: z.enum(['primary', 'secondary']), mode: z.string().max(32), reason: z.string().max(32), at: epochMs }).nullable(),
  /** The console launches both QEMU processes at start (otherwise it attaches to running ones). */
  launch: z.boolean(),
});

export const PAIR_ACTIONS = ['start', 'stop', 'failover', 'drill', 'checkpoint', 'keep-primary', 'keep-secondary'] as const;

export const pairInfo = z.object({
  id,
  /** The VM's name: what an admin types to confirm a destructive action. */
  name: z.string().min(1).max(128),
  backend: z.enum(['sim', 'xen', 'qemu']),
  mode: z.enum(['colo', 'remus']),
  primaryHostId: id,
  secondaryHostId: id,
  /** The domain on the primary (xl name), when it differs from `name` or the backend is not the simulator. */
  domain: z.string().max(128).optional(),
  state: protectionState,
  stats: pairStats,
  /** Present for simulated pairs only. */
  sim: simSettings.optional(),
  /** Present for QEMU pairs only. */
  qemu: qemuPairStatus.optional(),
  lastFailover: failoverEvent.nullable(),
  /** The loudest thing about this pair now, or null. */
  alarm: pairAlarm.nullable(),
  openCheckpoint: openCheckpoint.nullable(),
  /** Hosts on which a copy of the guest runs now (two: split brain; none: the guest is down); null when unknown. */
  runningOn: z.array(id).max(2).nullable(),
  /**
   * Which actions are allowed now, and why not when they are not. keep-primary / keep-secondary resolve split brain:
   * keep the copy on that host (`primaryHostId` / `secondaryHostId`) and destroy the other.
   */
  actions: z.record(z.enum(PAIR_ACTIONS), z.object({ allowed: z.boolean(), reason: z.string().max(500).optional() })),
});

export const pairEvent = z.object({
  pairId: id,
  seq: z.number().int().nonnegative(),
  at: epochMs,
  kind: z.enum(['state', 'failover', 'action', 'fault', 'drill']),
  message: z.string().max(2000),
});

export const auditEntry = z.object({
  seq: z.number().int().nonnegative(),
  at: epochMs,
  actor: z.string().max(128),
  action: z.string().max(128),
  target: z.string().max(256),
  /** The exact command sent to a host, where there was one. */
  command: z.string().max(4000).optional(),
  result: z.enum(['ok', 'error']),
  detail: z.string().max(2000).optional(),
  hash: z.string().regex(/^[0-9a-f]{64}$/),
  prevHash: z.string().regex(/^[0-9a-f]{64}$/),
});

export const settings = z.object({
  /** Cycle history older than this is deleted. */
  historyRetentionDays: z.number().int().min(1).max(3650),
  theme: z.enum(['system', 'light', 'dark']),
  /**
   * A checkpoint open this long raises the Guest-frozen alarm (never sooner than 10× the pair's recent p99 pause).
   */
  frozenThresholdMs: z.number().int().min(1000).max(600_000),
});

const pairRef = z.object({ pairId: id });
/** Destructive actions carry the VM's name, typed by the admin. */
const confirmed = pairRef.extend({ confirmName: z.string().max(128) });

export const drillReport = z.object({
  pairId: id,
  guestDowntimeMs: ms,
  timeToReprotectMs: ms,
  failover: failoverEvent,
  finalState: protectionState,
});

// ---------------------------------------------------------------------------------------------------------------
// The demo's results, kept with the history (issue 7 §5): protection runs with their settings and figures, drills.

/** What a run of a simulated pair started with (the live fault switches are not settings). */
export const runSettings = simSettings.omit({ faults: true });

export const runSummary = z.object({
  id: z.number().int().nonnegative(),
  pairId: id,
  startedAt: epochMs,
  /** When its last stored cycle ended; null before the first. A run still going ends "now" for the time being. */
  endedAt: epochMs.nullable(),
  mode: z.enum(['colo', 'remus']),
  /** Null for pairs that are not simulated (their settings live on the hosts) and for runs stored before this field. */
  settings: runSettings.nullable(),
  /** When the settings were first changed during the run (its figures then mix two settings); null if never. */
  settingsChangedAt: epochMs.nullable(),
  cycles: z.object({ committed: z.number().int().nonnegative(), failed: z.number().int().nonnegative(), aborted: z.number().int().nonnegative() }),
  /** Over every checkpoint of the run but the initial copy; null without checkpoints. */
  pausePrimary: z.object({ p50Ms: ms, p99Ms: ms, maxMs: ms }).nullable(),
  /**
   * How long the guest's output was held (simulated pairs), over every packet released while the pair was protected
   * or degraded (before the first checkpoint output leaves unheld); null if none recorded.
   */
  outputHeld: z.object({ packets: z.number().int().nonnegative(), p50Ms: ms, p99Ms: ms, maxMs: ms }).nullable(),
});

export const drillRecord = z.object({
  id: z.number().int().nonnegative(),
  pairId: id,
  /** When the drill started. */
  at: epochMs,
  mode: z.enum(['colo', 'remus']),
  ok: z.boolean(),
  /** As in the DrillReport; null when the drill failed before measuring it. */
  guestDowntimeMs: ms.nullable(),
  timeToReprotectMs: ms.nullable(),
  failover: failoverEvent.nullable(),
  finalState: protectionState.nullable(),
  /** Why a failed drill failed. */
  error: z.string().max(2000).optional(),
});

export const resultsMethods = {
  /** The pair's most recent protection runs, newest first, with their settings and figures. */
  'pairs.runs': { request: z.object({ pairId: id, limit: z.number().int().min(1).max(200).default(20) }), response: z.array(runSummary) },
  /** The pair's most recent drills, newest first, failed ones included. */
  'pairs.drills': { request: z.object({ pairId: id, limit: z.number().int().min(1).max(1000).default(50) }), response: z.array(drillRecord) },
  /** How many cycles of the pair history holds with since ≤ startedAt ≤ until: the true count behind a sample. */
  'pairs.cycleCount': { request: z.object({ pairId: id, since: epochMs, until: epochMs.optional() }), response: z.object({ count: z.number().int().nonnegative() }) },
} as const;

export const consoleContract = defineContract({
  methods: {
    'app.info': {
      request: z.object({}),
      response: z.object({
        version: z.string(),
        transport: z.enum(['electron', 'browser']),
        /** How the app runs that the admin must know about (its sandbox off, say); shown as a lasting notice. */
        warnings: z.array(z.string().max(1000)).max(10).optional(),
      }),
    },
    /** Problems with the console's own data: corrupt files found at start, failed writes since; the UI shows each until dismissed. */
    'app.problems': { request: z.object({}), response: z.array(dataFileProblem) },
    'hosts.list': { request: z.object({}), response: z.array(hostInfo) },
    /** Adds an SSH host and makes the first connection attempt; the answer shows the host-key step if needed. */
    'hosts.add': { request: hostAdd, response: hostInfo },
    /** Accepts the unknown key the host presented (this exact fingerprint), once or saved in the console's known_hosts. */
    'hosts.trustKey': { request: z.object({ hostId: id, fingerprint: z.string().regex(/^SHA256:[A-Za-z0-9+/]{43}$/, 'a fingerprint as ssh prints it: SHA256: and 43 characters'), save: z.boolean() }), response: hostInfo },
    /** A key's passphrase or this session's password: held in memory only, never stored, logged or audited. */
    'hosts.unlock': {
      request: z.object({ hostId: id, passphrase: z.string().min(1).max(1024).optional(), password: z.string().min(1).max(1024).optional() })
        .refine((u) => (u.passphrase === undefined) !== (u.password === undefined), { message: 'give either a passphrase or a password' }),
      response: hostInfo,
    },
    /** Tries to connect now (after fixing a key file, or to skip a wait). */
    'hosts.retry': { request: z.object({ hostId: id }), response: hostInfo },
    /** Removes an SSH host; refused while a pair uses it. */
    'hosts.remove': { request: z.object({ hostId: id }), response: z.object({ removed: id }) },
    'hosts.probe': { request: z.object({ hostId: id }), response: hostProbe },
    'hosts.domains': { request: z.object({ hostId: id }), response: z.array(domainSummary).max(10_000) },
    'pairs.add': { request: pairDraft, response: pairInfo },
    /** Checks a pair (saved, or a draft from the wizard) without changing anything. */
    'pairs.preflight': {
      request: z.object({ pairId: id.optional(), draft: pairDraft.optional() })
        .refine((r) => (r.pairId === undefined) !== (r.draft === undefined), { message: 'give either a pairId or a draft' }),
      response: z.array(preflightCheck).max(100),
    },
    /** Removes a pair from the console (its history stays); refused while it is protected. Typed confirmation. */
    'pairs.remove': { request: confirmed, response: z.object({ removed: id }) },
    'pairs.list': { request: z.object({}), response: z.array(pairInfo) },
    'pairs.get': { request: pairRef, response: pairInfo },
    'pairs.start': { request: pairRef, response: pairInfo },
    'pairs.stop': { request: confirmed, response: pairInfo },
    /**
     * `fencedHost`: the primary host's name, typed by the admin to confirm that its copy cannot run on (powered off,
     * cut off); needed where the backend cannot rule out a running primary (QEMU: qemu.fencingRequired). Audited.
     */
    'pairs.failover': { request: confirmed.extend({ fencedHost: z.string().max(256).optional() }), response: pairInfo },
    'pairs.drill': { request: confirmed, response: drillReport },
    'pairs.checkpoint': { request: pairRef, response: pairInfo },
    /** Ends split brain: keeps the copy on one side and destroys the other (its writes since the split are lost). */
    'pairs.keep': { request: confirmed.extend({ keep: z.enum(['primary', 'secondary']) }), response: pairInfo },
    /** Cycles from history (for windows longer than the live buffer), oldest first, at most `limit`. */
    'pairs.cycles': {
      request: pairRef.extend({ since: epochMs, until: epochMs.optional(), limit: z.number().int().min(1).max(100_000).default(10_000) }),
      response: z.array(cycleRecord),
    },
    'pairs.events': { request: pairRef.extend({ limit: z.number().int().min(1).max(10_000).default(500) }), response: z.array(pairEvent) },
    'pairs.export': {
      request: pairRef.extend({ format: z.enum(['csv', 'json']), since: epochMs.optional() }),
      response: z.object({ filename: z.string(), mediaType: z.string(), content: z.string() }),
    },
    'sim.configure': { request: pairRef.extend({ mode: z.enum(['colo', 'remus']).optional(), sim: simSettings.partial().optional() }), response: pairInfo },
    'sim.inject': {
      request: pairRef.extend({ fault: z.enum(['kill-primary', 'kill-secondary', 'cut-link', 'slow-link', 'stall-secondary']), on: z.boolean().default(true) }),
      response: pairInfo,
    },
    /** A QEMU pair's checkpoint delay (applied live while protected) and heartbeat settings. */
    'qemu.configure': {
      request: pairRef.extend(qemuLiveSettings.shape),
      response: pairInfo,
    },
    'audit.list': { request: z.object({ limit: z.number().int().min(1).max(10_000).default(500), beforeSeq: z.number().int().optional() }), response: z.array(auditEntry) },
    'audit.verify': { request: z.object({}), response: z.object({ ok: z.boolean(), entries: z.number().int(), firstBadSeq: z.number().int().optional(), reason: z.string().optional() }) },
    'settings.get': { request: z.object({}), response: settings },
    'settings.set': { request: settings.partial(), response: settings },
    ...resultsMethods,
  },
  topics: {
    /** Every pair's summary whenever it changes (state, stats at most once a second, settings). */
    pairs: { event: pairInfo, policy: 'reliable', queueLimit: 2000 },
    cycles: { event: cycleRecord.extend({ pairId: id }), params: z.object({ pairId: id.optional() }), policy: 'reliable', queueLimit: 10_000 },
    events: { event: pairEvent, params: z.object({ pairId: id.optional() }), policy: 'reliable', queueLimit: 2000 },
    /** How long the guest's output was held, per pair, as a gauge (simulated pairs). */
    output: { event: z.object({ pairId: id, heldP50Ms: ms.nullable(), heldP99Ms: ms.nullable(), packetsPerSecond: z.number().nonnegative() }), policy: 'latest' },
    audit: { event: auditEntry, policy: 'reliable' },
    /** A host whose connection, host-key step or probe result changed (the current list first); removals come through hosts.list. */
    hosts: { event: hostInfo, policy: 'reliable', queueLimit: 1000 },
    /** Problems with the console's own data as they are found (a write failing, a broken audit chain); app.problems first. */
    problems: { event: dataFileProblem, policy: 'reliable', queueLimit: 500 },
  },
});

export type ConsoleContract = typeof consoleContract;
export type HostInfo = z.output<typeof hostInfo>;
export type HostKeyInfo = z.output<typeof hostKeyInfo>;
export type HostAdd = z.output<typeof hostAdd>;
export type PairDraft = z.output<typeof pairDraft>;
export type QemuPairStatus = z.output<typeof qemuPairStatus>;
export type QemuSideStatus = z.output<typeof qemuSideStatus>;
export type HostProbeInfo = z.output<typeof hostProbe>;
export type DomainSummaryInfo = z.output<typeof domainSummary>;
export type PreflightCheckInfo = z.output<typeof preflightCheck>;
export type PairInfo = z.output<typeof pairInfo>;
export type PairEvent = z.output<typeof pairEvent>;
export type AuditEntry = z.output<typeof auditEntry>;
export type Settings = z.output<typeof settings>;
export type SimSettings = z.output<typeof simSettings>;
export type DataFileProblem = z.output<typeof dataFileProblem>;
export type DrillReport = z.output<typeof drillReport>;
export type PairAction = (typeof PAIR_ACTIONS)[number];
export type PairAlarm = z.output<typeof pairAlarm>;
export type OpenCheckpointInfo = z.output<typeof openCheckpoint>;
export type RunSettings = z.output<typeof runSettings>;
export type RunSummary = z.output<typeof runSummary>;
export type DrillRecord = z.output<typeof drillRecord>;
