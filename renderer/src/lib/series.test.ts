import assert from 'node:assert/strict';
import { test } from 'node:test';
import { CycleRing } from '../store/ring';
import { decimateMinMax } from './decimate';
import { cycle } from '../test-support/cycles';
import { dirtyView, gapBreaks, gatherWindow, latencyView } from './series';

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

/** The plotted stretches of `key`: runs of rows with a value, split where a row holds null. */
function stretches(rows: readonly Record<string, number | null>[], key: string): number {
  let n = 0;
  let pen = false;
  for (const r of rows) {
    const v = r[key];
    if (v === undefined) continue;
    if (v === null) pen = false;
    else if (!pen) {
      n++;
      pen = true;
    }
  }
  return n;
}

test('the line breaks where no cycle ran for a while, with few points and with decimated ones', () => {
  // 100 ms cycles that tile time (each ends where the next starts), then 20 s with none, then more.
  const ring = new CycleRing(8192);
  let seq = 1;
  const tiled = (from: number, count: number): void => {
    for (let i = 0; i < count; i++) ring.push(cycle(seq++, from + i * 100, { phases: [{ name: 'wait', startMs: 0, durationMs: 98 }, { name: 'resume', startMs: 98, durationMs: 2 }] }));
  };
  tiled(0, 20);
  tiled(22_000, 20);
  const few = latencyView(gatherWindow(ring, null, 0, 30_000), 0, 30_000, 150);
  assert.equal(stretches(few.rows, 'primary'), 2, 'few points: every point a row, and a break in the gap');
  const nulls = few.rows.filter((r) => r.primary === null);
  assert.equal(nulls.length, 1);
  assert.ok(nulls[0]!.t > 1900 && nulls[0]!.t < 22_000);

  // A 2.5 s stop in a 10 min window: buckets are 4 s wide, so no bucket is empty, and only the marked break
  // can cut the line.
  const dense = new CycleRing(8192);
  seq = 1;
  for (let i = 0; i < 3000; i++) dense.push(cycle(seq++, i * 10, { phases: [{ name: 'wait', startMs: 0, durationMs: 10 }] }));
  for (let i = 0; i < 3000; i++) dense.push(cycle(seq++, 32_500 + i * 10, { phases: [{ name: 'wait', startMs: 0, durationMs: 10 }] }));
  const w = gatherWindow(dense, null, 0, 600_000);
  const decimated = latencyView(w, 0, 600_000, 150);
  assert.ok(decimated.rows.length <= 302);
  assert.equal(stretches(decimated.rows, 'primary'), 2, 'decimated: the stop still breaks the line');
  const joined = decimateMinMax(w.x, [{ key: 'primary', values: w.primary }], 0, w.n, 0, 600_000, 150);
  assert.equal(stretches(joined, 'primary'), 1, 'without the marks the line would run through the stop');
});

test('a long pause is not a gap, and a new run always is', () => {
  const ring = new CycleRing(64);
  // Cycle 3 pauses the guest for 5 s: the cycle runs through that time, so the line goes on.
  ring.push(cycle(1, 0, { phases: [{ name: 'wait', startMs: 0, durationMs: 100 }] }));
  ring.push(cycle(2, 100, { phases: [{ name: 'wait', startMs: 0, durationMs: 100 }] }));
  ring.push(cycle(3, 200, { primaryPauseMs: 5000, phases: [{ name: 'wait', startMs: 0, durationMs: 100 }, { name: 'suspend', startMs: 100, durationMs: 5000 }] }));
  ring.push(cycle(4, 5300, { phases: [{ name: 'wait', startMs: 0, durationMs: 100 }] }));
  // Protection restarted at once: seq begins again.
  ring.push(cycle(0, 5400, { trigger: 'initial', phases: [{ name: 'wait', startMs: 0, durationMs: 100 }] }));
  ring.push(cycle(1, 5500, { phases: [{ name: 'wait', startMs: 0, durationMs: 100 }] }));
  const w = gatherWindow(ring, null, 0, 10_000);
  assert.deepEqual(Array.from(w.breakBefore.subarray(0, 6)), [0, 0, 0, 0, 1, 0]);
  assert.equal(stretches(latencyView(w, 0, 10_000, 150).rows, 'primary'), 2);
});

test('the gap threshold follows the typical interval: slow periodic checkpoints are not gaps', () => {
  // 20 s periodic checkpoints whose backend reports no wait phase: 20 s of no cycle is their normal rhythm.
  const x = Float64Array.from([0, 20_000, 40_000, 60_000, 200_000]);
  const end = Float64Array.from([5, 20_005, 40_005, 60_005, 200_005]);
  const seq = Float64Array.from([1, 2, 3, 4, 5]);
  const interval = Float64Array.from([NaN, 20_000, 20_000, 20_000, 140_000]);
  const out = new Uint8Array(5);
  gapBreaks(x, end, seq, interval, 5, out);
  assert.deepEqual(Array.from(out), [0, 0, 0, 0, 1], 'only the 140 s stop (over 3 × 20 s) breaks');
});
