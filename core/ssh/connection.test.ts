// SshConnection against a real OpenSSH sshd on loopback: host keys (trusted, unknown, changed, trusted once),
// logins (key, encrypted key, ssh-agent, refused), and commands (hostile arguments, exit status, timeout,
// cancellation, output bound).

import assert from 'node:assert/strict';
import { type ChildProcess, execFileSync, spawn } from 'node:child_process';
import { readFileSync } from 'node:fs';
import net from 'node:net';
import path from 'node:path';
import { after, before, describe, test } from 'node:test';
import { SshConnection, type SshAuth, SshError } from './connection.js';
import { knownHostsCheck } from './host-keys.js';
import { fingerprintSha256, knownHostsLine, parseKnownHosts } from './known-hosts.js';
import { type Sshd, startSshd, sshdUnavailable } from './test-support/sshd.js';

const unavailable = sshdUnavailable();

describe('SshConnection against a real sshd', { skip: unavailable ?? false }, () => {
  let sshd: Sshd;
  let key: SshAuth;
  let trusted: ReturnType<typeof parseKnownHosts>;

  before(async () => {
    sshd = await startSshd();
    key = { kind: 'key', privateKey: readFileSync(sshd.clientKeyFile) };
    trusted = parseKnownHosts(knownHostsLine(sshd.host, sshd.port, sshd.hostKeyType, sshd.hostKey, true), 'known_hosts');
  });
  after(async () => {
    await sshd?.stop();
  });

  const target = () => ({ host: sshd.host, port: sshd.port, user: sshd.user });
  const connect = (auth: SshAuth = key, entries = trusted.entries, trustedOnce?: Set<string>) =>
    SshConnection.connect(target(), auth, { checkHostKey: knownHostsCheck(sshd.host, sshd.port, { entries, ...(trustedOnce ? { trustedOnce } : {}) }), readyTimeoutMs: 10_000 });

  async function refusal(p: Promise<unknown>): Promise<SshError> {
    try {
      await p;
    } catch (err) {
      assert.ok(err instanceof SshError, `an SshError, got ${String(err)}`);
      return err;
    }
    assert.fail('expected a refusal');
  }

  test('a known host key: commands run with hostile arguments intact, exit status and stderr reported', async (t) => {
    const c = await connect();
    t.after(() => c.close());
    const names = ["it's", 'two words', 'semi;colon', '$(id)', '`id`', 'new\nline', '-leading'];
    const r = await c.exec(['printf', '%s\\0', ...names], { timeoutMs: 10_000 });
    assert.equal(r.code, 0);
    assert.deepEqual(r.stdout.split('\0').slice(0, -1), names);
    const failed = await c.exec(['sh', '-c', 'echo oops >&2; exit 3'], { timeoutMs: 10_000 });
    assert.deepEqual([failed.code, failed.stderr], [3, 'oops\n']);
  });

  test('an unknown host key is refused with its fingerprint, as ssh prints it, and never retried; trusting it once lets it in', async () => {
    const err = await refusal(connect(key, []));
    assert.equal(err.kind, 'host-key-unknown');
    assert.equal(err.retryable, false);
    const printed = execFileSync('ssh-keygen', ['-l', '-E', 'sha256', '-f', path.join(sshd.dir, 'host_ed25519.pub')], { encoding: 'utf8' }).split(' ')[1]!;
    assert.equal(err.details.fingerprint, printed);
    assert.match(err.message, new RegExp(`Its ED25519 key fingerprint is ${printed.replace(/[+/]/g, '\\$&')}\\.`));
    const c = await connect(key, [], new Set([printed]));
    c.close();
  });

  test('a changed host key is refused loudly, naming both fingerprints', async () => {
    const other = execFileSync('ssh-keygen', ['-y', '-f', sshd.clientKeyFile], { encoding: 'utf8' }).trim().split(' ');
    const wrong = parseKnownHosts(`[${sshd.host}]:${sshd.port} ${other[0]} ${other[1]}\n`, '/root/.ssh/known_hosts');
    const err = await refusal(connect(key, wrong.entries));
    assert.equal(err.kind, 'host-key-changed');
    assert.equal(err.retryable, false);
    assert.match(err.message, /^WARNING: the host key of \[127\.0\.0\.1\]:\d+ has changed\./);
    assert.ok(err.message.includes(fingerprintSha256(sshd.hostKey)), 'names the presented key');
    assert.ok(err.message.includes(fingerprintSha256(Buffer.from(other[1]!, 'base64'))), 'names the known key');
    assert.match(err.message, /\/root\/\.ssh\/known_hosts:1/);
  });

  test('a key the server does not accept is an auth refusal, never retried', async () => {
    execFileSync('ssh-keygen', ['-q', '-t', 'ed25519', '-N', '', '-C', '', '-f', path.join(sshd.dir, 'stranger')]);
    const err = await refusal(connect({ kind: 'key', privateKey: readFileSync(path.join(sshd.dir, 'stranger')) }));
    assert.equal(err.kind, 'auth');
    assert.equal(err.retryable, false);
    assert.match(err.message, /refused the login as/);
  });

  test('an encrypted key logs in with its passphrase; a wrong passphrase is an auth error that says so', async () => {
    const file = path.join(sshd.dir, 'client_ed25519');
    const copy = path.join(sshd.dir, 'encrypted');
    execFileSync('cp', [file, copy]);
    execFileSync('ssh-keygen', ['-q', '-p', '-P', '', '-N', 'correct horse', '-f', copy]);
    const c = await connect({ kind: 'key', privateKey: readFileSync(copy), passphrase: 'correct horse' });
    c.close();
    const err = await refusal(connect({ kind: 'key', privateKey: readFileSync(copy), passphrase: 'wrong' }));
    assert.equal(err.kind, 'auth');
    assert.match(err.message, /could not be used/);
  });

  test('the keys of a real ssh-agent log in', async (t) => {
    const socket = path.join(sshd.dir, 'agent.sock');
    const agent: ChildProcess = spawn('ssh-agent', ['-D', '-a', socket], { stdio: 'ignore' });
    t.after(() => {
      agent.kill();
    });
    for (let i = 0; i < 100; i++) {
      try {
        execFileSync('ssh-add', ['-q', sshd.clientKeyFile], { env: { ...process.env, SSH_AUTH_SOCK: socket }, stdio: 'ignore' });
        break;
      } catch {
        await new Promise((r) => setTimeout(r, 50));
      }
    }
    const c = await connect({ kind: 'agent', socket });
    t.after(() => c.close());
    const r = await c.exec(['echo', 'via agent'], { timeoutMs: 10_000 });
    assert.equal(r.stdout, 'via agent\n');
  });

  test('ProxyJump: a second host reached through this one as a bastion; a bastion that forbids forwarding fails the jump', async (t) => {
    const dom0 = await startSshd({ host: '127.0.0.2' });
    t.after(() => dom0.stop());
    const bastion = await connect();
    t.after(() => bastion.close());
    const dom0Keys = parseKnownHosts(knownHostsLine(dom0.host, dom0.port, dom0.hostKeyType, dom0.hostKey, false), 'kh');
    const through = await SshConnection.connect(
      { host: dom0.host, port: dom0.port, user: dom0.user },
      { kind: 'key', privateKey: readFileSync(dom0.clientKeyFile) },
      { checkHostKey: knownHostsCheck(dom0.host, dom0.port, { entries: dom0Keys.entries }), via: bastion },
    );
    t.after(() => through.close());
    assert.equal((await through.exec(['echo', 'behind the bastion'], { timeoutMs: 10_000 })).stdout, 'behind the bastion\n');

    // The far host's session ends: the connection through the bastion says so at once, as a direct one does.
    const closed = new Promise<SshError>((resolve) => through.onClose(resolve));
    dom0.dropConnections();
    assert.equal((await closed).kind, 'closed');
    assert.equal(through.isOpen, false);
    assert.equal((await refusal(through.exec(['true'], { timeoutMs: 10_000 }))).kind, 'closed');
    assert.equal(bastion.isOpen, true);

    const strict = await startSshd({ config: ['AllowTcpForwarding no'] });
    t.after(() => strict.stop());
    const strictKeys = parseKnownHosts(knownHostsLine(strict.host, strict.port, strict.hostKeyType, strict.hostKey, false), 'kh');
    const noJump = await SshConnection.connect({ host: strict.host, port: strict.port, user: strict.user }, { kind: 'key', privateKey: readFileSync(strict.clientKeyFile) }, {
      checkHostKey: knownHostsCheck(strict.host, strict.port, { entries: strictKeys.entries }),
    });
    t.after(() => noJump.close());
    const err = await refusal(SshConnection.connect({ host: dom0.host, port: dom0.port, user: dom0.user }, { kind: 'key', privateKey: readFileSync(dom0.clientKeyFile) }, {
      checkHostKey: knownHostsCheck(dom0.host, dom0.port, { entries: dom0Keys.entries }), via: noJump,
    }));
    assert.equal(err.kind, 'network');
    assert.match(err.message, /could not open a TCP forward to 127\.0\.0\.2:\d+/);
  });

  test('streamlocal forwarding reaches a unix socket on the host (what a QEMU monitor needs)', async (t) => {
    const socketPath = path.join(sshd.dir, 'echo.sock');
    const server = net.createServer((s) => s.pipe(s));
    await new Promise<void>((r) => server.listen(socketPath, r));
    t.after(() => server.close());
    const c = await connect();
    t.after(() => c.close());
    const stream = await c.openUnixSocket(socketPath);
    const echoed = new Promise<string>((resolve) => stream.once('data', (d: Buffer) => resolve(d.toString())));
    stream.write('{"execute":"qmp_capabilities"}\n');
    assert.equal(await echoed, '{"execute":"qmp_capabilities"}\n');
    stream.end();
    await assert.rejects(c.openUnixSocket(path.join(sshd.dir, 'missing.sock')), /could not open the unix socket/);
  });

  test('a command that never returns times out; one can be cancelled; output past the bound stops it', async (t) => {
    const c = await connect();
    t.after(() => c.close());
    const slow = await refusal(c.exec(['sleep', '30'], { timeoutMs: 300 }));
    assert.equal(slow.kind, 'timeout');
    assert.match(slow.message, /^`sleep 30` on 127\.0\.0\.1 port \d+ did not finish within 0\.3 s\.$/);
    const ac = new AbortController();
    const cancelled = c.exec(['sleep', '30'], { timeoutMs: 10_000, signal: ac.signal });
    setTimeout(() => ac.abort(), 100);
    assert.equal((await refusal(cancelled)).kind, 'cancelled');
    const flood = await refusal(c.exec(['head', '-c', '3000000', '/dev/zero'], { timeoutMs: 10_000, maxOutputBytes: 1_000_000 }));
    assert.equal(flood.kind, 'output-too-large');
    // The connection is still good for the next command.
    assert.equal((await c.exec(['true'], { timeoutMs: 10_000 })).code, 0);
  });
});
