// However the bytes are cut into chunks, the decoder must produce exactly the same items; and the byte queue under
// it must hand out the right bytes across chunk boundaries.

import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { LibxcRecord, StreamDecoder, type StreamItem, type StreamKind, type DecoderOptions } from './index.js';
import { ByteQueue } from './byte-queue.js';
import { backChannel, cat, decodeAll, forwardStream, matchesLayout, randomBytes, randomSplit, snapshot, u64le } from './test-support/fixtures.js';

function snapshots(items: readonly StreamItem[]): Array<Record<string, unknown>> {
  return items.map(snapshot);
}

/** One byte at a time, draining after each; checks that each item comes out the moment its last byte arrives. */
function decodeByteByByte(kind: StreamKind, bytes: Buffer, options?: DecoderOptions): StreamItem[] {
  const d = new StreamDecoder(kind, options);
  const items: StreamItem[] = [];
  for (let i = 0; i < bytes.length; i++) {
    d.push(bytes.subarray(i, i + 1));
    for (;;) {
      const before = d.buffered;
      const item = d.next();
      if (!item) {
        assert.ok(d.isDone || d.needed > d.buffered, `at byte ${i}: no item, yet needed ${d.needed} <= buffered ${d.buffered}`);
        break;
      }
      assert.equal(before, item.wireLength, `item at ${item.offset} was held back after its last byte arrived`);
      items.push(item);
    }
  }
  d.end();
  assert.equal(d.next(), undefined);
  return items;
}

describe('chunking', () => {
  const colo = forwardStream({ mode: 'colo', cycles: 2, pages: 2, trailingNew: true });
  const coloBytes = colo.bytes();
  const whole = snapshots(decodeAll('xl', coloBytes).items);

  test('the one-chunk decode matches the layout', () => {
    assert.equal(matchesLayout(decodeAll('xl', coloBytes).items, colo.parts), undefined);
  });

  test('1-byte chunks give the same items as one chunk (COLO forward stream)', () => {
    assert.deepEqual(snapshots(decodeByteByByte('xl', coloBytes)), whole);
  });

  test('1-byte chunks: plain stream and back channel, both dirty-list layouts', () => {
    const plain = forwardStream({ mode: 'plain', pages: 1 }).bytes();
    assert.deepEqual(snapshots(decodeByteByByte('xl', plain)), snapshots(decodeAll('xl', plain).items));
    const back = backChannel(4).bytes();
    assert.deepEqual(snapshots(decodeByteByByte('back', back)), snapshots(decodeAll('back', back).items));
    const list = cat([Buffer.from([0x0f, 0, 0, 0, 16, 0, 0, 0]), Buffer.alloc(8), u64le(7n, 0xfffffffffffffn)]);
    const quirky = cat(Buffer.from('xl migration receiver ready, send binary domain data.\n', 'latin1'), list);
    const items = decodeByteByByte('back', quirky, { dirtyPfnListHeader: 16 });
    assert.deepEqual(snapshots(items), snapshots(decodeAll('back', quirky, { dirtyPfnListHeader: 16 }).items));
    assert.equal(items[1]!.kind === 'record' && items[1]!.type, LibxcRecord.CHECKPOINT_DIRTY_PFN_LIST);
  });

  test('random chunk sizes give the same items', () => {
    for (const [seed, max] of [[1, 2], [2, 7], [3, 64], [4, 999], [5, 4097], [6, 20000]] as const) {
      const chunks = randomSplit(coloBytes, seed, max);
      assert.deepEqual(snapshots(decodeAll('xl', chunks).items), whole, `seed ${seed}, chunks up to ${max}`);
    }
  });

  test('pushing everything before draining gives the same items', () => {
    const d = new StreamDecoder('xl');
    for (const c of randomSplit(coloBytes, 7, 300)) d.push(c);
    d.end();
    const items: StreamItem[] = [];
    for (let item = d.next(); item; item = d.next()) items.push(item);
    assert.deepEqual(snapshots(items), whole);
  });

  test('plain Uint8Array chunks and views into a larger buffer work like Buffers', () => {
    const backing = new Uint8Array(coloBytes.length + 100);
    backing.set(coloBytes, 50);
    const chunks: Uint8Array[] = [];
    for (let at = 0; at < coloBytes.length; at += 1500) {
      chunks.push(new Uint8Array(backing.buffer, 50 + at, Math.min(1500, coloBytes.length - at)));
    }
    chunks.splice(3, 0, new Uint8Array(0));
    assert.deepEqual(snapshots(decodeAll('xl', chunks).items), whole);
  });

  test('a record that arrives in one chunk is handed on without copying its body', () => {
    const d = new StreamDecoder('xl');
    d.push(coloBytes);
    d.end();
    let item = d.next();
    while (item && !(item.kind === 'record' && item.name === 'PAGE_DATA')) item = d.next();
    assert.ok(item?.kind === 'record');
    assert.equal(item.body.buffer, coloBytes.buffer);
  });
});

describe('ByteQueue', () => {
  test('peek does not consume; take consumes; reads inside one chunk are views', () => {
    const q = new ByteQueue();
    const a = Buffer.from('abcdef');
    q.push(a);
    q.push(Buffer.alloc(0));
    q.push(new Uint8Array([0x67, 0x68]));
    assert.equal(q.length, 8);
    assert.equal(q.peek(3).toString(), 'abc');
    assert.equal(q.length, 8);
    const t = q.take(2);
    assert.equal(t.toString(), 'ab');
    assert.equal(t.buffer, a.buffer);
    assert.equal(q.take(0).length, 0);
    assert.equal(q.peek(6).toString(), 'cdefgh');
    assert.equal(q.take(5).toString(), 'cdefg');
    assert.equal(q.length, 1);
    assert.equal(q.take(1).toString(), 'h');
    assert.equal(q.length, 0);
    q.push(Buffer.from('xyz'));
    assert.equal(q.take(3).toString(), 'xyz');
  });

  test('reading past the end is a RangeError', () => {
    const q = new ByteQueue();
    q.push(Buffer.from('ab'));
    q.push(Buffer.from('c'));
    assert.throws(() => q.take(4), RangeError);
    assert.throws(() => q.peek(4), RangeError);
    assert.equal(q.length, 3);
  });

  test('thousands of small chunks, taken in odd sizes, come out intact (across compaction)', () => {
    const data = randomBytes(50_000, 3);
    const q = new ByteQueue();
    const out: Buffer[] = [];
    let pushed = 0;
    let sizes = 1;
    let taken = 0;
    while (pushed < data.length || q.length > 0) {
      for (let k = 0; k < 7 && pushed < data.length; k++) {
        const n = Math.min(1 + ((pushed * 7) % 13), data.length - pushed);
        q.push(data.subarray(pushed, pushed + n));
        pushed += n;
      }
      const n = Math.min(q.length, (sizes++ % 37) + 1);
      if (n > 0) {
        assert.deepEqual(q.peek(n), data.subarray(taken, taken + n));
        out.push(Buffer.from(q.take(n)));
        taken += n;
      }
    }
    assert.deepEqual(Buffer.concat(out), data);
  });
});
