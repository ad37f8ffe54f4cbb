// Shared by the service tests that run through the Xen lab (core/lab/xen-lab.ts): the lab, a service that knows
// its host keys, both hosts added and connected, the web01 pair from a to b over the replication link.

import { type XenLab, startXenLab } from '../../lab/xen-lab.js';
import type { PairInfo } from '../../api/console-contract.js';
import type { ConsoleService, ConsoleServiceOptions } from '../console-service.js';
import { ACTOR, addLabHosts as addHosts, labServiceOptions as sharedOptions } from './lab-hosts.js';

export { ACTOR };
export const DOMAIN = 'web01';

type TestContext = { after(fn: () => Promise<void> | void): void };

/** A lab with the emulated COLO's default pace, removed when the test ends. */
export async function lab(t: TestContext): Promise<XenLab> {
  const l = await startXenLab({ coloPeriodMs: 200 });
  t.after(() => l.stop());
  return l;
}

export function labServiceOptions(l: XenLab): Partial<ConsoleServiceOptions> {
  return sharedOptions(l);
}

/** Adds lab hosts a and b (as "Xen A", "Xen B") and waits until both are connected; returns their ids. */
export function addLabHosts(s: ConsoleService, l: XenLab): Promise<{ a: string; b: string }> {
  return addHosts(s, l, ['Xen A', 'Xen B'], 'xen');
}

/** The COLO pair web01 from a to b, b reached over the a–b replication link. */
export function addWeb01Pair(s: ConsoleService, l: XenLab, hosts: { a: string; b: string }): Promise<PairInfo> {
  return s.addPair({
    name: DOMAIN, backend: 'xen', domain: DOMAIN, primaryHostId: hosts.a, secondaryHostId: hosts.b, mode: 'colo',
    options: { secondaryAddress: l.b.replicationAddress ?? l.b.address },
  }, ACTOR);
}

/** The domain's state column in `xl list` on the host, or undefined when it is not there. */
export async function xlState(l: XenLab, h: 'a' | 'b', name: string): Promise<string | undefined> {
  const r = await l.xl(h, ['list']);
  return r.stdout.split('\n').find((line) => line.startsWith(`${name} `))?.split(/\s+/)[4];
}
