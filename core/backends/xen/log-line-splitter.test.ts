// The tail's line splitter: any chunking gives the same lines, a multi-byte character cut between chunks survives,
// a 10 MB line is cut without being buffered, and the offset is always where a restarted tail must begin.

import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { LogLineSplitter } from './log-line-splitter.js';
import { cycleLines, startLines } from './test-support/xl-log-fixture.js';
import { MAX_XL_LINE } from './xl-log-line.js';

const LOG = Buffer.from(`${[...startLines(), ...cycleLines(10), 'ünïcødé ✓ line', ...cycleLines(3)].join('\n')}\npartial line with no end`);

function chunks(buf: Buffer, sizes: number[]): Buffer[] {
  const out: Buffer[] = [];
  let i = 0;
  let k = 0;
  while (i < buf.length) {
    const n = sizes[k++ % sizes.length]!;
    out.push(buf.subarray(i, i + n));
    i += n;
  }
  return out;
}

describe('log line splitter', () => {
  test('one chunk, byte by byte, and odd sizes give the same lines; the partial last line waits', () => {
    const expected = LOG.toString('utf8').split('\n').slice(0, -1);
    for (const sizes of [[LOG.length], [1], [3, 7, 1, 13], [64, 2]]) {
      const s = new LogLineSplitter();
      const lines = chunks(LOG, sizes).flatMap((c) => s.push(c));
      assert.deepEqual(lines, expected, `sizes ${sizes.join(',')}`);
      assert.equal(s.offset, LOG.length - 'partial line with no end'.length);
    }
  });

  test('resuming at the saved offset reads every line once', () => {
    const s = new LogLineSplitter();
    const first = s.push(LOG.subarray(0, 200));
    const resumed = new LogLineSplitter(s.offset);
    const rest = resumed.push(LOG.subarray(s.offset));
    assert.deepEqual([...first, ...rest], LOG.toString('utf8').split('\n').slice(0, -1));
    assert.equal(resumed.offset, LOG.length - 'partial line with no end'.length);
  });

  test('a 10 MB line in 64 KiB chunks is cut to MAX_XL_LINE, counted, and the offset still counts every byte', () => {
    const big = Buffer.alloc(10 * 1024 * 1024, 0x41);
    const buf = Buffer.concat([Buffer.from('before\n'), big, Buffer.from('\nafter\n')]);
    const s = new LogLineSplitter(100);
    const lines = chunks(buf, [65536]).flatMap((c) => s.push(c));
    assert.deepEqual(lines.map((l) => l.length), [6, MAX_XL_LINE, 5]);
    assert.equal(s.overlongLines, 1);
    assert.equal(s.offset, 100 + buf.length);
  });
});
