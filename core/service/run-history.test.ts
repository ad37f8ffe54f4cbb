// The demo's results survive a restart: protection runs keep their settings and figures (cycles by outcome,
// primary pause, held output), drills keep their downtime and re-protect time, and the cycle count is the true
// one. Real SimPairs, real SQLite files, the contract over a real RPC channel.

import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { consoleContract } from '../api/console-contract.js';
import { createMemoryChannelPair } from '../api/memory-channel.js';
import { createClient, serve } from '../api/rpc.js';
import { PRESETS } from '../backends/sim/presets.js';
import { consoleHandlers } from './console-service.js';
import { HeldHistogram } from './held-histogram.js';
import { History } from './history.js';
import { rejectsWithCode, startService, tempDir, untilState, waitFor } from './test-support/service-rig.js';

void describe('run history', () => {
  void test('runs keep their mode, settings and figures, and drills their downtime, across a restart', async (t) => {
    const dir = tempDir(t);
    const first = await startService(dir);
    const s1 = first.service;
    await untilState(s1, 'demo', 'protected');
    await waitFor(() => (s1.pair('demo').stats.lastSeq ?? 0) >= 5, 10_000, 'five COLO checkpoints');
    await s1.stopPair('demo', 'demo-vm', 'alice');
    await s1.configureSim('demo', { mode: 'remus', sim: { remusIntervalMs: 20, preset: 'database' } }, 'alice');
    await s1.startPair('demo', 'alice');
    await untilState(s1, 'demo', 'protected');
    await waitFor(() => (s1.pair('demo').stats.lastSeq ?? 0) >= 5, 10_000, 'five Remus checkpoints');
    // A live change in the middle of the run is on record: its figures mix two settings.
    await s1.configureSim('demo', { sim: { divergenceProbability: 0.002 } }, 'alice');
    const report = await s1.drill('demo', 'demo-vm', 'alice');
    // Refused before it started (wrong name): not a drill, not listed.
    await rejectsWithCode(s1.drill('demo', 'nope', 'mallory'), 'bad-request');
    await s1.close();

    const { service: s2, errors } = await startService(dir, { autoStartDemo: false });
    const runs = s2.runs('demo', 10);
    assert.deepEqual(runs.map((r) => r.mode), ['remus', 'remus', 'colo'], 'newest first: the drill re-protected in a new run');
    const [afterDrill, remus, colo] = runs as [typeof runs[0], typeof runs[0], typeof runs[0]];
    assert.deepEqual(colo.settings, { preset: 'web-server', link: '10gbe', remusIntervalMs: 200, divergenceProbability: 0.0005 });
    assert.equal(colo.settingsChangedAt, null);
    assert.deepEqual(remus.settings, { preset: 'database', link: '10gbe', remusIntervalMs: 20, divergenceProbability: PRESETS.database.divergenceProbability });
    assert.ok(remus.settingsChangedAt !== null && remus.settingsChangedAt >= remus.startedAt, 'the divergence changed during the Remus run');
    assert.equal(afterDrill.settings?.divergenceProbability, 0.002, 'the re-protected run starts with the settings of the moment');
    for (const r of [colo, remus]) {
      assert.ok(r.cycles.committed >= 6, `run ${r.id} (${r.mode}): ${r.cycles.committed} committed`);
      assert.ok(r.pausePrimary !== null && r.pausePrimary.p50Ms > 0 && r.pausePrimary.p99Ms >= r.pausePrimary.p50Ms && r.pausePrimary.maxMs >= r.pausePrimary.p99Ms);
      assert.ok(r.endedAt !== null && r.endedAt > r.startedAt);
      assert.ok(r.outputHeld !== null && r.outputHeld.packets > 0, `run ${r.id} (${r.mode}) recorded held output`);
      assert.ok(r.outputHeld.p99Ms >= r.outputHeld.p50Ms && r.outputHeld.maxMs >= r.outputHeld.p99Ms);
    }
    // Remus holds output until the next checkpoint commits; COLO releases it once the copies agree.
    assert.ok(remus.outputHeld!.p50Ms > colo.outputHeld!.p50Ms, `held p50: Remus ${remus.outputHeld!.p50Ms} ms, COLO ${colo.outputHeld!.p50Ms} ms`);
    // The runs' stored figures agree with their stored cycles.
    const db = new History(dir, { report: () => {}, now: Date.now() });
    t.after(() => db.close());
    const committed = (db.database.prepare("SELECT count(*) AS n FROM cycles WHERE run_id = ? AND outcome = 'committed'").get(colo.id) as { n: number }).n;
    assert.equal(colo.cycles.committed, committed);

    const drills = s2.drills('demo', 10);
    assert.equal(drills.length, 1);
    const [d] = drills as [typeof drills[0]];
    assert.equal(d.ok, true);
    assert.equal(d.mode, 'remus');
    assert.equal(d.guestDowntimeMs, report.guestDowntimeMs);
    assert.equal(d.timeToReprotectMs, report.timeToReprotectMs);
    assert.deepEqual(d.failover, report.failover);
    assert.equal(d.finalState?.state, 'protected');
    assert.ok(d.at <= report.failover.at && d.at >= remus.startedAt);

    // Over the contract, as the UI reads them.
    const [clientEnd, serverEnd] = createMemoryChannelPair();
    const server = serve(consoleContract, consoleHandlers(s2, { transport: 'browser', actor: 'rpc-user' }), serverEnd);
    const client = createClient(consoleContract, clientEnd, { timeoutMs: 10_000 });
    t.after(() => {
      client.close();
      server.close();
    });
    assert.deepEqual(await client.call('pairs.drills', { pairId: 'demo' }), drills);
    assert.deepEqual((await client.call('pairs.runs', { pairId: 'demo', limit: 2 })).map((r) => r.id), [afterDrill.id, remus.id]);
    const all = (db.database.prepare("SELECT count(*) AS n FROM cycles WHERE pair_id = 'demo'").get() as { n: number }).n;
    assert.deepEqual(await client.call('pairs.cycleCount', { pairId: 'demo', since: 0 }), { count: all });
    const inRemus = (db.database.prepare('SELECT count(*) AS n FROM cycles WHERE run_id = ?').get(remus.id) as { n: number }).n;
    assert.deepEqual(await client.call('pairs.cycleCount', { pairId: 'demo', since: remus.startedAt, until: remus.endedAt! }), { count: inRemus });
    await assert.rejects(client.call('pairs.runs', { pairId: 'nobody' }), /No pair with id "nobody"/);
    assert.deepEqual(errors, []);
  });

  void test('a drill that fails after it started is listed as failed, with the reason', async (t) => {
    // The re-protect timeout is shorter than any re-protection: the failover happens, re-protection does not finish.
    const { service } = await startService(tempDir(t), { reprotectTimeoutMs: 1 });
    await untilState(service, 'demo', 'protected');
    const message = await rejectsWithCode(service.drill('demo', 'demo-vm', 'alice'), 'invalid-state');
    const [d] = service.drills('demo', 5);
    assert.ok(d !== undefined);
    assert.equal(d.ok, false);
    assert.equal(d.error, message);
    assert.ok(d.failover !== null && d.guestDowntimeMs === d.failover.guestDowntimeMs, 'the failover it did happened is kept');
    assert.equal(d.timeToReprotectMs, null);
  });

  void test('the held-output histogram gives quantiles within 2 % and the exact max, also after a round trip', () => {
    const h = new HeldHistogram();
    const values: number[] = [];
    for (let i = 0; i < 100_000; i++) {
      const v = i % 1000 === 0 ? 3974 : 0.05 + (i % 997) * 0.3;
      values.push(v);
      h.add(v);
    }
    values.sort((a, b) => a - b);
    const exact = (q: number): number => values[Math.ceil(q * values.length) - 1]!;
    const back = HeldHistogram.fromJson(h.toJson(), h.max);
    for (const hist of [h, back]) {
      assert.equal(hist.count, 100_000);
      assert.equal(hist.max, 3974);
      for (const q of [0.5, 0.99]) {
        const rel = Math.abs(hist.quantile(q) - exact(q)) / exact(q);
        assert.ok(rel < 0.02, `q${q}: ${hist.quantile(q)} vs ${exact(q)}`);
      }
    }
    assert.equal(HeldHistogram.fromJson('not json', 5).count, 0);
    assert.ok(Number.isNaN(new HeldHistogram().quantile(0.5)));
  });

  void test('retention deletes the held-output summaries of deleted runs and keeps drills', async (t) => {
    const dir = tempDir(t);
    const h = new History(dir, { report: () => {}, now: Date.now() });
    t.after(() => h.close());
    const DAY = 86_400_000;
    const now = 100 * DAY;
    const old = h.beginRun('demo', now - 10 * DAY, 'remus');
    const recent = h.beginRun('demo', now - DAY, 'colo');
    const held = new HeldHistogram();
    held.add(5);
    h.saveRunOutput(old, held, now - 10 * DAY);
    h.saveRunOutput(recent, held, now - DAY);
    h.addDrill({ pairId: 'demo', at: now - 10 * DAY, mode: 'remus', ok: true, guestDowntimeMs: 3, timeToReprotectMs: 900 });
    await h.prune(now, 7);
    assert.deepEqual(h.runs('demo', 10).map((r) => [r.id, r.outputHeld?.packets ?? null]), [[recent, 1]]);
    const rows = h.database.prepare('SELECT run_id FROM run_output').all() as { run_id: number }[];
    assert.deepEqual(rows.map((r) => r.run_id), [recent]);
    assert.equal(h.drills('demo', 10).length, 1);
  });

  void test('a run stored without settings (as before schema 2) reopens and lists with settings null', (t) => {
    const dir = tempDir(t);
    const h = new History(dir, { report: () => {}, now: Date.now() });
    // The row as schema 1 wrote it: no settings column filled.
    h.database.prepare("INSERT INTO runs (pair_id, started_at, mode) VALUES ('demo', 1000, 'remus')").run();
    h.close();
    const again = new History(dir, { report: () => {}, now: Date.now() });
    t.after(() => again.close());
    assert.equal(again.database.pragma('user_version', { simple: true }), 2);
    const [run] = again.runs('demo', 5);
    assert.equal(run?.settings, null);
    assert.equal(run?.mode, 'remus');
    assert.equal(run?.pausePrimary, null);
    assert.equal(run?.endedAt, null);
  });
});
