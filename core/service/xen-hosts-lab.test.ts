// Xen hosts added to the service as an admin with an ~/.ssh/config would: by alias, the lab's dom0s behind the
// bastion namespace (ProxyJump), their keys in the known_hosts that config names. The probe and the domain list
// come from the emulated xl over those hops.

import assert from 'node:assert/strict';
import { copyFileSync } from 'node:fs';
import path from 'node:path';
import { after, before, describe, test } from 'node:test';
import { type XenLab, labUnavailable, startXenLab } from '../lab/xen-lab.js';
import { startService, tempDir, waitFor } from './test-support/service-rig.js';

const why = labUnavailable();

describe('Xen hosts by ssh-config alias through the bastion', { skip: why ?? false }, () => {
  let lab: XenLab;

  before(async () => {
    lab = await startXenLab();
  });

  after(async () => {
    await lab?.stop();
  });

  test('xen-a and xen-b resolve through ProxyJump, connect with the keys the config trusts, probe and list', async (t) => {
    const dir = tempDir(t);
    // The user's known_hosts is the one the lab's ssh config names (its keys for the bastion and both dom0s).
    const userKnownHosts = path.join(tempDir(t), 'known_hosts');
    copyFileSync(lab.knownHostsFile, userKnownHosts);
    const { service } = await startService(dir, {
      autoStartDemo: false,
      ssh: { sshConfigFile: lab.sshConfigFile, userKnownHosts: [userKnownHosts], readyTimeoutMs: 10_000, backoff: { initialMs: 200, maxMs: 1000 } },
    });
    const a = await service.addHost({ name: 'Xen A', alias: 'xen-a', auth: { kind: 'key' }, hypervisor: 'xen' }, 'alice');
    const b = await service.addHost({ name: 'Xen B', alias: 'xen-b', auth: { kind: 'key' }, hypervisor: 'xen' }, 'alice');
    assert.deepEqual(a.jumps, [`root@${lab.bastion.address}:${lab.bastion.port}`]);
    assert.equal(a.address, lab.a.address);
    assert.equal(a.port, lab.a.port);
    await waitFor(() => service.hosts().every((h) => h.kind !== 'ssh' || h.status === 'connected'), 20_000, () => JSON.stringify(service.hosts().map((h) => [h.name, h.status, h.statusReason])));
    for (const h of service.hosts().filter((x) => x.kind === 'ssh')) {
      assert.equal(h.hostKey?.status, 'trusted', `${h.name}: no host-key step, the known_hosts has its key`);
    }

    const probe = await service.probeHost(b.id, 'alice');
    assert.equal(probe.version, 'Xen 4.17.0');
    assert.ok(probe.capabilities.includes('hvm'), probe.capabilities.join(' '));
    const domains = await service.hostDomains(a.id, 'alice');
    for (const name of ['web01', 'pv01', 'plain01']) assert.ok(domains.some((d) => d.name === name), `${name} in ${JSON.stringify(domains)}`);
    assert.ok(domains.some((d) => d.name === 'web01' && d.state === 'paused'), JSON.stringify(domains));
    // Every command went through the audit log, with the host it ran on.
    const commands = service.auditList(200).filter((e) => e.action === 'host.command').map((e) => `${e.target} ${e.command ?? ''}`);
    assert.ok(commands.includes(`host ${b.id} xl info`), commands.join('\n'));
    assert.ok(commands.includes(`host ${a.id} xl list -l`), commands.join('\n'));
  });
});
