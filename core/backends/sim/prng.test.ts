import { test, describe } from 'node:test';
import assert from 'node:assert/strict';
import { Prng } from './prng.js';

void describe('Prng', () => {
  void test('a saved state continues the exact sequence', () => {
    const a = new Prng(42);
    for (let i = 0; i < 10; i++) a.nextU32();
    const b = new Prng(a.state);
    const fromA = Array.from({ length: 20 }, () => a.nextU32());
    const fromB = Array.from({ length: 20 }, () => b.nextU32());
    assert.deepEqual(fromB, fromA);
  });

  void test('nearby seeds give unrelated sequences', () => {
    const a = new Prng(1);
    const b = new Prng(2);
    const same = Array.from({ length: 100 }, () => a.nextU32() === b.nextU32()).filter(Boolean).length;
    assert.ok(same < 3);
  });

  void test('values stay in range and spread out', () => {
    const r = new Prng(7);
    const buckets = new Array<number>(10).fill(0);
    for (let i = 0; i < 10_000; i++) {
      const x = r.nextFloat();
      assert.ok(x >= 0 && x < 1);
      buckets[r.nextBelow(10)]!++;
    }
    for (const n of buckets) assert.ok(n > 800 && n < 1200, `bucket ${n}`);
    assert.ok(new Prng(7).state.every((w) => Number.isInteger(w) && w >= 0 && w < 2 ** 32));
  });
});
