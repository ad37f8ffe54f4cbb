// The cycle assembler against logs written to the per-cycle line contract: COLO with and without -vvv, Remus,
// garbage between the lines, each way a run ends, the overdue rule, and a run resumed from a saved state.

import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import type { CycleRecord, OpenCheckpoint, ProtectionState } from '../../colo/types.js';
import { CycleAssembler, type AssemblerState, estimateCheckpointBytes, initialAssemblerState } from './cycle-assembler.js';
import { backupFailedLines, cycleLines, primaryDestroyedLines, startLines } from './test-support/xl-log-fixture.js';
import { classifyXlLine, parseXlLine } from './xl-log-line.js';
import { XlLogReader } from './xl-log-reader.js';

interface Seen {
  states: ProtectionState[];
  opens: OpenCheckpoint[];
  cycles: CycleRecord[];
}

function rig(state: AssemblerState, stepMs = 10, start = 1_000_000): { a: CycleAssembler; seen: Seen; feed(lines: string[]): void; now(): number } {
  const seen: Seen = { states: [], opens: [], cycles: [] };
  const a = new CycleAssembler(state, { state: (s) => seen.states.push(s), checkpointStarted: (o) => seen.opens.push(o), cycle: (r) => seen.cycles.push(r) });
  let t = start;
  return {
    a,
    seen,
    now: () => t,
    feed(lines) {
      for (const raw of lines) {
        t += stepMs;
        a.line(classifyXlLine(parseXlLine(raw)), t);
      }
    },
  };
}

describe('cycle assembler', () => {
  test('COLO with -vvv: starting → syncing with progress → seq 0, 1, 2 committed; pause ends at SVM_READY', () => {
    const r = rig(initialAssemblerState('colo', true));
    // xl's stream header comes before libxl's COLO checks: it does not mean the guest is being sent.
    r.feed(startLines().slice(0, 2));
    assert.deepEqual([r.a.s.streamStarted, r.a.s.sending], [true, undefined]);
    r.feed(startLines().slice(2));
    assert.equal(r.a.s.sending, true);
    assert.equal(r.seen.states[0]!.state, 'syncing');
    assert.deepEqual(r.seen.states.at(-1)!.progress, { iteration: 2, pagesDone: 512, pagesTotal: 131072 });
    r.feed([...cycleLines(131072), ...cycleLines(40), ...cycleLines(7)]);
    assert.deepEqual(r.seen.opens.map((o) => [o.seq, o.trigger]), [[0, 'initial'], [1, 'timer'], [2, 'timer']]);
    assert.deepEqual(r.seen.cycles.map((c) => [c.seq, c.outcome, c.provenance, c.pagesSent]), [[0, 'committed', 'derived', 131072], [1, 'committed', 'derived', 40], [2, 'committed', 'derived', 7]]);
    const c = r.seen.cycles[1]!;
    // Lines 10 ms apart: suspended at 0, checkpointed 10, buffered 20, processed 30, SVM_READY 40, SVM_RESUMED 50.
    assert.equal(c.primaryPauseMs, 40);
    assert.deepEqual(c.phases, [
      { name: 'transfer', startMs: 0, durationMs: 10 },
      { name: 'svm-load', startMs: 20, durationMs: 10 },
      { name: 'resume', startMs: 40, durationMs: 10 },
    ]);
    assert.equal(c.bytesSent, estimateCheckpointBytes(40));
    assert.equal(c.startedAt, r.seen.opens[1]!.startedAt);
    assert.equal(r.seen.states.at(-1)!.state, 'protected');
    assert.equal(r.seen.states.filter((s) => s.state === 'protected').length, 1, 'protected once, after seq 0');
    assert.equal(r.a.s.lastCommittedSeq, 2);
  });

  test('COLO without -vvv: the first line after "All records processed" ends the pause', () => {
    const r = rig(initialAssemblerState('colo', false));
    r.feed([...startLines(), ...cycleLines(100, { verbose: false }), ...cycleLines(9, { verbose: false })]);
    assert.deepEqual(r.seen.cycles.map((c) => c.seq), [0]);
    // suspended 0, checkpointed 10, buffered 20, processed 30, then the next line (the next suspend) at 40.
    assert.equal(r.seen.cycles[0]!.primaryPauseMs, 40);
    assert.equal(r.seen.opens.length, 2);
    r.feed(['garbage']);
    assert.deepEqual(r.seen.cycles.map((c) => c.seq), [0, 1]);
  });

  test('Remus: no secondary lines, the cycle ends at Checkpointed save', () => {
    const r = rig(initialAssemblerState('remus', true));
    r.feed([...startLines({ mode: 'remus' }), ...cycleLines(500, { mode: 'remus' }), ...cycleLines(20, { mode: 'remus' })]);
    assert.deepEqual(r.seen.cycles.map((c) => [c.seq, c.mode, c.outcome, c.primaryPauseMs, c.pagesSent]), [[0, 'remus', 'committed', 10, 500], [1, 'remus', 'committed', 10, 20]]);
    assert.deepEqual(r.seen.cycles[0]!.phases, [{ name: 'transfer', startMs: 0, durationMs: 10 }]);
  });

  test('garbage and unknown lines between cycles are counted and change nothing', () => {
    const clean = rig(initialAssemblerState('colo', true));
    clean.feed([...startLines(), ...cycleLines(10), ...cycleLines(11)]);
    const dirty = rig(initialAssemblerState('colo', true), 5);
    const junk = ['', 'garbage', '\x1b]0;pwned\x07', 'xc: info: All records bufferedX', 'Checkpointed save: 1/1', 'z'.repeat(100_000), 'libxl: debug: libxl_stream_read.c:1:f: Record: 7, length 9'];
    const lines = [...startLines(), ...cycleLines(10), ...cycleLines(11)].flatMap((l, i) => [l, junk[i % junk.length]!]);
    dirty.feed(lines);
    assert.deepEqual(dirty.seen.cycles.map((c) => [c.seq, c.outcome, c.pagesSent]), clean.seen.cycles.map((c) => [c.seq, c.outcome, c.pagesSent]));
    assert.ok(dirty.a.s.unknownLines >= 4, `unknown lines counted: ${dirty.a.s.unknownLines}`);
    assert.equal(clean.a.s.unknownLines, startLines().filter((l) => classifyXlLine(parseXlLine(l)).kind === 'unknown').length);
  });

  test('primary destroyed mid-checkpoint: the open cycle failed, the exit reason and takeover are noted', () => {
    const r = rig(initialAssemblerState('colo', true));
    r.feed([...startLines(), ...cycleLines(10), ...cycleLines(5).slice(0, 2), ...primaryDestroyedLines()]);
    assert.deepEqual(r.seen.cycles.map((c) => [c.seq, c.outcome]), [[0, 'committed'], [1, 'failed']]);
    assert.equal(r.a.s.exitReason, 'primary-destroyed');
    assert.equal(r.a.s.teardownRc, -3);
    assert.equal(r.a.s.secondaryFailover, true);
    assert.equal(r.a.s.takeoverDomid, 6);
    assert.equal(r.a.s.lastCommittedSeq, 0);
  });

  test('backup failed between checkpoints: no cycle is invented; the error lines are kept in xl\'s words', () => {
    const r = rig(initialAssemblerState('colo', true));
    r.feed([...startLines(), ...cycleLines(10), ...cycleLines(3), ...backupFailedLines()]);
    assert.deepEqual(r.seen.cycles.map((c) => [c.seq, c.outcome]), [[0, 'committed'], [1, 'committed']]);
    assert.equal(r.a.s.exitReason, 'backup-failed');
    assert.deepEqual(r.a.s.errors, ['reading data fails']);
  });

  test('a checkpoint that fails while protected: degraded, naming it and xl\'s error, never the last "committed" again', () => {
    const r = rig(initialAssemblerState('colo', true));
    r.feed([...startLines(), ...cycleLines(10), ...cycleLines(3), ...cycleLines(3).slice(0, 2), ...backupFailedLines()]);
    assert.deepEqual(r.seen.cycles.map((c) => [c.seq, c.outcome]), [[0, 'committed'], [1, 'committed'], [2, 'failed']]);
    const last = r.seen.states.at(-1)!;
    assert.deepEqual([last.state, last.reasonCode], ['degraded', 'stream-error']);
    assert.equal(last.reason, 'Checkpoint 2 failed (reading data fails); the secondary may not hold checkpoint 2. Waiting for xl remus to end.');
  });

  test('the log ends mid-checkpoint (xl remus killed): end() closes it as failed, or aborted when the admin stopped', () => {
    for (const outcome of ['failed', 'aborted'] as const) {
      const r = rig(initialAssemblerState('colo', true));
      r.feed([...startLines(), ...cycleLines(10), 'xc: progress: Domain now suspended: 0/0 0%']);
      r.a.end(r.now() + 100, outcome);
      assert.deepEqual(r.seen.cycles.map((c) => [c.seq, c.outcome, c.primaryPauseMs]), [[0, 'committed', 40], [1, outcome, 100]]);
      assert.equal(r.a.s.phase, 'ended');
      r.feed(cycleLines(1));
      assert.equal(r.seen.cycles.length, 2, 'nothing after the end');
    }
  });

  test('a silent log while protected is checkpoint-overdue, and the next cycle clears it', () => {
    const r = rig(initialAssemblerState('colo', true));
    r.feed([...startLines(), ...cycleLines(10)]);
    r.a.tick(r.now() + 14_999, 15_000);
    assert.equal(r.seen.states.at(-1)!.state, 'protected');
    r.a.tick(r.now() + 15_000, 15_000);
    assert.deepEqual([r.seen.states.at(-1)!.state, r.seen.states.at(-1)!.reasonCode], ['degraded', 'checkpoint-overdue']);
    r.feed(cycleLines(4));
    assert.equal(r.seen.states.at(-1)!.state, 'protected');
  });

  test('resumed from a saved state (JSON round trip) mid-cycle: the cycles are those of one uninterrupted run', () => {
    const lines = [...startLines(), ...cycleLines(10), ...cycleLines(20), ...cycleLines(30), ...cycleLines(40)];
    const whole = rig(initialAssemblerState('colo', true));
    whole.feed(lines);
    for (const cut of [3, 12, 17, 21, 26]) {
      const first = rig(initialAssemblerState('colo', true));
      first.feed(lines.slice(0, cut));
      const saved = JSON.parse(JSON.stringify(first.a.s)) as AssemblerState;
      const second = rig(saved, 10, first.now());
      second.feed(lines.slice(cut));
      const all = [...first.seen.cycles, ...second.seen.cycles];
      assert.deepEqual(all, whole.seen.cycles, `cut at line ${cut}`);
    }
  });
});

describe('tail bytes → reader → assembler (what the backend runs)', () => {
  const LOG = Buffer.from(`${[...startLines(), ...cycleLines(10), 'ünïcødé ✓ garbage', ...cycleLines(20), 'Z'.repeat(10 * 1024 * 1024), ...cycleLines(30), ...cycleLines(40)].join('\n')}\nxc: progress: Domain now susp`);

  function readAll(chunkSizes: number[], from = 0, state = initialAssemblerState('colo', true)): { cycles: CycleRecord[]; offset: number; state: AssemblerState } {
    const cycles: CycleRecord[] = [];
    const a = new CycleAssembler(state, { state: () => {}, checkpointStarted: () => {}, cycle: (c) => cycles.push({ ...c, startedAt: 0 }) });
    const reader = new XlLogReader(from);
    let i = from;
    let k = 0;
    let t = 0;
    while (i < LOG.length) {
      const n = chunkSizes[k++ % chunkSizes.length]!;
      reader.push(LOG.subarray(i, i + n), (e) => a.line(e, (t += 10)));
      i += n;
    }
    return { cycles, offset: reader.resumeOffset, state: a.s };
  }

  test('any chunking (a 10 MB line, a UTF-8 character cut in two, a partial last line) gives the same cycles and offset', () => {
    const whole = readAll([LOG.length]);
    assert.deepEqual(whole.cycles.map((c) => [c.seq, c.outcome, c.pagesSent]), [[0, 'committed', 10], [1, 'committed', 20], [2, 'committed', 30], [3, 'committed', 40]]);
    assert.equal(whole.offset, LOG.length - 'xc: progress: Domain now susp'.length);
    for (const sizes of [[65536], [7, 1, 4093], [1 << 20, 3]]) {
      const r = readAll(sizes);
      assert.deepEqual(r.cycles.map((c) => [c.seq, c.pagesSent, c.primaryPauseMs >= 0]), whole.cycles.map((c) => [c.seq, c.pagesSent, true]), `chunks ${sizes.join(',')}`);
      assert.equal(r.offset, whole.offset);
      assert.ok(r.state.unknownLines >= 2);
    }
  });

  test('stopped at any offset and resumed there with the saved state: no cycle lost or counted twice', () => {
    const first = readAll([LOG.length]);
    for (const stopAt of [100, 900, 1500, LOG.length - 600]) {
      const part = { ...readAllUpTo(stopAt) };
      const saved = JSON.parse(JSON.stringify(part.state)) as AssemblerState;
      const rest = readAll([4096], part.offset, saved);
      assert.deepEqual([...part.cycles, ...rest.cycles].map((c) => c.seq), first.cycles.map((c) => c.seq), `stopped at ${stopAt}`);
    }
  });

  function readAllUpTo(stopAt: number): { cycles: CycleRecord[]; offset: number; state: AssemblerState } {
    const cycles: CycleRecord[] = [];
    const a = new CycleAssembler(initialAssemblerState('colo', true), { state: () => {}, checkpointStarted: () => {}, cycle: (c) => cycles.push(c) });
    const reader = new XlLogReader(0);
    reader.push(LOG.subarray(0, stopAt), (e) => a.line(e, 0));
    return { cycles, offset: reader.resumeOffset, state: a.s };
  }
});
