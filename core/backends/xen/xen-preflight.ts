// The preflight of a Xen pair (xen-colo.md §4) as decisions over facts the backend gathered from both hosts: each
// check passes, warns or fails, and its detail says why and what to do. Kept apart from the gathering so that the
// decisions are tested with recorded `xl list -l` / `xl info` texts.

import type { PreflightCheck } from '../../service/backend.js';
import type { XlDomain } from './xl-list.js';
import type { XlInfo } from './xl-info.js';
import { xenProbe } from './xl-info.js';
import { INCOMING_SUFFIX } from './xl-commands.js';

/** A fact, or why it could not be learned (the host's error, naming the host and command). */
export type Fact<T> = { ok: true; value: T } | { ok: false; error: string };

export interface DiskFacts {
  path: string;
  primarySize: Fact<number>;
  secondarySize: Fact<number>;
  primarySum?: Fact<string>;
  secondarySum?: Fact<string>;
}

export interface PreflightFacts {
  domain: string;
  primaryName: string;
  secondaryName: string;
  /** What the primary's ssh connects to. */
  secondaryAddress: string;
  userspaceProxy: boolean;
  primaryInfo: Fact<XlInfo>;
  primaryDomains: Fact<XlDomain[]>;
  secondaryInfo: Fact<XlInfo>;
  secondaryDomains: Fact<XlDomain[]>;
  /** `ssh -o BatchMode=yes … <secondaryAddress> true`, run on the primary: exit 0 or its error. */
  secondaryReachable: Fact<true>;
  /** Whether the device model lists the `replication` block driver. */
  replicationDriver: Fact<boolean>;
  /** Absent when the guest is unknown (its disks cannot be listed). */
  disks?: DiskFacts[];
}

export function preflightChecks(f: PreflightFacts): PreflightCheck[] {
  const checks: PreflightCheck[] = [];
  const add = (id: string, label: string, status: PreflightCheck['status'], detail: string): void => {
    checks.push({ id, label, status, detail });
  };
  const guest = f.primaryDomains.ok ? f.primaryDomains.value.find((d) => d.name === f.domain) : undefined;

  if (!f.primaryDomains.ok) add('domain', `Domain ${f.domain} on ${f.primaryName}`, 'fail', `${f.primaryDomains.error} Fix: make \`xl list -l\` work on ${f.primaryName} as root.`);
  else if (guest === undefined) add('domain', `Domain ${f.domain} on ${f.primaryName}`, 'fail', `xl list -l on ${f.primaryName} lists no domain named "${f.domain}". Fix: create it paused there (xl create -p), or correct the pair's domain name.`);
  else add('domain', `Domain ${f.domain} on ${f.primaryName}`, 'pass', `Found as domain ${guest.domid ?? '?'}${guest.uuid === undefined ? '' : `, UUID ${guest.uuid}`}.`);

  if (guest !== undefined) {
    if (guest.type === 'hvm') add('hvm', 'HVM guest', 'pass', 'c_info.type is "hvm".');
    else add('hvm', 'HVM guest', 'fail', `The guest is ${guest.type === undefined ? 'of an unknown type (c_info.type missing)' : `"${guest.type}"`}: COLO supports HVM guests only ("COLO only supports hvm now"). Fix: protect an HVM guest (type="hvm" in its config).`);

    const missing = guest.disks.filter((d) => !d.colo || d.backend !== 'qdisk').map((d) => d.vdev ?? d.target ?? '?');
    if (guest.disks.length === 0) add('colo-disks', 'COLO keys on every disk', 'fail', 'The guest has no disks listed. Fix: give it its disks with backend=qdisk and the colo keys.');
    else if (missing.length > 0) {
      add('colo-disks', 'COLO keys on every disk', 'fail', `Disk${missing.length > 1 ? 's' : ''} ${missing.join(', ')} lack${missing.length > 1 ? '' : 's'} backend=qdisk with colo, colo-host, colo-port, colo-export, active-disk and hidden-disk; COLO setup fails on any disk without them. Fix: add them to each disk line of the guest's config (xen-colo.md §4) and recreate it paused.`);
    } else add('colo-disks', 'COLO keys on every disk', 'pass', `${guest.disks.length} disk${guest.disks.length > 1 ? 's' : ''} with backend qdisk and every colo key.`);

    if (f.userspaceProxy) {
      const bare = guest.nics.filter((n) => n.coloKeys === 0).map((n) => n.mac ?? n.bridge ?? '?');
      if (guest.nics.length === 0) add('colo-vifs', 'COLO proxy keys on every vif (-p)', 'warn', 'The guest has no network interface: the userspace proxy has nothing to compare. Fix: protect without -p, or give the guest a vif with the colo_* keys.');
      else if (bare.length > 0) add('colo-vifs', 'COLO proxy keys on every vif (-p)', 'fail', `vif ${bare.join(', ')} has no colo_* keys; with -p libxl builds colo-compare from them. Fix: add the colo_* keys (the first vif also needs colo_checkpoint_host/port), or protect without the userspace proxy.`);
      else add('colo-vifs', 'COLO proxy keys on every vif (-p)', 'pass', `${guest.nics.length} vif${guest.nics.length > 1 ? 's' : ''} with colo_* keys.`);
    }
  }

  if (f.secondaryReachable.ok) add('secondary-ssh', `${f.secondaryName} reachable from ${f.primaryName} as root over ssh`, 'pass', `ssh ${f.secondaryAddress} true succeeded on ${f.primaryName} without a password.`);
  else add('secondary-ssh', `${f.secondaryName} reachable from ${f.primaryName} as root over ssh`, 'fail', `${f.secondaryReachable.error} Fix: on ${f.primaryName}, let root log in to ${f.secondaryAddress} with a key (no password, host key already known), or set the pair's secondaryAddress.`);

  if (!f.replicationDriver.ok) add('device-model', 'Replication-capable device model', 'fail', `${f.replicationDriver.error} Fix: install qemu-xen built with CONFIG_REPLICATION at /usr/lib/xen/bin/qemu-system-i386.`);
  else if (f.replicationDriver.value) add('device-model', 'Replication-capable device model', 'pass', 'qemu-system-i386 lists the replication block driver.');
  else add('device-model', 'Replication-capable device model', 'fail', `The device model on ${f.primaryName} lists no "replication" block driver. Fix: install a qemu-xen built with CONFIG_REPLICATION.`);

  const needMiB = guest?.maxMemKiB === undefined ? undefined : Math.ceil(guest.maxMemKiB / 1024);
  if (!f.secondaryInfo.ok) add('secondary-memory', `Free memory on ${f.secondaryName}`, 'fail', `${f.secondaryInfo.error} Fix: make \`xl info\` work on ${f.secondaryName}.`);
  else if (f.secondaryInfo.value.freeMemoryMiB === undefined || needMiB === undefined) add('secondary-memory', `Free memory on ${f.secondaryName}`, 'warn', 'Could not compare: xl info gave no free_memory, or the guest no max_memkb. Fix: check by hand that the secondary can hold the guest.');
  else if (f.secondaryInfo.value.freeMemoryMiB >= needMiB) add('secondary-memory', `Free memory on ${f.secondaryName}`, 'pass', `${f.secondaryInfo.value.freeMemoryMiB} MiB free, the guest needs ${needMiB} MiB.`);
  else add('secondary-memory', `Free memory on ${f.secondaryName}`, 'fail', `${f.secondaryInfo.value.freeMemoryMiB} MiB free on ${f.secondaryName}, the guest needs ${needMiB} MiB. Fix: free memory there (shut guests down, shrink dom0) or give the guest less.`);

  const incoming = `${f.domain}${INCOMING_SUFFIX}`;
  if (!f.secondaryDomains.ok) {
    add('no-incoming', `No ${incoming} on ${f.secondaryName}`, 'fail', `${f.secondaryDomains.error} Fix: make \`xl list -l\` work on ${f.secondaryName} as root.`);
  } else {
    const names = new Set(f.secondaryDomains.value.map((d) => d.name));
    if (names.has(incoming)) add('no-incoming', `No ${incoming} on ${f.secondaryName}`, 'fail', `${incoming} already exists on ${f.secondaryName} (a receiving secondary, maybe left over). Fix: if no protection runs, \`xl destroy ${incoming}\` there.`);
    else add('no-incoming', `No ${incoming} on ${f.secondaryName}`, 'pass', `${f.secondaryName} has no ${incoming}.`);
    if (names.has(f.domain)) add('no-copy', `No ${f.domain} on ${f.secondaryName}`, 'fail', `A domain named ${f.domain} already runs on ${f.secondaryName}: a second copy of the guest, or a name clash (the takeover renames ${incoming} to ${f.domain}). Fix: find out which copy is current and destroy the other, or rename.`);
    else add('no-copy', `No ${f.domain} on ${f.secondaryName}`, 'pass', `${f.secondaryName} has no domain named ${f.domain}.`);
  }

  if (f.disks !== undefined) checks.push(...diskChecks(f));

  const info = f.primaryInfo.ok ? f.primaryInfo.value : undefined;
  if (info === undefined) add('xen-version', 'Xen version', 'fail', `${(f.primaryInfo as { error: string }).error} Fix: make \`xl info\` work on ${f.primaryName}.`);
  else {
    const warnings = [...xenProbe(info).warnings, ...(f.secondaryInfo.ok ? xenProbe(f.secondaryInfo.value).warnings.map((w) => `${f.secondaryName}: ${w}`) : [])];
    const versions = `${f.primaryName}: Xen ${info.xenVersion ?? '?'}${f.secondaryInfo.ok ? `, ${f.secondaryName}: Xen ${f.secondaryInfo.value.xenVersion ?? '?'}` : ''}`;
    const mismatch = f.secondaryInfo.ok && info.xenVersion !== undefined && f.secondaryInfo.value.xenVersion !== undefined && info.xenVersion !== f.secondaryInfo.value.xenVersion;
    if (mismatch) warnings.push('The hosts run different Xen versions; COLO is tested with equal ones. Fix: run the same Xen on both.');
    add('xen-version', 'Xen version', warnings.length > 0 ? 'warn' : 'pass', warnings.length > 0 ? `${versions}. ${warnings.join(' ')}` : `${versions}.`);
  }
  return checks;
}

function diskChecks(f: PreflightFacts): PreflightCheck[] {
  const out: PreflightCheck[] = [];
  const disks = f.disks ?? [];
  const problems: string[] = [];
  for (const d of disks) {
    if (!d.primarySize.ok) problems.push(d.primarySize.error);
    else if (!d.secondarySize.ok) problems.push(`${d.secondarySize.error} (the secondary needs its own copy of ${d.path})`);
    else if (d.primarySize.value !== d.secondarySize.value) problems.push(`${d.path} is ${d.primarySize.value} bytes on ${f.primaryName} and ${d.secondarySize.value} on ${f.secondaryName}`);
  }
  const label = 'Disk images of equal size on both hosts';
  if (disks.length === 0) out.push({ id: 'disk-size', label, status: 'warn', detail: 'The guest lists no disk image paths to compare.' });
  else if (problems.length > 0) out.push({ id: 'disk-size', label, status: 'fail', detail: `${problems.join('; ')}. Fix: copy each image to the same path on ${f.secondaryName} while the guest is paused or shut down.` });
  else out.push({ id: 'disk-size', label, status: 'pass', detail: `${disks.length} image${disks.length > 1 ? 's' : ''} of equal size.` });

  if (disks.some((d) => d.primarySum !== undefined)) {
    const diff: string[] = [];
    for (const d of disks) {
      const a = d.primarySum;
      const b = d.secondarySum;
      if (a === undefined || b === undefined) continue;
      if (!a.ok) diff.push(a.error);
      else if (!b.ok) diff.push(b.error);
      else if (a.value !== b.value) diff.push(`${d.path} differs (sha256 ${a.value.slice(0, 12)}… on ${f.primaryName}, ${b.value.slice(0, 12)}… on ${f.secondaryName})`);
    }
    const sumLabel = 'Disk images identical (sha256)';
    if (diff.length > 0) out.push({ id: 'disk-checksum', label: sumLabel, status: 'fail', detail: `${diff.join('; ')}. Fix: copy the primary's image to the secondary again with the guest paused; COLO needs identical disks.` });
    else out.push({ id: 'disk-checksum', label: sumLabel, status: 'pass', detail: 'Every image has the same sha256 on both hosts.' });
  }
  return out;
}
