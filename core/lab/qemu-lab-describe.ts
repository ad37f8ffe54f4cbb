// What `npm run lab -- qemu` prints: everything an admin types into the console to attach the lab's pair, and what
// the pair behind it will and will not do (qemu-colo.md §3 for the real QEMU 7.2 here).

import { readFileSync } from 'node:fs';
import { keyTypeLabel } from '../ssh/host-keys.js';
import type { QemuLab, QemuLabHost } from './qemu-lab.js';

function host(h: QemuLabHost, role: string): string {
  return [
    `  ${h.name} (${role}): ${h.user}@${h.address} port ${h.port}`,
    `    ${keyTypeLabel(h.hostKeyType)} key fingerprint is ${h.hostKeySha256}`,
  ].join('\n');
}

function expectations(lab: QemuLab): string[] {
  if (lab.kind === 'emulated') {
    return [
      'Behind the hosts: the QMP emulator of a QEMU 7.2 COLO pair (monitors only: no guest, no disks, no network).',
      'Once the console has started COLO, checkpoints go on every x-checkpoint-delay ms, with the state, mode and',
      'events of a real 7.2.',
    ];
  }
  const pid = (side: 'primary' | 'secondary'): string => String(lab.real?.[side].process.pid ?? '?');
  return [
    `Behind the hosts: two real QEMU 7.2 processes under TCG (no KVM here), primary pid ${pid('primary')} on qemu-a,`,
    `secondary pid ${pid('secondary')} on qemu-b waiting on its -incoming. What this QEMU will and will not show:`,
    '  - COLO starts: within about half a second the pair reports the colo state, mode primary on qemu-a and',
    '    secondary on qemu-b.',
    '  - Then the first or second periodic checkpoint deadlocks the primary (a 7.2 bug): it stays paused and its',
    '    monitor answers nothing, so the console raises Guest frozen.',
    `  - Failover works: kill the primary (kill -9 ${pid('primary')}, as its host dying would) and fail over to qemu-b;`,
    '    the secondary keeps running on its own.',
    '  - No steady stream of checkpoints: for those run `npm run lab -- qemu --emulated`.',
  ];
}

/** The lab as text; `checkpointDelayMs` is the value suggested for the pair option of that name. */
export function describeQemuLab(lab: QemuLab, checkpointDelayMs: number): string {
  return [
    `QEMU lab up (${lab.kind}) in ${lab.dir}`,
    '',
    'Hosts (root on both accepts the private key below):',
    host(lab.a, 'runs the primary QEMU'),
    host(lab.b, 'runs the secondary QEMU'),
    `Private key: ${lab.clientKeyFile}`,
    `known_hosts for the console: ${lab.knownHostsFile}`,
    readFileSync(lab.knownHostsFile, 'utf8').trimEnd().split('\n').map((l) => `  ${l}`).join('\n'),
    `  try: ssh -i ${lab.clientKeyFile} -o UserKnownHostsFile=${lab.knownHostsFile} -p ${lab.a.port} root@${lab.a.address} true`,
    '',
    `VM: ${lab.vm}`,
    `  primary QMP socket (on ${lab.a.name}):   ${lab.primarySocket}`,
    `  secondary QMP socket (on ${lab.b.name}): ${lab.secondarySocket}`,
    `  incoming URI (the secondary's -incoming, as the primary reaches it): ${lab.incomingUri}`,
    '',
    'In the console: add both hosts (address, port, user root, the key above, trust the fingerprints above), then a',
    `QEMU pair for ${lab.vm} from ${lab.a.name} to ${lab.b.name} with the options`,
    `  primaryQmp = ${lab.primarySocket}`,
    `  secondaryQmp = ${lab.secondarySocket}`,
    `  incomingUri = ${lab.incomingUri}`,
    `  checkpointDelayMs = ${checkpointDelayMs}`,
    'COLO is not started yet: the console does that (x-colo on both, x-checkpoint-delay, migrate to the incoming URI).',
    '',
    ...expectations(lab),
    '',
    'Ctrl-C stops the lab and removes everything it created.',
  ].join('\n');
}
