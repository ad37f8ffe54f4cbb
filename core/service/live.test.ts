// The in-memory side: ring buffers, the per-pair overview statistics and output gauge, and the export formats.

import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import type { CycleRecord } from '../colo/types.js';
import { exportCsv, exportJson } from './export.js';
import { PairLive, RingBuffer, cycleEnd } from './live.js';

const NOW = 1_700_000_000_000;

function cycle(seq: number, startedAt: number, pause: number, extra: Partial<CycleRecord> = {}): CycleRecord {
  return {
    seq,
    mode: 'colo',
    trigger: seq === 0 ? 'initial' : 'timer',
    startedAt,
    phases: [
      { name: 'wait', startMs: 0, durationMs: 100 },
      { name: 'suspend', startMs: 100, durationMs: pause },
    ],
    primaryPauseMs: pause,
    dirtyPages: 1,
    pagesSent: 1,
    bytesSent: 4096,
    outcome: 'committed',
    provenance: 'measured',
    ...extra,
  };
}

void describe('RingBuffer', () => {
  void test('keeps the newest `capacity` items in order', () => {
    const r = new RingBuffer<number>(3);
    assert.deepEqual(r.toArray(), []);
    for (let i = 1; i <= 5; i++) r.push(i);
    assert.equal(r.length, 3);
    assert.deepEqual(r.toArray(), [3, 4, 5]);
    assert.equal(r.at(0), 3);
    assert.equal(r.last(), 5);
    assert.equal(r.at(3), undefined);
    assert.deepEqual(r.takeNewestWhile((x) => x >= 4), [4, 5]);
    r.clear();
    assert.equal(r.last(), undefined);
    assert.throws(() => new RingBuffer(0));
  });
});

void describe('PairLive', () => {
  void test('with no cycles the statistics are null, not zero', () => {
    assert.deepEqual(new PairLive().stats(NOW), {
      pausePrimaryP50Ms: null, pausePrimaryP99Ms: null, pausePrimaryMaxMs: null, checkpointsPerMinute: 0, lastCheckpointAt: null, lastSeq: null,
    });
  });

  void test('pause quantiles and rate cover the last minute of checkpoints; the initial copy is not a checkpoint', () => {
    const live = new PairLive();
    live.addCycle(cycle(0, NOW - 120_000, 5000));
    live.addCycle(cycle(1, NOW - 90_000, 999)); // older than a minute: out of the window
    for (let i = 0; i < 100; i++) live.addCycle(cycle(2 + i, NOW - 50_000 + i * 100, i + 1));
    const s = live.stats(NOW);
    assert.equal(s.checkpointsPerMinute, 100);
    assert.equal(s.pausePrimaryP50Ms, 50);
    assert.equal(s.pausePrimaryP99Ms, 99);
    assert.equal(s.lastSeq, 101);
    assert.equal(s.lastCheckpointAt, cycleEnd(cycle(101, NOW - 50_000 + 9900, 100)));
    assert.equal(s.lastCheckpointAt, NOW - 50_000 + 9900 + 200, 'the end of the cycle, after its wait');

    const justStarted = new PairLive();
    justStarted.addCycle(cycle(0, NOW - 1000, 30));
    const j = justStarted.stats(NOW);
    assert.equal(j.pausePrimaryP50Ms, null);
    assert.equal(j.checkpointsPerMinute, 0);
    assert.equal(j.lastSeq, 0);
  });

  void test('the last checkpoint is the newest committed one: failed and aborted cycles after it do not move it', () => {
    const live = new PairLive();
    live.addCycle(cycle(0, NOW - 5000, 30));
    live.addCycle(cycle(1, NOW - 4000, 20));
    live.addCycle({ ...cycle(2, NOW - 3000, 25), outcome: 'failed' });
    live.addCycle({ ...cycle(3, NOW - 2000, 25), outcome: 'aborted' });
    const s = live.stats(NOW);
    assert.equal(s.lastSeq, 1);
    assert.equal(s.lastCheckpointAt, cycleEnd(cycle(1, NOW - 4000, 20)));
    // Their pauses still count: the guest was paused all the same.
    assert.equal(s.checkpointsPerMinute, 3);
    assert.equal(s.pausePrimaryMaxMs, 25);

    const none = new PairLive();
    none.addCycle({ ...cycle(0, NOW - 1000, 30), outcome: 'failed' });
    assert.deepEqual([none.stats(NOW).lastSeq, none.stats(NOW).lastCheckpointAt], [null, null], 'an initial copy that failed is no checkpoint');
  });

  void test('the output gauge covers the last second and counts packets exactly', () => {
    const live = new PairLive();
    const t0 = 10_000;
    live.outputGauge(t0); // starts the rate window
    for (let i = 0; i < 20_000; i++) live.addOutput(i < 19_800 ? 1 : 50, t0 + 2000 * (i / 20_000));
    const g = live.outputGauge(t0 + 2000);
    assert.equal(g.packetsPerSecond, 10_000, 'all 20 000 packets over 2 s, though the buffer holds fewer');
    assert.equal(g.heldP50Ms, 1);
    assert.equal(g.heldP99Ms, 50);
    const idle = live.outputGauge(t0 + 4000);
    assert.deepEqual(idle, { heldP50Ms: null, heldP99Ms: null, packetsPerSecond: 0 });
  });
});

void describe('exports', () => {
  const base = {
    pair: { id: 'demo', name: 'demo vm/1', backend: 'sim', mode: 'colo' },
    events: [{ pairId: 'demo', seq: 3, at: NOW, kind: 'state' as const, message: 'protected' }],
    since: NOW - 1000,
    exportedAt: Date.UTC(2025, 0, 31, 12, 0, 0),
    truncated: false,
  };

  void test('CSV: a header row, one row per cycle, a column per phase, unknown values left empty', () => {
    const cycles = [
      { run: 7, cycle: cycle(1, NOW, 2.5, { secondaryPauseMs: 1.25 }) },
      { run: 7, cycle: cycle(2, NOW + 500, 3.123456789, { phases: [{ name: 'transfer', startMs: 0, durationMs: 3.000_000_4 }] }) },
      { run: 8, cycle: cycle(1, NOW + 900, 2) },
    ];
    const f = exportCsv({ ...base, cycles });
    assert.equal(f.filename, 'demo_vm_1-cycles-2025-01-31T12-00-00-000Z.csv');
    assert.match(f.mediaType, /^text\/csv/);
    const rows = f.content.trimEnd().split('\r\n').map((l) => l.split(','));
    const header = rows[0]!;
    assert.deepEqual(header.slice(-6), ['waitMs', 'suspendMs', 'transferMs', 'deviceMs', 'svm-loadMs', 'resumeMs']);
    assert.equal(rows.length, 4);
    const col = (row: string[], name: string): string => row[header.indexOf(name)]!;
    // seq restarts with each run: (run, seq) tells the cycles apart.
    assert.deepEqual(rows.slice(1).map((r) => `${col(r, 'run')}/${col(r, 'seq')}`), ['7/1', '7/2', '8/1']);
    assert.equal(col(rows[2]!, 'primaryPauseMs'), '3.123', 'times rounded to the microsecond');
    assert.equal(col(rows[1]!, 'seq'), '1');
    assert.equal(col(rows[1]!, 'waitMs'), '100');
    assert.equal(col(rows[1]!, 'suspendMs'), '2.5');
    assert.equal(col(rows[1]!, 'secondaryPauseMs'), '1.25');
    assert.equal(col(rows[1]!, 'transferMs'), '');
    assert.equal(col(rows[2]!, 'waitMs'), '', 'a phase not seen is empty, not 0');
    assert.equal(col(rows[2]!, 'transferMs'), '3');
    assert.equal(col(rows[2]!, 'startedAtIso'), new Date(NOW + 500).toISOString());
  });

  void test('JSON: the pair, the cycles and the events, as the API serves them', () => {
    const cycles = [{ run: 3, cycle: cycle(1, NOW, 2.0004) }];
    const f = exportJson({ ...base, cycles });
    assert.equal(f.mediaType, 'application/json');
    const doc = JSON.parse(f.content) as { pair: unknown; cycles: unknown; events: unknown; truncated: boolean };
    assert.deepEqual(doc.pair, base.pair);
    const rounded = { ...cycles[0]!.cycle, primaryPauseMs: 2, phases: [{ name: 'wait', startMs: 0, durationMs: 100 }, { name: 'suspend', startMs: 100, durationMs: 2 }] };
    assert.deepEqual(doc.cycles, [{ run: 3, ...rounded }]);
    assert.deepEqual(doc.events, base.events);
    assert.equal(doc.truncated, false);
  });
});
