// A real OpenSSH sshd for tests: its own host key, config and authorized key in a temp directory, listening on a
// loopback address and a free port, in the foreground (-D -e) so that its log is ours and stop() ends it for sure.

import { type ChildProcess, execFileSync, spawn } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { freePort, waitForPort } from '../../test-support/ports.js';
import { shellCommand, shellQuote } from '../shell-quote.js';

export const SSHD = '/usr/sbin/sshd';

export interface Sshd {
  host: string;
  port: number;
  user: string;
  dir: string;
  /** The listener's process id (sshd itself: the namespace wrapper execs it). */
  pid: number;
  /** The server's host key, as a known_hosts key blob. */
  hostKeyType: string;
  hostKey: Buffer;
  /** A client key that the server accepts: its private key file (unencrypted) and its public line. */
  clientKeyFile: string;
  log(): string;
  /** Kills the per-connection processes: every client sees its connection drop, the listener stays. */
  dropConnections(): void;
  /** Ends the server; `keepDir` keeps its keys for a restart with `dir`. */
  stop(keepDir?: boolean): Promise<void>;
}

export interface SshdOptions {
  host?: string;
  /** Listen on this port (a restart on the same address); default: a free one. */
  port?: number;
  /** Reuse this directory's keys (a restarted host keeps its identity). */
  dir?: string;
  /** Extra sshd_config lines (ForceCommand, SetEnv, MaxStartups…). */
  config?: string[];
  /**
   * Files the server's sessions see empty (an empty file bound over each in a private mount namespace of the
   * sshd), e.g. the login user's shell startup files: bash under sshd reads ~/.bashrc even for `ssh host true`,
   * and this machine's runs pyenv, slow or stuck on a lock. Files that do not exist are left alone.
   */
  emptyFiles?: string[];
  /**
   * Paths the server's sessions see bound elsewhere, in the same private mount namespace: two "hosts" on one machine
   * then hold different files at the same path (a disk image each, say). Each target must exist.
   */
  binds?: { source: string; target: string }[];
}

/** argv that runs sshd with `binds` in its own mount namespace; unshare and sh exec, so the pid stays sshd's. */
function withBinds(sshdArgv: string[], binds: { source: string; target: string }[]): string[] {
  const mounts = binds.map((b) => `mount --bind ${shellQuote(b.source)} ${shellQuote(b.target)} && `).join('');
  return ['unshare', '--mount', '--propagation', 'private', 'sh', '-c', `${mounts}exec ${shellCommand(sshdArgv)}`];
}

/** Why an sshd cannot run here, or null when it can. */
export function sshdUnavailable(): string | null {
  try {
    execFileSync(SSHD, ['-V'], { stdio: 'ignore' });
  } catch {
    try {
      execFileSync('ssh-keygen', ['-V'], { stdio: 'ignore' });
    } catch {
      return 'OpenSSH is not installed here (apt-get install openssh-server openssh-client)';
    }
  }
  if (process.getuid?.() !== 0) return 'sshd as a test fixture needs root here (it reads /run/sshd and logs in as the current user)';
  return null;
}

export async function startSshd(options: SshdOptions = {}): Promise<Sshd> {
  const host = options.host ?? '127.0.0.1';
  const dir = options.dir ?? mkdtempSync(path.join(tmpdir(), 'colo-sshd-'));
  mkdirSync('/run/sshd', { recursive: true, mode: 0o755 });
  const hostKeyFile = path.join(dir, 'host_ed25519');
  const clientKeyFile = path.join(dir, 'client_ed25519');
  if (options.dir === undefined) {
    for (const f of [hostKeyFile, clientKeyFile]) execFileSync('ssh-keygen', ['-q', '-t', 'ed25519', '-N', '', '-C', '', '-f', f]);
  }
  const authorized = path.join(dir, 'authorized_keys');
  writeFileSync(authorized, readFileSync(`${clientKeyFile}.pub`));
  const port = options.port ?? await freePort(host);
  const config = path.join(dir, 'sshd_config');
  writeFileSync(config, [
    `ListenAddress ${host}:${port}`,
    `HostKey ${hostKeyFile}`,
    `AuthorizedKeysFile ${authorized}`,
    `PidFile ${path.join(dir, 'sshd.pid')}`,
    'PermitRootLogin prohibit-password',
    'PasswordAuthentication no',
    'KbdInteractiveAuthentication no',
    'StrictModes no',
    'UsePAM no',
    'AllowStreamLocalForwarding yes',
    'LogLevel VERBOSE',
    ...(options.config ?? []),
    '',
  ].join('\n'));
  const sshdArgv = [SSHD, '-D', '-e', '-f', config];
  const binds = [...options.binds ?? []];
  const emptyTargets = (options.emptyFiles ?? []).filter((f) => existsSync(f));
  if (emptyTargets.length > 0) {
    const emptyFile = path.join(dir, 'empty');
    writeFileSync(emptyFile, '');
    binds.push(...emptyTargets.map((target) => ({ source: emptyFile, target })));
  }
  const argv = binds.length > 0 ? withBinds(sshdArgv, binds) : sshdArgv;
  const child: ChildProcess = spawn(argv[0]!, argv.slice(1), { stdio: ['ignore', 'ignore', 'pipe'] });
  let log = '';
  child.stderr!.setEncoding('utf8').on('data', (d: string) => {
    log += d;
  });
  const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));
  try {
    await waitForPort(host, port, 5000, 'sshd', () => log);
  } catch (err) {
    child.kill('SIGKILL');
    await exited;
    rmSync(dir, { recursive: true, force: true });
    throw err;
  }
  const dropConnections = (): void => {
    try {
      execFileSync('pkill', ['-KILL', '-P', String(child.pid)], { stdio: 'ignore' });
    } catch {
      // No connection to drop.
    }
  };
  const [hostKeyType, hostKeyB64] = readFileSync(`${hostKeyFile}.pub`, 'utf8').trim().split(' ');
  return {
    host,
    port,
    user: process.env.USER ?? 'root',
    dir,
    pid: child.pid!,
    hostKeyType: hostKeyType!,
    hostKey: Buffer.from(hostKeyB64!, 'base64'),
    clientKeyFile,
    log: () => log,
    dropConnections,
    async stop(keepDir = false) {
      dropConnections();
      child.kill('SIGTERM');
      const timer = setTimeout(() => child.kill('SIGKILL'), 2000);
      await exited;
      clearTimeout(timer);
      if (!keepDir) rmSync(dir, { recursive: true, force: true });
    },
  };
}


