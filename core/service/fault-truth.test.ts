// What the service says, stores and offers at the end of each fault (issue 7 §1–§3): the alarms that outrank
// states, every started cycle on record with its real pause, the failover report that fits the fault, and where
// the guest runs now. Real simulated pairs over real sockets, real SQLite files.

import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import type { CycleRecord } from '../colo/types.js';
import { rejectsWithCode, startService, tempDir, untilState, waitFor } from './test-support/service-rig.js';

void describe('fault truth', () => {
  void test('a stalled secondary: overdue, then Guest frozen past the threshold, figures include the open pause, stop ends it and the pause is stored', async (t) => {
    const dir = tempDir(t);
    const { service } = await startService(dir);
    service.setSettings({ frozenThresholdMs: 1000 }, 'alice');
    await untilState(service, 'demo', 'protected');
    const cycles: CycleRecord[] = [];
    service.onCycle((_, r) => cycles.push(r));

    await service.injectSim('demo', 'stall-secondary', true, 'alice');
    await waitFor(() => service.pair('demo').alarm?.kind === 'guest-frozen', 10_000, () => `the frozen alarm (state ${JSON.stringify(service.pair('demo').state)})`);
    const frozen = service.pair('demo');
    assert.equal(frozen.state.state, 'degraded');
    assert.equal(frozen.state.reasonCode, 'guest-frozen');
    assert.match(frozen.alarm!.headline, /^Guest frozen: demo-vm has been paused on Simulated host A since checkpoint \d+ began/);
    assert.match(frozen.alarm!.detail, /copy on Simulated host B is destroyed and demo-vm resumes on Simulated host A, unprotected/);
    assert.ok(frozen.openCheckpoint !== null, 'the open checkpoint is shown');
    assert.ok(frozen.openCheckpoint.pausedMs >= 1000, `paused ${frozen.openCheckpoint.pausedMs} ms`);
    // No figure hides the open pause.
    assert.ok(frozen.stats.pausePrimaryMaxMs! >= frozen.openCheckpoint.pausedMs - 5, `max ${frozen.stats.pausePrimaryMaxMs} vs open ${frozen.openCheckpoint.pausedMs}`);
    assert.ok(frozen.stats.pausePrimaryP99Ms! >= 900, `p99 ${frozen.stats.pausePrimaryP99Ms}`);
    assert.equal(frozen.actions.stop.allowed, true);
    assert.equal(frozen.actions.failover.allowed, false);
    assert.match(frozen.actions.failover.reason ?? '', /frozen/);

    const openSeq = frozen.openCheckpoint.seq;
    const stopped = await service.stopPair('demo', 'demo-vm', 'alice');
    assert.equal(stopped.state.state, 'stopped');
    assert.equal(stopped.alarm, null);
    assert.equal(stopped.openCheckpoint, null);
    assert.deepEqual(stopped.runningOn, ['sim-a']);
    const ended = cycles.find((c) => c.seq === openSeq);
    assert.ok(ended, `checkpoint ${openSeq} is on record`);
    assert.equal(ended.outcome, 'aborted');
    assert.ok(ended.primaryPauseMs >= 1000, `its real pause: ${ended.primaryPauseMs} ms`);
    const stored = service.cycles('demo', { since: 0, limit: 100_000 }).find((c) => c.seq === openSeq);
    assert.equal(stored?.outcome, 'aborted');
    const csv = service.exportPair('demo', 'csv', 0).content;
    assert.match(csv, /,aborted,/);
    const events = service.events('demo', 50).map((e) => e.message);
    assert.ok(events.some((m) => /^degraded: The guest has been paused for over 1\.0 s in checkpoint/.test(m)), events.join('\n'));
  });

  void test('kill secondary: the primary survives, the report gives the output held, the reason explains and xl\'s words are detail', async (t) => {
    const { service } = await startService(tempDir(t));
    await untilState(service, 'demo', 'protected');
    await service.injectSim('demo', 'kill-secondary', true, 'alice');
    // The link closing is news at once: the pair leaves Protected before any checkpoint fails.
    await waitFor(() => service.pair('demo').state.state !== 'protected', 2000, 'the pair to leave protected');
    await untilState(service, 'demo', 'unprotected');
    const after = service.pair('demo');
    assert.equal(after.state.reasonCode, 'secondary-lost');
    assert.match(after.state.reason ?? '', /^The secondary was lost \(.+\); the guest runs on at the primary, unprotected\.$/);
    const f = after.lastFailover!;
    assert.equal(f.survivor, 'primary');
    assert.equal(typeof f.outputHeldMs, 'number');
    assert.match(f.detail ?? '', /^Backup failed\? resuming domain at primary/);
    assert.deepEqual(after.runningOn, ['sim-a']);
    const hosts = service.hosts();
    assert.equal(hosts.find((h) => h.id === 'sim-b')?.status, 'down');
    assert.equal(hosts.find((h) => h.id === 'sim-a')?.status, 'connected');
    // Starting again brings the simulated host back.
    await service.startPair('demo', 'alice');
    assert.equal(service.hosts().find((h) => h.id === 'sim-b')?.status, 'connected');
  });

  void test('kill primary: the guest now runs on B, the header data says so, A is down, events name hosts, not ids', async (t) => {
    const { service } = await startService(tempDir(t));
    await untilState(service, 'demo', 'protected');
    await service.injectSim('demo', 'kill-primary', true, 'alice');
    await untilState(service, 'demo', 'failed-over');
    const after = service.pair('demo');
    assert.deepEqual(after.runningOn, ['sim-b']);
    assert.equal(after.primaryHostId, 'sim-b', 'the survivor is the primary of the next start');
    assert.equal(after.lastFailover?.survivor, 'secondary');
    const a = service.hosts().find((h) => h.id === 'sim-a')!;
    assert.equal(a.status, 'down');
    assert.match(a.statusReason ?? '', /killed by the kill-primary fault/);
    const messages = service.events('demo', 50).map((e) => e.message);
    assert.ok(messages.some((m) => m === 'demo-vm now runs on Simulated host B; the next start protects it from there to Simulated host A.'), messages.join('\n'));
  });

  void test('split brain: the alarm names both hosts, start is refused, keeping B destroys A\'s copy, is audited and moves the pair', async (t) => {
    const { service } = await startService(tempDir(t));
    await untilState(service, 'demo', 'protected');
    await service.injectSim('demo', 'cut-link', true, 'alice');
    await waitFor(() => service.pair('demo').alarm?.kind === 'split-brain', 10_000, 'the split-brain alarm');
    const split = service.pair('demo');
    assert.equal(split.state.reasonCode, 'split-brain');
    assert.deepEqual(split.runningOn, ['sim-a', 'sim-b']);
    assert.match(split.alarm!.headline, /^Split brain: demo-vm is running on both Simulated host A and Simulated host B\.$/);
    assert.match(split.alarm!.detail, /writes since checkpoint \d+ are lost/);
    assert.equal(split.actions['keep-primary'].allowed, true);
    assert.equal(split.actions['keep-secondary'].allowed, true);
    assert.equal(split.actions.start.allowed, false);
    assert.match(split.actions.start.reason ?? '', /keep one of them first/);

    await rejectsWithCode(service.keepCopy('demo', 'secondary', 'demo', 'alice'), 'bad-request');
    const kept = await service.keepCopy('demo', 'secondary', 'demo-vm', 'alice');
    assert.equal(kept.alarm, null);
    assert.equal(kept.state.state, 'unprotected');
    assert.match(kept.state.reason ?? '', /copy on Simulated host B was kept and the copy on Simulated host A destroyed/);
    assert.deepEqual(kept.runningOn, ['sim-b']);
    assert.equal(kept.primaryHostId, 'sim-b');
    assert.equal(kept.actions.start.allowed, true);
    const audit = service.auditList(20);
    const keepEntries = audit.filter((e) => e.action === 'pairs.keep');
    assert.deepEqual(keepEntries.map((e) => e.result).sort(), ['error', 'ok']);
    assert.ok(audit.some((e) => e.action === 'host.command' && /^simulator: destroy demo-vm on sim-a \(split brain/.test(e.command ?? '')));
  });

  void test('a typed name matches after Unicode NFC normalisation', async (t) => {
    const { service } = await startService(tempDir(t), { autoStartDemo: false });
    // "é" composed in the stored name, decomposed in what is typed: the same name to a person.
    const composed = 'caf\u00e9-vm';
    const decomposed = 'cafe\u0301-vm';
    assert.notEqual(composed, decomposed);
    const reg = (service as unknown as { registryStore: { updatePair(id: string, f: (p: { name: string }) => unknown): void } }).registryStore;
    reg.updatePair('demo', (p) => ({ ...p, name: composed }));
    await service.startPair('demo', 'alice');
    await untilState(service, 'demo', 'protected');
    const stopped = await service.stopPair('demo', decomposed, 'alice');
    assert.equal(stopped.state.state, 'stopped');
  });
});
