// xl's line format and the messages of xen-colo.md §3.3, with and without -T, with libxl's file:line:func prefix,
// and hostile input: overlong lines, control characters, near misses.

import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { MAX_XL_LINE, classifyXlLine, parseXlLine } from './xl-log-line.js';

const kind = (line: string) => classifyXlLine(parseXlLine(line));

describe('xl log lines', () => {
  test('the parts of a line: -T stamp, pid, context, level, libxl function and domain', () => {
    const l = parseXlLine('[2025-03-01 12:00:07 UTC] [4242] libxl: error: libxl_colo_save.c:287:colo_suspend_primary_vm_done: Domain 5:cannot suspend primary vm');
    assert.deepEqual(l, { stamp: '2025-03-01 12:00:07 UTC', pid: 4242, context: 'libxl', level: 'error', func: 'colo_suspend_primary_vm_done', domid: 5, text: 'cannot suspend primary vm' });
    assert.deepEqual(parseXlLine('xc: info: All records buffered'), { context: 'xc', level: 'info', text: 'All records buffered' });
    assert.deepEqual(parseXlLine('COLO: Backup failed? resuming domain at primary.'), { text: 'COLO: Backup failed? resuming domain at primary.' });
  });

  test('each message of §3.3 becomes its event', () => {
    assert.deepEqual(kind('Saving to migration stream new xl format (info 0x3/0x0/1589)'), { kind: 'stream-started' });
    assert.deepEqual(kind('migration target: Ready to receive domain.'), { kind: 'receiver-ready' });
    assert.deepEqual(kind('xc: progress: Frames iteration 2: 1024/32768  3%'), { kind: 'live-progress', iteration: 2, done: 1024, total: 32768 });
    assert.deepEqual(kind('xc: progress: Domain now suspended: 0/0 0%'), { kind: 'suspended' });
    assert.deepEqual(kind('xc: progress: Checkpointed save: 1234/1234  100%'), { kind: 'checkpointed', pages: 1234 });
    assert.deepEqual(kind('xc: info: All records buffered'), { kind: 'secondary-buffered' });
    assert.deepEqual(kind('xc: info: All records processed'), { kind: 'secondary-processed' });
    assert.deepEqual(kind('xc: info: COLO Failover'), { kind: 'secondary-failover' });
    assert.deepEqual(kind('libxl: info: libxl_colo_restore.c:702:libxl__colo_restore_teardown: Domain 7:failover'), { kind: 'secondary-teardown', failover: true });
    assert.deepEqual(kind('libxl: info: libxl_colo_restore.c:702:libxl__colo_restore_teardown: Domain 7:colo fails'), { kind: 'secondary-teardown', failover: false });
    assert.deepEqual(kind('migration target: COLO Failover for domain 7'), { kind: 'takeover-complete', domid: 7 });
    assert.deepEqual(kind('libxl: warning: libxl_colo_save.c:180:libxl__colo_save_teardown: Domain 5:COLO: Domain suspend terminated with rc -3, teardown COLO devices...'), { kind: 'primary-teardown', rc: -3 });
    assert.deepEqual(kind('COLO: Primary domain has been destroyed.'), { kind: 'exit-reason', reason: 'primary-destroyed' });
    assert.deepEqual(kind('Remus: Primary domain has been destroyed.'), { kind: 'exit-reason', reason: 'primary-destroyed' });
    assert.deepEqual(kind('Remus: Backup failed? resuming domain at primary.'), { kind: 'exit-reason', reason: 'backup-failed' });
    assert.deepEqual(kind('Other: Backup failed? resuming domain at primary.'), { kind: 'unknown' });
    assert.deepEqual(kind('Failed to suspend domain at primary.'), { kind: 'exit-reason', reason: 'suspend-failed' });
    assert.deepEqual(kind('libxl: debug: libxl_stream_read.c:362:stream_header_done: Record: 5, length 4'), { kind: 'record', type: 5, length: 4 });
    assert.deepEqual(kind('libxl: error: libxl_colo_save.c:612:colo_common_read_stream_done: Domain 5:invalid section: 1, expected: 2'), { kind: 'error', text: 'invalid section: 1, expected: 2' });
  });

  test('unknown and hostile lines are unknown or other, never an exception; overlong lines are cut', () => {
    for (const line of ['', 'garbage', 'a\rb', 'xc: info: x\u2028y', '\x1b]0;pwned\x07', 'xc: info: All records bufferedX', 'Checkpointed save: 1/1', '[pid] xc: info: x', 'x'.repeat(1_000_000)]) {
      const e = kind(line);
      assert.ok(e.kind === 'unknown' || e.kind === 'other', `${JSON.stringify(line.slice(0, 40))} → ${e.kind}`);
    }
    // A CR inside an error line is part of its text: still an error, in full, not an exception.
    assert.deepEqual(kind('libxl: error: f.c:1:g: Domain 1:bad\rline'), { kind: 'error', text: 'bad\rline' });
    assert.equal(parseXlLine('y'.repeat(MAX_XL_LINE * 3)).text.length, MAX_XL_LINE);
  });
});
