// "The QEMU lab": two QEMU hosts for the console, qemu-a (the primary QEMU) and qemu-b (the secondary), each a real
// OpenSSH sshd on its own loopback address with its own host key, root login with one client key, and streamlocal
// forwarding on, so the console reaches each side's QMP socket over SSH as it would on real hosts. Behind them runs
// either a real TCG QEMU pair (core/lab/qemu-pair.ts: COLO starts and fails over, but 7.2's periodic checkpoint
// deadlocks, qemu-colo.md §3) or the QMP emulator (core/lab/qmp/: checkpoints that go on, chosen faults). COLO is
// not started here: that is the console's job (x-colo, x-checkpoint-delay, migrate to incomingUri).
//
// Both hosts are this machine, so the QEMU processes and sockets are simply local; only the way in is per host.

import { execFileSync } from 'node:child_process';
import { copyFileSync, mkdirSync, mkdtempSync, rmSync, statSync, writeFileSync } from 'node:fs';
import net from 'node:net';
import { tmpdir, userInfo } from 'node:os';
import path from 'node:path';
import { setTimeout as delay } from 'node:timers/promises';
import { CHECKPOINT_DELAY_MAX_MS, CHECKPOINT_DELAY_MIN_MS } from '../backends/qemu/qemu-options.js';
import { fingerprintSha256, knownHostsLine } from '../ssh/known-hosts.js';
import { type Sshd, startSshd, sshdUnavailable } from '../ssh/test-support/sshd.js';
import { freePort } from '../test-support/ports.js';
import { killAndWait, type QemuPair, type QemuSide, launchQemuPair, qemuMissing } from './qemu-pair.js';
import { type PairTimings, type QmpPair, startQmpPair } from './qmp/index.js';

export interface QemuLabHost {
  name: 'qemu-a' | 'qemu-b';
  address: string;
  port: number;
  user: 'root';
  hostKeyType: string;
  hostKeySha256: string;
}

export interface QemuLab {
  kind: 'real' | 'emulated';
  /** a runs the primary QEMU, b the secondary. */
  a: QemuLabHost;
  b: QemuLabHost;
  /** An unencrypted private key both sshds accept for root. */
  clientKeyFile: string;
  /** known_hosts lines for a and b as the console reaches them ([address]:port). */
  knownHostsFile: string;
  /** The VM's name. */
  vm: string;
  /** The QMP sockets, as seen on the hosts. */
  primarySocket: string;
  secondarySocket: string;
  /** tcp:127.0.0.1:PORT, the secondary's -incoming. */
  incomingUri: string;
  /** The lab's temp directory (keys, sshd configs, sockets, the guest image); stop() removes it. */
  dir: string;
  /** kind 'emulated': the emulator's faults and state. */
  emulated?: QmpPair;
  /** kind 'real': the QEMU processes. */
  real?: QemuPair;
  /** The lab's processes right now: both sshd listeners, their open sessions, and the QEMUs (real kind). */
  processes(): number[];
  /** SIGKILL of the primary QEMU (real) / faults.kill('primary') (emulated). */
  killPrimary(): Promise<void>;
  killSecondary(): Promise<void>;
  /** Removes everything (processes, sshds, temp dir); idempotent. */
  stop(): Promise<void>;
}

export interface QemuLabOptions {
  kind: 'real' | 'emulated';
  /** Emulated only: the primary's initial x-checkpoint-delay (the console sets its own at start). */
  checkpointDelayMs?: number;
  /** Emulated only. */
  timings?: Partial<PairTimings>;
  /** Emulated only: the first periodic checkpoint hangs the primary, as 7.2 does here. */
  qemu72Deadlock?: boolean;
}

export const QEMU_LAB_VM = 'colo01';

/** One loopback address per host where Linux gives the whole 127/8 (it does), else both on 127.0.0.1. */
const ADDRESSES = { a: '127.0.0.2', b: '127.0.0.3' } as const;

/** Root's shell startup files: bash under sshd reads ~/.bashrc even for `ssh host true`. */
function shellStartupFiles(): string[] {
  const home = userInfo().homedir;
  return ['.bashrc', '.bash_profile', '.bash_login', '.profile'].map((f) => path.join(home, f));
}

/** Why the lab of this kind cannot run here, or null. */
export function qemuLabUnavailable(kind: 'real' | 'emulated'): string | null {
  const noSshd = sshdUnavailable();
  if (noSshd !== null) return noSshd;
  if (kind === 'real') {
    const noQemu = qemuMissing();
    if (noQemu !== null) return noQemu;
  }
  try {
    execFileSync('unshare', ['--mount', 'true'], { stdio: 'ignore' });
  } catch {
    return 'unshare --mount does not work here (the hosts\' sshds hide root\'s shell startup files in a mount namespace)';
  }
  return null;
}

async function usableAddress(preferred: string): Promise<string> {
  try {
    await freePort(preferred);
    return preferred;
  } catch {
    return '127.0.0.1';
  }
}

function keygen(file: string): void {
  execFileSync('ssh-keygen', ['-q', '-t', 'ed25519', '-N', '', '-C', '', '-f', file], { stdio: ['ignore', 'ignore', 'pipe'] });
}

function isSocket(file: string): boolean {
  try {
    return statSync(file).isSocket();
  } catch {
    return false;
  }
}

/** Resolves once QEMU accepts on its QMP socket (the connection is closed again at once: QEMU serves one client). */
async function waitForQmpSocket(side: QemuSide, ms: number): Promise<void> {
  const deadline = Date.now() + ms;
  for (;;) {
    if (side.process.exitCode !== null || side.process.signalCode !== null) {
      throw new Error(`the ${side.side} QEMU exited before its QMP socket ${side.socket} appeared: ${side.stderr().trim() || `exit ${side.process.exitCode ?? side.process.signalCode}`}`);
    }
    if (isSocket(side.socket)) {
      const ok = await new Promise<boolean>((resolve) => {
        const s = net.connect(side.socket, () => {
          s.destroy();
          resolve(true);
        });
        s.once('error', () => resolve(false));
      });
      if (ok) return;
    }
    if (Date.now() > deadline) throw new Error(`the ${side.side} QEMU did not open its QMP socket ${side.socket} within ${ms} ms: ${side.stderr().trim()}`);
    await delay(25);
  }
}

/** Every process below `pid` (an sshd's sessions and what they run). */
function descendantsOf(pid: number): number[] {
  let children: number[];
  try {
    children = execFileSync('pgrep', ['-P', String(pid)], { encoding: 'utf8' }).split(/\s+/).filter(Boolean).map(Number);
  } catch {
    return [];
  }
  return children.flatMap((c) => [c, ...descendantsOf(c)]);
}

function checkOptions(o: QemuLabOptions): void {
  if (o.kind !== 'real' && o.kind !== 'emulated') throw new Error(`startQemuLab: kind must be 'real' or 'emulated', not ${JSON.stringify(o.kind)}`);
  if (o.kind === 'real') {
    const given = (['checkpointDelayMs', 'timings', 'qemu72Deadlock'] as const).filter((k) => o[k] !== undefined);
    if (given.length > 0) throw new Error(`startQemuLab: ${given.join(', ')} apply to the emulated pair only; on a real pair the console sets x-checkpoint-delay when it starts COLO`);
  }
  const d = o.checkpointDelayMs;
  if (d !== undefined && (!Number.isInteger(d) || d < CHECKPOINT_DELAY_MIN_MS || d > CHECKPOINT_DELAY_MAX_MS)) {
    throw new Error(`startQemuLab: checkpointDelayMs must be an integer ${CHECKPOINT_DELAY_MIN_MS}…${CHECKPOINT_DELAY_MAX_MS}, not ${d}`);
  }
}

export async function startQemuLab(o: QemuLabOptions): Promise<QemuLab> {
  checkOptions(o);
  const why = qemuLabUnavailable(o.kind);
  if (why !== null) throw new Error(`the QEMU lab (${o.kind}) cannot start here: ${why}`);
  const dir = mkdtempSync(path.join(tmpdir(), 'colo-qemu-lab-'));
  const sshds: Partial<Record<'a' | 'b', Sshd>> = {};
  let real: QemuPair | undefined;
  let emulated: QmpPair | undefined;

  let stopping: Promise<void> | null = null;
  const stop = (): Promise<void> => {
    stopping ??= (async () => {
      // Every step runs even when one before it failed: a half-started lab goes as completely as a whole one.
      const errors: unknown[] = [];
      const step = async (fn: () => Promise<void>): Promise<void> => {
        try {
          await fn();
        } catch (err) {
          errors.push(err);
        }
      };
      if (real !== undefined) await step(() => real!.stop());
      if (emulated !== undefined) await step(() => emulated!.stop());
      await Promise.all(Object.values(sshds).map((s) => step(() => s.stop(true))));
      await step(() => Promise.resolve(rmSync(dir, { recursive: true, force: true })));
      if (errors.length > 0) throw new Error(`stopping the QEMU lab: ${errors.map((e) => (e instanceof Error ? e.message : String(e))).join('; ')}`);
    })();
    return stopping;
  };

  try {
    // One client key for both hosts; startSshd reuses the keys it finds in a host's directory.
    const clientKeyFile = path.join(dir, 'client_ed25519');
    keygen(clientKeyFile);
    const hostKeys: Record<'a' | 'b', { type: string; key: Buffer }> = {} as Record<'a' | 'b', { type: string; key: Buffer }>;
    for (const h of ['a', 'b'] as const) {
      const hostDir = path.join(dir, `qemu-${h}`);
      mkdirSync(hostDir);
      keygen(path.join(hostDir, 'host_ed25519'));
      copyFileSync(clientKeyFile, path.join(hostDir, 'client_ed25519'));
      copyFileSync(`${clientKeyFile}.pub`, path.join(hostDir, 'client_ed25519.pub'));
      const sshd = await startSshd({
        host: await usableAddress(ADDRESSES[h]),
        dir: hostDir,
        emptyFiles: shellStartupFiles(),
        config: ['ClientAliveInterval 5', 'ClientAliveCountMax 3', 'MaxStartups 100', 'MaxSessions 100'],
      });
      sshds[h] = sshd;
      hostKeys[h] = { type: sshd.hostKeyType, key: sshd.hostKey };
    }
    const knownHostsFile = path.join(dir, 'known_hosts');
    writeFileSync(knownHostsFile, (['a', 'b'] as const).map((h) => knownHostsLine(sshds[h]!.host, sshds[h]!.port, hostKeys[h].type, hostKeys[h].key, false)).join(''), { mode: 0o600 });

    let primarySocket: string;
    let secondarySocket: string;
    let incomingUri: string;
    if (o.kind === 'real') {
      const qemuDir = path.join(dir, 'qemu');
      mkdirSync(qemuDir);
      real = await launchQemuPair({ dir: qemuDir });
      await Promise.all([waitForQmpSocket(real.primary, 15_000), waitForQmpSocket(real.secondary, 15_000)]);
      primarySocket = real.primary.socket;
      secondarySocket = real.secondary.socket;
      incomingUri = `tcp:127.0.0.1:${real.port}`;
    } else {
      const qmpDir = path.join(dir, 'qmp');
      mkdirSync(qmpDir);
      emulated = await startQmpPair({
        dir: qmpDir,
        incomingUri: `tcp:127.0.0.1:${await freePort()}`,
        ...(o.checkpointDelayMs === undefined ? {} : { checkpointDelayMs: o.checkpointDelayMs }),
        ...(o.timings === undefined ? {} : { timings: o.timings }),
        qemu72Deadlock: o.qemu72Deadlock ?? false,
      });
      primarySocket = emulated.primarySocket;
      secondarySocket = emulated.secondarySocket;
      incomingUri = emulated.incomingUri;
    }

    const host = (h: 'a' | 'b'): QemuLabHost => ({
      name: `qemu-${h}`,
      address: sshds[h]!.host,
      port: sshds[h]!.port,
      user: 'root',
      hostKeyType: hostKeys[h].type,
      hostKeySha256: fingerprintSha256(hostKeys[h].key),
    });
    const kill = async (side: 'primary' | 'secondary'): Promise<void> => {
      if (real !== undefined) await killAndWait(real[side].process);
      else await emulated!.faults.kill(side);
    };
    return {
      kind: o.kind,
      a: host('a'),
      b: host('b'),
      clientKeyFile,
      knownHostsFile,
      vm: QEMU_LAB_VM,
      primarySocket,
      secondarySocket,
      incomingUri,
      dir,
      ...(emulated === undefined ? {} : { emulated }),
      ...(real === undefined ? {} : { real }),
      processes() {
        const pids: number[] = [];
        for (const s of Object.values(sshds)) pids.push(s.pid, ...descendantsOf(s.pid));
        if (real !== undefined) {
          for (const p of [real.primary.process, real.secondary.process]) {
            if (p.pid !== undefined && p.exitCode === null && p.signalCode === null) pids.push(p.pid);
          }
        }
        return pids;
      },
      killPrimary: () => kill('primary'),
      killSecondary: () => kill('secondary'),
      stop,
    };
  } catch (err) {
    await stop().catch(() => {});
    throw err;
  }
}
