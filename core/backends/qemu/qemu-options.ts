// A QEMU COLO pair's settings (PairRecord.options): where each side's QMP monitor is, how to start COLO, how the
// console watches the pair, and, for a pair the console launches itself, the VM definition. Flat scalars, as the
// registry keeps them; checked here once, for the API and for the backend alike.

import { z } from 'zod';

/** An absolute path on a host: no NUL, no newline, nothing a shell or QEMU's option parser could misread. */
const hostPath = z.string().trim().max(1024).regex(/^\/[A-Za-z0-9._@%+=:/-]*$/, 'an absolute path of letters, digits and . _ @ % + = : / - only');
/** `tcp:<host>:<port>`: where the primary sends the migration stream (the secondary's -incoming address). */
const tcpUri = z.string().trim().max(300).regex(/^tcp:(\[[0-9A-Fa-f:.]+\]|[A-Za-z0-9][A-Za-z0-9.-]{0,252}):\d{1,5}$/, 'tcp:<host>:<port>, as the secondary\'s -incoming says');
const address = z.string().trim().max(253).regex(/^[A-Za-z0-9][A-Za-z0-9.:-]{0,252}$/, 'a host name or IP address');
const port = z.number().int().min(1).max(65535);
/** A Linux interface name (at most 15 bytes): nothing QEMU's option parser or a shell could misread. */
const interfaceName = z.string().trim().regex(/^[A-Za-z0-9_][A-Za-z0-9_.-]{0,14}$/, 'an interface name: up to 15 letters, digits and _ . - (not first . or -)');
/** A unicast MAC address (the low bit of the first byte clear: a multicast address is no NIC's). */
const macAddress = z.string().trim().regex(/^[0-9A-Fa-f][02468ACEace](:[0-9A-Fa-f]{2}){5}$/, 'a unicast MAC address such as 52:54:00:12:34:56');

export const CHECKPOINT_DELAY_MIN_MS = 1;
/** x-checkpoint-delay is a uint32 in QEMU; an hour is more than anyone means. */
export const CHECKPOINT_DELAY_MAX_MS = 3_600_000;

export const qemuPairOptions = z.object({
  /** The primary's QMP unix socket, on the primary host. */
  primaryQmp: hostPath,
  /** The secondary's QMP unix socket, on the secondary host. */
  secondaryQmp: hostPath,
  /** Where the primary migrates to: the secondary's `-incoming` address as the primary reaches it. */
  incomingUri: tcpUri.optional(),
  /** x-checkpoint-delay set at start (ms between periodic checkpoints); absent: QEMU's own value is left alone. */
  checkpointDelayMs: z.number().int().min(CHECKPOINT_DELAY_MIN_MS).max(CHECKPOINT_DELAY_MAX_MS).optional(),
  /** The console's heartbeat: how often it asks each side's monitor, and how many missed answers mean lost. */
  heartbeatIntervalMs: z.number().int().min(100).max(60_000).optional(),
  heartbeatMisses: z.number().int().min(1).max(100).optional(),
  /**
   * When the primary is gone for certain (its host answers, its monitor socket is gone), promote the secondary
   * without asking. Default on: without a failover daemon the console is the pair's heartbeat.
   */
  autoFailover: z.boolean().optional(),

  // A pair the console launches (otherwise it attaches to QEMUs started by someone else).
  /** The console starts both QEMU processes at start, from the definition below. */
  launch: z.boolean().optional(),
  binary: hostPath.optional(),
  /** QEMU's -machine; e.g. pc, q35. */
  machine: z.string().trim().max(64).regex(/^[A-Za-z0-9._-]+$/, 'a machine type such as pc or q35').optional(),
  accel: z.enum(['kvm', 'tcg']).optional(),
  memoryMiB: z.number().int().min(16).max(4_194_304).optional(),
  vcpus: z.number().int().min(1).max(1024).optional(),
  /** The guest's disk image: the same path, with the same contents, on both hosts. */
  disk: hostPath.optional(),
  diskFormat: z.enum(['raw', 'qcow2']).optional(),
  /** The secondary's address on the replication network (migration, NBD); default the secondary host's address. */
  replicationAddress: address.optional(),
  /** The secondary's -incoming port (migration), and its NBD server's port (block replication). */
  migrationPort: port.optional(),
  nbdPort: port.optional(),
  /** Where the secondary keeps its active and hidden disks (a ramdisk, as QEMU's COLO documentation advises). */
  scratchDir: hostPath.optional(),
  /**
   * The guest's network, behind COLO's packet comparison (qemu-colo.md §1.2): none (-nic none), user (QEMU's own
   * slirp, no host networking: for trying COLO) or bridge (a tap on `bridge` through qemu-bridge-helper).
   */
  network: z.enum(['none', 'user', 'bridge']).optional(),
  /** The host bridge the guest's tap joins (network bridge), the same name on both hosts. */
  bridge: interfaceName.optional(),
  /**
   * The COLO proxy's four TCP ports on the primary host, from this one up: base and base+1 are reached by the
   * secondary (mirrored packets out, its replies back), base+2 and base+3 stay on the primary's loopback.
   */
  proxyBasePort: z.number().int().min(1).max(65532).optional(),
  /** The guest NIC's MAC address (the same on both sides); default QEMU's. */
  macAddress: macAddress.optional(),
  /** The primary's address on the replication network, where the secondary's proxy connects; default the primary host's address. */
  primaryReplicationAddress: address.optional(),
}).strict();

export type QemuPairOptions = z.output<typeof qemuPairOptions>;

export const QEMU_DEFAULTS = {
  heartbeatIntervalMs: 1000,
  heartbeatMisses: 3,
  autoFailover: true,
  binary: 'qemu-system-x86_64',
  machine: 'pc',
  accel: 'kvm',
  memoryMiB: 1024,
  vcpus: 1,
  diskFormat: 'raw',
  migrationPort: 9998,
  nbdPort: 9999,
  scratchDir: '/var/lib/colo-console',
  network: 'none',
  proxyBasePort: 9003,
} as const;

/** What can change while a pair runs: the checkpoint delay (applied live) and the heartbeat. */
export const qemuLiveSettings = qemuPairOptions.pick({ checkpointDelayMs: true, heartbeatIntervalMs: true, heartbeatMisses: true, autoFailover: true });
export type QemuLiveSettings = z.infer<typeof qemuLiveSettings>;

/** The console's heartbeat to a pair's monitors. */
export interface Heartbeat {
  intervalMs: number;
  misses: number;
  autoFailover: boolean;
}

/** The heartbeat the options ask for, defaults filled in. */
export function heartbeatOf(o: QemuPairOptions): Heartbeat {
  return {
    intervalMs: o.heartbeatIntervalMs ?? QEMU_DEFAULTS.heartbeatIntervalMs,
    misses: o.heartbeatMisses ?? QEMU_DEFAULTS.heartbeatMisses,
    autoFailover: o.autoFailover ?? QEMU_DEFAULTS.autoFailover,
  };
}

/** The guest's network, the default filled in. */
export function networkOf(o: QemuPairOptions): NonNullable<QemuPairOptions['network']> {
  return o.network ?? QEMU_DEFAULTS.network;
}

/** The options as stored, checked; or one sentence saying what is wrong. */
export function readQemuOptions(options: Readonly<Record<string, unknown>> | undefined): QemuPairOptions | string {
  const r = qemuPairOptions.safeParse(options ?? {});
  if (r.success) return networkMismatch(r.data) ?? r.data;
  const issue = r.error.issues[0]!;
  const where = issue.path.length > 0 ? `option ${issue.path.join('.')}` : 'the options';
  return `${where}: ${issue.message}`;
}

/** What the options say about each other (the schema checks each alone): network bridge needs its bridge. */
export function networkMismatch(o: QemuPairOptions): string | null {
  if (o.network === 'bridge' && o.bridge === undefined) return 'option bridge: name the host bridge the guest joins (network is bridge)';
  return null;
}
