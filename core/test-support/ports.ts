// Ports for test fixtures that start real servers (sshd, QEMU): one that is free, and waiting until one listens.

import net from 'node:net';
import { setTimeout as delay } from 'node:timers/promises';

/** A TCP port on `host` that was free a moment ago (the server binds it itself, so it cannot be held for it). */
export function freePort(host = '127.0.0.1'): Promise<number> {
  return new Promise((resolve, reject) => {
    const s = net.createServer();
    s.once('error', reject);
    s.listen(0, host, () => {
      const { port } = s.address() as net.AddressInfo;
      s.close(() => resolve(port));
    });
  });
}

/** `count` consecutive TCP ports on 127.0.0.1 that were free a moment ago (e.g. QEMU's COLO proxy's four); the first. */
export async function freePortRun(count: number): Promise<number> {
  for (let attempt = 0; attempt < 50; attempt++) {
    const base = await freePort();
    if (base + count - 1 > 65535) continue;
    const free = await Promise.all(Array.from({ length: count - 1 }, (_, i) => new Promise<boolean>((resolve) => {
      const s = net.createServer();
      s.once('error', () => resolve(false));
      s.listen(base + i + 1, '127.0.0.1', () => s.close(() => resolve(true)));
    })));
    if (free.every(Boolean)) return base;
  }
  throw new Error(`no run of ${count} free ports found on 127.0.0.1`);
}

/** Resolves once something accepts connections on host:port; past `ms`, fails naming `what` with its `log()`. */
export async function waitForPort(host: string, port: number, ms: number, what: string, log: () => string): Promise<void> {
  const deadline = Date.now() + ms;
  for (;;) {
    const ok = await new Promise<boolean>((resolve) => {
      const s = net.connect(port, host, () => {
        s.destroy();
        resolve(true);
      });
      s.once('error', () => resolve(false));
    });
    if (ok) return;
    if (Date.now() > deadline) throw new Error(`${what} did not listen on ${host}:${port} within ${ms} ms:\n${log()}`);
    await delay(25);
  }
}
