// "The lab": two emulated Xen dom0s (a, b) and a bastion, each a network namespace with its own mount namespace
// and real OpenSSH sshd, the xl emulator on every session's PATH, a bridge the console reaches them over, and a
// direct a–b link for replication (so cutting it leaves the console's reach intact). Without network namespaces
// the hosts fall back to sshd on loopback addresses (no link to cut).
//
// One holder process per host (`sleep infinity` in the host's namespaces) owns its view of the filesystem; the
// sshds and every `xl` the lab runs join it with nsenter, so "every process of host a" is every process in a's
// mount namespace, however it was started (setsid nohup included).

import { type ChildProcess, execFile, execFileSync, spawn } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { existsSync, mkdirSync, mkdtempSync, readFileSync, readdirSync, readlinkSync, rmSync, statSync, writeFileSync, chmodSync, truncateSync, closeSync, openSync } from 'node:fs';
import { constants as osConstants, tmpdir } from 'node:os';
import path from 'node:path';
import { setTimeout as delay } from 'node:timers/promises';
import { fingerprintSha256 } from '../ssh/known-hosts.js';
import { freePort, waitForPort } from '../test-support/ports.js';
import { shellQuote } from '../ssh/shell-quote.js';
import { IMAGE_BYTES, SEEDED_IMAGES, extraGuestNames, seededDomains, writeHostState } from './seed.js';
import { bundleXl } from './xl-bundle.js';
import { DEFAULT_HOST, DEFAULT_STATE_DIR, STALL_FLAG } from './xl/state.js';

export interface LabHost {
  name: 'a' | 'b' | 'bastion';
  address: string;
  port: number;
  user: 'root';
  /** The address the other Xen host uses for it (P–S link). */
  replicationAddress?: string;
  hostKeyType: string;
  hostKey: Buffer;
  hostKeySha256: string;
}

export interface XenLab {
  mode: 'namespaces' | 'loopback';
  note: string;
  a: LabHost;
  b: LabHost;
  bastion: LabHost;
  clientKeyFile: string;
  knownHostsFile: string;
  sshConfigFile: string;
  cutReplicationLink(): Promise<void>;
  restoreReplicationLink(): Promise<void>;
  killHost(h: 'a' | 'b'): Promise<void>;
  /** on: the receiving `xl migrate-receive` on b SIGSTOPs itself at its next checkpoint's suspend; off: SIGCONT. */
  stallSecondary(on: boolean): Promise<void>;
  dropConsoleConnections(h: 'a' | 'b'): Promise<void>;
  xl(h: 'a' | 'b', args: string[], opts?: { timeoutMs?: number }): Promise<{ code: number; stdout: string; stderr: string }>;
  stop(): Promise<void>;
}

export interface XenLabOptions {
  /** The emulated colo-compare's miscompare period, ms; default 200. */
  coloPeriodMs?: number;
  /** Xen version each host reports (a test can show the ≥ 4.18 warning); default 4.17. */
  xenMinor?: { a?: number; b?: number };
  /** Force the loopback fallback even where namespaces work. */
  forceLoopback?: boolean;
  /** More protectable HVM guests on a besides web01 (named by extraGuestNames: colo01, …), for load; default 0. */
  extraGuests?: number;
  /**
   * Test-only: every `xl` started through host a's or b's sshd gets XL_EMU_TIMING_FILE=<this> (sshd SetEnv), so
   * `xl remus` appends the wall-clock time it wrote each cycle's last line (benchmarks). No spaces in the path.
   */
  timingFile?: string;
}

const PREFIX = 'clab';
const REGISTRY = '/run/colo-lab';
const SSHD = '/usr/sbin/sshd';
/** Host paths each host sees its own copy of (bind mounts in its mount namespace). */
const VIEWS = { log: '/var/log/colo-console', xen: '/var/lib/xen', state: DEFAULT_STATE_DIR, ssh: '/root/.ssh', bin: '/usr/local/sbin', qemu: '/usr/lib/xen/bin' } as const;

/** Root's shell startup files on this machine; each host sees them empty. */
const ROOT_SHELL_FILES = ['/root/.bashrc', '/root/.bash_profile', '/root/.bash_login', '/root/.profile'];

type HostName = 'a' | 'b' | 'bastion';

/** What a lab leaves in REGISTRY so that it can be removed even after its process died. */
interface LabRecord {
  id: string;
  pid: number;
  dir: string;
  namespaces: string[];
  links: string[];
}

interface Running {
  holder: ChildProcess;
  sshds: { console: ChildProcess; replication?: ChildProcess };
}

/** Why network namespaces cannot be used here, or null. */
export function namespacesUnavailable(): string | null {
  if (process.getuid?.() !== 0) return 'not root';
  for (const tool of ['ip', 'unshare', 'nsenter']) {
    try {
      execFileSync(tool, ['-V'], { stdio: 'ignore' });
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code === 'ENOENT') return `${tool} is missing`;
    }
  }
  try {
    const probe = `${PREFIX}probe${process.pid}`;
    execFileSync('ip', ['netns', 'add', probe], { stdio: 'ignore' });
    execFileSync('ip', ['netns', 'del', probe], { stdio: 'ignore' });
  } catch {
    return 'ip netns add failed (no CAP_NET_ADMIN or no netns support)';
  }
  return null;
}

/** Why the lab cannot start here at all (not even in loopback mode), or null. */
export function labUnavailable(): string | null {
  if (process.getuid?.() !== 0) return 'the lab needs root (sshd as root, mount namespaces)';
  if (!existsSync(SSHD)) return 'OpenSSH sshd is not installed';
  try {
    execFileSync('unshare', ['--mount', 'true'], { stdio: 'ignore' });
  } catch {
    return 'unshare --mount does not work here';
  }
  return null;
}

function run(cmd: string, args: string[]): void {
  execFileSync(cmd, args, { stdio: ['ignore', 'ignore', 'pipe'] });
}

function quiet(cmd: string, args: string[]): void {
  try {
    run(cmd, args);
  } catch {
    // Already gone.
  }
}

function alive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch {
    return false;
  }
}

/** Removes what labs whose owner process has died left behind (namespaces, links, temp dirs). */
export function cleanupStaleLabs(): string[] {
  const removed: string[] = [];
  if (!existsSync(REGISTRY)) return removed;
  for (const f of readdirSync(REGISTRY)) {
    if (!f.endsWith('.json')) continue;
    let r: LabRecord;
    try {
      r = JSON.parse(readFileSync(path.join(REGISTRY, f), 'utf8')) as LabRecord;
    } catch {
      // Empty or half-written: a lab that is starting right now has just reserved it. Only an old one is junk.
      if (Date.now() - mtimeOf(path.join(REGISTRY, f)) > 60_000) rmSync(path.join(REGISTRY, f), { force: true });
      continue;
    }
    if (alive(r.pid)) continue;
    teardown(r);
    removed.push(r.id);
  }
  return removed;
}

function mtimeOf(f: string): number {
  try {
    return statSync(f).mtimeMs;
  } catch {
    return Date.now();
  }
}

function readdirSafe(dir: string): string[] {
  try {
    return readdirSync(dir);
  } catch {
    return [];
  }
}

function mountNs(pid: number): string | undefined {
  try {
    return readlinkSync(`/proc/${pid}/ns/mnt`);
  } catch {
    return undefined;
  }
}

/** Every process in the mount namespace of `holderPid`. */
function processesOf(holderPid: number): number[] {
  const ns = mountNs(holderPid);
  if (ns === undefined) return [];
  const pids: number[] = [];
  for (const e of readdirSync('/proc')) {
    if (!/^\d+$/.test(e)) continue;
    if (mountNs(Number(e)) === ns) pids.push(Number(e));
  }
  return pids;
}

function killAll(holderPid: number, signal: NodeJS.Signals = 'SIGKILL'): void {
  for (const pid of processesOf(holderPid)) {
    try {
      process.kill(pid, signal);
    } catch {
      // Exited meanwhile.
    }
  }
}

function teardown(r: LabRecord): void {
  // Processes first (a namespace with processes in it stays alive), then links, namespaces, files.
  for (const ns of r.namespaces) {
    try {
      const pids = execFileSync('ip', ['netns', 'pids', ns], { encoding: 'utf8' }).split(/\s+/).filter(Boolean);
      for (const p of pids) quiet('kill', ['-9', p]);
    } catch {
      // No such namespace.
    }
  }
  const holders = path.join(r.dir, 'holders');
  if (existsSync(holders)) {
    for (const f of readdirSync(holders)) {
      const pid = Number(readFileSync(path.join(holders, f), 'utf8'));
      if (pid > 0 && alive(pid)) killAll(pid);
    }
  }
  for (const l of r.links) quiet('ip', ['link', 'del', l]);
  for (const ns of r.namespaces) quiet('ip', ['netns', 'del', ns]);
  rmSync(r.dir, { recursive: true, force: true });
  rmSync(path.join(REGISTRY, `${r.id}.json`), { force: true });
}

function usedSubnets(): Set<number> {
  const used = new Set<number>();
  try {
    const out = execFileSync('ip', ['-o', '-4', 'addr'], { encoding: 'utf8' });
    for (const m of out.matchAll(/inet 198\.1[89]\.(\d+)\./g)) used.add(Number(m[1]));
  } catch {
    // No ip: loopback mode.
  }
  if (existsSync(REGISTRY)) {
    for (const f of readdirSync(REGISTRY)) {
      const m = /-k(\d+)\.json$/.exec(f);
      if (m) used.add(Number(m[1]));
    }
  }
  return used;
}




const QEMU_FAKE = `#!/bin/sh
# The lab's stand-in for QEMU as Xen's device model: it answers the questions a console asks of it.
for a in "$@"; do
  case "$a" in
    format=help) echo "Supported formats: blkdebug blklogwrites blkverify bochs cloop compress copy-before-write copy-on-read dmg file ftp ftps host_cdrom host_device http https luks nbd null-aio null-co nvme parallels preallocate qcow qcow2 qed quorum raw replication snapshot-access throttle vdi vhdx vmdk vpc vvfat"; exit 0;;
    -version|--version) echo "QEMU emulator version 8.2.0 (Debian 1:8.2.0+ds-1)"; exit 0;;
  esac
done
echo "qemu-system-i386: the lab's device model only answers -drive format=help and -version" >&2
exit 1
`;

export async function startXenLab(opts: XenLabOptions = {}): Promise<XenLab> {
  const why = labUnavailable();
  if (why !== null) throw new Error(`the Xen lab cannot start here: ${why}`);
  const extraGuests = opts.extraGuests ?? 0;
  if (!Number.isInteger(extraGuests) || extraGuests < 0 || extraGuests > 200) throw new Error(`extraGuests must be an integer 0…200, not ${extraGuests}`);
  if (opts.timingFile !== undefined && !/^\/[\w./-]+$/.test(opts.timingFile)) throw new Error(`timingFile must be an absolute path without spaces or quotes: ${opts.timingFile}`);
  cleanupStaleLabs();
  const noNs = opts.forceLoopback ? 'loopback mode was asked for' : namespacesUnavailable();
  const mode: XenLab['mode'] = noNs === null ? 'namespaces' : 'loopback';
  let id = randomBytes(2).toString('hex');
  // A crashed lab's leftovers that cleanup could not remove must not collide with this one.
  while (existsSync(`/run/netns/${PREFIX}-${id}-a`) || readdirSafe(REGISTRY).some((f) => f.startsWith(`${id}-`))) id = randomBytes(2).toString('hex');
  mkdirSync(REGISTRY, { recursive: true });
  // The subnet is reserved by creating its registry file exclusively: labs starting at once never share one.
  const used = usedSubnets();
  const start = randomBytes(1)[0]!;
  let k = -1;
  for (let n = 0; n < 256 && k < 0; n++) {
    const candidate = (start + n) % 256;
    if (used.has(candidate) || readdirSafe(REGISTRY).some((f) => f.endsWith(`-k${candidate}.json`))) continue;
    try {
      closeSync(openSync(path.join(REGISTRY, `${id}-k${candidate}.json`), 'wx'));
      k = candidate;
    } catch {
      // Taken a moment ago by another lab.
    }
  }
  if (k < 0) throw new Error('no free 198.18.x.0/24 subnet for a new lab');
  const dir = mkdtempSync(path.join(tmpdir(), `colo-lab-${id}-`));
  const record: LabRecord = { id, pid: process.pid, dir, namespaces: [], links: [] };
  const registryFile = path.join(REGISTRY, `${id}-k${k}.json`);
  const save = (): void => writeFileSync(registryFile, JSON.stringify(record));
  record.id = `${id}-k${k}`;
  save();
  const running: Partial<{ [H in HostName]: Running }> = {};
  const stopAll = (): Promise<void> => {
    for (const h of Object.values(running)) {
      if (h.holder.pid !== undefined) killAll(h.holder.pid);
    }
    teardown(record);
    return Promise.resolve();
  };
  try {
    const names: HostName[] = ['a', 'b', 'bastion'];
    const ns = (h: HostName): string => `${PREFIX}-${id}-${h}`;
    const consoleAddr: { [H in HostName]: string } = mode === 'namespaces'
      ? { a: `198.18.${k}.2`, b: `198.18.${k}.3`, bastion: `198.18.${k}.4` }
      : { a: `127.18.${k}.2`, b: `127.18.${k}.3`, bastion: `127.18.${k}.4` };
    const replAddr = mode === 'namespaces' ? { a: `198.19.${k}.1`, b: `198.19.${k}.2` } : { a: consoleAddr.a, b: consoleAddr.b };
    if (mode === 'namespaces') {
      const br = `${PREFIX}${id}br`;
      for (const h of names) {
        run('ip', ['netns', 'add', ns(h)]);
        record.namespaces.push(ns(h));
      }
      save();
      run('ip', ['link', 'add', br, 'type', 'bridge']);
      record.links.push(br);
      save();
      run('ip', ['addr', 'add', `198.18.${k}.1/24`, 'dev', br]);
      run('ip', ['link', 'set', br, 'up']);
      for (const h of names) {
        const outer = `${PREFIX}${id}${h[0]}${h === 'bastion' ? 'j' : ''}0`;
        const inner = `${PREFIX}${id}${h[0]}${h === 'bastion' ? 'j' : ''}1`;
        run('ip', ['link', 'add', outer, 'type', 'veth', 'peer', 'name', inner]);
        record.links.push(outer);
        save();
        run('ip', ['link', 'set', inner, 'netns', ns(h)]);
        run('ip', ['link', 'set', outer, 'master', br, 'up']);
        run('ip', ['-n', ns(h), 'addr', 'add', `${consoleAddr[h]}/24`, 'dev', inner]);
        run('ip', ['-n', ns(h), 'link', 'set', inner, 'up']);
        run('ip', ['-n', ns(h), 'link', 'set', 'lo', 'up']);
      }
      const ra = `${PREFIX}${id}ra`;
      const rb = `${PREFIX}${id}rb`;
      run('ip', ['link', 'add', ra, 'type', 'veth', 'peer', 'name', rb]);
      record.links.push(ra);
      save();
      run('ip', ['link', 'set', ra, 'netns', ns('a')]);
      run('ip', ['link', 'set', rb, 'netns', ns('b')]);
      run('ip', ['-n', ns('a'), 'addr', 'add', `${replAddr.a}/24`, 'dev', ra]);
      run('ip', ['-n', ns('b'), 'addr', 'add', `${replAddr.b}/24`, 'dev', rb]);
      run('ip', ['-n', ns('a'), 'link', 'set', ra, 'up']);
      run('ip', ['-n', ns('b'), 'link', 'set', rb, 'up']);
    }

    const bundle = await bundleXl(path.join(dir, 'xl'));
    const clientKeyFile = path.join(dir, 'console_ed25519');
    const keygen = (f: string, comment: string): void => run('ssh-keygen', ['-q', '-t', 'ed25519', '-N', '', '-C', comment, '-f', f]);
    keygen(clientKeyFile, 'colo-console-lab');
    const hostDir = (h: HostName): string => path.join(dir, h);
    const hostKeys: { [H in HostName]?: { type: string; key: Buffer } } = {};
    for (const h of names) {
      for (const sub of ['log', 'xen/images', 'xen/colo', 'state', 'ssh', 'qemu', 'etc']) mkdirSync(path.join(hostDir(h), sub), { recursive: true });
      keygen(path.join(hostDir(h), 'etc', 'host_ed25519'), `root@${h}`);
      keygen(path.join(hostDir(h), 'ssh', 'id_ed25519'), `root@xen-${h}`);
      const [type, b64] = readFileSync(path.join(hostDir(h), 'etc', 'host_ed25519.pub'), 'utf8').trim().split(' ');
      hostKeys[h] = { type: type!, key: Buffer.from(b64!, 'base64') };
      writeFileSync(path.join(hostDir(h), 'qemu', 'qemu-system-i386'), QEMU_FAKE);
      chmodSync(path.join(hostDir(h), 'qemu', 'qemu-system-i386'), 0o755);
    }
    const ports: { [H in HostName]: number } = mode === 'namespaces'
      ? { a: 22, b: 22, bastion: 22 }
      : { a: await freePort(consoleAddr.a), b: await freePort(consoleAddr.b), bastion: await freePort(consoleAddr.bastion) };
    const hostPattern = (addr: string, port: number): string => (port === 22 ? addr : `[${addr}]:${port}`);
    const authorized = [clientKeyFile, ...names.map((h) => path.join(hostDir(h), 'ssh', 'id_ed25519'))].map((f) => readFileSync(`${f}.pub`, 'utf8').trim()).join('\n');
    const knownLines: string[] = [];
    for (const h of names) {
      const hk = hostKeys[h]!;
      const addrs = [hostPattern(consoleAddr[h], ports[h])];
      if (h !== 'bastion' && mode === 'namespaces') addrs.push(replAddr[h]);
      knownLines.push(`${addrs.join(',')} ${hk.type} ${hk.key.toString('base64')}`);
    }
    const knownHostsFile = path.join(dir, 'known_hosts');
    writeFileSync(knownHostsFile, `${knownLines.join('\n')}\n`);
    for (const h of names) {
      const ssh = path.join(hostDir(h), 'ssh');
      writeFileSync(path.join(ssh, 'authorized_keys'), `${authorized}\n`);
      writeFileSync(path.join(ssh, 'known_hosts'), `${knownLines.join('\n')}\n`);
      // A cut link must be noticed in seconds, as the failover paths expect.
      // Loopback hosts listen on ports of their own; the Xen hosts reach each other there.
      const portLines = mode === 'loopback' ? (['a', 'b'] as const).flatMap((x) => [`Host ${replAddr[x]}`, `  Port ${ports[x]}`]) : [];
      writeFileSync(path.join(ssh, 'config'), [
        ...portLines,
        'Host *', '  User root', '  IdentityFile /root/.ssh/id_ed25519', '  UserKnownHostsFile /root/.ssh/known_hosts',
        '  StrictHostKeyChecking yes', '  BatchMode yes', '  ServerAliveInterval 1', '  ServerAliveCountMax 3', '  ConnectTimeout 5', '',
      ].join('\n'));
      if (h !== 'bastion') {
        const other: 'a' | 'b' = h === 'a' ? 'b' : 'a';
        writeHostState(path.join(hostDir(h), 'state'), {
          ...DEFAULT_HOST,
          hostname: `xen-${h}`,
          xenMinor: opts.xenMinor?.[h] ?? DEFAULT_HOST.xenMinor,
          coloPeriodMs: opts.coloPeriodMs ?? 200,
        }, h === 'a' ? seededDomains(replAddr[other], Date.now(), extraGuests) : { nextDomid: 1, domains: [] });
        // Equal sparse images on both hosts, for the console's size check.
        for (const img of [...SEEDED_IMAGES, ...extraGuestNames(extraGuests).map((n) => `${n}.img`)]) {
          const f = path.join(hostDir(h), 'xen', 'images', img);
          closeSync(openSync(f, 'w'));
          truncateSync(f, IMAGE_BYTES);
        }
      }
    }
    // Mount points on the real filesystem; each host binds its own directory over them in its namespace.
    for (const p of Object.values(VIEWS)) mkdirSync(p, { recursive: true });
    mkdirSync('/run/sshd', { recursive: true, mode: 0o755 });
    mkdirSync(path.join(dir, 'holders'), { recursive: true });
    const emptyDir = path.join(dir, 'empty');
    mkdirSync(emptyDir);
    const emptyFile = path.join(dir, 'empty-file');
    writeFileSync(emptyFile, '');

    for (const h of names) {
      const binds: [string, string][] = [[path.join(hostDir(h), 'ssh'), VIEWS.ssh]];
      if (h !== 'bastion') {
        binds.push(
          [path.join(hostDir(h), 'log'), VIEWS.log],
          [path.join(hostDir(h), 'xen'), VIEWS.xen],
          [path.join(hostDir(h), 'state'), VIEWS.state],
          [bundle.binDir, VIEWS.bin],
          [path.join(hostDir(h), 'qemu'), VIEWS.qemu],
        );
      }
      // A machine running systemd must not make the hosts look as if they ran it: the backend probes for it.
      if (existsSync('/run/systemd/system')) binds.push([emptyDir, '/run/systemd']);
      // Nor may this machine's shell setup for root run in the hosts' sessions (bash reads ~/.bashrc under sshd):
      // a slow or stuck one (pyenv's rehash waits up to 60 s on a lock a killed session left) stalls every command.
      for (const f of ROOT_SHELL_FILES) if (existsSync(f)) binds.push([emptyFile, f]);
      const script = `hostname ${h === 'bastion' ? 'bastion' : `xen-${h}`} && ${binds.map(([from, to]) => `mount --bind ${shellQuote(from)} ${shellQuote(to)}`).join(' && ')} && exec sleep infinity`;
      const unshare = ['unshare', '--mount', '--uts', '--propagation', 'private', 'sh', '-c', script];
      const argv = mode === 'namespaces' ? ['ip', 'netns', 'exec', ns(h), ...unshare] : unshare;
      const holder = spawn(argv[0]!, argv.slice(1), { stdio: 'ignore' });
      running[h] = { holder, sshds: {} as Running['sshds'] };
      writeFileSync(path.join(dir, 'holders', h), String(holder.pid));
      // The holder is ready once its binds are in place: its mount namespace differs from ours and sleep runs.
      const deadline = Date.now() + 5000;
      while (!(mountNs(holder.pid!) !== mountNs(process.pid) && readFileSync(`/proc/${holder.pid}/cmdline`, 'utf8').startsWith('sleep'))) {
        if (holder.exitCode !== null || Date.now() > deadline) throw new Error(`host ${h}: could not set up its mount namespace (${script})`);
        await delay(10);
      }
      const listen: [kind: 'console' | 'replication', addr: string, port: number][] = [['console', consoleAddr[h], ports[h]]];
      if (h !== 'bastion' && mode === 'namespaces') listen.push(['replication', replAddr[h], 22]);
      for (const [kind, addr, port] of listen) {
        const conf = path.join(hostDir(h), 'etc', `sshd_${kind}.conf`);
        writeFileSync(conf, [
          `ListenAddress ${addr}:${port}`,
          `HostKey ${path.join(hostDir(h), 'etc', 'host_ed25519')}`,
          'AuthorizedKeysFile /root/.ssh/authorized_keys',
          `PidFile ${path.join(hostDir(h), 'etc', `sshd_${kind}.pid`)}`,
          'PermitRootLogin prohibit-password', 'PasswordAuthentication no', 'KbdInteractiveAuthentication no',
          'StrictModes no', 'UsePAM no', 'AllowTcpForwarding yes', 'AllowStreamLocalForwarding yes',
          'ClientAliveInterval 1', 'ClientAliveCountMax 3', 'MaxStartups 100', 'MaxSessions 100', 'LogLevel VERBOSE',
          ...(opts.timingFile !== undefined && h !== 'bastion' ? [`SetEnv XL_EMU_TIMING_FILE=${opts.timingFile}`] : []), '',
        ].join('\n'));
        const nsenter = ['nsenter', '-t', String(holder.pid), '-m', '-u', ...(mode === 'namespaces' ? ['-n'] : []), '--', SSHD, '-D', '-e', '-f', conf];
        const sshd = spawn(nsenter[0]!, nsenter.slice(1), { stdio: ['ignore', 'ignore', 'pipe'] });
        let log = '';
        sshd.stderr.setEncoding('utf8').on('data', (d: string) => {
          if (log.length < 1_000_000) log += d;
        });
        running[h].sshds[kind] = sshd;
        const probeHost = kind === 'replication' ? consoleAddr[h] : addr;
        if (kind === 'console') await waitForPort(probeHost, port, 5000, `sshd of host ${h}`, () => log);
      }
    }

    const mk = (h: HostName): LabHost => ({
      name: h,
      address: consoleAddr[h],
      port: ports[h],
      user: 'root',
      ...(h === 'bastion' ? {} : { replicationAddress: replAddr[h] }),
      hostKeyType: hostKeys[h]!.type,
      hostKey: hostKeys[h]!.key,
      hostKeySha256: fingerprintSha256(hostKeys[h]!.key),
    });
    const sshConfigFile = path.join(dir, 'ssh_config');
    const common = (h: HostName): string[] => [
      `  HostName ${consoleAddr[h]}`, `  Port ${ports[h]}`, '  User root', `  IdentityFile ${clientKeyFile}`,
      `  UserKnownHostsFile ${knownHostsFile}`, '  StrictHostKeyChecking yes', '  IdentitiesOnly yes',
    ];
    writeFileSync(sshConfigFile, [
      'Host bastion', ...common('bastion'),
      'Host xen-a', ...common('a'), '  ProxyJump bastion',
      'Host xen-b', ...common('b'), '  ProxyJump bastion', '',
    ].join('\n'));

    const holderPid = (h: HostName): number => {
      const pid = running[h]?.holder.pid;
      if (pid === undefined || !alive(pid)) throw new Error(`host ${h} is not running`);
      return pid;
    };
    const setReplicationLink = (up: boolean): Promise<void> => {
      if (mode !== 'namespaces') return Promise.reject(new Error('loopback lab: there is no replication link to cut'));
      run('ip', ['-n', ns('a'), 'link', 'set', `${PREFIX}${id}ra`, up ? 'up' : 'down']);
      run('ip', ['-n', ns('b'), 'link', 'set', `${PREFIX}${id}rb`, up ? 'up' : 'down']);
      return Promise.resolve();
    };
    const lab: XenLab = {
      mode,
      note: mode === 'namespaces'
        ? `namespaces ${names.map(ns).join(', ')}; console subnet 198.18.${k}.0/24, replication link 198.19.${k}.0/24`
        : `loopback mode (${noNs}): hosts are sshds on 127.18.${k}.x; the replication link cannot be cut, a and b share one network view, and dropping the console's connections to b drops replication too (one sshd per host)`,
      a: mk('a'),
      b: mk('b'),
      bastion: mk('bastion'),
      clientKeyFile,
      knownHostsFile,
      sshConfigFile,
      cutReplicationLink: () => setReplicationLink(false),
      restoreReplicationLink: () => setReplicationLink(true),
      async killHost(h) {
        const pid = holderPid(h);
        // Everything of the host goes at once, its sshds included: a host that died.
        for (let i = 0; i < 5 && processesOf(pid).length > 0; i++) {
          killAll(pid);
          await delay(20);
        }
        if (mode === 'namespaces') {
          for (const p of execFileSync('ip', ['netns', 'pids', ns(h)], { encoding: 'utf8' }).split(/\s+/).filter(Boolean)) quiet('kill', ['-9', p]);
        }
        // Its guests are gone with it (the state file is its hypervisor).
        writeHostState(path.join(hostDir(h), 'state'), JSON.parse(readFileSync(path.join(hostDir(h), 'state', 'host.json'), 'utf8')) as typeof DEFAULT_HOST, { nextDomid: 1, domains: [] });
      },
      stallSecondary(on) {
        const pid = holderPid('b');
        // The receiver stops itself at its next suspend while the flag is set, so the stall always leaves the
        // primary paused waiting for SVM_SUSPENDED (a SIGSTOP at a random moment could land anywhere in a cycle).
        const flag = path.join(hostDir('b'), 'state', STALL_FLAG);
        if (on) {
          writeFileSync(flag, '');
          return Promise.resolve();
        }
        rmSync(flag, { force: true });
        for (const p of processesOf(pid)) {
          let cmd: string;
          try {
            cmd = readFileSync(`/proc/${p}/cmdline`, 'utf8');
          } catch {
            continue;
          }
          if (cmd.includes('xl.mjs') && cmd.includes('migrate-receive')) {
            try {
              process.kill(p, 'SIGCONT');
            } catch {
              // Exited meanwhile.
            }
          }
        }
        return Promise.resolve();
      },
      dropConsoleConnections(h) {
        const sshd = running[h]?.sshds.console;
        // nsenter execs sshd, so the listener's children are the per-connection processes.
        if (sshd?.pid !== undefined) quiet('pkill', ['-KILL', '-P', String(sshd.pid)]);
        return Promise.resolve();
      },
      xl(h, args, o = {}) {
        let pid: number;
        try {
          pid = holderPid(h);
        } catch (err) {
          return Promise.reject(err instanceof Error ? err : new Error(String(err)));
        }
        const env: NodeJS.ProcessEnv = { ...process.env, HOME: '/root' };
        delete env.XL_EMU_DIR;
        const argv = ['-t', String(pid), '-m', '-u', ...(mode === 'namespaces' ? ['-n'] : []), '--', `${VIEWS.bin}/xl`, ...args];
        return new Promise((resolve, reject) => {
          execFile('nsenter', argv, { env, timeout: o.timeoutMs ?? 60_000, maxBuffer: 64 * 1024 * 1024, encoding: 'utf8' }, (err, stdout, stderr) => {
            if (err === null) {
              resolve({ code: 0, stdout, stderr });
              return;
            }
            if (err.killed) {
              reject(new Error(`xl ${args.join(' ')} on host ${h}: no answer within ${o.timeoutMs ?? 60_000} ms`));
              return;
            }
            // Killed by a signal (its host died): the shell's convention, 128 + the signal number.
            const code = typeof err.code === 'number' ? err.code : 128 + (err.signal ? osConstants.signals[err.signal] : 0);
            if (typeof err.code !== 'number' && !err.signal) reject(new Error(`xl ${args.join(' ')} on host ${h}: ${err.message}`));
            else resolve({ code, stdout, stderr });
          });
        });
      },
      stop: stopAll,
    };
    return lab;
  } catch (err) {
    await stopAll();
    throw err;
  }
}
