import assert from 'node:assert/strict';
import { test } from 'node:test';
import { cycle } from '../test-support/cycles';
import { CycleRing, PHASE_COUNT, SampleRing } from './ring';

test('a ring keeps the newest cycles in order and maps global indices to slots', () => {
  const ring = new CycleRing(4);
  for (let i = 0; i < 6; i++) ring.push(cycle(i, 1000 + i * 10));
  assert.equal(ring.length, 4);
  assert.equal(ring.firstGlobal, 2);
  assert.equal(ring.endGlobal, 6);
  assert.deepEqual([0, 1, 2, 3].map((i) => ring.seq[ring.slot(i)]), [2, 3, 4, 5]);
  assert.equal(ring.slotOfGlobal(1), -1, 'overwritten');
  assert.equal(ring.slotOfGlobal(6), -1, 'not yet written');
  assert.equal(ring.seq[ring.slotOfGlobal(5)], 5);
});

test('a ring round-trips a record, unknown values included', () => {
  const ring = new CycleRing(8);
  const c = cycle(7, 5000, { trigger: 'miscompare', provenance: 'derived', outcome: 'failed', mode: 'remus', secondaryDirtyPages: 12 });
  delete c.secondaryPauseMs;
  ring.push(c);
  const back = ring.record(ring.slot(0));
  assert.deepEqual(back, c);
  assert.ok(Number.isNaN(ring.secondaryPause[ring.slot(0)]!));
});

test('a phase the backend did not report stays absent', () => {
  const ring = new CycleRing(2);
  ring.push(cycle(1, 0, { phases: [{ name: 'transfer', startMs: 1, durationMs: 2 }] }));
  const s = ring.slot(0);
  assert.ok(Number.isNaN(ring.phaseStart[s * PHASE_COUNT]!), 'wait absent');
  assert.equal(ring.phaseStart[s * PHASE_COUNT + 2], 1);
  assert.deepEqual(ring.record(s).phases, [{ name: 'transfer', startMs: 1, durationMs: 2 }]);
});

test('a record reused after overwrite has no stale phases', () => {
  const ring = new CycleRing(2);
  ring.push(cycle(1, 0));
  ring.push(cycle(2, 10));
  ring.push(cycle(3, 20, { phases: [] }));
  assert.deepEqual(ring.record(ring.slotOfGlobal(2)).phases, []);
});

test('prependOlder adds only strictly older cycles, newest first, up to capacity', () => {
  const ring = new CycleRing(5);
  ring.push(cycle(10, 1000));
  ring.push(cycle(11, 1010));
  const epoch = ring.epoch;
  const history = [cycle(6, 960), cycle(7, 970), cycle(8, 980), cycle(9, 990), cycle(10, 1000)];
  assert.equal(ring.prependOlder(history), 3);
  assert.deepEqual(Array.from({ length: ring.length }, (_, i) => ring.seq[ring.slot(i)]), [7, 8, 9, 10, 11]);
  assert.notEqual(ring.epoch, epoch);
  // Global indices still map onto slots, and pushing continues after the newest.
  for (let g = ring.firstGlobal; g < ring.endGlobal; g++) assert.notEqual(ring.slotOfGlobal(g), -1);
  ring.push(cycle(12, 1020));
  assert.deepEqual(Array.from({ length: ring.length }, (_, i) => ring.seq[ring.slot(i)]), [8, 9, 10, 11, 12]);
  assert.equal(ring.seq[ring.slotOfGlobal(ring.endGlobal - 1)], 12);
  assert.equal(ring.seq[ring.slotOfGlobal(ring.firstGlobal)], 8);
});

test('lowerBound finds the first cycle at or after a time', () => {
  const ring = new CycleRing(4);
  for (let i = 0; i < 6; i++) ring.push(cycle(i, i * 10));
  assert.equal(ring.lowerBound(0), 0);
  assert.equal(ring.lowerBound(25), 1);
  assert.equal(ring.lowerBound(30), 1);
  assert.equal(ring.lowerBound(1000), 4);
});

test('push keeps the ring allocation-free in steady state and bumps version', () => {
  const ring = new CycleRing(16);
  const before = ring.seq;
  for (let i = 0; i < 100; i++) ring.push(cycle(i, i));
  assert.equal(ring.seq, before);
  assert.equal(ring.version, 100);
});

test('a sample ring keeps the newest samples', () => {
  const s = new SampleRing(3, 2);
  for (let i = 0; i < 5; i++) s.push(i, [i * 2, i * 3]);
  assert.equal(s.length, 3);
  assert.deepEqual([0, 1, 2].map((i) => s.t[s.slot(i)]), [2, 3, 4]);
  assert.equal(s.columns[1]![s.slot(2)], 12);
});
