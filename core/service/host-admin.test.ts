// Adding SSH hosts through the service, against a real OpenSSH sshd: the host-key step (unknown → trust once or
// save; changed → refused with both fingerprints), an encrypted key's passphrase (memory only), an ssh-config
// alias, ProxyJump through a second sshd, removal refused while a pair uses the host, and the contract's
// validation of what the UI sends.

import assert from 'node:assert/strict';
import { execFileSync, spawn } from 'node:child_process';
import { appendFileSync, existsSync, mkdtempSync, readFileSync, readdirSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { describe, test } from 'node:test';
import { createClient } from '../api/client.js';
import { consoleContract } from '../api/console-contract.js';
import { createMemoryChannelPair } from '../api/memory-channel.js';
import { serve } from '../api/server.js';
import { fingerprintSha256, knownHostsLine } from '../ssh/known-hosts.js';
import { type Sshd, startSshd, sshdUnavailable } from '../ssh/test-support/sshd.js';
import type { ReplicationBackend } from './backend.js';
import { type ConsoleService, type ConsoleServiceOptions, SYSTEM_ACTOR, consoleHandlers } from './console-service.js';
import { CONSOLE_KNOWN_HOSTS } from './host-connections.js';
import type { HostLinks } from './backend.js';
import { rejectsWithCode, startService, tempDir, waitFor } from './test-support/service-rig.js';

type T = { after(fn: () => Promise<void> | void): void };

async function sshd(t: T, options: Parameters<typeof startSshd>[0] = {}): Promise<Sshd> {
  const s = await startSshd(options);
  t.after(() => s.stop());
  return s;
}

function scratch(t: T): string {
  const dir = mkdtempSync(path.join(tmpdir(), 'colo-hosts-'));
  t.after(() => rmSync(dir, { recursive: true, force: true }));
  return dir;
}

/** A service whose "user's known_hosts" is an empty file of the test's, so the machine's own never counts. */
async function service(t: T, dir: string, extra: Partial<ConsoleServiceOptions> = {}): Promise<ConsoleService> {
  const home = scratch(t);
  const { service: s } = await startService(dir, {
    autoStartDemo: false,
    ssh: { userKnownHosts: [path.join(home, 'known_hosts')], readyTimeoutMs: 5000, backoff: { initialMs: 200, maxMs: 1000 }, ...extra.ssh },
    ...extra,
  });
  return s;
}

/** The fingerprint as `ssh-keygen -l` prints it for the server's public key. */
function sshKeygenFingerprint(pubFile: string): { fingerprint: string; type: string } {
  const out = execFileSync('ssh-keygen', ['-l', '-E', 'sha256', '-f', pubFile], { encoding: 'utf8' }).trim();
  const m = /^\d+ (SHA256:\S+) .*\((\w+)\)$/.exec(out);
  assert.ok(m, out);
  return { fingerprint: m[1]!, type: m[2]! };
}

function hostOf(s: ConsoleService, id: string) {
  const h = s.hosts().find((x) => x.id === id);
  assert.ok(h, `host ${id} is listed`);
  return h;
}

describe('SSH hosts through the service, against a real sshd', { skip: sshdUnavailable() ?? false }, () => {
  void test('an unknown key is shown as ssh prints it; trust once connects without writing anything', async (t) => {
    const server = await sshd(t);
    const dir = tempDir(t);
    const s = await service(t, dir);
    const added = await s.addHost({ name: 'Xen A', address: server.host, port: server.port, user: server.user, auth: { kind: 'key', keyPath: server.clientKeyFile }, hypervisor: 'xen' }, 'alice');
    const expected = sshKeygenFingerprint(path.join(server.dir, 'host_ed25519.pub'));
    assert.equal(added.id, 'xen-a');
    assert.equal(added.status, 'error');
    assert.deepEqual(added.hostKey, { status: 'unknown', keyType: expected.type, fingerprint: expected.fingerprint, presentedBy: `[${server.host}]:${server.port}` });
    assert.match(added.statusReason ?? '', new RegExp(`ED25519 key fingerprint is ${expected.fingerprint.replace(/[+/]/g, '\\$&')}`));

    const trusted = await s.trustHostKey(added.id, expected.fingerprint, false, 'alice');
    assert.equal(trusted.status, 'connected', trusted.statusReason);
    assert.equal(trusted.hostKey?.status, 'trusted');
    assert.ok(!readdirSync(dir).includes(CONSOLE_KNOWN_HOSTS), 'trust once writes no known_hosts line');
    const audit = s.auditList(50).map((e) => `${e.action} ${e.result} ${e.detail ?? ''}`);
    assert.ok(audit.some((l) => l.startsWith('hosts.add ok') && l.includes(`address ${server.host}`)), audit.join('\n'));
    assert.ok(audit.some((l) => l.startsWith('hosts.trustKey ok') && l.includes('trusted once')), audit.join('\n'));
  });

  void test('a saved key goes into the console\'s known_hosts (0600) and is trusted after a restart', async (t) => {
    const server = await sshd(t);
    const dir = tempDir(t);
    let s = await service(t, dir);
    const added = await s.addHost({ name: 'b', address: server.host, port: server.port, auth: { kind: 'key', keyPath: server.clientKeyFile }, hypervisor: 'xen' }, 'alice');
    const fp = fingerprintSha256(server.hostKey);
    assert.equal(added.hostKey?.fingerprint, fp);
    await rejectsWithCode(s.trustHostKey(added.id, 'SHA256:AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA', true, 'alice'), 'bad-request');
    const saved = await s.trustHostKey(added.id, fp, true, 'alice');
    assert.equal(saved.status, 'connected', saved.statusReason);
    const file = path.join(dir, CONSOLE_KNOWN_HOSTS);
    assert.equal(readFileSync(file, 'utf8'), `[${server.host}]:${server.port} ${server.hostKeyType} ${server.hostKey.toString('base64')}\n`);
    assert.equal(statSync(file).mode & 0o777, 0o600);

    await s.close();
    s = await service(t, dir);
    await waitFor(() => hostOf(s, added.id).status === 'connected', 10_000, () => JSON.stringify(hostOf(s, added.id)));
    assert.equal(hostOf(s, added.id).hostKey?.status, 'trusted');
  });

  void test('a key in the user\'s own known_hosts (hashed) needs no step; a host that goes away is waited for, then back', async (t) => {
    const server = await sshd(t);
    const home = scratch(t);
    const userKnownHosts = path.join(home, 'known_hosts');
    writeFileSync(userKnownHosts, knownHostsLine(server.host, server.port, server.hostKeyType, server.hostKey, true));
    const dir = tempDir(t);
    const s = await service(t, dir, { ssh: { userKnownHosts: [userKnownHosts], readyTimeoutMs: 5000, backoff: { initialMs: 200, maxMs: 1000 } } });
    const added = await s.addHost({ name: 'known', address: server.host, port: server.port, auth: { kind: 'key', keyPath: server.clientKeyFile }, hypervisor: 'xen' }, 'alice');
    assert.equal(added.status, 'connected', added.statusReason);
    assert.equal(added.hostKey?.status, 'trusted');
    assert.ok(!readdirSync(dir).includes(CONSOLE_KNOWN_HOSTS));

    const { port, dir: keys } = server;
    await server.stop(true);
    await waitFor(() => /Next attempt in \d+ s/.test(hostOf(s, added.id).statusReason ?? ''), 10_000, () => JSON.stringify(hostOf(s, added.id)));
    assert.equal(hostOf(s, added.id).status, 'disconnected');
    const back = await startSshd({ port, dir: keys });
    t.after(() => back.stop());
    await waitFor(() => hostOf(s, added.id).status === 'connected', 15_000, () => JSON.stringify(hostOf(s, added.id)));
  });

  void test('a key marked @revoked is refused and cannot be trusted', async (t) => {
    const server = await sshd(t);
    const userKnownHosts = path.join(scratch(t), 'known_hosts');
    writeFileSync(userKnownHosts, `@revoked * ${server.hostKeyType} ${server.hostKey.toString('base64')}\n`);
    const s = await service(t, tempDir(t), { ssh: { userKnownHosts: [userKnownHosts], readyTimeoutMs: 5000 } });
    const added = await s.addHost({ name: 'rev', address: server.host, port: server.port, auth: { kind: 'key', keyPath: server.clientKeyFile }, hypervisor: 'xen' }, 'alice');
    assert.equal(added.status, 'error');
    assert.equal(added.hostKey?.status, 'revoked');
    assert.match(added.statusReason ?? '', new RegExp(`marked @revoked in ${userKnownHosts}:1`));
    assert.match(await rejectsWithCode(s.trustHostKey(added.id, fingerprintSha256(server.hostKey), true, 'alice'), 'bad-request'), /revoked; it cannot be trusted/);
  });

  void test('a changed key is refused with both fingerprints, says which line to remove, and cannot be trusted', async (t) => {
    const first = await startSshd();
    const { port } = first;
    const oldFp = fingerprintSha256(first.hostKey);
    const dir = tempDir(t);
    const s = await service(t, dir);
    const added = await s.addHost({ name: 'c', address: first.host, port, auth: { kind: 'key', keyPath: first.clientKeyFile }, hypervisor: 'xen' }, 'alice');
    await s.trustHostKey(added.id, oldFp, true, 'alice');
    // The host is "reinstalled": same address and port, a new host key. (The old directory keeps the client key.)
    await first.stop(true);
    t.after(() => rmSync(first.dir, { recursive: true, force: true }));
    const second = await sshd(t, { port });
    const newFp = fingerprintSha256(second.hostKey);
    assert.notEqual(newFp, oldFp);
    const after = await s.retryHost(added.id);
    assert.equal(after.status, 'error');
    assert.equal(after.hostKey?.status, 'changed');
    assert.equal(after.hostKey?.fingerprint, newFp);
    assert.ok(after.hostKey?.knownFingerprints?.some((k) => k.startsWith(oldFp) && k.includes(`${path.join(dir, CONSOLE_KNOWN_HOSTS)}:1`)), JSON.stringify(after.hostKey));
    assert.match(after.statusReason ?? '', /has changed/);
    assert.ok(after.statusReason?.includes(oldFp) && after.statusReason.includes(newFp), after.statusReason);
    assert.ok(after.statusReason?.includes(`ssh-keygen -R '[${first.host}]:${port}' -f ${path.join(dir, CONSOLE_KNOWN_HOSTS)}`), after.statusReason);
    const refused = await rejectsWithCode(s.trustHostKey(added.id, newFp, true, 'alice'), 'bad-request');
    assert.match(refused, /CHANGED key.*cannot be trusted/);
    assert.equal(readFileSync(path.join(dir, CONSOLE_KNOWN_HOSTS), 'utf8').split('\n').filter(Boolean).length, 1, 'nothing was added');
    assert.equal(second.log().includes('Accepted publickey'), false, 'nothing was sent: no login happened');
  });

  void test('an encrypted key: the passphrase is asked, used from memory, and is nowhere on disk or in the audit', async (t) => {
    const server = await sshd(t);
    const keys = scratch(t);
    const key = path.join(keys, 'id_ed25519');
    const passphrase = 'correct horse 7f3a9c battery';
    execFileSync('ssh-keygen', ['-q', '-t', 'ed25519', '-N', passphrase, '-C', '', '-f', key]);
    appendFileSync(path.join(server.dir, 'authorized_keys'), readFileSync(`${key}.pub`));
    const dir = tempDir(t);
    const s = await service(t, dir);
    // The key is unlocked first (nothing can log in without it), then the host-key step follows.
    const locked = await s.addHost({ name: 'enc', address: server.host, port: server.port, auth: { kind: 'key', keyPath: key }, hypervisor: 'xen' }, 'alice');
    assert.equal(locked.status, 'error');
    assert.equal(locked.needs, 'passphrase');
    assert.match(locked.statusReason ?? '', /is encrypted: enter its passphrase/);

    const wrong = await s.unlockHost(locked.id, { passphrase: 'not it' }, 'alice');
    assert.equal(wrong.status, 'error');
    assert.equal(wrong.needs, 'passphrase');
    assert.match(wrong.statusReason ?? '', /passphrase .* is wrong/);
    await rejectsWithCode(s.unlockHost(locked.id, { password: passphrase }, 'alice'), 'bad-request');

    const unlocked = await s.unlockHost(locked.id, { passphrase }, 'alice');
    assert.equal(unlocked.needs, undefined);
    assert.equal(unlocked.hostKey?.status, 'unknown');
    const open = await s.trustHostKey(locked.id, fingerprintSha256(server.hostKey), false, 'alice');
    assert.equal(open.status, 'connected', open.statusReason);
    const added = open;
    const link = s.connections.link(s['registry'].host(added.id)!);
    assert.equal((await link.exec(['echo', 'in'], { timeoutMs: 5000 })).stdout, 'in\n');

    await s.close();
    for (const f of readdirSync(dir, { recursive: true, withFileTypes: true })) {
      if (!f.isFile()) continue;
      const bytes = readFileSync(path.join(f.parentPath, f.name));
      assert.equal(bytes.includes(passphrase), false, `${f.name} does not hold the passphrase`);
      assert.equal(bytes.includes('not it'), false, `${f.name} does not hold the wrong passphrase`);
    }
  });

  void test('the passphrase is not in the audit log', async (t) => {
    const server = await sshd(t);
    const keys = scratch(t);
    const key = path.join(keys, 'id_ed25519');
    const passphrase = 'audit-me-not-5521';
    execFileSync('ssh-keygen', ['-q', '-t', 'ed25519', '-N', passphrase, '-C', '', '-f', key]);
    appendFileSync(path.join(server.dir, 'authorized_keys'), readFileSync(`${key}.pub`));
    const s = await service(t, tempDir(t));
    const added = await s.addHost({ name: 'enc2', address: server.host, port: server.port, auth: { kind: 'key', keyPath: key }, hypervisor: 'xen' }, 'alice');
    await s.unlockHost(added.id, { passphrase }, 'alice');
    const open = await s.trustHostKey(added.id, fingerprintSha256(server.hostKey), false, 'alice');
    assert.equal(open.status, 'connected', open.statusReason);
    const entries = s.auditList(100);
    const unlock = entries.find((e) => e.action === 'hosts.unlock');
    assert.ok(unlock, 'the unlock is audited');
    assert.match(unlock.detail ?? '', /a passphrase was entered/);
    assert.equal(JSON.stringify(entries).includes(passphrase), false);
  });

  void test('an ssh-config alias resolves HostName, Port, User and IdentityFile, through an Include', async (t) => {
    const server = await sshd(t);
    const confDir = scratch(t);
    const conf = path.join(confDir, 'config');
    const included = path.join(confDir, 'lab.conf');
    writeFileSync(conf, `Include ${included}\n`);
    writeFileSync(included, [
      'Host xen-lab-a',
      `  HostName ${server.host}`,
      `  Port ${server.port}`,
      `  User ${server.user}`,
      `  IdentityFile ${server.clientKeyFile}`,
      '',
    ].join('\n'));
    const s = await service(t, tempDir(t), { ssh: { sshConfigFile: conf } });
    const added = await s.addHost({ name: 'by alias', alias: 'xen-lab-a', auth: { kind: 'key' }, hypervisor: 'xen' }, 'alice');
    assert.equal(added.alias, 'xen-lab-a');
    assert.equal(added.address, server.host);
    assert.equal(added.port, server.port);
    assert.equal(added.user, server.user);
    assert.equal(added.keyPath, server.clientKeyFile);
    const on = await s.trustHostKey(added.id, fingerprintSha256(server.hostKey), false, 'alice');
    assert.equal(on.status, 'connected', on.statusReason);
    const msg = await rejectsWithCode(s.addHost({ name: 'nope', alias: 'xen-lab-a', auth: { kind: 'agent' }, hypervisor: 'xen' }, 'alice'), 'bad-request');
    assert.match(msg, /already the host "by alias"/);
  });

  void test('a ProxyJump alias goes through the bastion, whose key is trusted in its own step', async (t) => {
    const target = await sshd(t);
    const bastion = await sshd(t);
    // One client key for both: the bastion accepts the target's client key too.
    appendFileSync(path.join(bastion.dir, 'authorized_keys'), readFileSync(`${target.clientKeyFile}.pub`));
    const conf = path.join(scratch(t), 'config');
    writeFileSync(conf, [
      'Host jump',
      `  HostName ${bastion.host}`,
      `  Port ${bastion.port}`,
      `  User ${bastion.user}`,
      'Host behind',
      '  HostName localhost',
      `  Port ${target.port}`,
      `  User ${target.user}`,
      `  IdentityFile ${target.clientKeyFile}`,
      '  ProxyJump jump',
      '',
    ].join('\n'));
    const s = await service(t, tempDir(t), { ssh: { sshConfigFile: conf } });
    const added = await s.addHost({ name: 'behind', alias: 'behind', auth: { kind: 'key' }, hypervisor: 'xen' }, 'alice');
    assert.deepEqual(added.jumps, [`${bastion.user}@${bastion.host}:${bastion.port}`]);
    assert.equal(added.hostKey?.presentedBy, `[${bastion.host}]:${bastion.port}`, 'the bastion\'s key is asked for first');
    const step2 = await s.trustHostKey(added.id, fingerprintSha256(bastion.hostKey), false, 'alice');
    assert.equal(step2.hostKey?.status, 'unknown');
    assert.equal(step2.hostKey?.presentedBy, `[localhost]:${target.port}`);
    const on = await s.trustHostKey(added.id, fingerprintSha256(target.hostKey), false, 'alice');
    assert.equal(on.status, 'connected', on.statusReason);
    // The bastion logged the console in: the target was reached through it.
    assert.match(bastion.log(), /Accepted publickey/);
  });

  void test('the SSH agent: a real ssh-agent holding the key logs in', async (t) => {
    const server = await sshd(t);
    const dir = scratch(t);
    const socket = path.join(dir, 'agent.sock');
    const agent = spawn('ssh-agent', ['-D', '-a', socket], { stdio: 'ignore' });
    t.after(() => {
      agent.kill('SIGTERM');
    });
    await waitFor(() => existsSync(socket), 5000, 'the agent\'s socket');
    execFileSync('ssh-add', ['-q', server.clientKeyFile], { env: { ...process.env, SSH_AUTH_SOCK: socket }, stdio: 'ignore' });
    const s = await service(t, tempDir(t), { ssh: { agentSocket: socket } });
    const added = await s.addHost({ name: 'agent', address: server.host, port: server.port, auth: { kind: 'agent' }, hypervisor: 'xen' }, 'alice');
    const on = await s.trustHostKey(added.id, fingerprintSha256(server.hostKey), false, 'alice');
    assert.equal(on.status, 'connected', on.statusReason);
    assert.equal(on.auth, 'agent');
    await rejectsWithCode(s.unlockHost(added.id, { passphrase: 'x' }, 'alice'), 'bad-request');
  });

  void test('hosts.remove is refused while a pair uses the host; pairs.remove needs the typed name', async (t) => {
    const server = await sshd(t);
    const s = await service(t, tempDir(t));
    const auth = { kind: 'key' as const, keyPath: server.clientKeyFile };
    const a = await s.addHost({ name: 'xa', address: server.host, port: server.port, auth, hypervisor: 'xen' }, 'alice');
    const b = await s.addHost({ name: 'xb', address: 'localhost', port: server.port, auth, hypervisor: 'xen' }, 'alice');
    const pair = await s.addPair({ name: 'web01', backend: 'xen', domain: 'web01', primaryHostId: a.id, secondaryHostId: b.id, mode: 'colo', options: { userspaceProxy: true } }, 'alice');
    assert.equal(pair.domain, 'web01');
    assert.deepEqual(hostOf(s, a.id).usedBy, [pair.id]);
    const refused = await rejectsWithCode(s.removeHost(a.id, 'alice'), 'invalid-state');
    assert.match(refused, /the pair web01 uses it/);
    await rejectsWithCode(s.addPair({ name: 'x', backend: 'xen', domain: '-x', primaryHostId: a.id, secondaryHostId: b.id, mode: 'colo', options: {} }, 'alice'), 'bad-request');
    await rejectsWithCode(s.addPair({ name: 'x', backend: 'xen', domain: 'x', primaryHostId: a.id, secondaryHostId: b.id, mode: 'colo', options: { remusIntervalMs: 50 } }, 'alice'), 'bad-request');
    await rejectsWithCode(s.removePair(pair.id, 'WEB01', 'alice'), 'bad-request');
    assert.deepEqual(await s.removePair(pair.id, 'web01', 'alice'), { removed: pair.id });
    assert.deepEqual(await s.removeHost(a.id, 'alice'), { removed: a.id });
    assert.equal(s.hosts().some((h) => h.id === a.id), false);
    const actions = s.auditList(50).map((e) => `${e.action} ${e.result}`);
    for (const want of ['pairs.add ok', 'hosts.remove error', 'pairs.remove.requested ok', 'pairs.remove ok', 'hosts.remove ok']) assert.ok(actions.includes(want), `${want} in ${actions.join(', ')}`);
  });

  void test('backends built by the factory get the service\'s links: one shared link per host', async (t) => {
    const server = await sshd(t);
    let given: HostLinks | undefined;
    // The smallest backend that uses a link: its probe runs one command on the host.
    const factory = (links: HostLinks): Partial<Record<'xen', ReplicationBackend>> => {
      given = links;
      return {
        xen: {
          kind: 'xen',
          capabilities: { checkpoints: 'observed', manualCheckpoint: false, modes: ['colo'], attach: true, simulation: false },
          probe: async (host, ctx) => {
            const r = await links.link(host).exec(['echo', '4.17.3'], { timeoutMs: 5000 });
            ctx.command({ hostId: host.id, command: r.command, result: r.code === 0 ? 'ok' : 'error' });
            return { hypervisor: 'xen', version: r.stdout.trim(), capabilities: ['hvm'], warnings: [] };
          },
          inventory: () => Promise.resolve([]),
          preflight: () => Promise.resolve([]),
          protect: () => Promise.reject(new Error('not in this test')),
          close: () => Promise.resolve(),
        },
      };
    };
    const s = await service(t, tempDir(t), { backends: factory });
    assert.equal(given, s.connections);
    const h = await s.addHost({ name: 'p', address: server.host, port: server.port, auth: { kind: 'key', keyPath: server.clientKeyFile }, hypervisor: 'xen' }, 'alice');
    await s.trustHostKey(h.id, fingerprintSha256(server.hostKey), false, 'alice');
    // Connected: the console probes by itself, once, and says so in the audit.
    await waitFor(() => hostOf(s, h.id).version === '4.17.3', 10_000, () => JSON.stringify(hostOf(s, h.id)));
    assert.ok(s.auditList(50).some((e) => e.action === 'host.command' && e.actor === SYSTEM_ACTOR && e.command === 'echo 4.17.3'), 'the probe\'s command is audited');
    const record = s['registry'].host(h.id)!;
    assert.equal(s.connections.link(record), s.connections.link({ ...record }), 'one link per host');
    assert.deepEqual(await s.probeHost(h.id, 'alice'), { hypervisor: 'xen', version: '4.17.3', capabilities: ['hvm'], warnings: [] });
    assert.equal(hostOf(s, h.id).version, '4.17.3');
    assert.deepEqual(hostOf(s, h.id).capabilities, ['hvm']);
  });
});

describe('the host and pair methods over the contract', () => {
  void test('bad input is refused with one clear message, before the service sees it', async (t) => {
    const s = await service(t, tempDir(t));
    const [clientEnd, serverEnd] = createMemoryChannelPair();
    const server = serve(consoleContract, consoleHandlers(s, { transport: 'browser', actor: 'rpc-user' }), serverEnd);
    const client = createClient(consoleContract, clientEnd, { timeoutMs: 10_000 });
    t.after(() => {
      client.close();
      server.close();
    });
    const refused = async (p: Promise<unknown>, re: RegExp): Promise<void> => {
      const msg = await rejectsWithCode(p, 'bad-request');
      assert.match(msg, re);
      assert.equal(msg.split('\n').length, 1, `one line: ${msg}`);
    };
    await refused(client.call('hosts.add', { name: 'x', address: 'a', alias: 'b', auth: { kind: 'agent' }, hypervisor: 'xen' }), /either an address or an ssh-config alias/);
    await refused(client.call('hosts.add', { name: 'x', address: '-oProxyCommand=touch /tmp/p', auth: { kind: 'agent' }, hypervisor: 'xen' }), /host name or address/);
    await refused(client.call('hosts.add', { name: 'x', address: 'a', auth: { kind: 'key', keyPath: '/k' }, hypervisor: 'xen', user: 'a b' }), /user name/);
    await refused(client.call('hosts.trustKey', { hostId: 'x', fingerprint: 'MD5:aa', save: true }), /fingerprint as ssh prints it/);
    await refused(client.call('hosts.unlock', { hostId: 'x' }), /either a passphrase or a password/);
    await refused(client.call('pairs.add', { name: 'p', backend: 'xen', domain: 'd', primaryHostId: 'a', secondaryHostId: 'a', mode: 'colo' }), /two different hosts/);
    await refused(client.call('pairs.add', { name: 'p', backend: 'xen', domain: 'd', primaryHostId: 'a', secondaryHostId: 'b', mode: 'colo', options: { secondaryAddress: 'b; rm -rf /' } }), /host name or address/);
    // A key file given for an address-only host must be named; the service says so.
    await refused(client.call('hosts.add', { name: 'x', address: 'a', auth: { kind: 'key' }, hypervisor: 'xen' }), /path of the private key/);
  });
});
