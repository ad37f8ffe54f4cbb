// A monitor session against real QEMU processes (machine "none": a monitor and no guest): locally, and through a
// real sshd with OpenSSH's streamlocal forwarding. It reconnects when QEMU comes back or the SSH link does, and
// while the monitor is unreachable a command fails at once, saying why.

import assert from 'node:assert/strict';
import type { ChildProcess } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { describe, test } from 'node:test';
import { startSshd, sshdUnavailable } from '../../ssh/test-support/sshd.js';
import type { QmpError, QmpEvent } from './qmp-client.js';
import { linkToSshd } from './test-support/loopback-ssh.js';
import { qemuMissing } from '../../lab/qemu-pair.js';
import { spawnMonitorQemu } from './test-support/monitor-qemu.js';
import { QmpSession, localSocket, sshSocket } from './qmp-session.js';

type T = { after(fn: () => Promise<void> | void): void };

async function startQemu(t: T, socketPath: string): Promise<ChildProcess> {
  const qemu = await spawnMonitorQemu(socketPath);
  t.after(() => {
    if (qemu.exitCode === null) qemu.kill('SIGKILL');
  });
  return qemu;
}

function killed(p: ChildProcess): Promise<void> {
  return new Promise((resolve) => {
    if (p.exitCode !== null || p.signalCode !== null) return resolve();
    p.once('exit', () => resolve());
    p.kill('SIGKILL');
  });
}

function scratch(t: T): string {
  const dir = mkdtempSync(path.join(tmpdir(), 'colo-qmp-session-'));
  t.after(() => rmSync(dir, { recursive: true, force: true }));
  return dir;
}

describe('QMP session', { skip: qemuMissing() ?? false }, () => {
  test('QEMU gone: commands fail at once saying so; QEMU back on the same socket: connected again, events again', async (t) => {
    const sock = path.join(scratch(t), 'qmp.sock');
    const first = await startQemu(t, sock);
    const events: QmpEvent[] = [];
    const session = new QmpSession({ name: 'VM web01 (secondary)', transport: localSocket(sock), backoff: { initialMs: 50, maxMs: 200 }, onEvent: (e) => events.push(e) });
    t.after(() => session.close());
    await session.connected(10_000);
    assert.ok(session.greeting!.version.major >= 7);
    assert.deepEqual(await session.execute('query-status'), { status: 'prelaunch', singlestep: false, running: false });

    await killed(first);
    rmSync(sock, { force: true });
    for (let i = 0; i < 100 && session.state.kind === 'connected'; i++) await new Promise((r) => setTimeout(r, 20));
    assert.equal(session.state.kind === 'waiting' || session.state.kind === 'connecting', true, JSON.stringify(session.state));
    await assert.rejects(session.execute('query-status'), (e: QmpError) => e.kind === 'closed' && /^VM web01 \(secondary\): the monitor is not connected/.test(e.message));

    await startQemu(t, sock);
    await session.connected(10_000);
    await session.execute('cont');
    for (let i = 0; i < 100 && events.length === 0; i++) await new Promise((r) => setTimeout(r, 20));
    assert.deepEqual(events.map((e) => e.event), ['RESUME']);
    session.close();
    await assert.rejects(session.execute('query-status'), (e: QmpError) => e.kind === 'closed');
  });

  test('through a real sshd (streamlocal forwarding): the dropped SSH connection is dialled again and the monitor answers', { skip: sshdUnavailable() ?? false }, async (t) => {
    const sock = path.join(scratch(t), 'qmp.sock');
    await startQemu(t, sock);
    const sshd = await startSshd();
    t.after(() => sshd.stop());
    const link = linkToSshd(sshd, { readyTimeoutMs: 10_000, backoff: { initialMs: 100, maxMs: 500 } });
    t.after(() => link.close());
    const states: string[] = [];
    const session = new QmpSession({ name: 'VM web01 (primary)', transport: sshSocket(link, sock), backoff: { initialMs: 100, maxMs: 500 }, onState: (s) => states.push(s.kind) });
    t.after(() => session.close());
    await session.connected(15_000);
    const v = await session.execute<{ qemu: { major: number } }>('query-version');
    assert.equal(v.qemu.major, session.greeting!.version.major);

    sshd.dropConnections();
    for (let i = 0; i < 200 && session.state.kind === 'connected'; i++) await new Promise((r) => setTimeout(r, 20));
    await session.connected(15_000);
    assert.deepEqual(await session.execute('query-status'), { status: 'prelaunch', singlestep: false, running: false });
    assert.ok(states.filter((s) => s === 'connected').length >= 2, states.join(' '));
    assert.match(sshd.log(), /Accepted publickey/);
  });
});
