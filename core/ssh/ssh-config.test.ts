// Aliases resolved by the real OpenSSH client, from a config with Include and a two-hop ProxyJump.

import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { homedir, tmpdir } from 'node:os';
import path from 'node:path';
import { describe, test } from 'node:test';
import { resolveHostAlias } from './ssh-config.js';

let sshMissing: string | false = false;
try {
  execFileSync('ssh', ['-V'], { stdio: 'ignore' });
} catch {
  sshMissing = 'the OpenSSH client is not installed here (apt-get install openssh-client)';
}

describe('resolveHostAlias (ssh -G)', { skip: sshMissing }, () => {
  test('HostName, Port, User, IdentityFile and a multi-hop ProxyJump, through an Include', async (t) => {
    const dir = mkdtempSync(path.join(tmpdir(), 'colo-sshcfg-'));
    t.after(() => rmSync(dir, { recursive: true, force: true }));
    mkdirSync(path.join(dir, 'conf.d'));
    writeFileSync(path.join(dir, 'conf.d', 'lab.conf'), 'Host bastion\n  HostName 127.0.0.5\n  User jump\n');
    writeFileSync(path.join(dir, 'config'), [
      `Include ${path.join(dir, 'conf.d', '*.conf')}`,
      'Host dom0-a',
      '  HostName 10.99.0.1',
      '  Port 2222',
      '  User root',
      '  IdentityFile ~/.ssh/lab_key',
      '  ProxyJump bastion,admin@jump2:2200',
      '',
    ].join('\n'));
    const cfg = path.join(dir, 'config');
    const a = await resolveHostAlias('dom0-a', { configFile: cfg });
    assert.deepEqual([a.hostname, a.port, a.user], ['10.99.0.1', 2222, 'root']);
    assert.deepEqual(a.identityFiles, [path.join(homedir(), '.ssh', 'lab_key')]);
    assert.deepEqual(a.proxyJump, ['bastion', 'admin@jump2:2200']);
    const b = await resolveHostAlias('bastion', { configFile: cfg });
    assert.deepEqual([b.hostname, b.port, b.user, b.proxyJump], ['127.0.0.5', 22, 'jump', []]);
    // Not an alias: ssh's defaults, the name as the address.
    const plain = await resolveHostAlias('dom0-z.lab', { configFile: cfg });
    assert.equal(plain.hostname, 'dom0-z.lab');
  });

  test('a name that ssh would read as an option, or with shell syntax, is refused before ssh runs', async () => {
    for (const bad of ['-oProxyCommand=touch /tmp/x', 'a b', 'a;b', '$(id)', '']) {
      await assert.rejects(resolveHostAlias(bad), /is not a host name or ~\/\.ssh\/config alias/);
    }
  });
});
