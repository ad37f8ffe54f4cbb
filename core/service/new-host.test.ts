// "Add host" requests turned into records, with OpenSSH itself (`ssh -G`) reading the config: several ProxyJump
// hops with their own users and ports, key files that must exist, ids that stay unique.

import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { test } from 'node:test';
import { newHostRecord, uniqueId } from './new-host.js';

function sshMissing(): string | false {
  try {
    execFileSync('ssh', ['-V'], { stdio: 'ignore' });
    return false;
  } catch {
    return 'the OpenSSH client (ssh) is not installed here';
  }
}

function config(t: { after(fn: () => void): void }, lines: string[]): { file: string; dir: string } {
  const dir = mkdtempSync(path.join(tmpdir(), 'colo-newhost-'));
  t.after(() => rmSync(dir, { recursive: true, force: true }));
  const file = path.join(dir, 'config');
  writeFileSync(file, `${lines.join('\n')}\n`);
  return { file, dir };
}

test('ProxyJump hops are resolved in order, each with its own user and port', { skip: sshMissing() }, async (t) => {
  const { file, dir } = config(t, [
    'Host behind',
    '  HostName 10.0.0.5',
    '  User root',
    '  ProxyJump admin@bastion.example:2200,jump2',
    'Host jump2',
    '  HostName 10.0.0.9',
    '  Port 2022',
    '  User ops',
  ]);
  const key = path.join(dir, 'id');
  writeFileSync(key, 'not read here');
  const r = await newHostRecord({ name: 'Behind', alias: 'behind', auth: { kind: 'key', keyPath: key }, hypervisor: 'xen' }, { existing: [], sshConfigFile: file });
  assert.deepEqual(r, {
    id: 'behind', name: 'Behind', kind: 'ssh', hypervisor: 'xen', address: '10.0.0.5', port: 22, user: 'root',
    auth: { kind: 'key', keyPath: key }, alias: 'behind',
    jumps: [{ address: 'bastion.example', port: 2200, user: 'admin' }, { address: '10.0.0.9', port: 2022, user: 'ops' }],
  });
});

test('an alias whose IdentityFile does not exist asks for the key file by name', { skip: sshMissing() }, async (t) => {
  const { file } = config(t, ['Host xa', '  HostName 10.0.0.1', '  IdentityFile /nonexistent/colo-test-key']);
  await assert.rejects(
    newHostRecord({ name: 'xa', alias: 'xa', auth: { kind: 'key' }, hypervisor: 'xen' }, { existing: [], sshConfigFile: file }),
    (e: Error & { code?: string }) => e.code === 'bad-request' && /none of its IdentityFile entries exists \(\/nonexistent\/colo-test-key\)/.test(e.message),
  );
});

test('an alias that is not a name is refused before ssh runs', async () => {
  await assert.rejects(
    newHostRecord({ name: 'x', alias: '-oProxyCommand=id', auth: { kind: 'agent' }, hypervisor: 'xen' }, { existing: [] }),
    (e: Error & { code?: string }) => e.code === 'bad-request' && /not a host name or ~\/.ssh\/config alias/.test(e.message),
  );
});

test('ids come from names and stay unique', () => {
  assert.equal(uniqueId('Xen host A', []), 'xen-host-a');
  assert.equal(uniqueId('Xen host A', ['xen-host-a', 'xen-host-a-2']), 'xen-host-a-3');
  assert.equal(uniqueId('***', []), 'host');
});
