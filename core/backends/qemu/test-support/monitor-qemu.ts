// A real QEMU with a monitor and no guest (machine "none", stopped before it starts): all a QMP test needs of QEMU,
// started in a blink. Whether QEMU is installed at all: `qemuMissing()` in core/lab/qemu-pair.ts.

import { type ChildProcess, spawn } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { setTimeout as delay } from 'node:timers/promises';
import { QEMU_BINARY } from '../../../lab/qemu-pair.js';

/**
 * Whether a socket at `socketPath` listens, from /proc/net/unix (flag __SO_ACCEPTCON). The file alone is not enough:
 * QEMU binds (the file appears) a moment before it listens, and a connect in that moment is refused.
 */
function listening(socketPath: string): boolean {
  return readFileSync('/proc/net/unix', 'utf8').split('\n').some((line) => {
    const fields = line.trim().split(/\s+/);
    return fields[7] === socketPath && fields[3] === '00010000';
  });
}

/** Starts it with its QMP socket at `socketPath` and resolves once QEMU listens there. The caller kills it. */
export async function spawnMonitorQemu(socketPath: string): Promise<ChildProcess> {
  const qemu = spawn(QEMU_BINARY, ['-M', 'none', '-nodefaults', '-display', 'none', '-S', '-qmp', `unix:${socketPath},server=on,wait=off`], { stdio: 'ignore' });
  for (let i = 0; i < 400 && !listening(socketPath); i++) {
    if (qemu.exitCode !== null) throw new Error(`${QEMU_BINARY} exited with ${qemu.exitCode}`);
    await delay(25);
  }
  if (!listening(socketPath)) {
    qemu.kill('SIGKILL');
    throw new Error(`${QEMU_BINARY} did not listen on ${socketPath} within 10 s`);
  }
  return qemu;
}
