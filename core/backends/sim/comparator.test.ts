import { test, describe } from 'node:test';
import assert from 'node:assert/strict';
import { OutputComparator } from './comparator.js';
import type { GuestPacket } from './packet.js';

function pkt(seq: number, text = `payload ${seq}`): GuestPacket {
  return { seq, data: Buffer.from(text), producedAt: 0 };
}

function setup(options: { maxQueueSize?: number } = {}) {
  const clock = { t: 1000 };
  const released: { seq: number; at: number }[] = [];
  const c = new OutputComparator({
    release: (p, at) => released.push({ seq: p.seq, at }),
    now: () => clock.t,
    ...options,
  });
  return { c, clock, released };
}

void describe('OutputComparator', () => {
  void test('identical packets release the primary copy, stamped with the release time', () => {
    const { c, clock, released } = setup();
    c.pushPrimary(pkt(1));
    c.pushPrimary(pkt(2));
    assert.equal(released.length, 0);
    clock.t = 1007;
    c.pushSecondary(pkt(1));
    assert.deepEqual(released, [{ seq: 1, at: 1007 }]);
    c.pushSecondary(pkt(2));
    assert.deepEqual(released.map((r) => r.seq), [1, 2]);
    assert.equal(c.stats.compared, 2);
    assert.equal(c.stats.primaryQueued, 0);
  });

  void test('a difference asks for a miscompare checkpoint and holds all later output', async () => {
    const { c, released } = setup();
    c.pushPrimary(pkt(1, 'A'));
    c.pushSecondary(pkt(1, 'B'));
    c.pushPrimary(pkt(2));
    c.pushSecondary(pkt(2));
    assert.equal(await c.nextTrigger(10_000), 'miscompare');
    assert.equal(released.length, 0);
    assert.equal(c.stats.miscompares, 1);
  });

  void test('a waiting nextTrigger wakes on the miscompare', async () => {
    const { c } = setup();
    const waiting = c.nextTrigger(10_000);
    c.pushPrimary(pkt(1, 'A'));
    c.pushSecondary(pkt(1, 'B'));
    assert.equal(await waiting, 'miscompare');
  });

  void test('a primary packet held past compare_timeout asks for a timeout checkpoint', async () => {
    const { c, clock } = setup();
    c.pushPrimary(pkt(1));
    clock.t += 2999;
    c.scanExpired();
    assert.equal(c.stats.timeouts, 0);
    clock.t += 2;
    c.scanExpired();
    c.scanExpired();
    assert.equal(await c.nextTrigger(10_000), 'timeout');
    assert.equal(c.stats.timeouts, 1);
  });

  void test('with nothing asked, the longest wait gives timer', async () => {
    const { c } = setup();
    assert.equal(await c.nextTrigger(20), 'timer');
  });

  void test('nextTrigger is abortable and allows one waiter', async () => {
    const { c } = setup();
    const ac = new AbortController();
    const waiting = c.nextTrigger(10_000, ac.signal);
    await assert.rejects(c.nextTrigger(10_000), /already waiting/);
    ac.abort();
    await assert.rejects(waiting, { name: 'AbortError' });
    await assert.rejects(c.nextTrigger(10_000, ac.signal), { name: 'AbortError' });
  });

  void test('checkpointed() releases held primary output, drops the secondary and compares afresh', async () => {
    const { c, released } = setup();
    c.pushPrimary(pkt(1, 'A'));
    c.pushPrimary(pkt(2));
    c.pushSecondary(pkt(1, 'B'));
    c.pushSecondary(pkt(2));
    c.pushSecondary(pkt(3));
    assert.equal(await c.nextTrigger(10_000), 'miscompare');
    c.checkpointed();
    assert.deepEqual(released.map((r) => r.seq), [1, 2]);
    assert.equal(c.stats.discardedSecondary, 3);
    c.pushPrimary(pkt(3));
    c.pushSecondary(pkt(3));
    assert.deepEqual(released.map((r) => r.seq), [1, 2, 3]);
    assert.equal(await c.nextTrigger(20), 'timer');
  });

  void test('a checkpoint withdraws a request nobody collected', async () => {
    const { c } = setup();
    c.pushPrimary(pkt(1, 'A'));
    c.pushSecondary(pkt(1, 'B'));
    c.checkpointed();
    assert.equal(await c.nextTrigger(20), 'timer');
  });

  void test('full queues drop and count', () => {
    const { c } = setup({ maxQueueSize: 2 });
    for (let i = 1; i <= 5; i++) c.pushPrimary(pkt(i));
    c.pushSecondary(pkt(1, 'x'));
    for (let i = 2; i <= 4; i++) c.pushSecondary(pkt(i));
    assert.equal(c.stats.droppedPrimary, 3);
    assert.equal(c.stats.droppedSecondary, 2);
    assert.equal(c.stats.primaryQueued, 2);
  });

  void test('stop() rejects a waiter and ends the scan timer', async () => {
    const { c } = setup();
    c.start();
    const waiting = c.nextTrigger(10_000);
    c.stop();
    await assert.rejects(waiting, /stopped/);
  });
});
