// known_hosts against OpenSSH's own tools: keys made by ssh-keygen, files hashed by `ssh-keygen -H`, fingerprints
// compared with `ssh-keygen -l`, lines we write looked up by `ssh-keygen -F`.

import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { appendFileSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { before, after, describe, test } from 'node:test';
import { fingerprintSha256, hostKeyVerdict, knownHostsLine, parseKnownHosts } from './known-hosts.js';

interface Key {
  type: string;
  blob: Buffer;
  pubLine: string;
  pubFile: string;
}

let dir: string;
const keys: Record<'ed25519' | 'rsa' | 'ecdsa' | 'other', Key> = {} as never;

function makeKey(name: string, type: string, bits?: string): Key {
  const file = path.join(dir, name);
  execFileSync('ssh-keygen', ['-q', '-t', type, ...(bits ? ['-b', bits] : []), '-N', '', '-C', '', '-f', file]);
  const pubLine = readFileSync(`${file}.pub`, 'utf8').trim();
  const [keyType, b64] = pubLine.split(' ');
  return { type: keyType!, blob: Buffer.from(b64!, 'base64'), pubLine: `${keyType} ${b64}`, pubFile: `${file}.pub` };
}

describe('known_hosts', () => {
  before(() => {
    dir = mkdtempSync(path.join(tmpdir(), 'colo-known-hosts-'));
    keys.ed25519 = makeKey('ed', 'ed25519');
    keys.rsa = makeKey('rsa', 'rsa', '2048');
    keys.ecdsa = makeKey('ec', 'ecdsa', '256');
    keys.other = makeKey('other', 'ed25519');
  });
  after(() => rmSync(dir, { recursive: true, force: true }));

  test('fingerprints read exactly as ssh-keygen -l prints them, for several key types', () => {
    for (const k of [keys.ed25519, keys.rsa, keys.ecdsa]) {
      const printed = execFileSync('ssh-keygen', ['-l', '-E', 'sha256', '-f', k.pubFile], { encoding: 'utf8' }).split(' ')[1];
      assert.equal(fingerprintSha256(k.blob), printed);
    }
  });

  test('plain, [host]:port, patterns and negation; the same key is trusted, another of the same type changed, none unknown', () => {
    const text = [
      '# comment',
      `dom0-a.lab,10.0.0.1 ${keys.ed25519.pubLine}`,
      `[dom0-b.lab]:2222 ${keys.rsa.pubLine}`,
      `*.pool.lab,!bad.pool.lab ${keys.ecdsa.pubLine}`,
      '',
    ].join('\n');
    const { entries, problems } = parseKnownHosts(text, 'kh');
    assert.deepEqual(problems, []);
    assert.equal(entries.length, 3);
    assert.equal(hostKeyVerdict(entries, 'dom0-a.lab', 22, keys.ed25519.type, keys.ed25519.blob).kind, 'trusted');
    assert.equal(hostKeyVerdict(entries, '10.0.0.1', 22, keys.ed25519.type, keys.ed25519.blob).kind, 'trusted');
    const changed = hostKeyVerdict(entries, 'dom0-a.lab', 22, keys.other.type, keys.other.blob);
    assert.equal(changed.kind, 'changed');
    assert.equal(changed.kind === 'changed' && changed.listed[0]!.source, 'kh:2');
    // The port is part of the name: the same host on 22 is not listed.
    assert.equal(hostKeyVerdict(entries, 'dom0-b.lab', 2222, keys.rsa.type, keys.rsa.blob).kind, 'trusted');
    assert.deepEqual(hostKeyVerdict(entries, 'dom0-b.lab', 22, keys.rsa.type, keys.rsa.blob), { kind: 'unknown', otherTypes: [] });
    assert.equal(hostKeyVerdict(entries, 'x.pool.lab', 22, keys.ecdsa.type, keys.ecdsa.blob).kind, 'trusted');
    assert.equal(hostKeyVerdict(entries, 'bad.pool.lab', 22, keys.ecdsa.type, keys.ecdsa.blob).kind, 'unknown');
    // Listed only with another type: not a change, but the admin hears which types are known.
    assert.deepEqual(hostKeyVerdict(entries, 'dom0-a.lab', 22, keys.rsa.type, keys.rsa.blob), { kind: 'unknown', otherTypes: [keys.ed25519.type] });
  });

  test('hashed entries written by ssh-keygen -H are matched, with and without a port', () => {
    const file = path.join(dir, 'hashed');
    writeFileSync(file, `dom0-a.lab ${keys.ed25519.pubLine}\n[dom0-b.lab]:2222 ${keys.rsa.pubLine}\n`);
    execFileSync('ssh-keygen', ['-q', '-H', '-f', file], { stdio: ['ignore', 'ignore', 'ignore'] });
    const text = readFileSync(file, 'utf8');
    assert.match(text, /^\|1\|/m);
    assert.doesNotMatch(text, /dom0-a/);
    const { entries } = parseKnownHosts(text, file);
    assert.equal(hostKeyVerdict(entries, 'dom0-a.lab', 22, keys.ed25519.type, keys.ed25519.blob).kind, 'trusted');
    assert.equal(hostKeyVerdict(entries, 'dom0-b.lab', 2222, keys.rsa.type, keys.rsa.blob).kind, 'trusted');
    assert.equal(hostKeyVerdict(entries, 'dom0-c.lab', 22, keys.ed25519.type, keys.ed25519.blob).kind, 'unknown');
    assert.equal(hostKeyVerdict(entries, 'dom0-a.lab', 22, keys.other.type, keys.other.blob).kind, 'changed');
  });

  test('@revoked refuses the key whichever host presents it; @cert-authority lines do not trust plain keys', () => {
    const text = `@revoked * ${keys.other.pubLine}\n@cert-authority *.lab ${keys.rsa.pubLine}\ndom0-a.lab ${keys.other.pubLine}\n`;
    const { entries } = parseKnownHosts(text, 'kh');
    assert.equal(hostKeyVerdict(entries, 'dom0-a.lab', 22, keys.other.type, keys.other.blob).kind, 'revoked');
    assert.equal(hostKeyVerdict(entries, 'x.lab', 22, keys.rsa.type, keys.rsa.blob).kind, 'unknown');
  });

  test('bad lines are reported with file and line, skipped, and never stop the rest', () => {
    const text = [
      `@weird host ${keys.ed25519.pubLine}`,
      'onlyahost',
      `host ssh-ed25519 not*base64`,
      `host ssh-rsa ${keys.ed25519.pubLine.split(' ')[1]}`,
      `x`.repeat(20_000),
      `good.lab ${keys.ed25519.pubLine}`,
    ].join('\n');
    const { entries, problems } = parseKnownHosts(text, '/home/a/.ssh/known_hosts');
    assert.equal(entries.length, 1);
    assert.deepEqual(problems.map((p) => p.split(': ')[0]), [1, 2, 3, 4, 5].map((n) => `/home/a/.ssh/known_hosts:${n}`));
    assert.match(problems[3]!, /not a ssh-rsa key/);
  });

  test('lines we write are found by ssh-keygen -F, hashed or plain', () => {
    const file = path.join(dir, 'ours');
    writeFileSync(file, '');
    appendFileSync(file, knownHostsLine('dom0-a.lab', 22, keys.ed25519.type, keys.ed25519.blob, true));
    appendFileSync(file, knownHostsLine('dom0-b.lab', 2222, keys.rsa.type, keys.rsa.blob, false));
    for (const name of ['dom0-a.lab', '[dom0-b.lab]:2222']) {
      const found = execFileSync('ssh-keygen', ['-F', name, '-f', file], { encoding: 'utf8' });
      assert.match(found, /# Host .* found: line \d/);
    }
    const { entries } = parseKnownHosts(readFileSync(file, 'utf8'), file);
    assert.equal(hostKeyVerdict(entries, 'dom0-a.lab', 22, keys.ed25519.type, keys.ed25519.blob).kind, 'trusted');
  });
});
