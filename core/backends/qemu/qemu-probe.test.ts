// The QEMU probe against a real QEMU (Debian's 7.2 here: its deadlock warning must show), against the QMP emulator
// of a COLO pair (the COLO modes), and against replies of the wrong shape.

import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import net from 'node:net';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { describe, test } from 'node:test';
import { qemuMissing } from '../../lab/qemu-pair.js';
import { startQmpPair } from '../../lab/qmp/index.js';
import { spawnMonitorQemu } from './test-support/monitor-qemu.js';
import { QmpClient } from './qmp-client.js';
import { type QmpCaller, QemuProbeError, probeQemu, versionWarnings } from './qemu-probe.js';

type T = { after(fn: () => Promise<void> | void): void };

function scratch(t: T): string {
  const dir = mkdtempSync(path.join(tmpdir(), 'colo-qemu-probe-'));
  t.after(() => rmSync(dir, { recursive: true, force: true }));
  return dir;
}

async function client(t: T, socketPath: string, name: string): Promise<QmpClient> {
  const stream = await new Promise<net.Socket>((resolve, reject) => {
    const s = net.connect(socketPath);
    s.once('connect', () => resolve(s));
    s.once('error', reject);
  });
  const c = await QmpClient.open(stream, { name });
  t.after(() => c.close());
  return c;
}

const v = (major: number, minor: number) => ({ major, minor, micro: 0, package: '' });

describe('QEMU probe', () => {
  test('a real QEMU: version, x-colo offered, run state, COLO mode none; 7.2 carries its deadlock warning', { skip: qemuMissing() ?? false }, async (t) => {
    const sock = path.join(scratch(t), 'qmp.sock');
    const qemu = await spawnMonitorQemu(sock);
    t.after(() => {
      if (qemu.exitCode === null) qemu.kill('SIGKILL');
    });
    const c = await client(t, sock, 'VM web01 (primary)');
    const probe = await probeQemu('VM web01 (primary)', c);
    assert.deepEqual(probe.qemu, c.greeting!.version);
    assert.equal(probe.version, `QEMU ${probe.qemu.major}.${probe.qemu.minor}.${probe.qemu.micro} (${probe.qemu.package})`);
    assert.ok(probe.capabilities.includes('x-colo'), probe.capabilities.join(' '));
    assert.equal(probe.runState, 'prelaunch');
    assert.equal(probe.running, false);
    assert.deepEqual(probe.colo, { mode: 'none', lastMode: 'none', reason: 'none' });
    const is72 = probe.qemu.major === 7 && probe.qemu.minor === 2;
    assert.equal(probe.warnings.some((w) => /^QEMU 7\.2: COLO starts and fails over, but its periodic checkpoints deadlock/.test(w)), is72);
  });

  test('the emulated pair: each side\'s mode once COLO runs', async (t) => {
    const pair = await startQmpPair({ dir: scratch(t), checkpointDelayMs: 200 });
    t.after(() => pair.stop());
    const p = await client(t, pair.primarySocket, 'VM web01 (primary)');
    const s = await client(t, pair.secondarySocket, 'VM web01 (secondary)');
    for (const side of [p, s]) await side.execute('migrate-set-capabilities', { capabilities: [{ capability: 'x-colo', state: true }] });
    await p.execute('migrate', { uri: pair.incomingUri });
    for (let i = 0; i < 200; i++) {
      const m = await p.execute<{ status?: string }>('query-migrate');
      if (m.status === 'colo') break;
      await new Promise((r) => setTimeout(r, 25));
    }
    assert.equal((await probeQemu('VM web01 (primary)', p)).colo?.mode, 'primary');
    // The secondary enters COLO once it has loaded the initial copy, a moment after the primary.
    let secondary = await probeQemu('VM web01 (secondary)', s);
    for (let i = 0; i < 200 && secondary.colo?.mode !== 'secondary'; i++) {
      await new Promise((r) => setTimeout(r, 25));
      secondary = await probeQemu('VM web01 (secondary)', s);
    }
    assert.deepEqual(secondary.colo, { mode: 'secondary', lastMode: 'none', reason: 'none' });
  });

  test('warnings by version: 10.0 and 10.1 broken, no x-colo means no COLO, a fixed release is quiet', () => {
    assert.match(versionWarnings(v(10, 0), ['x-colo']).join(), /^QEMU 10\.0: COLO is broken in this release/);
    assert.match(versionWarnings(v(10, 1), ['x-colo']).join(), /^QEMU 10\.1: COLO is broken/);
    assert.match(versionWarnings(v(9, 2), ['events']).join(), /offers no x-colo migration capability/);
    assert.deepEqual(versionWarnings(v(9, 2), ['x-colo', 'events']), []);
    assert.deepEqual(versionWarnings(v(10, 2), ['x-colo']), []);
  });

  test('replies of the wrong shape: one error naming the VM and the command', async () => {
    const lying = (answers: Record<string, unknown>): QmpCaller => ({ execute: <R>(cmd: string) => Promise.resolve(answers[cmd] as R) });
    const good = { 'query-version': { qemu: { major: 9, minor: 2, micro: 0 }, package: '' }, 'query-migrate-capabilities': [{ capability: 'x-colo', state: false }], 'query-status': { status: 'running', running: true }, 'query-colo-status': { mode: 'none', reason: 'none' } };
    assert.equal((await probeQemu('VM a', lying(good))).colo?.mode, 'none');
    for (const [cmd, reply, words] of [
      ['query-version', { qemu: { major: '9' } }, 'without a version number'],
      ['query-migrate-capabilities', { x: 1 }, 'something other than a list'],
      ['query-status', { status: 7 }, 'without a run state'],
      ['query-colo-status', { mode: 'both', reason: 'none' }, 'without a COLO mode'],
    ] as const) {
      await assert.rejects(probeQemu('VM a', lying({ ...good, [cmd]: reply })), (e: Error) => e instanceof QemuProbeError && e.message === `VM a: ${cmd} answered ${words}; is this QEMU's monitor?`);
    }
  });
});
