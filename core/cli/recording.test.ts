// The recording's size report and its limit: the meter's lines (changes only, in steps or once a second on a
// terminal) over a real file, and the cut back to a checkpoint or record boundary over real xl stream files,
// read back by `stream inspect` as a child process.

import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { closeSync, mkdtempSync, openSync, rmSync, statSync, writeFileSync, writeSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';

import { LibxlRecord } from '../stream/index.js';
import { forwardStream } from '../stream/test-support/fixtures.js';
import { RecordingMeter, cutToLimit } from './recording.js';
import { runCli, show } from './test-support/run-cli.js';

const MiB = 1024 ** 2;
let tmp = '';
before(() => {
  tmp = mkdtempSync(path.join(os.tmpdir(), 'colo-recording-test-'));
});
after(() => {
  if (tmp) rmSync(tmp, { recursive: true, force: true });
});

function meterOn(file: string, options: { limitBytes?: number; tty: boolean }): { meter: RecordingMeter; lines: string[]; limits: () => number; grow: (bytes: number) => void; close: () => void } {
  const fd = openSync(file, 'w');
  const lines: string[] = [];
  let limits = 0;
  const meter = new RecordingMeter({ fd, path: file, ...options, say: (l) => lines.push(l), onLimit: () => limits++ });
  return {
    meter,
    lines,
    limits: () => limits,
    grow: (bytes) => {
      writeSync(fd, Buffer.alloc(bytes, 1));
    },
    close: () => closeSync(fd),
  };
}

void describe('RecordingMeter', () => {
  void test('with a limit, not on a terminal: a line per tenth of the limit crossed, then one for the limit, then quiet', () => {
    const m = meterOn(path.join(tmp, 'steps.xl'), { limitBytes: 10 * MiB, tty: false });
    try {
      m.meter.poll(0);
      assert.deepEqual(m.lines, [], 'nothing written, nothing said');
      m.grow(0.5 * MiB);
      m.meter.poll(100);
      assert.deepEqual(m.lines, [], 'less than a tenth of the limit');
      m.grow(0.7 * MiB);
      m.meter.poll(200);
      m.meter.poll(300);
      assert.equal(m.lines.length, 1, `once per step, not per poll: ${m.lines.join(' / ')}`);
      assert.match(m.lines[0]!, /^recording: 1\.2 MiB written to .*steps\.xl \(limit 10\.0 MiB\)$/);
      m.grow(2 * MiB);
      m.meter.poll(400);
      assert.equal(m.lines.length, 2, 'two steps crossed at once is one line');
      assert.match(m.lines[1]!, /3\.2 MiB written/);
      assert.equal(m.limits(), 0);
      m.grow(7 * MiB);
      m.meter.poll(500);
      assert.equal(m.limits(), 1, 'reaching the limit stops the run');
      assert.match(m.lines.at(-1)!, /^recording: .*steps\.xl reached the 10\.0 MiB limit \(--record-limit\); stopping the run$/);
      m.grow(MiB);
      m.meter.poll(600);
      assert.equal(m.limits(), 1, 'once');
      assert.equal(m.lines.length, 3, `nothing more after the limit: ${m.lines.join(' / ')}`);
    } finally {
      m.close();
    }
  });

  void test('without a limit, not on a terminal: a line per 64 MiB', () => {
    const m = meterOn(path.join(tmp, 'nolimit.xl'), { tty: false });
    try {
      m.grow(63 * MiB);
      m.meter.poll(0);
      assert.deepEqual(m.lines, []);
      m.grow(2 * MiB);
      m.meter.poll(1);
      assert.deepEqual(m.lines, [`recording: 65.0 MiB written to ${path.join(tmp, 'nolimit.xl')}`]);
    } finally {
      m.close();
    }
  });

  void test('on a terminal: at most a line a second, and only when the size changed', () => {
    const m = meterOn(path.join(tmp, 'tty.xl'), { tty: true });
    try {
      m.grow(1000);
      m.meter.poll(0);
      assert.equal(m.lines.length, 1);
      m.grow(1000);
      m.meter.poll(500);
      assert.equal(m.lines.length, 1, 'not within the second');
      m.meter.poll(1000);
      assert.equal(m.lines.length, 2, 'a second later, the new size');
      m.meter.poll(2500);
      assert.equal(m.lines.length, 2, 'unchanged size: nothing');
    } finally {
      m.close();
    }
  });
});

void describe('cutToLimit', () => {
  const stream = forwardStream({ mode: 'colo', cycles: 4, pages: 16 });
  const bytes = stream.bytes();
  const ends = (pred: (p: (typeof stream.parts)[number]) => boolean): number[] => stream.parts.filter(pred).map((p) => p.offset + p.wireLength);
  const checkpointEnds = ends((p) => p.kind === 'record' && p.layer === 'libxl' && p.type === LibxlRecord.CHECKPOINT_END);
  const partEnds = ends(() => true);

  void test('cuts back to the last complete checkpoint that fits; stream inspect reads what is left', async () => {
    assert.equal(checkpointEnds.length, 4, 'fixture: four checkpoints');
    const file = path.join(tmp, 'cut-checkpoint.xl');
    writeFileSync(file, bytes);
    const limit = checkpointEnds[2]! + 100; // inside checkpoint 3
    const cut = await cutToLimit(file, limit);
    assert.deepEqual(cut, { bytes: checkpointEnds[2], checkpoints: 3, atCheckpoint: true });
    assert.equal(statSync(file).size, checkpointEnds[2]);
    const r = await runCli(['stream', 'inspect', file]);
    assert.equal(r.code, 0, show(r));
    assert.match(r.stdout, new RegExp(`^xl stream, ${checkpointEnds[2]} bytes, \\d+ records, 3 complete checkpoints, .*ends between checkpoints`, 'm'), show(r));
  });

  void test('a limit exactly at a checkpoint\'s end keeps that checkpoint', async () => {
    const file = path.join(tmp, 'cut-exact.xl');
    writeFileSync(file, bytes);
    assert.equal((await cutToLimit(file, checkpointEnds[1]!)).bytes, checkpointEnds[1]);
  });

  void test('inside the initial copy: cuts back to the last whole record, and says there is no complete checkpoint', async () => {
    const file = path.join(tmp, 'cut-record.xl');
    writeFileSync(file, bytes);
    const limit = Math.floor(checkpointEnds[0]! * 0.7);
    const expected = Math.max(...partEnds.filter((e) => e <= limit));
    const cut = await cutToLimit(file, limit);
    assert.deepEqual(cut, { bytes: expected, checkpoints: 0, atCheckpoint: false });
    assert.equal(statSync(file).size, expected);
    const r = await runCli(['stream', 'inspect', file]);
    assert.equal(r.code, 0, `a file cut at a record boundary must read without error: ${show(r)}`);
    assert.match(r.stdout, /^checkpoint 0 incomplete: .*a secondary would discard it/m, show(r));
    assert.match(r.stdout, new RegExp(`^xl stream, ${expected} bytes, \\d+ records, 0 complete checkpoints`, 'm'), show(r));
  });
});
