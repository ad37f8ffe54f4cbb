// Shared by the service tests that run through the QEMU lab (core/lab/qemu-lab.ts): the lab, a service that knows
// its host keys, both hosts added and connected, the colo01 pair from qemu-a to qemu-b attached by socket path.

import type { PairInfo } from '../../api/console-contract.js';
import { type QemuLab, type QemuLabOptions, startQemuLab } from '../../lab/qemu-lab.js';
import type { ConsoleService, ConsoleServiceOptions } from '../console-service.js';
import { ACTOR, addLabHosts, labServiceOptions } from './lab-hosts.js';

export { ACTOR };

type TestContext = { after(fn: () => Promise<void> | void): void };

export async function qemuLab(t: TestContext, o: QemuLabOptions): Promise<QemuLab> {
  const l = await startQemuLab(o);
  t.after(() => l.stop());
  return l;
}

export function qemuLabServiceOptions(l: QemuLab): Partial<ConsoleServiceOptions> {
  return labServiceOptions(l);
}

/** Adds qemu-a and qemu-b as QEMU hosts and waits until both are connected; returns their ids. */
export function addQemuLabHosts(s: ConsoleService, l: QemuLab): Promise<{ a: string; b: string }> {
  return addLabHosts(s, l, [l.a.name, l.b.name], 'qemu');
}

/** The lab's VM as a QEMU pair from a to b, attached by its two QMP socket paths. */
export function addLabPair(s: ConsoleService, l: QemuLab, hosts: { a: string; b: string }, options: Record<string, number | boolean> = {}): Promise<PairInfo> {
  return s.addPair({
    name: l.vm, backend: 'qemu', domain: l.vm, primaryHostId: hosts.a, secondaryHostId: hosts.b, mode: 'colo',
    options: { primaryQmp: l.primarySocket, secondaryQmp: l.secondarySocket, incomingUri: l.incomingUri, heartbeatIntervalMs: 200, heartbeatMisses: 3, ...options },
  }, ACTOR);
}
