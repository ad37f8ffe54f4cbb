import assert from 'node:assert/strict';
import { test } from 'node:test';
import { bucketsForWidth, decimateMinMax } from './decimate';

test('few points pass through unchanged, unknown values as null', () => {
  const rows = decimateMinMax([1, 2, 3], [{ key: 'a', values: [5, NaN, 7] }], 0, 3, 0, 10, 10);
  assert.deepEqual(rows, [
    { t: 1, a: 5 },
    { t: 2, a: null },
    { t: 3, a: 7 },
  ]);
});

test('many points become at most two rows per bucket and keep every extreme', () => {
  const n = 10_000;
  const x = Float64Array.from({ length: n }, (_, i) => i);
  const y = Float64Array.from({ length: n }, (_, i) => Math.sin(i / 50) * 10);
  y[4321] = 999; // a spike
  y[777] = -999;
  const rows = decimateMinMax(x, [{ key: 'y', values: y }], 0, n, 0, n, 100);
  assert.ok(rows.length <= 200, `${rows.length} rows`);
  const ys = rows.map((r) => r.y as number);
  assert.equal(Math.max(...ys), 999);
  assert.equal(Math.min(...ys), -999);
  for (let i = 1; i < rows.length; i++) assert.ok(rows[i]!.t > rows[i - 1]!.t, 'time ascending');
});

test('a gap in the data breaks the line with one null row', () => {
  const x: number[] = [];
  const y: number[] = [];
  for (let i = 0; i < 300; i++) {
    x.push(i);
    y.push(1);
  }
  for (let i = 700; i < 1000; i++) {
    x.push(i);
    y.push(2);
  }
  const rows = decimateMinMax(x, [{ key: 'v', values: y }], 0, x.length, 0, 1000, 50);
  const nulls = rows.filter((r) => r.v === null);
  assert.equal(nulls.length, 1);
  assert.ok(nulls[0]!.t > 300 && nulls[0]!.t < 700);
});

test('series decimate independently; a series with no value in a bucket is null there', () => {
  const n = 1000;
  const x = Float64Array.from({ length: n }, (_, i) => i);
  const a = Float64Array.from({ length: n }, (_, i) => i);
  const b = Float64Array.from({ length: n }, (_, i) => (i < 500 ? NaN : -i));
  const rows = decimateMinMax(x, [{ key: 'a', values: a }, { key: 'b', values: b }], 0, n, 0, n, 10);
  assert.equal(rows.length, 20);
  assert.equal(rows[0]!.b, null);
  assert.equal(rows[0]!.a, 0);
  assert.equal(rows[1]!.a, 99);
  assert.equal(rows[19]!.b, -900);
});

test('only points inside [from, to) count', () => {
  const x = Float64Array.from({ length: 1000 }, (_, i) => i);
  const y = Float64Array.from({ length: 1000 }, (_, i) => i);
  const rows = decimateMinMax(x, [{ key: 'y', values: y }], 500, 1000, 500, 1000, 10);
  assert.equal(Math.min(...rows.map((r) => r.y as number)), 500);
});

test('buckets follow the plot width, within bounds', () => {
  assert.equal(bucketsForWidth(600), 150);
  assert.equal(bucketsForWidth(400), 100);
  assert.equal(bucketsForWidth(10), 10);
  assert.equal(bucketsForWidth(5000), 150);
});

test('sampled data can be joined across empty buckets', () => {
  const x = [0, 1, 2, 500, 501, 502];
  const y = [1, 2, 3, 4, 5, 6];
  const rows = decimateMinMax(x, [{ key: 'v', values: y }], 0, 6, 0, 1000, 2, false);
  assert.equal(rows.filter((r) => r.v === null).length, 0);
});
