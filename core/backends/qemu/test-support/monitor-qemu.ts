// A real QEMU with a monitor and no guest (machine "none", stopped before it starts): all a QMP test needs of QEMU,
// started in a blink. Whether QEMU is installed at all: `qemuMissing()` in core/lab/qemu-pair.ts.

import { type ChildProcess, spawn } from 'node:child_process';
import { existsSync } from 'node:fs';
import { setTimeout as delay } from 'node:timers/promises';
import { QEMU_BINARY } from '../../../lab/qemu-pair.js';

/** Starts it with its QMP socket at `socketPath` and resolves once the socket exists. The caller kills it. */
export async function spawnMonitorQemu(socketPath: string): Promise<ChildProcess> {
  const qemu = spawn(QEMU_BINARY, ['-M', 'none', '-nodefaults', '-display', 'none', '-S', '-qmp', `unix:${socketPath},server=on,wait=off`], { stdio: 'ignore' });
  for (let i = 0; i < 200 && !existsSync(socketPath); i++) {
    if (qemu.exitCode !== null) throw new Error(`${QEMU_BINARY} exited with ${qemu.exitCode}`);
    await delay(25);
  }
  return qemu;
}
