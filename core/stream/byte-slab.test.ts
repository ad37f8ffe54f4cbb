import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { ByteSlab } from './byte-slab.js';

describe('ByteSlab', () => {
  test('join copies the parts end to end; a later source change does not reach the copy', () => {
    const slab = new ByteSlab(1024);
    const a = Buffer.from([1, 2, 3]);
    const b = Buffer.from([4, 5]);
    const copy = slab.join([a, b], 5);
    a[0] = 99;
    assert.deepEqual([...copy], [1, 2, 3, 4, 5]);
  });

  test('copies never overlap, across slab rollovers, and start 8-byte aligned', () => {
    const slab = new ByteSlab(256);
    const copies: Buffer[] = [];
    for (let i = 0; i < 40; i++) copies.push(slab.join([Buffer.alloc(13 + (i % 5), i)], 13 + (i % 5)));
    copies.forEach((c, i) => {
      assert.ok(c.every((v) => v === i), `copy ${i} kept its bytes`);
      assert.equal(c.byteOffset % 8, 0);
    });
  });

  test('a copy larger than a quarter of a slab gets a buffer of its own', () => {
    const slab = new ByteSlab(256);
    const big = slab.join([Buffer.alloc(65, 7)], 65);
    assert.equal(big.buffer.byteLength, 65);
    assert.ok(big.every((v) => v === 7));
  });
});
