// A QEMU pair through the service, against the emulated 7.2 pair (checkpoints that go on) behind two real sshds:
// the checkpoint delay changed live (stored, applied, audited), the heartbeat settings changed, the console closed
// and started again while the pair runs (it follows the same run on, no gap, no duplicate), and the secondary's
// QEMU killed (the guest runs on the primary, unprotected, and every screen says so).

import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { qemuLabUnavailable } from '../lab/qemu-lab.js';
import { startService, tempDir, untilState, waitFor } from './test-support/service-rig.js';
import { ACTOR, addLabPair, addQemuLabHosts, qemuLab, qemuLabServiceOptions } from './test-support/qemu-lab-service.js';

const why = qemuLabUnavailable('emulated');
const FAST = { checkpointDelayMs: 100, timings: { checkpointPauseMs: 10, initialCopyMs: 30, coloStartMs: 40 } };

describe('QEMU, emulated pair, through the service', { skip: why ?? false }, () => {
  void test('the checkpoint delay and the heartbeat change live: stored, applied to QEMU, audited', async (t) => {
    const l = await qemuLab(t, { kind: 'emulated', ...FAST });
    const { service: s } = await startService(tempDir(t), qemuLabServiceOptions(l));
    const hosts = await addQemuLabHosts(s, l);
    const pair = await addLabPair(s, l, hosts, { checkpointDelayMs: 100 });
    assert.equal(s.pair(pair.id).qemu?.checkpointDelayMs, 100, 'a pair not running shows its settings');
    assert.equal(s.pair(pair.id).qemu?.primary, null);
    await s.startPair(pair.id, ACTOR);
    await untilState(s, pair.id, 'protected', 20_000);
    await waitFor(() => (s.pair(pair.id).stats.lastSeq ?? 0) >= 3, 10_000, 'three checkpoints');
    const cycles = s.cycles(pair.id, { since: 0, limit: 1000 });
    assert.ok(cycles.slice(1).every((c) => c.provenance === 'measured' && c.secondaryPauseMs !== undefined), JSON.stringify(cycles.slice(0, 4)));

    const after = await s.configureQemu(pair.id, { checkpointDelayMs: 250 }, ACTOR);
    assert.equal(after.qemu?.checkpointDelayMs, 250);
    assert.equal(l.emulated!.state.sides.primary.parameters['x-checkpoint-delay'], 250);
    const hb = await s.configureQemu(pair.id, { heartbeatIntervalMs: 300, heartbeatMisses: 5, autoFailover: false }, ACTOR);
    assert.deepEqual(hb.qemu?.heartbeat, { intervalMs: 300, misses: 5, autoFailover: false });
    const audit = s.auditList(500);
    assert.ok(audit.some((e) => e.action === 'qemu.configure' && e.result === 'ok' && e.detail === '{"checkpointDelayMs":250}'), 'the change is audited');
    assert.ok(audit.some((e) => e.action === 'host.command' && e.command?.includes('"x-checkpoint-delay":250')), 'and the command it sent');
    assert.ok(s.events(pair.id, 100).some((e) => /checkpointDelayMs 250 \(applied to the running pair\)/.test(e.message)));
    // Refused changes change nothing.
    await assert.rejects(s.configureQemu(pair.id, {}, ACTOR), /Nothing to change/);
    assert.equal(s.pair(pair.id).qemu?.checkpointDelayMs, 250);
    assert.deepEqual(s.pair(pair.id).qemu?.heartbeat, { intervalMs: 300, misses: 5, autoFailover: false });
  });

  void test('the console closed and started again while the pair runs: the same run goes on from the next seq', async (t) => {
    const l = await qemuLab(t, { kind: 'emulated', ...FAST });
    const dir = tempDir(t);
    const first = await startService(dir, qemuLabServiceOptions(l));
    const hosts = await addQemuLabHosts(first.service, l);
    const pair = await addLabPair(first.service, l, hosts, { checkpointDelayMs: 100 });
    await first.service.startPair(pair.id, ACTOR);
    await untilState(first.service, pair.id, 'protected', 20_000);
    await waitFor(() => (first.service.pair(pair.id).stats.lastSeq ?? 0) >= 3, 10_000, 'three checkpoints');
    await first.service.close();
    assert.equal(l.emulated!.state.sides.primary.mode, 'primary', 'COLO goes on without the console');

    const { service: s, errors } = await startService(dir, qemuLabServiceOptions(l));
    await untilState(s, pair.id, 'protected', 20_000);
    assert.deepEqual(errors.map((e) => `${e.where}: ${String(e.err)}`), []);
    const before = s.cycles(pair.id, { since: 0, limit: 100_000 }).length;
    await waitFor(() => s.cycles(pair.id, { since: 0, limit: 100_000 }).length >= before + 3, 10_000, 'cycles after the restart');
    const seqs = s.cycles(pair.id, { since: 0, limit: 100_000 }).map((c) => c.seq);
    assert.deepEqual(seqs, seqs.map((_, i) => i), 'one run, 0..n, no gap, no duplicate');
    assert.equal(s.runs(pair.id, 10).length, 1);
  });

  void test('the secondary\'s QEMU killed: the primary leaves COLO and runs on alone; the pair says so', async (t) => {
    const l = await qemuLab(t, { kind: 'emulated', ...FAST });
    const { service: s } = await startService(tempDir(t), qemuLabServiceOptions(l));
    const hosts = await addQemuLabHosts(s, l);
    const pair = await addLabPair(s, l, hosts, { checkpointDelayMs: 100 });
    await s.startPair(pair.id, ACTOR);
    await untilState(s, pair.id, 'protected', 20_000);
    await l.killSecondary();
    await untilState(s, pair.id, 'unprotected', 10_000);
    const p = s.pair(pair.id);
    assert.equal(p.state.reasonCode, 'secondary-lost');
    assert.match(p.state.reason ?? '', /qemu-b is gone .*colo01 left COLO and runs on qemu-a, unprotected/);
    assert.equal(p.lastFailover?.survivor, 'primary');
    assert.deepEqual(p.runningOn, [hosts.a]);
    assert.equal(l.emulated!.state.sides.primary.runState, 'running');
    assert.equal(l.emulated!.state.sides.primary.mode, 'none');
    assert.equal(p.actions.start.allowed, true, 'protection can be started again (a new full copy)');
  });
});
