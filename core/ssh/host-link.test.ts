// SshHostLink against a real sshd: one shared connection, reconnect with backoff after a drop and after the host
// comes back, and no retry at all for a host-key refusal until the admin retries.

import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { after, before, describe, test } from 'node:test';
import { setTimeout as delay } from 'node:timers/promises';
import { knownHostsCheck } from './host-keys.js';
import { SshError } from './connection.js';
import { type LinkState, SshHostLink } from './host-link.js';
import { type KnownHostEntry, knownHostsLine, parseKnownHosts } from './known-hosts.js';
import { type Sshd, startSshd, sshdUnavailable } from './test-support/sshd.js';

async function until(cond: () => boolean, ms: number, what: () => string): Promise<void> {
  const deadline = Date.now() + ms;
  while (!cond()) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what()}`);
    await delay(20);
  }
}

describe('SshHostLink against a real sshd', { skip: sshdUnavailable() ?? false }, () => {
  let sshd: Sshd;
  before(async () => {
    sshd = await startSshd();
  });
  after(async () => {
    await sshd?.stop();
  });

  function link(entries = parseKnownHosts(knownHostsLine(sshd.host, sshd.port, sshd.hostKeyType, sshd.hostKey, false), 'kh').entries) {
    const states: LinkState[] = [];
    const l = new SshHostLink({
      target: { host: sshd.host, port: sshd.port, user: sshd.user },
      auth: () => ({ kind: 'key', privateKey: readFileSync(sshd.clientKeyFile) }),
      connect: { checkHostKey: knownHostsCheck(sshd.host, sshd.port, { entries }), readyTimeoutMs: 5000 },
      backoff: { initialMs: 100, maxMs: 400 },
      onState: (s) => states.push(s),
    });
    return { l, states };
  }

  test('one connection is shared; after a drop the link waits, then reconnects by itself', async (t) => {
    const { l, states } = link();
    t.after(() => l.close());
    const [a, b] = await Promise.all([l.connection(), l.connection()]);
    assert.equal(a, b, 'concurrent users share one connection');
    assert.equal((await l.exec(['echo', 'one'], { timeoutMs: 5000 })).stdout, 'one\n');
    sshd.dropConnections();
    await until(() => l.state.kind === 'waiting', 5000, () => JSON.stringify(l.state));
    const waiting = l.state;
    assert.ok(waiting.kind === 'waiting' && waiting.error.retryable);
    await until(() => l.state.kind === 'connected', 10_000, () => JSON.stringify(l.state));
    assert.equal((await l.exec(['echo', 'two'], { timeoutMs: 5000 })).stdout, 'two\n');
    assert.deepEqual(states.map((s) => s.kind).filter((k, i, all) => k !== all[i - 1]).slice(0, 5), ['connecting', 'connected', 'waiting', 'idle', 'connecting']);
  });

  test('an unknown host key fails the link without a retry; retry() after trusting connects', async (t) => {
    const known: KnownHostEntry[] = [];
    const { l } = link(known);
    t.after(() => l.close());
    await assert.rejects(l.connection(), (e: Error & { kind?: string }) => e.kind === 'host-key-unknown');
    assert.equal(l.state.kind, 'failed');
    const attemptsBefore = (sshd.log().match(/Connection from/g) ?? []).length;
    await delay(500);
    assert.equal((sshd.log().match(/Connection from/g) ?? []).length, attemptsBefore, 'no retry was made');
    await assert.rejects(l.connection(), /can't be established/);
    // The admin saves the key; the next attempt is theirs to ask for.
    known.push(...parseKnownHosts(knownHostsLine(sshd.host, sshd.port, sshd.hostKeyType, sshd.hostKey, true), 'colo-console known_hosts').entries);
    l.retry();
    await until(() => l.state.kind === 'connected', 5000, () => JSON.stringify(l.state));
  });

  test('a host that goes away is retried with growing waits, and is back when it is back', async (t) => {
    const { l } = link();
    t.after(() => l.close());
    await l.connection();
    const { port, dir } = sshd;
    await sshd.stop(true);
    await until(() => l.state.kind === 'waiting' && l.state.attempt >= 2, 10_000, () => JSON.stringify(l.state));
    sshd = await startSshd({ port, dir });
    await until(() => l.state.kind === 'connected', 10_000, () => JSON.stringify(l.state));
  });
});

describe('SshHostLink without a host', () => {
  test('a login that fails before dialling (auth() throws) is retried for real by retry()', async (t) => {
    let calls = 0;
    const l = new SshHostLink({
      // Port 1 on loopback: nothing listens, so the second attempt fails as a network error, not a stale one.
      target: { host: '127.0.0.1', port: 1, user: 'nobody' },
      auth: () => {
        calls++;
        if (calls === 1) throw new SshError('auth', 'the key is encrypted');
        return { kind: 'password', password: 'x' };
      },
      connect: { checkHostKey: () => undefined, readyTimeoutMs: 2000 },
      backoff: { initialMs: 60_000, maxMs: 60_000 },
    });
    t.after(() => l.close());
    await assert.rejects(l.connection(), /the key is encrypted/);
    assert.equal(l.state.kind, 'failed');
    l.retry();
    await until(() => l.state.kind === 'waiting', 5000, () => JSON.stringify(l.state));
    assert.equal(calls, 2, 'the retry asked for the login again');
  });
});
