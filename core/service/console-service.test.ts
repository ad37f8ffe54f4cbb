// ConsoleService end to end: real SimPairs (small guests), real SQLite files in temp directories, and the
// ConsoleContract over a real RPC channel.

import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { setTimeout as delay } from 'node:timers/promises';
import { consoleContract, type PairInfo } from '../api/console-contract.js';
import { createMemoryChannelPair } from '../api/memory-channel.js';
import { RpcError, createClient, serve } from '../api/rpc.js';
import type { CycleRecord } from '../colo/types.js';
import { SYSTEM_ACTOR, consoleHandlers } from './console-service.js';
import { HISTORY_FILE, History } from './history.js';
import { DEMO_PAIR, REGISTRY_FILE, SIM_HOSTS } from './registry.js';
import { SETTINGS_FILE } from './settings.js';
import { rejectsWithCode, startService, tempDir, untilState, waitFor } from './test-support/service-rig.js';

const DAY = 86_400_000;

void describe('ConsoleService', () => {
  void test('first start: the simulator host and the demo pair, protecting at once, with cycles and stats', async (t) => {
    const dir = tempDir(t);
    const cycles: [string, CycleRecord][] = [];
    const { service, errors } = await startService(dir);
    service.onCycle((id, r) => cycles.push([id, r]));
    assert.deepEqual(service.problems, []);
    assert.deepEqual(service.hosts().map((h) => [h.id, h.kind, h.hypervisor, h.status]), [['sim-a', 'sim', 'sim', 'connected'], ['sim-b', 'sim', 'sim', 'connected']]);
    const [demo] = service.pairs();
    assert.equal(demo?.id, 'demo');
    assert.equal(demo.name, 'demo-vm');
    assert.equal(demo.backend, 'sim');
    assert.equal(demo.mode, 'colo');
    assert.deepEqual(demo.sim, { preset: 'web-server', link: '10gbe', remusIntervalMs: 200, divergenceProbability: 0.0005, faults: { slowLink: false, stallSecondary: false } });
    await untilState(service, 'demo', 'protected');
    await waitFor(() => cycles.filter(([, r]) => r.seq > 0).length >= 3, 10_000, 'three checkpoints');
    assert.ok(cycles.every(([id]) => id === 'demo'));
    const info = service.pair('demo');
    assert.ok(info.stats.pausePrimaryP50Ms !== null && info.stats.pausePrimaryP50Ms > 0);
    assert.ok(info.stats.pausePrimaryP99Ms! >= info.stats.pausePrimaryP50Ms);
    assert.ok(info.stats.checkpointsPerMinute >= 3);
    assert.ok(info.stats.lastSeq! >= 3);
    assert.ok(Math.abs(info.stats.lastCheckpointAt! - Date.now()) < 10_000);
    assert.deepEqual(info.actions.start, { allowed: false, reason: 'Protection is already running (protected).' });
    assert.equal(info.actions.stop.allowed, true);
    assert.equal(info.actions.drill.allowed, true);
    // The auto-start is on record, with the command sent to the simulator.
    const audit = service.auditList(10).reverse();
    assert.deepEqual(audit.map((e) => [e.actor, e.action, e.result]), [[SYSTEM_ACTOR, 'host.command', 'ok'], [SYSTEM_ACTOR, 'pairs.start', 'ok']]);
    assert.match(audit[0]!.command ?? '', /^simulator: protect demo-vm/);
    assert.deepEqual(service.events('demo', 10).map((e) => e.kind).slice(0, 2), ['action', 'state']);
    assert.deepEqual(errors, []);
  });

  void test('with autoStartDemo off the demo pair waits, unprotected, with start allowed', async (t) => {
    const { service } = await startService(tempDir(t), { autoStartDemo: false });
    const demo = service.pair('demo');
    assert.equal(demo.state.state, 'unprotected');
    assert.equal(demo.state.reasonCode, 'not-started');
    assert.deepEqual(demo.actions.start, { allowed: true });
    assert.equal(demo.actions.stop.allowed, false);
    assert.equal(demo.actions.failover.reason, 'Protection is not running. There is no secondary to fail over to.');
    assert.equal(demo.stats.lastSeq, null);
  });

  void test('start, drill, failover, start, stop: each ends in the right state; the drill reports downtime and re-protect time', async (t) => {
    const { service, errors } = await startService(tempDir(t));
    await untilState(service, 'demo', 'protected');

    const report = await service.drill('demo', 'demo-vm', 'alice');
    assert.equal(report.pairId, 'demo');
    assert.ok(report.guestDowntimeMs > 0, `downtime ${report.guestDowntimeMs}`);
    assert.ok(report.timeToReprotectMs > 0, `re-protect ${report.timeToReprotectMs}`);
    assert.ok(report.timeToReprotectMs >= report.guestDowntimeMs);
    assert.equal(report.failover.survivor, 'secondary');
    assert.equal(report.guestDowntimeMs, report.failover.guestDowntimeMs);
    assert.equal(report.finalState.state, 'protected');
    assert.equal(service.pair('demo').state.state, 'protected');
    assert.deepEqual(service.pair('demo').lastFailover, report.failover);
    const drillEvents = service.events('demo', 50).filter((e) => e.kind === 'drill');
    assert.equal(drillEvents.length, 2);
    assert.match(drillEvents[1]!.message, /^Drill complete/);

    await waitFor(() => (service.pair('demo').stats.lastSeq ?? 0) >= 1, 10_000, 'a checkpoint after the drill');
    const failed = await service.failover('demo', 'demo-vm', 'alice');
    assert.equal(failed.state.state, 'failed-over');
    assert.equal(failed.state.reasonCode, 'failover-by-admin');
    assert.equal(failed.lastFailover?.detectedBy, 'secondary');
    assert.ok(failed.lastFailover && failed.lastFailover.at >= report.failover.at);
    assert.deepEqual(failed.actions.start, { allowed: true });
    assert.equal(failed.actions.failover.allowed, false);

    // Start after a failover is a fresh pair: a new initial copy (seq 0) before it is protected again.
    const seqs: number[] = [];
    service.onCycle((_id, r) => seqs.push(r.seq));
    const starting = await service.startPair('demo', 'alice');
    assert.ok(['starting', 'syncing', 'protected'].includes(starting.state.state), starting.state.state);
    await untilState(service, 'demo', 'protected');
    assert.equal(seqs[0], 0);

    const stopped = await service.stopPair('demo', 'demo-vm', 'alice');
    assert.equal(stopped.state.state, 'stopped');
    assert.equal(stopped.state.reasonCode, 'stopped-by-admin');
    assert.deepEqual(stopped.actions.start, { allowed: true });
    assert.deepEqual(stopped.actions.stop, { allowed: false, reason: 'Protection is not running.' });

    const actions = service.auditList(100).reverse().filter((e) => e.action !== 'host.command').map((e) => `${e.actor} ${e.action} ${e.result}`);
    assert.deepEqual(actions, [
      `${SYSTEM_ACTOR} pairs.start ok`, 'alice pairs.drill ok', 'alice pairs.failover ok', 'alice pairs.start ok', 'alice pairs.stop ok',
    ]);
    assert.deepEqual(service.auditVerify(), { ok: true, entries: service.auditList(1000).length });
    assert.deepEqual(errors, []);
  });

  void test('destructive actions need the typed VM name, are refused in the wrong state with the reason, and every attempt is audited', async (t) => {
    const { service } = await startService(tempDir(t));
    await untilState(service, 'demo', 'protected');

    for (const [method, action] of [['stopPair', 'pairs.stop'], ['failover', 'pairs.failover'], ['drill', 'pairs.drill']] as const) {
      const message = await rejectsWithCode(service[method]('demo', 'demo', 'mallory'), 'bad-request');
      assert.match(message, /type the VM's name exactly as shown \("demo-vm"\)/);
      const last = service.auditList(1)[0]!;
      assert.deepEqual([last.actor, last.action, last.result], ['mallory', action, 'error']);
      assert.match(last.detail ?? '', /does not match/);
      assert.equal(service.pair('demo').state.state, 'protected', 'nothing happened');
    }
    // Case matters: the name must be typed exactly.
    await rejectsWithCode(service.stopPair('demo', 'DEMO-VM', 'mallory'), 'bad-request');

    await rejectsWithCode(service.startPair('demo', 'alice'), 'invalid-state');
    await service.stopPair('demo', 'demo-vm', 'alice');
    for (const [call, reason] of [
      [() => service.stopPair('demo', 'demo-vm', 'alice'), /Cannot stop protecting demo-vm: Protection is not running\./],
      [() => service.failover('demo', 'demo-vm', 'alice'), /Cannot fail over demo-vm: Protection is not running\. There is no secondary/],
      [() => service.drill('demo', 'demo-vm', 'alice'), /Cannot run a drill on demo-vm: Protection is not running/],
      [() => service.checkpoint('demo', 'alice'), /only while the pair is protected/],
    ] as const) {
      const message = await rejectsWithCode(call(), 'invalid-state');
      assert.match(message, reason);
      assert.equal(service.auditList(1)[0]!.result, 'error');
      assert.match(service.auditList(1)[0]!.detail ?? '', reason);
    }
    assert.equal(service.pair('demo').state.state, 'stopped');

    // During the initial copy there is nothing consistent to fail over to.
    await service.startPair('demo', 'alice');
    const early = service.pair('demo');
    if (early.state.state === 'starting' || early.state.state === 'syncing') {
      assert.equal(early.actions.failover.allowed, false);
      assert.match(early.actions.failover.reason ?? '', /initial copy has not finished/);
    }
    await untilState(service, 'demo', 'protected');

    await rejectsWithCode(service.stopPair('nope', 'demo-vm', 'alice'), 'not-found');
    assert.deepEqual([service.auditList(1)[0]!.target, service.auditList(1)[0]!.result], ['pair nope', 'error']);
    assert.throws(() => service.pair('nope'), (e: unknown) => e instanceof RpcError && e.code === 'not-found');
    assert.equal(service.auditVerify().ok, true);
  });

  void test('simulated faults: a stalled secondary blocks failover and drill but not stop; kill-primary fails over by itself', async (t) => {
    const { service } = await startService(tempDir(t));
    await untilState(service, 'demo', 'protected');
    await rejectsWithCode(service.configureSim('demo', { mode: 'remus' }, 'alice'), 'invalid-state');
    await rejectsWithCode(service.injectSim('demo', 'kill-primary', false, 'alice'), 'bad-request');

    const stalled = await service.injectSim('demo', 'stall-secondary', true, 'alice');
    assert.deepEqual(stalled.sim?.faults, { slowLink: false, stallSecondary: true });
    await untilState(service, 'demo', 'degraded');
    // The service may see the checkpoint overdue a moment before the engine names what it waits for.
    await waitFor(() => service.pair('demo').state.reasonCode === 'checkpoint-stalled', 10_000, () => 'the engine to report the stall');
    const degraded = service.pair('demo');
    assert.equal(degraded.state.reasonCode, 'checkpoint-stalled');
    for (const a of ['failover', 'drill'] as const) {
      assert.equal(degraded.actions[a].allowed, false);
      assert.match(degraded.actions[a].reason ?? '', /secondary is not responding/);
    }
    assert.equal(degraded.actions.stop.allowed, true);
    const refused = await rejectsWithCode(service.failover('demo', 'demo-vm', 'alice'), 'invalid-state');
    assert.match(refused, /Cannot fail over demo-vm: The secondary is not responding/);
    await service.injectSim('demo', 'stall-secondary', false, 'alice');
    await untilState(service, 'demo', 'protected');

    // Stopping destroys the secondary copy, stalled or not.
    await service.injectSim('demo', 'stall-secondary', true, 'alice');
    await untilState(service, 'demo', 'degraded');
    const stopped = await service.stopPair('demo', 'demo-vm', 'alice');
    assert.equal(stopped.state.state, 'stopped');
    await service.startPair('demo', 'alice');
    await untilState(service, 'demo', 'protected');

    const configured = await service.configureSim('demo', { sim: { divergenceProbability: 0.01 } }, 'alice');
    assert.equal(configured.sim?.divergenceProbability, 0.01);
    assert.equal(configured.sim?.stopCost, undefined, 'absent until changed: the stop cost is modelled');
    // The stop cost changes live, and the command that changed it is on record.
    const ideal = await service.configureSim('demo', { sim: { stopCost: false } }, 'alice');
    assert.equal(ideal.sim?.stopCost, false);
    assert.match(service.auditList(5).find((e) => e.action === 'host.command')?.command ?? '', /^simulator: leave out the vCPU stop time of demo-vm/);
    assert.equal(service.pair('demo').state.state, 'protected');

    await service.injectSim('demo', 'kill-primary', true, 'alice');
    await untilState(service, 'demo', 'failed-over');
    const after = service.pair('demo');
    assert.equal(after.state.reasonCode, 'primary-lost');
    assert.equal(after.lastFailover?.survivor, 'secondary');
    assert.deepEqual(after.sim?.faults, { slowLink: false, stallSecondary: false }, 'fault switches belong to the run that ended');
    await waitFor(() => service.pair('demo').actions.start.allowed, 5000, 'start to be allowed');
    await rejectsWithCode(service.injectSim('demo', 'slow-link', true, 'alice'), 'invalid-state');

    // Stopped, the mode may change; the next start uses it.
    const remus = await service.configureSim('demo', { mode: 'remus', sim: { remusIntervalMs: 50 } }, 'alice');
    assert.equal(remus.mode, 'remus');
    const modes: string[] = [];
    service.onCycle((_id, r) => modes.push(r.mode));
    await service.startPair('demo', 'alice');
    await waitFor(() => modes.length >= 3, 10_000, 'Remus checkpoints');
    assert.ok(modes.every((m) => m === 'remus'));
    const simActions = service.auditList(100).filter((e) => e.action.startsWith('sim.')).map((e) => e.result);
    assert.deepEqual([simActions.filter((r) => r === 'ok').length, simActions.filter((r) => r === 'error').length], [7, 3]);
  });

  void test('hosts, pairs, settings, history, events and the audit log survive a restart', async (t) => {
    const dir = tempDir(t);
    const first = (await startService(dir)).service;
    await untilState(first, 'demo', 'protected');
    await waitFor(() => (first.pair('demo').stats.lastSeq ?? 0) >= 3, 10_000, 'checkpoints');
    first.setSettings({ historyRetentionDays: 30, theme: 'dark' }, 'alice');
    await first.configureSim('demo', { sim: { divergenceProbability: 0.002 } }, 'alice');
    const failed = await first.failover('demo', 'demo-vm', 'alice');
    const before = {
      cycles: first.cycles('demo', { since: 0, limit: 100_000 }),
      events: first.events('demo', 1000),
      audit: first.auditList(1000),
    };
    await first.close();
    assert.ok(before.cycles.length >= 4);

    const { service: second } = await startService(dir, { autoStartDemo: false });
    assert.deepEqual(second.problems, []);
    assert.deepEqual(second.settings(), { historyRetentionDays: 30, theme: 'dark', frozenThresholdMs: 5000 });
    assert.equal(second.pair('demo').sim?.divergenceProbability, 0.002);
    assert.deepEqual(second.pair('demo').lastFailover, failed.lastFailover);
    assert.deepEqual(second.cycles('demo', { since: 0, limit: 100_000 }), before.cycles);
    assert.deepEqual(second.events('demo', 1000), before.events);
    assert.deepEqual(second.auditList(1000), before.audit);
    assert.deepEqual(second.auditVerify(), { ok: true, entries: before.audit.length });

    // Numbering continues: new events and audit entries follow the old ones.
    await second.startPair('demo', 'bob');
    const lastEvent = before.events[before.events.length - 1]!;
    assert.ok(second.events('demo', 1)[0]!.seq > lastEvent.seq);
    assert.equal(second.auditList(1)[0]!.seq, before.audit[0]!.seq + 2, 'the command and the action');
    assert.deepEqual(second.auditVerify(), { ok: true, entries: before.audit.length + 2 });
  });

  void test('corrupt registry, settings and history files are moved aside, reported and audited; the console still starts', async (t) => {
    const dir = tempDir(t);
    writeFileSync(path.join(dir, REGISTRY_FILE), '{"version": 1, "hosts": [');
    writeFileSync(path.join(dir, SETTINGS_FILE), JSON.stringify({ historyRetentionDays: -5 }));
    writeFileSync(path.join(dir, HISTORY_FILE), 'not a database'.repeat(100));
    const { service } = await startService(dir);
    const problems = service.problems;
    assert.deepEqual(problems.map((p) => path.basename(p.file)).sort(), [HISTORY_FILE, REGISTRY_FILE, SETTINGS_FILE].sort());
    for (const p of problems) {
      assert.ok(p.movedTo?.startsWith(`${p.file}.corrupt-`), p.movedTo);
      assert.match(p.message, /moved aside/);
    }
    assert.equal(readFileSync(problems.find((p) => p.file.endsWith(REGISTRY_FILE))!.movedTo!, 'utf8'), '{"version": 1, "hosts": [');
    const recovered = service.auditList(100).filter((e) => e.action === 'file.recover');
    assert.equal(recovered.length, 3);
    assert.ok(recovered.every((e) => e.actor === SYSTEM_ACTOR && e.result === 'error'));
    await untilState(service, 'demo', 'protected');

    // The UI learns of them through the contract (and shows each until dismissed).
    const [clientEnd, serverEnd] = createMemoryChannelPair();
    const server = serve(consoleContract, consoleHandlers(service, { transport: 'browser', actor: 'rpc-user' }), serverEnd);
    const client = createClient(consoleContract, clientEnd, { timeoutMs: 10_000 });
    t.after(() => {
      client.close();
      server.close();
    });
    assert.deepEqual(await client.call('app.problems', {}), problems);
  });

  void test('retention deletes old history on start and when the period is shortened', async (t) => {
    const dir = tempDir(t);
    const now = Date.now();
    const seed = new History(dir, { report: () => {}, now });
    const run = seed.beginRun('demo', now - 20 * DAY, 'colo');
    const old = (ageDays: number, seq: number): CycleRecord => ({
      seq, mode: 'colo', trigger: 'timer', startedAt: now - ageDays * DAY, phases: [], primaryPauseMs: 1,
      dirtyPages: 0, pagesSent: 0, bytesSent: 0, outcome: 'committed', provenance: 'measured',
    });
    seed.addCycle('demo', run, old(20, 1));
    seed.addCycle('demo', run, old(5, 2));
    seed.close();
    const { service } = await startService(dir, { autoStartDemo: false });
    await waitFor(() => service.cycles('demo', { since: 0, limit: 10 }).length === 1, 5000, 'the 20-day-old row to go (7-day default)');
    assert.equal(service.cycles('demo', { since: 0, limit: 10 })[0]?.seq, 2);
    service.setSettings({ historyRetentionDays: 2 }, 'alice');
    await waitFor(() => service.cycles('demo', { since: 0, limit: 10 }).length === 0, 5000, 'the 5-day-old row to go');
    await rejectsWithCode(Promise.resolve().then(() => service.setSettings({ historyRetentionDays: 0 }, 'alice')), 'bad-request');
    assert.equal(service.settings().historyRetentionDays, 2);
    assert.deepEqual(service.auditList(2).map((e) => [e.action, e.result]), [['settings.set', 'error'], ['settings.set', 'ok']]);
  });

  void test('through a real RPC channel a client lists pairs, subscribes to cycles, events, pairs and output, and gets clear errors', async (t) => {
    const { service } = await startService(tempDir(t));
    const [clientEnd, serverEnd] = createMemoryChannelPair();
    const serverErrors: unknown[] = [];
    const server = serve(consoleContract, consoleHandlers(service, { transport: 'browser', actor: 'rpc-user' }), serverEnd, {
      onError: (err, where) => serverErrors.push({ err, where }),
    });
    const client = createClient(consoleContract, clientEnd, { timeoutMs: 10_000 });
    t.after(() => {
      client.close();
      server.close();
    });

    assert.equal((await client.call('app.info', {})).transport, 'browser');
    assert.match((await client.call('app.info', {})).version, /^\d+\.\d+\.\d+/);
    assert.deepEqual((await client.call('hosts.list', {})).map((h) => h.id), ['sim-a', 'sim-b']);
    const pairs = await client.call('pairs.list', {});
    assert.deepEqual(pairs.map((p) => p.id), ['demo']);

    const cycles: (CycleRecord & { pairId: string })[] = [];
    const pairInfos: PairInfo[] = [];
    const outputs: { pairId: string; packetsPerSecond: number }[] = [];
    const subs = [
      client.subscribe('cycles', { pairId: 'demo' }, (events) => cycles.push(...events)),
      client.subscribe('pairs', undefined, (events) => pairInfos.push(...events)),
      client.subscribe('output', undefined, (events) => outputs.push(...events)),
    ];
    await Promise.all(subs.map((s) => s.ready));
    await waitFor(() => cycles.filter((c) => c.seq > 0).length >= 3, 10_000, 'three checkpoints over RPC');
    assert.ok(cycles.every((c) => c.pairId === 'demo'));
    assert.equal(pairInfos[0]?.id, 'demo', 'the current picture first');
    await waitFor(() => pairInfos.some((p) => p.state.state === 'protected'), 5000, 'a protected PairInfo');
    await waitFor(() => outputs.length > 0, 5000, 'an output gauge');
    assert.equal(outputs[0]!.pairId, 'demo');

    const events: { kind: string }[] = [];
    const audit: { action: string }[] = [];
    const more = [
      client.subscribe('events', { pairId: 'demo' }, (e) => events.push(...e)),
      client.subscribe('audit', undefined, (e) => audit.push(...e)),
    ];
    await Promise.all(more.map((s) => s.ready));
    const checked = await client.call('pairs.checkpoint', { pairId: 'demo' });
    assert.equal(checked.id, 'demo');
    await waitFor(() => events.some((e) => e.kind === 'action') && audit.some((e) => e.action === 'pairs.checkpoint'), 5000, 'the action event and its audit entry');

    const wrongName = await client.call('pairs.stop', { pairId: 'demo', confirmName: 'demo' }).then(() => null, (e: unknown) => e);
    assert.ok(wrongName instanceof RpcError && wrongName.code === 'bad-request', String(wrongName));
    assert.match(wrongName.message, /demo-vm/);
    const unknown = client.subscribe('cycles', { pairId: 'nope' }, () => {});
    await assert.rejects(unknown.ready, (e: unknown) => e instanceof RpcError && e.code === 'not-found');

    const history = await client.call('pairs.cycles', { pairId: 'demo', since: 0, limit: 2 });
    assert.equal(history.length, 2);
    const csv = await client.call('pairs.export', { pairId: 'demo', format: 'csv' });
    assert.match(csv.content, /^run,seq,startedAt,/);
    assert.ok(csv.content.trimEnd().split('\r\n').length >= 4);
    const verdict = await client.call('audit.verify', {});
    assert.equal(verdict.ok, true);
    assert.ok((await client.call('audit.list', { limit: 5 })).some((e) => e.actor === 'rpc-user'));
    assert.deepEqual(await client.call('settings.set', { theme: 'light' }), { historyRetentionDays: 7, theme: 'light', frozenThresholdMs: 5000 });

    const stopped = await client.call('pairs.stop', { pairId: 'demo', confirmName: 'demo-vm' });
    assert.equal(stopped.state.state, 'stopped');
    await delay(100);
    assert.deepEqual(serverErrors, [], 'every response and event matched the contract');
    for (const s of [...subs, ...more]) s();
  });

  void test('with two pairs, topic subscriptions filter by pairId and each pair gets its own output gauge', async (t) => {
    const dir = tempDir(t);
    const lab = { ...DEMO_PAIR, id: 'lab', name: 'lab-vm', mode: 'remus' as const, sim: { ...DEMO_PAIR.sim!, remusIntervalMs: 40 } };
    writeFileSync(path.join(dir, REGISTRY_FILE), JSON.stringify({ version: 1, hosts: SIM_HOSTS, pairs: [DEMO_PAIR, lab] }));
    const { service } = await startService(dir);
    assert.deepEqual(service.problems, []);
    const [clientEnd, serverEnd] = createMemoryChannelPair();
    const server = serve(consoleContract, consoleHandlers(service, { transport: 'electron', actor: 'alice' }), serverEnd);
    const client = createClient(consoleContract, clientEnd);
    t.after(() => {
      client.close();
      server.close();
    });
    const labCycles: string[] = [];
    const allCycles: string[] = [];
    const labEvents: string[] = [];
    const gauges = new Set<string>();
    const subs = [
      client.subscribe('cycles', { pairId: 'lab' }, (evs) => labCycles.push(...evs.map((e) => e.pairId))),
      client.subscribe('cycles', {}, (evs) => allCycles.push(...evs.map((e) => e.pairId))),
      client.subscribe('events', { pairId: 'lab' }, (evs) => labEvents.push(...evs.map((e) => e.pairId))),
      client.subscribe('output', undefined, (evs) => evs.forEach((e) => gauges.add(e.pairId))),
    ];
    await Promise.all(subs.map((s) => s.ready));
    assert.equal(service.pair('lab').state.state, 'unprotected', 'only the demo pair starts by itself');
    await client.call('pairs.start', { pairId: 'lab' });
    await waitFor(() => labCycles.length >= 3 && allCycles.includes('demo') && allCycles.includes('lab'), 10_000, 'cycles of both pairs');
    assert.ok(labCycles.every((id) => id === 'lab'));
    assert.ok(labEvents.length > 0 && labEvents.every((id) => id === 'lab'));
    await waitFor(() => gauges.has('demo') && gauges.has('lab'), 5000, 'a gauge for each pair');
    assert.equal(service.pair('lab').mode, 'remus');
    for (const s of subs) s();
  });
});
