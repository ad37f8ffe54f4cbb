// A QEMU COLO pair's definition → the two command lines that start it, the secondary's preparation, and the QMP
// steps that wire up block replication before `migrate` (qemu-colo.md §1.2; QEMU's docs/system/qemu-colo.rst,
// "Startup qemu" and its QMP steps 3 and 4). The guest's network (none, user or bridge) and the COLO proxy around
// it come from qemu-colo-network.ts. Without a disk the pair has no block replication: memory and device state
// only, as the lab's guest shows.
//
// Every value spliced into an option (`key=value,…`) comes from qemu-options.ts, which allows no comma; it is
// checked again here, since a comma would add an option of the attacker's choosing.

import { shellCommand } from '../../ssh/shell-quote.js';
import { coloNetwork } from './qemu-colo-network.js';
import { networkOf, QEMU_DEFAULTS, type QemuPairOptions } from './qemu-options.js';

export interface QmpStep {
  command: string;
  arguments?: Record<string, unknown>;
}

/** A TCP port a launched QEMU will listen on, for the preflight to see whether something holds it already. */
export interface PlannedListener {
  /** The address it binds, as given (an IP literal or a host name). */
  address: string;
  port: number;
  /** What it is for, in the admin's words. */
  use: string;
  /** The option that moves it. */
  option: string;
}

export interface LaunchPlan {
  primary: {
    argv: string[];
    /** Run on the primary host before its QEMU: the QMP socket's directory. */
    prepare: string[][];
  };
  secondary: {
    argv: string[];
    /** Run on the secondary host, in order, before its QEMU: the QMP socket's directory, the scratch directory, the hidden and active disks. */
    prepare: string[][];
  };
  /** Where the primary sends the migration stream (`migrate {uri}`): the secondary's -incoming. */
  incomingUri: string;
  /** Everything above as the admin would type it, each word shell-quoted. */
  preview: string;
  /** QMP commands once both monitors answer and before `migrate`: the secondary's first (its NBD export). */
  afterLaunch: { secondary: QmpStep[]; primary: QmpStep[] };
  /** Where the primary's COLO proxy listens for the secondary ('' without a network). */
  proxyAddress: string;
  /** With a disk: the secondary's NBD export of its image, as the primary reaches it (`nbd://host:port/parent0`). */
  nbdTarget: string | null;
  /** The TCP ports each side's QEMU will listen on. */
  listeners: { primary: PlannedListener[]; secondary: PlannedListener[] };
}

/** The drive and node names QEMU's COLO documentation uses; the failover runbooks (qemu-colo.md §1.6) expect them. */
export const COLO_DISK = 'colo-disk0';
const PARENT_NODE = 'parent0';
export const REPLICATION_NODE = 'replication0';
const MONITOR_CHARDEV = 'colo-qmp';

/** A VM name that is safe as `-name guest=…` and as a directory name under the scratch directory. */
const VM_NAME = /^[A-Za-z0-9][A-Za-z0-9._-]{0,63}$/;
const ADDRESS = /^[A-Za-z0-9][A-Za-z0-9.:-]{0,252}$/;

/** Throws unless `value` can sit inside a QEMU `key=value,…` option unescaped. */
function optionValue(what: string, value: string): string {
  // eslint-disable-next-line no-control-regex -- control characters are exactly what is refused
  if (/[,\x00-\x1f\x7f]/.test(value)) throw new Error(`${what} "${value.slice(0, 64)}" cannot go into a QEMU option: it holds a comma or a control character`);
  if (value === '') throw new Error(`${what} is empty`);
  return value;
}

/** An address as a URI host: IPv6 literals in brackets. */
function uriHost(address: string): string {
  return address.includes(':') ? `[${address}]` : address;
}

/** Host and port of a `tcp:HOST:PORT` URI (IPv6 in brackets); undefined for any other transport. */
function tcpEndpoint(uri: string): { address: string; port: number } | undefined {
  const m = /^tcp:(?:\[([^\]]+)\]|([^:]+)):(\d{1,5})$/.exec(uri);
  return m === null ? undefined : { address: m[1] ?? m[2]!, port: Number(m[3]) };
}

/** The directory a validated absolute path is in. */
function parentDir(file: string): string {
  return file.slice(0, file.lastIndexOf('/')) || '/';
}

/** qemu-img next to the QEMU binary when that is a path, else from PATH. */
function qemuImgFor(binary: string): string {
  const slash = binary.lastIndexOf('/');
  return slash < 0 ? 'qemu-img' : `${binary.slice(0, slash + 1)}qemu-img`;
}

/**
 * The pair's plan. `secondaryAddress` is the secondary host's address, used for migration and NBD unless the options
 * name a replication address; `primaryAddress` the primary host's, where the secondary's COLO proxy connects unless
 * the options name a primary replication address (needed only with a network). Throws (one sentence naming the
 * value) on anything that cannot go on a QEMU command line.
 */
export function launchPlan(vm: string, o: QemuPairOptions, secondaryAddress: string, primaryAddress?: string): LaunchPlan {
  if (!VM_NAME.test(vm)) throw new Error(`the VM name "${vm.slice(0, 64)}" cannot name a QEMU guest here: use up to 64 letters, digits, . _ - (not first)`);
  const address = o.replicationAddress ?? secondaryAddress;
  if (!ADDRESS.test(address)) throw new Error(`"${address.slice(0, 64)}" is not a host name or IP address for replication`);
  let proxyAddress = '';
  if (networkOf(o) !== 'none') {
    const a = o.primaryReplicationAddress ?? primaryAddress;
    if (a === undefined) throw new Error('the guest\'s network needs the primary\'s replication address (primaryReplicationAddress), where the secondary\'s COLO proxy connects');
    if (!ADDRESS.test(a)) throw new Error(`"${a.slice(0, 64)}" is not a host name or IP address for the primary's COLO proxy`);
    proxyAddress = a;
  }
  const network = coloNetwork(o, proxyAddress, optionValue);
  const binary = optionValue('the QEMU binary', o.binary ?? QEMU_DEFAULTS.binary);
  const format = o.diskFormat ?? QEMU_DEFAULTS.diskFormat;
  const migrationPort = o.migrationPort ?? QEMU_DEFAULTS.migrationPort;
  const nbdPort = o.nbdPort ?? QEMU_DEFAULTS.nbdPort;
  const incomingUri = optionValue('the incoming URI', o.incomingUri ?? `tcp:${uriHost(address)}:${migrationPort}`);

  const common = (qmp: string, net: string[]): string[] => [
    '-name', `guest=${vm}`,
    '-machine', optionValue('the machine type', o.machine ?? QEMU_DEFAULTS.machine),
    '-accel', o.accel ?? QEMU_DEFAULTS.accel,
    '-m', String(o.memoryMiB ?? QEMU_DEFAULTS.memoryMiB),
    '-smp', String(o.vcpus ?? QEMU_DEFAULTS.vcpus),
    '-display', 'none',
    '-nodefaults',
    ...net,
    '-chardev', `socket,id=${MONITOR_CHARDEV},path=${optionValue('the QMP socket path', qmp)},server=on,wait=off`,
    '-mon', `chardev=${MONITOR_CHARDEV},mode=control`,
  ];

  const primary = [binary, ...common(o.primaryQmp, network.primary)];
  const secondary = [binary, ...common(o.secondaryQmp, network.secondary)];
  // QEMU creates its QMP socket but not the directory it goes in. Private: whoever reaches the socket controls the
  // VM (an existing directory keeps its mode).
  const primaryPrepare: string[][] = [['mkdir', '-p', '-m', '0700', '--', parentDir(o.primaryQmp)]];
  const prepare: string[][] = [['mkdir', '-p', '-m', '0700', '--', parentDir(o.secondaryQmp)]];
  const afterLaunch: LaunchPlan['afterLaunch'] = { secondary: [], primary: [] };

  if (o.disk !== undefined) {
    const disk = optionValue('the disk image path', o.disk);
    const scratch = optionValue('the scratch directory', `${(o.scratchDir ?? QEMU_DEFAULTS.scratchDir).replace(/\/+$/, '')}/${vm}`);
    const active = `${scratch}/active_disk.qcow2`;
    const hidden = `${scratch}/hidden_disk.qcow2`;
    // The primary's disk is a quorum over the image alone; the replication child joins it at start (afterLaunch).
    primary.push('-drive', `if=ide,id=${COLO_DISK},driver=quorum,read-pattern=fifo,vote-threshold=1,children.0.file.filename=${disk},children.0.driver=${format}`);
    // The secondary's disk: its own copy of the image (exported over NBD for the primary's writes) under the
    // hidden disk (what those writes overwrote) and the active disk (the SVM's own writes).
    secondary.push(
      '-drive', `if=none,id=${PARENT_NODE},file.filename=${disk},driver=${format}`,
      '-drive', `if=none,id=childs0,driver=replication,mode=secondary,file.driver=qcow2,top-id=${COLO_DISK},file.file.filename=${active},file.backing.driver=qcow2,file.backing.file.filename=${hidden},file.backing.backing=${PARENT_NODE}`,
      '-drive', `if=ide,id=${COLO_DISK},driver=quorum,read-pattern=fifo,vote-threshold=1,children.0=childs0`,
    );
    // Both disks must be as long as the image; taking the image as the backing file gives them its size without
    // the console having to ask. The backing named in their headers is not used: the command line names it.
    const qemuImg = qemuImgFor(binary);
    prepare.push(
      // The hidden and active disks hold guest data.
      ['mkdir', '-p', '-m', '0700', '--', scratch],
      [qemuImg, 'create', '-q', '-f', 'qcow2', '-F', format, '-b', disk, hidden],
      [qemuImg, 'create', '-q', '-f', 'qcow2', '-F', 'qcow2', '-b', hidden, active],
    );
    afterLaunch.secondary.push(
      { command: 'nbd-server-start', arguments: { addr: { type: 'inet', data: { host: address, port: String(nbdPort) } } } },
      { command: 'nbd-server-add', arguments: { device: PARENT_NODE, writable: true } },
    );
    afterLaunch.primary.push(
      {
        command: 'human-monitor-command',
        arguments: { 'command-line': `drive_add -n buddy driver=replication,mode=primary,file.driver=nbd,file.host=${address},file.port=${nbdPort},file.export=${PARENT_NODE},node-name=${REPLICATION_NODE}` },
      },
      { command: 'x-blockdev-change', arguments: { parent: COLO_DISK, node: REPLICATION_NODE } },
    );
  }
  // The primary starts paused (-S), as the COLO documentation starts it: a guest running before replication is
  // wired up would write to its disk alone. COLO's start resumes it.
  primary.push('-S');
  secondary.push('-incoming', incomingUri);

  const preview = [
    `# ${vm}: ${network.summary}${o.disk === undefined ? '; no disk, so no block replication' : ''}`,
    '# secondary host, first:',
    ...prepare.map(shellCommand),
    shellCommand(secondary),
    '# primary host (paused until COLO starts):',
    ...primaryPrepare.map(shellCommand),
    shellCommand(primary),
  ].join('\n');

  const incoming = tcpEndpoint(incomingUri);
  const listeners: LaunchPlan['listeners'] = {
    primary: network.primaryListeners,
    secondary: [
      ...(incoming === undefined ? [] : [{ ...incoming, use: 'the incoming migration', option: o.incomingUri === undefined ? 'migrationPort' : 'incomingUri' }]),
      ...(o.disk === undefined ? [] : [{ address, port: nbdPort, use: 'the NBD export of the secondary\'s disk', option: 'nbdPort' }]),
    ],
  };

  return { primary: { argv: primary, prepare: primaryPrepare }, secondary: { argv: secondary, prepare }, incomingUri, preview, afterLaunch, proxyAddress, nbdTarget: o.disk === undefined ? null : `nbd://${uriHost(address)}:${nbdPort}/${PARENT_NODE}`, listeners };
}

/**
 * `argv` run so that QEMU outlives the SSH session: QEMU's own -daemonize, which returns once the VM is set up
 * (sockets bound, images open) or fails with QEMU's error, so the exit status says whether it started. -D keeps
 * the daemon's stderr (COLO's errors) in `logFile` instead of /dev/null; QEMU truncates that file as it opens
 * it. On failure the log's tail goes to stderr, where the caller sees it. Fixed script text: argv and the log path
 * arrive as arguments.
 */
export function supervisedLaunch(argv: readonly string[], logFile: string): string[] {
  if (argv.length === 0) throw new Error('an empty QEMU command line');
  if (argv.includes('-daemonize') || argv.includes('-D')) throw new Error('the QEMU command line already says -daemonize or -D');
  if (!/^\/[A-Za-z0-9._@%+=:/-]*[^/]$/.test(logFile) || logFile.includes('/../')) throw new Error(`"${logFile.slice(0, 64)}" is not an absolute path for a log file`);
  const script = 'log=$1; shift; mkdir -p -m 0750 -- "$(dirname -- "$log")" || exit 1; '
    + '"$@" -daemonize -D "$log" </dev/null >>"$log" 2>&1 || { s=$?; tail -n 20 -- "$log" >&2; exit "$s"; }';
  return ['sh', '-c', script, 'colo-console-qemu', logFile, ...argv];
}
