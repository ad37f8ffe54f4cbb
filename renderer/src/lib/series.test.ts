import assert from 'node:assert/strict';
import { test } from 'node:test';
import { CycleRing } from '../store/ring';
import { cycle } from '../test-support/cycles';
import { dirtyView, gatherWindow, latencyView } from './series';

test('a window joins history and the live ring without double counting', () => {
  const ring = new CycleRing(100);
  for (let i = 50; i < 60; i++) ring.push(cycle(i, i * 100));
  const history = Array.from({ length: 55 }, (_, i) => cycle(i, i * 100));
  const w = gatherWindow(ring, history, 1000, 100_000);
  assert.equal(w.n, 50, 'history 10..49 plus ring 50..59');
  assert.equal(w.fromHistory, 40);
  assert.equal(w.x[0], 1000);
  assert.equal(w.interval[0], NaN, 'no predecessor in the window');
  assert.equal(w.interval[1], 100);
});

test('intervals are known only between consecutive cycles', () => {
  const ring = new CycleRing(10);
  ring.push(cycle(1, 0));
  ring.push(cycle(2, 10));
  ring.push(cycle(0, 500)); // protection restarted
  ring.push(cycle(1, 520));
  const w = gatherWindow(ring, null, 0, 1000);
  assert.deepEqual(Array.from(w.interval.subarray(0, 4)), [NaN, 10, NaN, 20]);
});

test('the latency view summarises every cycle in the window, not the decimated rows', () => {
  const ring = new CycleRing(8192);
  for (let i = 0; i < 6000; i++) ring.push(cycle(i, i * 10, { primaryPauseMs: i === 3000 ? 500 : 1 + (i % 100) / 100, provenance: i % 2 === 0 ? 'measured' : 'derived' }));
  const w = gatherWindow(ring, null, 0, 60_000);
  const v = latencyView(w, 0, 60_000, 150);
  assert.equal(v.count, 6000);
  assert.ok(v.rows.length <= 300);
  assert.equal(v.primary.max, 500);
  assert.equal(v.derived, 3000);
  assert.ok(v.rows.some((r) => r.primary === 500), 'the spike survives decimation');
});

test('the dirty view counts triggers and notices secondary dirty pages', () => {
  const ring = new CycleRing(16);
  ring.push(cycle(1, 0, { trigger: 'miscompare' }));
  ring.push(cycle(2, 10, { trigger: 'miscompare', secondaryDirtyPages: 5 }));
  ring.push(cycle(3, 20, { trigger: 'timeout', outcome: 'failed' }));
  const v = dirtyView(gatherWindow(ring, null, 0, 100), 0, 100, 50);
  assert.deepEqual(v.triggers, [0, 2, 0, 1, 0]);
  assert.ok(v.hasSecondaryDirty);
  assert.equal(v.failed, 1);
});
