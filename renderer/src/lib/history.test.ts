import assert from 'node:assert/strict';
import { test } from 'node:test';
import { cycle } from '../test-support/cycles';
import { historySentence, mergeCycles, nextPage, planHistory } from './history';

test('a window with few cycles is fetched in full, page by page', () => {
  const plan = planHistory(0, 15 * 60_000, 900);
  assert.equal(plan.kind, 'full');
  assert.equal(plan.total, 900);
  assert.deepEqual(plan.requests, [{ since: 0, until: 15 * 60_000, limit: 1000 }]);
});

test('a window with too many cycles is sampled in evenly spaced slices', () => {
  const plan = planHistory(0, 24 * 3600_000, 8_640_000, { maxRecords: 6000, slices: 60 });
  assert.equal(plan.total, 8_640_000);
  assert.equal(plan.kind, 'sampled');
  assert.equal(plan.requests.length, 60);
  assert.equal(plan.requests[0]!.limit, 100);
  assert.equal(plan.requests[1]!.since, plan.requests[0]!.until);
  assert.equal(plan.requests[59]!.until, 24 * 3600_000);
  assert.ok(plan.requests.reduce((n, r) => n + r.limit, 0) <= 6000);
});

test('the plan follows the cycles history holds, not the current rate over the whole window', () => {
  // A fast pair stopped for most of a day: 1,100 cycles held, though its current rate would suggest 611,507.
  const plan = planHistory(0, 24 * 3600_000, 1100);
  assert.equal(plan.kind, 'full');
  assert.equal(plan.total, 1100);
});

test('paging continues from the last cycle until a short page', () => {
  const req = { since: 0, until: 1000, limit: 3 };
  const full = [cycle(1, 10), cycle(2, 20), cycle(3, 30)];
  assert.deepEqual(nextPage(req, full), { since: 30, until: 1000, limit: 3 });
  assert.equal(nextPage(req, full.slice(0, 2)), null);
  assert.equal(nextPage({ since: 30, until: 1000, limit: 1 }, [cycle(3, 30)]), null, 'no progress: stop');
});

test('merging skips what is already held', () => {
  const into = [cycle(1, 10), cycle(2, 20)];
  assert.equal(mergeCycles(into, [cycle(2, 20), cycle(3, 30), cycle(4, 40)]), 2);
  assert.deepEqual(into.map((c) => c.seq), [1, 2, 3, 4]);
  assert.equal(mergeCycles(into, [cycle(0, 5)]), 0, 'older than the tail');
});

test('the note gives the true count behind a sample, not an estimate', () => {
  assert.equal(
    historySentence({ kind: 'sampled', used: 5940, total: 611_507 }),
    'Older cycles from history are a sample: 5,940 of 611,507, taken in evenly spaced slices of the window; the most recent minute is complete.',
  );
  assert.equal(historySentence({ kind: 'full', used: 1100, total: 1100 }), 'Older cycles from history: 1,100; the most recent minute is live.');
});
