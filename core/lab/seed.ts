// The lab's seeded guests (shared decision 3): on host a `web01` (HVM, every disk with all COLO keys, 512 MiB,
// 2 vCPUs, paused as COLO's start wants), `pv01` (PV) and `plain01` (HVM without COLO disk keys). Host b starts
// empty but holds the same disk images.

import { randomUUID } from 'node:crypto';
import { mkdirSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import type { EmuDomain, HostConfig, HostState } from './xl/state.js';

export const IMAGE_DIR = '/var/lib/xen/images';
/** Apparent size of each sparse disk image. */
export const IMAGE_BYTES = 2 * 1024 ** 3;
export const NBD_PORT = 9000;

export const SEEDED_IMAGES = ['web01.img', 'pv01.img', 'plain01.img'];

/** Names of the extra protectable guests a lab can seed for load (`colo01`, `colo02`, …). */
export function extraGuestNames(count: number): string[] {
  return Array.from({ length: count }, (_, i) => `colo${String(i + 1).padStart(2, '0')}`);
}

/**
 * The guests of host a; `secondaryReplicationAddress` is where the COLO guests' disks replicate to (colo-host).
 * `extraGuests` more HVM guests like web01 (named by extraGuestNames) let a benchmark protect many pairs at once.
 */
export function seededDomains(secondaryReplicationAddress: string, now = Date.now(), extraGuests = 0): HostState {
  const mac = (n: number): string => `00:16:3e:00:00:${n.toString(16).padStart(2, '0')}`;
  const domains: EmuDomain[] = [
    {
      domid: 1, name: 'web01', uuid: randomUUID(), type: 'hvm', memoryMiB: 512, vcpus: 2, state: 'paused', createdAt: now,
      disks: [{
        pdev_path: `${IMAGE_DIR}/web01.img`, vdev: 'hda', backend: 'qdisk', format: 'raw', readwrite: 1,
        colo_enable: 'True', colo_host: secondaryReplicationAddress, colo_port: NBD_PORT, colo_export: 'web01-hda',
        active_disk: '/var/lib/xen/colo/web01-active.qcow2', hidden_disk: '/var/lib/xen/colo/web01-hidden.qcow2',
      }],
      nics: [{ mac: mac(1), bridge: 'xenbr0' }],
    },
    {
      domid: 2, name: 'pv01', uuid: randomUUID(), type: 'pv', memoryMiB: 256, vcpus: 1, state: 'running', createdAt: now,
      disks: [{ pdev_path: `${IMAGE_DIR}/pv01.img`, vdev: 'xvda', backend: 'qdisk', format: 'raw', readwrite: 1 }],
      nics: [{ mac: mac(2), bridge: 'xenbr0' }],
    },
    {
      domid: 3, name: 'plain01', uuid: randomUUID(), type: 'hvm', memoryMiB: 1024, vcpus: 1, state: 'running', createdAt: now,
      disks: [{ pdev_path: `${IMAGE_DIR}/plain01.img`, vdev: 'hda', backend: 'qdisk', format: 'raw', readwrite: 1 }],
      nics: [{ mac: mac(3), bridge: 'xenbr0' }],
    },
  ];
  for (const [i, name] of extraGuestNames(extraGuests).entries()) {
    const domid = 4 + i;
    domains.push({
      domid, name, uuid: randomUUID(), type: 'hvm', memoryMiB: 512, vcpus: 1, state: 'paused', createdAt: now,
      disks: [{
        pdev_path: `${IMAGE_DIR}/${name}.img`, vdev: 'hda', backend: 'qdisk', format: 'raw', readwrite: 1,
        colo_enable: 'True', colo_host: secondaryReplicationAddress, colo_port: NBD_PORT + 1 + i, colo_export: `${name}-hda`,
        active_disk: `/var/lib/xen/colo/${name}-active.qcow2`, hidden_disk: `/var/lib/xen/colo/${name}-hidden.qcow2`,
      }],
      nics: [{ mac: mac(domid), bridge: 'xenbr0' }],
    });
  }
  return { nextDomid: 4 + extraGuests, domains };
}

/** Writes a host's emulated hypervisor: its config and domains. */
export function writeHostState(stateDir: string, host: HostConfig, state: HostState): void {
  mkdirSync(stateDir, { recursive: true });
  writeFileSync(path.join(stateDir, 'host.json'), JSON.stringify(host, null, 1));
  writeFileSync(path.join(stateDir, 'domains.json'), JSON.stringify(state, null, 1));
}
