// The per-subscription queues against a plain-array model, over many random push/take sequences, so ring
// wrap-around and the drop count are checked at every boundary rather than at the few a hand-written case hits.

import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { createDeliveryQueue } from './delivery-queue.js';

function rng(seed: number): () => number {
  let s = seed >>> 0;
  return () => {
    s = (s * 1664525 + 1013904223) >>> 0;
    return s / 2 ** 32;
  };
}

describe('delivery queues', () => {
  test("'reliable' keeps the newest `limit` events in order and counts every one it lets go", () => {
    const random = rng(7);
    for (const limit of [1, 2, 3, 7, 64]) {
      const queue = createDeliveryQueue<number>('reliable', limit);
      let model: number[] = [];
      let modelDropped = 0;
      let next = 0;
      for (let step = 0; step < 2000; step++) {
        if (random() < 0.8) {
          queue.push(next);
          model.push(next++);
          if (model.length > limit) {
            model.shift();
            modelDropped++;
          }
        } else {
          assert.equal(queue.pending, model.length > 0 || modelDropped > 0);
          const batch = queue.take();
          assert.deepEqual(batch, { events: model, dropped: modelDropped }, `limit ${limit}, step ${step}`);
          model = [];
          modelDropped = 0;
          assert.equal(queue.pending, false);
        }
      }
    }
  });

  test("'latest' keeps one value and counts the ones it replaced; noted drops add up", () => {
    const queue = createDeliveryQueue<string>('latest', 1);
    assert.equal(queue.pending, false);
    assert.deepEqual(queue.take(), { events: [], dropped: 0 });
    for (const v of ['a', 'b', 'c']) queue.push(v);
    queue.noteDropped(2);
    assert.deepEqual(queue.take(), { events: ['c'], dropped: 4 });
    queue.noteDropped(1);
    assert.equal(queue.pending, true, 'a loss alone is worth a message');
    assert.deepEqual(queue.take(), { events: [], dropped: 1 });
  });

  test('a reliable queue needs a positive integer limit', () => {
    assert.throws(() => createDeliveryQueue('reliable', 0), RangeError);
    assert.throws(() => createDeliveryQueue('reliable', 1.5), RangeError);
  });
});
