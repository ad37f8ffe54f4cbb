import assert from 'node:assert/strict';
import { test } from 'node:test';
import type { DrillRecord, RunSummary } from '../../../core/api/console-contract.js';
import { drillChartRows, drillDowntimeText, drillOutcomeText, drillReprotectText, logAxisFloor, runChartRows, runCyclesText, runDurationText, runHeldText, runPauseText, runSettingsText } from './results';

function run(id: number, mode: RunSummary['mode'], over: Partial<RunSummary> = {}): RunSummary {
  return {
    id,
    pairId: 'demo',
    startedAt: 1000,
    endedAt: 61_000,
    mode,
    settings: { preset: 'web-server', link: '10gbe', remusIntervalMs: 200, divergenceProbability: 0.0005 },
    settingsChangedAt: null,
    cycles: { committed: 1234, failed: 0, aborted: 0 },
    pausePrimary: { p50Ms: 1.5, p99Ms: 4.25, maxMs: 12 },
    outputHeld: { packets: 5000, p50Ms: mode === 'colo' ? 0.4 : 100, p99Ms: mode === 'colo' ? 2 : 199, maxMs: mode === 'colo' ? 3 : 200 },
    ...over,
  };
}

test('a run reads as its settings, its length, its cycles and its figures', () => {
  assert.equal(runSettingsText(run(1, 'colo')), 'Web server · 10 GbE · divergence 0.0005', 'COLO does not use the Remus interval');
  assert.equal(runSettingsText(run(2, 'remus')), 'Web server · 10 GbE · every 200 ms · divergence 0.0005');
  assert.equal(runSettingsText(run(3, 'remus', { settings: null })), 'not recorded');
  assert.equal(runDurationText(run(1, 'colo')), '1 min 0 s');
  assert.equal(runDurationText(run(1, 'colo', { endedAt: null })), 'no checkpoints');
  assert.equal(runCyclesText(run(1, 'colo')), '1,234 committed');
  assert.equal(runCyclesText(run(1, 'colo', { cycles: { committed: 5, failed: 2, aborted: 1 } })), '5 committed · 2 failed · 1 aborted');
  assert.equal(runPauseText(run(1, 'colo')), '1.50 ms / 4.25 ms / 12.0 ms');
  assert.equal(runPauseText(run(1, 'colo', { pausePrimary: null })), 'no checkpoints');
  assert.equal(runHeldText(run(2, 'remus')), '100 ms / 199 ms');
  assert.equal(runHeldText(run(2, 'remus', { outputHeld: null })), 'not recorded');
});

test('chart rows run oldest first and leave out runs without output figures', () => {
  const rows = runChartRows([run(3, 'remus'), run(2, 'colo', { outputHeld: null }), run(1, 'colo', { outputHeld: { packets: 1, p50Ms: 0, p99Ms: 0.5, maxMs: 1 } })]);
  assert.deepEqual(rows, [
    { label: '#1 COLO', mode: 'colo', heldP50: 0.001, heldP99: 0.5 },
    { label: '#3 Remus', mode: 'remus', heldP50: 100, heldP99: 199 },
  ]);
});

const failover = { detectedBy: 'admin' as const, cause: 'drill', at: 5000, survivor: 'secondary' as const, lastCheckpointSeq: 41, guestDowntimeMs: 3.6 };

test('drills read as what happened, with downtime and re-protect time, failed ones with their reason', () => {
  const ok: DrillRecord = { id: 7, pairId: 'demo', at: 4000, mode: 'colo', ok: true, guestDowntimeMs: 3.6, timeToReprotectMs: 2450, failover, finalState: { state: 'protected', since: 7000 } };
  const failed: DrillRecord = { id: 8, pairId: 'demo', at: 9000, mode: 'remus', ok: false, guestDowntimeMs: null, timeToReprotectMs: null, failover: null, finalState: { state: 'error', since: 9500 }, error: 'Gave up waiting for demo-vm to be protected again after 120 s (state syncing).' };
  assert.equal(drillOutcomeText(ok), 'Passed: the guest ran on the secondary, protected again');
  assert.equal(drillOutcomeText(failed), 'Failed: Gave up waiting for demo-vm to be protected again after 120 s (state syncing).');
  assert.equal(drillDowntimeText(ok), '3.60 ms');
  assert.equal(drillReprotectText(ok), '2.5 s');
  assert.equal(drillDowntimeText(failed), 'not measured');
  assert.equal(drillReprotectText(failed), 'not re-protected');
  assert.deepEqual(drillChartRows([failed, ok]), [
    { label: '#7 COLO', downtime: 3.6, reprotect: 2450 },
    { label: '#8 Remus', downtime: null, reprotect: null },
  ]);
});

test('a log axis starts a power of ten below the smallest bar, so that bar is drawn', () => {
  assert.equal(logAxisFloor([0.005, 9.74, 18.4, 194]), 0.001);
  assert.equal(logAxisFloor([0.001, 5]), 0.0001, 'a value on a power of ten still gets a height');
  assert.equal(logAxisFloor([null, 3.6, 2450]), 1);
  assert.equal(logAxisFloor([]), 1);
});
