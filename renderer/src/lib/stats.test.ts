import assert from 'node:assert/strict';
import { test } from 'node:test';
import { quantile } from '../../../core/colo/stats.js';
import { Summariser, countCodes, niceCeiling, quantileSorted } from './stats';

test('quantiles use nearest rank, like the service', () => {
  const values = [5, 1, 4, 2, 3, 10, 9, 8, 7, 6];
  const sorted = [...values].sort((a, b) => a - b);
  for (const q of [0, 0.01, 0.5, 0.9, 0.99, 1]) assert.equal(quantileSorted(sorted, q), quantile(values, q), `q=${q}`);
  assert.ok(Number.isNaN(quantileSorted([], 0.5)));
});

test('a summary leaves unknown values out and does not reorder the input', () => {
  const values = Float64Array.from([3, NaN, 1, 2, NaN]);
  const s = new Summariser().summarise(values);
  assert.equal(s.count, 3);
  assert.equal(s.p50, 2);
  assert.equal(s.max, 3);
  assert.equal(s.mean, 2);
  assert.equal(values[0], 3);
});

test('a summary of a sub-range, and of nothing', () => {
  const sm = new Summariser();
  const values = Float64Array.from({ length: 5000 }, (_, i) => i + 1);
  const s = sm.summarise(values, 1000, 2000);
  assert.equal(s.count, 1000);
  assert.equal(s.p50, 1500);
  assert.equal(s.p99, 1990);
  assert.equal(sm.summarise(values, 3, 3).count, 0);
  assert.ok(Number.isNaN(sm.summarise([NaN]).p99));
});

test('trigger codes are counted by kind', () => {
  assert.deepEqual(countCodes([0, 1, 1, 2, 9, 4], 0, 6, 5), [1, 2, 1, 0, 1]);
  assert.deepEqual(countCodes([1, 1, 1], 1, 2, 3), [0, 1, 0]);
});

test('axis ceilings round to 1-2-5 and do not shrink on a small dip', () => {
  assert.equal(niceCeiling(0.7), 1);
  assert.equal(niceCeiling(1.3), 2);
  assert.equal(niceCeiling(3), 5);
  assert.equal(niceCeiling(7), 10);
  assert.equal(niceCeiling(42), 50);
  assert.equal(niceCeiling(0.012), 0.02);
  assert.equal(niceCeiling(30, 50), 50, 'stays while above half');
  assert.equal(niceCeiling(20, 50), 20, 'shrinks once below half');
  assert.equal(niceCeiling(0), 1);
  assert.equal(niceCeiling(NaN, 5), 5);
});
