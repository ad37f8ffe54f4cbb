import { test, describe } from 'node:test';
import assert from 'node:assert/strict';
import { once } from 'node:events';
import { LINK_PRESETS, LinkCutError, LinkModel, linkPresetNames } from './link.js';

/** Writes `total` bytes in `chunk`-sized writes, honouring backpressure; resolves with what came out. */
async function pump(link: LinkModel, total: number, chunk = 64 * 1024): Promise<Buffer> {
  const received: Buffer[] = [];
  link.on('data', (b: Buffer) => received.push(b));
  const ended = once(link, 'end');
  for (let sent = 0; sent < total; sent += chunk) {
    const piece = Buffer.alloc(Math.min(chunk, total - sent), sent / chunk);
    if (!link.write(piece)) await once(link, 'drain');
  }
  link.end();
  await ended;
  return Buffer.concat(received);
}

void describe('LinkModel', () => {
  void test('paces 1 MB at 8 Mbit/s to about a second, bytes intact', async () => {
    const link = new LinkModel({ bitsPerSecond: 8e6, latencyMs: 0 });
    const t0 = performance.now();
    const out = await pump(link, 1_000_000);
    const elapsed = performance.now() - t0;
    // Lower bound only: a busy machine can make it slower, never faster (one 16 KiB burst of credit aside).
    assert.ok(elapsed >= 900, `took ${elapsed.toFixed(0)} ms`);
    assert.equal(out.length, 1_000_000);
    assert.equal(out[70_000], 1);
    assert.equal(link.bytesDelivered, 1_000_000);
  });

  void test('1 GbE keeps its wire speed despite millisecond timers', async () => {
    const link = new LinkModel('1gbe');
    const t0 = performance.now();
    const out = await pump(link, 12_500_000, 256 * 1024);
    const elapsed = performance.now() - t0;
    assert.equal(out.length, 12_500_000);
    // 100 ms on the wire; the upper bound is 15× loose and only catches pacing that stalls per write.
    assert.ok(elapsed >= 90 && elapsed < 1500, `took ${elapsed.toFixed(0)} ms`);
  });

  void test('unlimited passes the very same buffers straight through', () => {
    const link = new LinkModel('unlimited');
    const sent = [Buffer.from('abc'), Buffer.from('defg')];
    const seen: Buffer[] = [];
    link.on('data', (b: Buffer) => seen.push(b));
    for (const b of sent) link.write(b);
    assert.equal(seen.length, 2); // synchronously: no timer in the path
    assert.ok(seen[0] === sent[0] && seen[1] === sent[1]);
  });

  void test('latency delays delivery without pacing', async () => {
    const link = new LinkModel({ bitsPerSecond: Infinity, latencyMs: 30 });
    const t0 = performance.now();
    link.end(Buffer.from('x'));
    const [data] = (await once(link, 'data')) as [Buffer];
    assert.equal(data.toString(), 'x');
    assert.ok(performance.now() - t0 >= 25);
  });

  void test('bandwidth can drop at run time', async () => {
    const link = new LinkModel('10gbe');
    link.setBandwidth(4e6);
    const t0 = performance.now();
    await pump(link, 120_000);
    assert.ok(performance.now() - t0 >= 180);
    assert.throws(() => link.setBandwidth(0), RangeError);
  });

  void test('cut() destroys the stream with a LinkCutError and loses what was in flight', async () => {
    const link = new LinkModel({ bitsPerSecond: 1e6, latencyMs: 0 });
    let delivered = 0;
    link.on('data', (b: Buffer) => (delivered += b.length));
    link.write(Buffer.alloc(100_000));
    const failed = once(link, 'error');
    link.cut('cable pulled');
    const [err] = (await failed) as [LinkCutError];
    assert.ok(err instanceof LinkCutError);
    assert.equal(err.code, 'ELINKCUT');
    assert.ok(link.destroyed);
    assert.ok(delivered < 100_000);
  });

  void test('presets are the named Ethernet speeds', () => {
    assert.deepEqual(linkPresetNames, ['1gbe', '10gbe', 'unlimited']);
    assert.equal(LINK_PRESETS['1gbe'].bitsPerSecond, 1e9);
    assert.equal(LINK_PRESETS['10gbe'].bitsPerSecond, 1e10);
    assert.equal(LINK_PRESETS.unlimited.bitsPerSecond, Infinity);
  });
});
