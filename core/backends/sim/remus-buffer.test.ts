import { test, describe } from 'node:test';
import assert from 'node:assert/strict';
import type { GuestPacket } from './packet.js';
import { RemusOutputBuffer } from './remus-buffer.js';

function pkt(seq: number): GuestPacket {
  return { seq, data: Buffer.from([seq]), producedAt: 0 };
}

function setup(maxPackets?: number) {
  const released: number[] = [];
  const buffer = new RemusOutputBuffer({ release: (p) => released.push(p.seq), now: () => 5, maxPackets });
  return { buffer, released };
}

void describe('RemusOutputBuffer', () => {
  void test('holds output until the checkpoint covering it commits', () => {
    const { buffer, released } = setup();
    buffer.push(pkt(1));
    buffer.push(pkt(2));
    buffer.plug(); // checkpoint 1 taken
    buffer.push(pkt(3)); // guest resumed before the commit: this belongs to the next epoch
    assert.deepEqual(released, []);
    assert.equal(buffer.commit(), 2);
    assert.deepEqual(released, [1, 2]);
    buffer.plug();
    buffer.commit();
    assert.deepEqual(released, [1, 2, 3]);
    assert.equal(buffer.stats.buffered, 0);
  });

  void test('commit without a plugged epoch is a protocol error', () => {
    const { buffer } = setup();
    buffer.push(pkt(1));
    assert.throws(() => buffer.commit(), /without a plugged epoch/);
  });

  void test('failover discards uncovered output; ending protection releases it', () => {
    const a = setup();
    a.buffer.push(pkt(1));
    a.buffer.plug();
    a.buffer.push(pkt(2));
    assert.equal(a.buffer.discardAll(), 2);
    assert.deepEqual(a.released, []);
    assert.equal(a.buffer.stats.discarded, 2);

    const b = setup();
    b.buffer.push(pkt(1));
    b.buffer.plug();
    b.buffer.push(pkt(2));
    b.buffer.releaseAll();
    assert.deepEqual(b.released, [1, 2]);
  });

  void test('a full buffer drops and counts', () => {
    const { buffer } = setup(2);
    for (let i = 0; i < 5; i++) buffer.push(pkt(i));
    assert.equal(buffer.stats.buffered, 2);
    assert.equal(buffer.stats.dropped, 3);
  });
});
