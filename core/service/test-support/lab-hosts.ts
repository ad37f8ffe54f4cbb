// What the service tests through a lab (the Xen lab, the QEMU lab) share: a service that trusts the lab's host
// keys, and the lab's two hosts added and connected.

import type { ConsoleService, ConsoleServiceOptions } from '../console-service.js';
import { waitFor } from './service-rig.js';

export const ACTOR = 'alice';

export function labServiceOptions(l: { knownHostsFile: string }): Partial<ConsoleServiceOptions> {
  // The lab's known_hosts as the user's: the hosts connect without a host-key step (host-admin.test.ts covers it).
  return { autoStartDemo: false, ssh: { userKnownHosts: [l.knownHostsFile], readyTimeoutMs: 5000, backoff: { initialMs: 200, maxMs: 1000 } } };
}

interface LabHost {
  address: string;
  port: number;
  user: string;
}

/** Adds the lab's hosts a and b under these names and waits until both are connected; returns their ids. */
export async function addLabHosts(s: ConsoleService, l: { a: LabHost; b: LabHost; clientKeyFile: string }, names: readonly [string, string], hypervisor: 'xen' | 'qemu'): Promise<{ a: string; b: string }> {
  const ids: string[] = [];
  for (const [h, name] of [[l.a, names[0]], [l.b, names[1]]] as const) {
    const added = await s.addHost({ name, address: h.address, port: h.port, user: h.user, auth: { kind: 'key', keyPath: l.clientKeyFile }, hypervisor }, ACTOR);
    ids.push(added.id);
  }
  for (const id of ids) {
    await waitFor(() => s.hosts().find((h) => h.id === id)?.status === 'connected', 20_000, () => `${id} to connect (${JSON.stringify(s.hosts().find((h) => h.id === id))})`);
  }
  return { a: ids[0]!, b: ids[1]! };
}
