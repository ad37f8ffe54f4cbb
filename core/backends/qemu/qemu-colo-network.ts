// The guest's network in a launched COLO pair: the netdev and NIC on both sides, and the COLO proxy around them
// (qemu-colo.md §1.2; QEMU's docs/system/qemu-colo.rst, "Startup qemu"): on the primary, filter-mirror copies what
// arrives for the guest to the secondary, filter-redirectors send the guest's output through colo-compare, which
// releases it once the secondary's output matches; on the secondary, filter-redirectors take the mirrored packets in
// and send the guest's output back to the primary, and filter-rewriter keeps its TCP sequence numbers in step.
// Object and chardev ids are the documentation's: the failover runbooks (qemu-colo.md §1.6) delete them by name.
//
// Values come validated from qemu-options.ts; launchPlan checks again what goes into a `key=value,…` option.

import type { PlannedListener } from './qemu-launch.js';
import { networkOf, QEMU_DEFAULTS, type QemuPairOptions } from './qemu-options.js';

export const NETDEV = 'hn0';

export interface ColoNetwork {
  primary: string[];
  secondary: string[];
  /** One line for the preview: which network the guest has. */
  summary: string;
  /** The proxy's ports the primary's QEMU listens on. */
  primaryListeners: PlannedListener[];
}

/**
 * The proxy's ports on the primary host. The secondary connects to the first two across the replication link; the
 * other two join colo-compare to the primary's own filters over loopback.
 */
export function proxyPorts(base: number): { mirror: number; compareSecondary: number; comparePrimary: number; compareOut: number } {
  if (!Number.isInteger(base) || base < 1 || base > 65532) throw new Error(`the proxy base port ${base} leaves no room for its four ports (1 to 65532)`);
  return { mirror: base, compareSecondary: base + 1, comparePrimary: base + 2, compareOut: base + 3 };
}

/**
 * The network arguments of both command lines. `primaryAddress` is where the primary's proxy listens for the
 * secondary (already checked as an address); `value` checks what goes into an option.
 */
export function coloNetwork(o: QemuPairOptions, primaryAddress: string, value: (what: string, v: string) => string): ColoNetwork {
  const network = networkOf(o);
  if (network === 'none') return { primary: ['-nic', 'none'], secondary: ['-nic', 'none'], summary: 'no network (-nic none)', primaryListeners: [] };

  let netdev: string;
  let summary: string;
  if (network === 'bridge') {
    if (o.bridge === undefined) throw new Error('network bridge needs the bridge option: the host bridge the guest joins');
    const bridge = value('the bridge name', o.bridge);
    // The bridge netdev is a tap set up by qemu-bridge-helper (the documentation's helper= tap), at the path the
    // host's QEMU was built with rather than one distribution's.
    netdev = `bridge,id=${NETDEV},br=${bridge}`;
    summary = `a NIC on bridge ${bridge} (tap through qemu-bridge-helper) behind colo-compare`;
  } else {
    netdev = `user,id=${NETDEV}`;
    summary = 'a NIC on QEMU\'s user-mode network (slirp, no host networking) behind colo-compare';
  }
  // e1000, not virtio-net: virtio-net's vnet headers would need vnet_hdr_support on every filter and colo-compare.
  const nic = `e1000,id=e0,netdev=${NETDEV}${o.macAddress === undefined ? '' : `,mac=${value('the MAC address', o.macAddress)}`}`;
  const ports = proxyPorts(o.proxyBasePort ?? QEMU_DEFAULTS.proxyBasePort);
  const local = '127.0.0.1';

  const primary = [
    '-netdev', netdev,
    '-device', nic,
    // wait=off on both listening ends: the secondary (started first) connects with reconnect, and a primary that
    // blocked at start for a missing secondary would hang the launch. The documentation's own resume steps add
    // compare1 without waiting.
    '-chardev', `socket,id=mirror0,host=${primaryAddress},port=${ports.mirror},server=on,wait=off`,
    '-chardev', `socket,id=compare1,host=${primaryAddress},port=${ports.compareSecondary},server=on,wait=off`,
    '-chardev', `socket,id=compare0,host=${local},port=${ports.comparePrimary},server=on,wait=off`,
    '-chardev', `socket,id=compare0-0,host=${local},port=${ports.comparePrimary}`,
    '-chardev', `socket,id=compare_out,host=${local},port=${ports.compareOut},server=on,wait=off`,
    '-chardev', `socket,id=compare_out0,host=${local},port=${ports.compareOut}`,
    '-object', `filter-mirror,id=m0,netdev=${NETDEV},queue=tx,outdev=mirror0`,
    '-object', `filter-redirector,id=redire0,netdev=${NETDEV},queue=rx,indev=compare_out`,
    '-object', `filter-redirector,id=redire1,netdev=${NETDEV},queue=rx,outdev=compare0`,
    '-object', 'iothread,id=iothread1',
    '-object', 'colo-compare,id=comp0,primary_in=compare0-0,secondary_in=compare1,outdev=compare_out0,iothread=iothread1',
  ];
  const secondary = [
    '-netdev', netdev,
    '-device', nic,
    // reconnect=1 (seconds) is what QEMU 7.2 takes; it refuses the documentation's newer reconnect-ms=1000
    // ("Invalid parameter 'reconnect-ms'").
    '-chardev', `socket,id=red0,host=${primaryAddress},port=${ports.mirror},reconnect=1`,
    '-chardev', `socket,id=red1,host=${primaryAddress},port=${ports.compareSecondary},reconnect=1`,
    '-object', `filter-redirector,id=f1,netdev=${NETDEV},queue=tx,indev=red0`,
    '-object', `filter-redirector,id=f2,netdev=${NETDEV},queue=rx,outdev=red1`,
    '-object', `filter-rewriter,id=rew0,netdev=${NETDEV},queue=all`,
  ];
  const option = 'proxyBasePort';
  const primaryListeners: PlannedListener[] = [
    { address: primaryAddress, port: ports.mirror, use: 'the COLO proxy\'s mirror of the guest\'s input', option },
    { address: primaryAddress, port: ports.compareSecondary, use: 'colo-compare\'s input from the secondary', option },
    { address: local, port: ports.comparePrimary, use: 'colo-compare\'s input from the primary', option },
    { address: local, port: ports.compareOut, use: 'colo-compare\'s output', option },
  ];
  return { primary, secondary, summary, primaryListeners };
}
