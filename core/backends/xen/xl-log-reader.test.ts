// The log reader gives, for every line, the event the general parser gives and the offset just past it, however the
// bytes are cut into chunks; it holds at most MAX_XL_LINE bytes of an unfinished line.

import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { XlLogReader } from './xl-log-reader.js';
import type { XlEvent } from './xl-log-line.js';

interface Line {
  event: XlEvent;
  end: number;
  text: string;
}
import { MAX_XL_LINE, classifyXlLine, parseXlLine } from './xl-log-line.js';

const CORPUS = [
  'xc: progress: Domain now suspended: 0/0 0%',
  'xc: progress: Domain now suspended',
  'xc: detail: Domain now suspended: 0/0 0%',
  'xc: progress: Checkpointed save: 1234/1234  100%',
  'xc: progress: Checkpointed save: 7/',
  'xc: progress: Checkpointed save: /7',
  'xc: progress: Checkpointed save: 12345678901234567890/1',
  'xc: progress: Checkpointed save: 5/5\r',
  'xc: info: All records buffered',
  'xc: info: All records processed',
  'xc: info: All records bufferedX',
  'xc: info: All records buffered\r',
  'xc: info: All records processe',
  'xc: warning: All records buffered',
  'libxl: debug: libxl_stream_read.c:812:stream_record_header_done: Domain 7:Record: 5, length 4',
  'libxl: debug: libxl_stream_read.c:812:stream_record_header_done: Record: 15, length 1032',
  'libxl: debug: libxl_stream_read.c:812:stream_record_header_done: Domain 7:Record: 5, length 4 trailing',
  'libxl: debug: libxl_stream_read.c:812:stream_record_header_done: Domain 7:Record: 5, length 4\rmore',
  'libxl: debug: libxl_stream_read.c:x:f: Record: 5, length 4',
  'libxl: debug: a.c:1:f: Domain :Record: 5, length 4',
  'libxl: debug: .c:1:f: Record: 5, length 4',
  'libxl: error: libxl_colo_save.c:612:colo_common_read_stream_done: Domain 5:reading data fails',
  'libxl: warning: libxl_colo_save.c:180:libxl__colo_save_teardown: Domain 5:COLO: Domain suspend terminated with rc -3, teardown COLO devices...',
  'COLO: Backup failed? resuming domain at primary.',
  'migration target: COLO Failover for domain 7',
  '[2026-12-06 19:00:00 UTC] [42] xc: info: All records buffered',
  'xc: progress: Frames iteration 1: 100/2048  4%',
  'garbage \u00e9\u2028 x',
  '',
  'x',
  'l',
];

function readInto(reader: XlLogReader, chunk: Buffer, out: Line[]): void {
  reader.push(chunk, (event, end) => out.push({ event, end, text: reader.lineText() }));
}

function readAll(text: string, cut: (bytes: Buffer) => Buffer[]): Line[] {
  const reader = new XlLogReader();
  const out: Line[] = [];
  for (const chunk of cut(Buffer.from(text, 'utf8'))) readInto(reader, chunk, out);
  return out;
}

const whole = (b: Buffer): Buffer[] => [b];
const everyByte = (b: Buffer): Buffer[] => Array.from({ length: b.length }, (_, i) => b.subarray(i, i + 1));

describe('xl log reader', () => {
  test('every line gets the event of the general parser, whole or cut at any byte, first seen or recurring', () => {
    // Three rounds: the first reads each line, the others meet lines already seen (and their near misses).
    const rounds = [...CORPUS, ...CORPUS, ...CORPUS];
    const text = rounds.join('\n') + '\n';
    for (const cut of [whole, everyByte, (b: Buffer) => [b.subarray(0, 100), b.subarray(100, 101), b.subarray(101)]]) {
      const lines = readAll(text, cut);
      assert.equal(lines.length, rounds.length);
      lines.forEach((l, i) => {
        assert.deepEqual(l.event, classifyXlLine(parseXlLine(rounds[i]!)), JSON.stringify(rounds[i]));
        assert.equal(l.text, rounds[i]);
      });
    }
  });

  test('a COLO log read as runs of known lines: every event, offset and text is the general parser\'s, near misses included', () => {
    const record = (len: number): string => `libxl: debug: libxl_stream_read.c:279:stream_record_header_done: Domain 7:Record: 5, length ${len}`;
    const lines: string[] = [];
    for (let seq = 0; seq < 400; seq++) {
      lines.push('xc: progress: Domain now suspended: 0/0 0%', `xc: progress: Checkpointed save: ${seq * 7 % 100}/${seq * 7 % 100}  100%`);
      lines.push('xc: info: All records buffered', 'xc: info: All records processed');
      // Now and then the run differs: another record length, a line inside it, a line missing, a CR.
      if (seq % 37 === 5) lines.push(record(8), record(4));
      else if (seq % 41 === 7) lines.push(record(4), 'libxl: warning: libxl_colo_proxy.c:1:f: Domain 7:late', record(4));
      else if (seq % 43 === 9) lines.push(record(4));
      else if (seq % 47 === 11) lines.push(record(4) + '\r', record(4));
      else lines.push(record(4), record(4));
    }
    const text = lines.join('\n') + '\n';
    const bytes = Buffer.from(text);
    // Cut at every size from 1 byte to whole, and at pseudo-random places.
    let seed = 7;
    const random = (n: number): number => (seed = (seed * 1103515245 + 12345) % 2147483648) % n;
    const cuts: ((b: Buffer) => Buffer[])[] = [whole, (b) => b.length > 0 ? [b.subarray(0, 1), b.subarray(1)] : [b]];
    for (const size of [7, 64, 333, 4096]) cuts.push((b) => Array.from({ length: Math.ceil(b.length / size) }, (_, i) => b.subarray(i * size, (i + 1) * size)));
    cuts.push((b) => {
      const out: Buffer[] = [];
      for (let at = 0; at < b.length;) {
        const n = 1 + random(700);
        out.push(b.subarray(at, at + n));
        at += n;
      }
      return out;
    });
    const expected = lines.map((l) => classifyXlLine(parseXlLine(l)));
    for (const cut of cuts) {
      const got = readAll(text, cut);
      assert.equal(got.length, lines.length);
      let end = 0;
      got.forEach((l, i) => {
        end += Buffer.byteLength(lines[i]!) + 1;
        assert.deepEqual(l.event, expected[i], `line ${i}: ${JSON.stringify(lines[i])}`);
        assert.equal(l.text, lines[i]);
        assert.equal(l.end, end);
      });
    }
    assert.equal(bytes.length, Buffer.byteLength(text));
  });

  test('each line carries the byte offset just past it; an unfinished line waits and is not counted', () => {
    const text = 'xc: info: All records buffered\nCOLO: \u00e9t\u00e9\nxc: info: All rec';
    const reader = new XlLogReader(1000);
    const ends: number[] = [];
    reader.push(Buffer.from(text, 'utf8'), (_e, end) => ends.push(end));
    const first = Buffer.byteLength('xc: info: All records buffered\n');
    const second = first + Buffer.byteLength('COLO: \u00e9t\u00e9\n');
    assert.deepEqual(ends, [1000 + first, 1000 + second]);
    assert.equal(reader.resumeOffset, 1000 + second);
    assert.equal(reader.pendingBytes, Buffer.byteLength('xc: info: All rec'));
    const events: string[] = [];
    reader.push(Buffer.from('ords processed\n'), (e) => events.push(e.kind));
    assert.deepEqual(events, ['secondary-processed']);
    assert.equal(reader.pendingBytes, 0);
  });

  test('an overlong line is cut at MAX_XL_LINE and costs no more memory than that, in one chunk or many', () => {
    const long = 'E'.repeat(10 * 1024 * 1024);
    const text = `xc: info: All records buffered\n${long}\nxc: info: All records processed\n`;
    for (const cut of [whole, (b: Buffer) => Array.from({ length: Math.ceil(b.length / 65536) }, (_, i) => b.subarray(i * 65536, (i + 1) * 65536))]) {
      const reader = new XlLogReader();
      const lines: Line[] = [];
      let maxHeld = 0;
      for (const chunk of cut(Buffer.from(text))) {
        readInto(reader, chunk, lines);
        maxHeld = Math.max(maxHeld, reader.heldBytes);
      }
      assert.deepEqual(lines.map((l) => l.event.kind), ['secondary-buffered', 'unknown', 'secondary-processed']);
      assert.equal(lines[1]!.text.length, MAX_XL_LINE);
      assert.equal(lines[2]!.end, Buffer.byteLength(text));
      assert.ok(maxHeld <= MAX_XL_LINE, `held ${maxHeld} bytes of an unfinished line`);
    }
  });
});
