// A real QEMU COLO pair on this machine, for tests and `npm run lab -- qemu`: two qemu-system-x86_64 processes
// under TCG (there is no KVM here) with a QMP socket each, the secondary waiting on `-incoming`, both booting the
// tiny memory-dirtying guest of qemu-guest.ts. Set-up and start follow qemu-colo.md §3, the combination that was
// seen to work with Debian's QEMU 7.2: no block replication, no network proxy, and no `return-path` capability
// (with it the secondary leaves COLO at once).

import { type ChildProcess, execFileSync, spawn } from 'node:child_process';
import net from 'node:net';
import path from 'node:path';
import { setTimeout as delay } from 'node:timers/promises';
import { QmpClient, type QmpClientOptions } from '../backends/qemu/qmp-client.js';
import { freePort } from '../test-support/ports.js';
import { writeGuestFloppy } from './qemu-guest.js';

export const QEMU_BINARY = 'qemu-system-x86_64';

export type Side = 'primary' | 'secondary';

export interface QemuSide {
  side: Side;
  process: ChildProcess;
  /** The QMP unix socket. */
  socket: string;
  /** The full command line, as run. */
  argv: string[];
  /** What QEMU wrote to stderr so far (its COLO errors land here). */
  stderr(): string;
}

export interface QemuPair {
  primary: QemuSide;
  secondary: QemuSide;
  /** The secondary's incoming migration port on 127.0.0.1. */
  port: number;
  /** SIGKILLs both processes (if still alive) and waits for them to be gone. */
  stop(): Promise<void>;
}

export interface LaunchOptions {
  /** Working directory for the sockets and the guest image; the caller owns (and removes) it. */
  dir: string;
  binary?: string;
  /** Guest RAM; 64 MiB keeps TCG's copy and COLO's RAM cache small. */
  memoryMb?: number;
}

/** Why a real pair cannot run here, or null when it can. */
export function qemuMissing(binary = QEMU_BINARY): string | null {
  try {
    execFileSync(binary, ['--version'], { stdio: 'ignore' });
    return null;
  } catch {
    return `${binary} is not installed here (apt-get install qemu-system-x86)`;
  }
}


export function qemuArgs(o: { socket: string; image: string; memoryMb: number; incomingPort?: number }): string[] {
  return [
    '-accel', 'tcg',
    '-machine', 'pc',
    '-m', String(o.memoryMb),
    '-display', 'none',
    '-nodefaults',
    '-serial', 'none',
    // snapshot=on: writes go to a private overlay, so both processes can open the same image.
    '-drive', `file=${o.image},if=floppy,format=raw,snapshot=on`,
    '-boot', 'order=a',
    '-chardev', `socket,id=qmp0,path=${o.socket},server=on,wait=off`,
    '-mon', 'chardev=qmp0,mode=control',
    ...(o.incomingPort === undefined ? [] : ['-incoming', `tcp:127.0.0.1:${o.incomingPort}`]),
  ];
}

function spawnSide(binary: string, side: Side, argv: string[], socket: string): QemuSide {
  const child = spawn(binary, argv, { stdio: ['ignore', 'ignore', 'pipe'] });
  let err = '';
  child.stderr.on('data', (d: Buffer) => {
    // Bounded: a looping error message must not fill the test's memory.
    if (err.length < 64 * 1024) err += d.toString();
  });
  child.on('error', () => {});
  return { side, process: child, socket, argv: [binary, ...argv], stderr: () => err };
}

/** SIGKILLs `child` (unless it has already ended) and resolves once it is gone. */
export async function killAndWait(child: ChildProcess): Promise<void> {
  if (child.exitCode !== null || child.signalCode !== null) return;
  const gone = new Promise<void>((resolve) => child.once('exit', () => resolve()));
  child.kill('SIGKILL');
  await gone;
}

/** Starts both processes (primary first, as the COLO docs require) and returns once both are spawned. */
export async function launchQemuPair(o: LaunchOptions): Promise<QemuPair> {
  const binary = o.binary ?? QEMU_BINARY;
  const memoryMb = o.memoryMb ?? 64;
  const image = path.join(o.dir, 'guest.img');
  writeGuestFloppy(image);
  const port = await freePort();
  const pSock = path.join(o.dir, 'primary.qmp');
  const sSock = path.join(o.dir, 'secondary.qmp');
  const primary = spawnSide(binary, 'primary', qemuArgs({ socket: pSock, image, memoryMb }), pSock);
  const secondary = spawnSide(binary, 'secondary', qemuArgs({ socket: sSock, image, memoryMb, incomingPort: port }), sSock);
  return {
    primary,
    secondary,
    port,
    stop: async () => {
      await Promise.all([killAndWait(primary.process), killAndWait(secondary.process)]);
    },
  };
}

/** Connects a QmpClient to one side, retrying while QEMU has not yet created its socket. */
export async function connectQmp(side: QemuSide, options: Omit<QmpClientOptions, 'name'> & { name?: string }, waitMs = 10_000): Promise<QmpClient> {
  const until = Date.now() + waitMs;
  for (;;) {
    if (side.process.exitCode !== null) throw new Error(`the ${side.side} QEMU exited (${side.process.exitCode}): ${side.stderr().trim()}`);
    try {
      const sock = await new Promise<net.Socket>((resolve, reject) => {
        const s = net.connect(side.socket);
        s.once('connect', () => resolve(s));
        s.once('error', reject);
      });
      return await QmpClient.open(sock, { name: `QEMU ${side.side}`, ...options });
    } catch (err) {
      if (Date.now() > until) throw err;
      await delay(50);
    }
  }
}

/**
 * Turns COLO on for both sides and starts it (qemu-colo.md §3): x-colo and events on both monitors, the checkpoint
 * delay on the primary, then `migrate` to the secondary's incoming port. Returns once `migrate` was accepted; the
 * pair reaches the `colo` state about half a second later.
 */
export async function startColo(primary: QmpClient, secondary: QmpClient, incomingUri: string, checkpointDelayMs: number): Promise<void> {
  const capabilities = [{ capability: 'x-colo', state: true }, { capability: 'events', state: true }];
  await secondary.execute('migrate-set-capabilities', { capabilities });
  await primary.execute('migrate-set-capabilities', { capabilities });
  await primary.execute('migrate-set-parameters', { 'x-checkpoint-delay': checkpointDelayMs });
  await primary.execute('migrate', { uri: incomingUri });
}
