// The demo's summary over synthetic cycle records: every cycle that started counts, whatever its outcome, with
// its real pause; a checkpoint still open at the end counts with its pause so far; the run's ending (and exit
// status) follows split brain, a frozen guest and the error state.

import { describe, test } from 'node:test';
import assert from 'node:assert/strict';

import type { CycleOutcome, CycleRecord, ProtectionState } from '../colo/types.js';
import { CycleLog, EXIT, FROZEN_THRESHOLD_MS } from './cycle-summary.js';

const T0 = Date.now();

function cycle(seq: number, pauseMs: number, outcome: CycleOutcome = 'committed', startedAt = T0 + seq * 1000): CycleRecord {
  return {
    seq,
    mode: 'colo',
    trigger: seq === 0 ? 'initial' : 'miscompare',
    startedAt,
    phases: [{ name: 'suspend', startMs: 0, durationMs: pauseMs }],
    primaryPauseMs: pauseMs,
    dirtyPages: 10,
    pagesSent: 10,
    bytesSent: 41_000 + seq,
    outcome,
    provenance: 'measured',
  };
}

const stopped: ProtectionState = { state: 'stopped', since: T0, reasonCode: 'stopped-by-admin' };

void describe('CycleLog.summarise', () => {
  void test('counts committed, failed and aborted cycles, and takes p99 and max over all of them', () => {
    const log = new CycleLog();
    log.cycle(cycle(0, 900));
    for (let seq = 1; seq <= 98; seq++) log.cycle(cycle(seq, 20 + (seq % 7)));
    log.cycle(cycle(99, 3_400, 'failed'));
    log.cycle(cycle(100, 8_800, 'aborted'));
    const s = log.summarise([], stopped, 0);
    assert.equal(s.cycles, 101);
    assert.deepEqual(s.outcomes, { committed: 99, failed: 1, aborted: 1 });
    assert.deepEqual(s.triggers, { initial: 1, miscompare: 100 });
    // 100 steady-state pauses: nearest-rank p99 is the 99th smallest, the failed 3.4 s one; max the aborted one
    assert.equal(s.primaryPauseMs.max, 8_800, 'the aborted cycle\'s real pause is the max');
    assert.equal(s.primaryPauseMs.p99, 3_400, 'the failed cycle\'s real pause is within the p99');
    assert.ok(s.primaryPauseMs.p50 >= 20 && s.primaryPauseMs.p50 <= 26, String(s.primaryPauseMs.p50));
    assert.deepEqual(s.longestPause, { seq: 100, outcome: 'aborted', ms: 8_800 });
    assert.equal(s.openAtEnd, null);
    assert.equal(s.bytesSent, Array.from({ length: 101 }, (_, i) => 41_000 + i).reduce((a, b) => a + b), 'bytes of every outcome count');
    assert.equal(s.ending, 'ok');
    assert.equal(s.exitCode, 0);
  });

  void test('the initial copy is not a steady-state pause', () => {
    const log = new CycleLog();
    log.cycle(cycle(0, 900));
    log.cycle(cycle(1, 30));
    const s = log.summarise([], stopped, 0);
    assert.equal(s.primaryPauseMs.max, 30);
    assert.deepEqual(s.outcomes, { committed: 2, failed: 0, aborted: 0 });
  });

  void test('a checkpoint still open at the end counts with its pause so far, and says so', () => {
    const log = new CycleLog();
    log.cycle(cycle(0, 900));
    log.cycle(cycle(1, 40));
    log.cycle(cycle(2, 104));
    log.started({ seq: 3, trigger: 'miscompare', startedAt: T0 }, 1_000, T0);
    const s = log.summarise([], stopped, 1_000 + 8_800);
    assert.equal(s.primaryPauseMs.max, 8_800, `the open pause must not hide behind the 104 ms max: ${JSON.stringify(s.primaryPauseMs)}`);
    assert.equal(s.primaryPauseMs.p99, 8_800);
    assert.deepEqual(s.openAtEnd, { seq: 3, trigger: 'miscompare', pausedMs: 8_800 });
    assert.deepEqual(s.longestPause, { seq: 3, outcome: 'open', ms: 8_800 });
    assert.equal(s.cycles, 3, 'an open checkpoint is not a reported cycle');
  });

  void test('the cycle that arrives for an open checkpoint closes it, so it is not counted twice', () => {
    const log = new CycleLog();
    log.cycle(cycle(0, 900));
    log.started({ seq: 1, trigger: 'miscompare', startedAt: T0 }, 0, T0);
    assert.equal(log.openPause(2_000)?.pausedMs, 2_000);
    log.cycle(cycle(1, 9_100, 'aborted'));
    assert.equal(log.openPause(10_000), undefined);
    const s = log.summarise([], stopped, 10_000);
    assert.equal(s.openAtEnd, null);
    assert.deepEqual(s.primaryPauseMs, { p50: 9_100, p99: 9_100, max: 9_100 });
  });
});

void describe('CycleLog: frozen guest and the run\'s ending', () => {
  void test('an open checkpoint is frozen from the threshold on (5 s, or 10× the recent p99 if longer)', () => {
    const log = new CycleLog();
    log.cycle(cycle(0, 900));
    for (let seq = 1; seq <= 20; seq++) log.cycle(cycle(seq, 30, 'committed', T0 + seq * 100));
    log.started({ seq: 21, trigger: 'miscompare', startedAt: T0 + 2_200 }, 0);
    assert.equal(log.frozen(FROZEN_THRESHOLD_MS - 1), undefined, 'not frozen just before the threshold');
    assert.deepEqual(log.frozen(FROZEN_THRESHOLD_MS), { seq: 21, pausedMs: FROZEN_THRESHOLD_MS, thresholdMs: FROZEN_THRESHOLD_MS });

    const slow = new CycleLog();
    for (let seq = 1; seq <= 20; seq++) slow.cycle(cycle(seq, 800, 'committed', T0 + seq * 1000));
    slow.started({ seq: 21, trigger: 'miscompare', startedAt: T0 + 21_000 }, 0);
    assert.equal(slow.frozenThresholdMs(T0 + 21_000), 8_000, '10 × a p99 of 800 ms');
    assert.equal(slow.frozen(7_999), undefined);
    assert.equal(slow.frozen(8_000)?.thresholdMs, 8_000);
  });

  void test('ending frozen: exit status 4, with the pause and threshold', () => {
    const log = new CycleLog();
    log.cycle(cycle(0, 900));
    log.cycle(cycle(1, 25));
    log.started({ seq: 2, trigger: 'miscompare', startedAt: T0 }, 0, T0);
    log.markEnd(9_000);
    // tearing the pair down ends the open checkpoint: it arrives aborted, with its real pause
    log.cycle(cycle(2, 9_050, 'aborted'));
    const s = log.summarise([], stopped, 9_100);
    assert.equal(s.ending, 'guest-frozen');
    assert.equal(s.exitCode, EXIT.guestFrozen);
    assert.equal(s.exitCode, 4);
    assert.deepEqual(s.frozen, { seq: 2, pausedMs: 9_000, thresholdMs: FROZEN_THRESHOLD_MS });
    assert.equal(s.primaryPauseMs.max, 9_050);
  });

  void test('a long pause that ended before the run did is not a frozen ending', () => {
    const log = new CycleLog();
    log.started({ seq: 1, trigger: 'miscompare', startedAt: T0 }, 0, T0);
    log.cycle(cycle(1, 6_000, 'committed'));
    log.markEnd(7_000);
    const s = log.summarise([], stopped, 7_000);
    assert.equal(s.ending, 'ok');
    assert.equal(s.exitCode, 0);
    assert.equal(s.frozen, undefined);
  });

  void test('split brain is exit status 3; another error state 5; failed over or unprotected 0', () => {
    const cases: Array<[ProtectionState, string, number]> = [
      [{ state: 'error', since: T0, reasonCode: 'split-brain', reason: 'Split brain' }, 'split-brain', 3],
      [{ state: 'error', since: T0, reasonCode: 'primary-lost' }, 'pair-error', 5],
      [{ state: 'failed-over', since: T0, reasonCode: 'primary-lost' }, 'ok', 0],
      [{ state: 'unprotected', since: T0, reasonCode: 'secondary-lost' }, 'ok', 0],
      [stopped, 'ok', 0],
    ];
    for (const [state, ending, code] of cases) {
      const s = new CycleLog().summarise([], state, 0);
      assert.equal(s.ending, ending, JSON.stringify(state));
      assert.equal(s.exitCode, code, JSON.stringify(state));
    }
  });
});
