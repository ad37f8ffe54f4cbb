// The SQLite history: schema versioning, batched writes, time-range queries with spike-preserving decimation,
// retention, persistence across reopen, and recovery from a corrupt file.

import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { closeSync, existsSync, openSync, readFileSync, writeFileSync, writeSync } from 'node:fs';
import path from 'node:path';
import { setTimeout as delay } from 'node:timers/promises';
import Database from 'better-sqlite3';
import type { CycleRecord, FailoverEvent } from '../colo/types.js';
import type { Problem } from './files.js';
import { FLUSH_MS, FLUSH_ROWS, HISTORY_FILE, History } from './history.js';
import { tempDir } from './test-support/service-rig.js';

const NOW = Date.UTC(2025, 0, 31, 12, 0, 0);
const DAY = 86_400_000;

function cycle(seq: number, startedAt: number, pause = 1): CycleRecord {
  return {
    seq,
    mode: 'colo',
    trigger: seq === 0 ? 'initial' : 'miscompare',
    startedAt,
    phases: [
      { name: 'wait', startMs: 0, durationMs: 5 },
      { name: 'suspend', startMs: 5, durationMs: pause / 2 },
      { name: 'resume', startMs: 5 + pause / 2, durationMs: pause / 2 },
    ],
    primaryPauseMs: pause,
    secondaryPauseMs: pause / 2,
    dirtyPages: 10,
    pagesSent: 12,
    bytesSent: 12 * 4096 + 100,
    outcome: 'committed',
    provenance: 'measured',
  };
}

function open(dir: string, problems: Problem[] = []): History {
  return new History(dir, { report: (p) => problems.push(p), now: NOW });
}

function rowCount(h: History, table: 'cycles' | 'events'): number {
  return (h.database.prepare(`SELECT count(*) AS n FROM ${table}`).get() as { n: number }).n;
}

void describe('History', () => {
  void test('creates its schema at version 2 in WAL mode, and reopens without migrating again', (t) => {
    const dir = tempDir(t);
    const h = open(dir);
    assert.equal(h.database.pragma('user_version', { simple: true }), 2);
    assert.equal(h.database.pragma('journal_mode', { simple: true }), 'wal');
    const run = h.beginRun('demo', NOW, 'colo');
    h.addCycle('demo', run, cycle(0, NOW));
    h.close();
    const again = open(dir);
    t.after(() => again.close());
    assert.equal(again.database.pragma('user_version', { simple: true }), 2);
    assert.deepEqual(again.cycles('demo', { since: 0, limit: 10 }), [cycle(0, NOW)]);
  });

  void test('batches writes: nothing is written per row; a timer or a full batch flushes in one go', async (t) => {
    const dir = tempDir(t);
    const h = open(dir);
    t.after(() => h.close());
    const run = h.beginRun('demo', NOW, 'colo');
    for (let i = 0; i < 10; i++) h.addCycle('demo', run, cycle(i, NOW + i));
    assert.equal(rowCount(h, 'cycles'), 0, 'queued, not yet written');
    await delay(FLUSH_MS + 150);
    assert.equal(rowCount(h, 'cycles'), 10, 'written by the timer');
    for (let i = 0; i < FLUSH_ROWS; i++) h.addCycle('demo', run, cycle(10 + i, NOW + 10 + i));
    assert.equal(rowCount(h, 'cycles'), 10 + FLUSH_ROWS, 'a full batch is written at once');
  });

  void test('queries by pair and time range, oldest first, and reads flush what is queued', (t) => {
    const dir = tempDir(t);
    const h = open(dir);
    t.after(() => h.close());
    const run = h.beginRun('a', NOW, 'colo');
    for (let i = 0; i < 100; i++) {
      h.addCycle('a', run, cycle(i, NOW + i * 1000));
      h.addCycle('b', run, cycle(i, NOW + i * 1000 + 1));
    }
    const got = h.cycles('a', { since: NOW + 10_000, until: NOW + 19_000, limit: 1000 });
    assert.deepEqual(got.map((c) => c.seq), [10, 11, 12, 13, 14, 15, 16, 17, 18, 19]);
    assert.deepEqual(h.cycles('a', { since: NOW + 95_000, limit: 1000 }).map((c) => c.seq), [95, 96, 97, 98, 99]);
    assert.deepEqual(h.cycles('nobody', { since: 0, limit: 10 }), []);
  });

  void test('more rows than the limit are decimated evenly in time to the limit, and every spike survives', (t) => {
    const dir = tempDir(t);
    const h = open(dir);
    t.after(() => h.close());
    const run = h.beginRun('demo', NOW, 'colo');
    const n = 10_000;
    // Spikes at positions an every-100th-row sample would skip.
    const spikes = new Map([[37, 400], [4_321, 900], [7_777, 650], [9_998, 300]]);
    for (let i = 0; i < n; i++) h.addCycle('demo', run, cycle(i, NOW + i * 10, spikes.get(i) ?? 1 + (i % 7) / 10));
    const got = h.cycles('demo', { since: NOW, limit: 100 });
    assert.equal(got.length, 100);
    const seqs = got.map((c) => c.seq);
    assert.deepEqual([...seqs].sort((a, b) => a - b), seqs, 'oldest first');
    for (const [seq, pause] of spikes) {
      const hit = got.find((c) => c.seq === seq);
      assert.ok(hit, `spike at ${seq} kept`);
      assert.equal(hit.primaryPauseMs, pause);
    }
    // Evenly spread: one row from each tenth of a second's worth of checkpoints (100 rows, 10 ms apart).
    for (let b = 0; b < 100; b++) assert.ok(seqs[b]! >= b * 100 && seqs[b]! < (b + 1) * 100, `bucket ${b}: ${seqs[b]}`);
    assert.equal(h.cycles('demo', { since: NOW, limit: n }).length, n, 'no decimation at the limit');
  });

  void test('decimation leaves a stretch without checkpoints empty, and copes with rows at one instant', (t) => {
    const dir = tempDir(t);
    const h = open(dir);
    t.after(() => h.close());
    const run = h.beginRun('demo', NOW, 'colo');
    // 500 rows in the first second, then nothing for 98 s, then 500 rows in the last second.
    for (let i = 0; i < 500; i++) h.addCycle('demo', run, cycle(i, NOW + i * 2, i === 250 ? 77 : 1));
    for (let i = 0; i < 500; i++) h.addCycle('demo', run, cycle(500 + i, NOW + 99_000 + i * 2));
    const got = h.cycles('demo', { since: NOW, limit: 100 });
    assert.ok(got.length <= 100);
    assert.ok(got.length >= 2 && got.length <= 4, `one or two intervals at each end, got ${got.length}`);
    assert.ok(got.some((c) => c.primaryPauseMs === 77));
    for (let i = 0; i < 50; i++) h.addCycle('other', run, cycle(i, NOW, i === 7 ? 50 : 1));
    const same = h.cycles('other', { since: 0, limit: 10 });
    assert.equal(same.length, 10);
    assert.ok(same.some((c) => c.primaryPauseMs === 50));
  });

  void test('retention deletes cycles, events and runs older than the period, and keeps the rest', async (t) => {
    const dir = tempDir(t);
    const h = open(dir);
    t.after(() => h.close());
    const oldRun = h.beginRun('demo', NOW - 10 * DAY, 'colo');
    const newRun = h.beginRun('demo', NOW - DAY, 'colo');
    for (let i = 0; i < 6000; i++) h.addCycle('demo', oldRun, cycle(i, NOW - 10 * DAY + i));
    for (let i = 0; i < 50; i++) h.addCycle('demo', newRun, cycle(i, NOW - DAY + i));
    h.addEvent({ pairId: 'demo', seq: 0, at: NOW - 9 * DAY, kind: 'state', message: 'old' });
    h.addEvent({ pairId: 'demo', seq: 1, at: NOW - 1000, kind: 'state', message: 'new' });
    const deleted = await h.prune(NOW, 7);
    assert.equal(deleted, 6000 + 1 + 1, 'old cycles (in several chunks), the old event and the emptied run');
    assert.equal(rowCount(h, 'cycles'), 50);
    assert.deepEqual(h.events('demo', 10).map((e) => e.message), ['new']);
    assert.equal((h.database.prepare('SELECT count(*) AS n FROM runs').get() as { n: number }).n, 1);
    assert.equal(await h.prune(NOW, 7), 0);
  });

  void test('events keep their order, numbering and data across a reopen; the last failover is found', (t) => {
    const dir = tempDir(t);
    const h = open(dir);
    const failover: FailoverEvent = { detectedBy: 'secondary', cause: 'stream ended', at: NOW, survivor: 'secondary', lastCheckpointSeq: 41, guestDowntimeMs: 2.5 };
    h.addEvent({ pairId: 'demo', seq: 0, at: NOW, kind: 'state', message: 'protected' });
    h.addEvent({ pairId: 'demo', seq: 1, at: NOW + 1, kind: 'failover', message: 'took over', data: failover });
    h.addEvent({ pairId: 'other', seq: 7, at: NOW + 2, kind: 'action', message: 'x' });
    h.close();
    const again = open(dir);
    t.after(() => again.close());
    assert.deepEqual(again.events('demo', 10).map((e) => [e.seq, e.kind]), [[0, 'state'], [1, 'failover']]);
    assert.deepEqual(again.events('demo', 1).map((e) => e.seq), [1], 'the most recent within the limit');
    assert.equal(again.lastEventSeq('demo'), 1);
    assert.equal(again.lastEventSeq('nobody'), null);
    assert.deepEqual(again.lastFailover('demo'), failover);
    assert.equal(again.lastFailover('other'), null);
  });

  void test('stored rows that no longer match the contract are skipped, not served', (t) => {
    const dir = tempDir(t);
    const h = open(dir);
    t.after(() => h.close());
    const run = h.beginRun('demo', NOW, 'colo');
    h.addCycle('demo', run, cycle(1, NOW));
    h.addCycle('demo', run, cycle(2, NOW + 1));
    h.flush();
    h.database.prepare("UPDATE cycles SET phases = 'not json' WHERE seq = 1").run();
    assert.deepEqual(h.cycles('demo', { since: 0, limit: 10 }).map((c) => c.seq), [2]);
  });

  void test('a file that is not a database is moved aside with a report, and a fresh one is created', (t) => {
    const dir = tempDir(t);
    const file = path.join(dir, HISTORY_FILE);
    writeFileSync(file, 'these are not the pages you are looking for'.repeat(200));
    const problems: Problem[] = [];
    const h = open(dir, problems);
    t.after(() => h.close());
    assert.equal(problems.length, 1);
    assert.match(problems[0]!.message, /not a readable SQLite database/);
    assert.match(readFileSync(problems[0]!.movedTo!, 'utf8'), /^these are not the pages/);
    h.addCycle('demo', h.beginRun('demo', NOW, 'colo'), cycle(0, NOW));
    assert.equal(h.cycles('demo', { since: 0, limit: 10 }).length, 1);
  });

  void test('a database with damaged pages fails the integrity check and is moved aside', (t) => {
    const dir = tempDir(t);
    const h = open(dir);
    const run = h.beginRun('demo', NOW, 'colo');
    for (let i = 0; i < 3000; i++) h.addCycle('demo', run, cycle(i, NOW + i));
    h.close();
    const file = path.join(dir, HISTORY_FILE);
    // Scribble over a few pages in the middle (B-tree pages of the cycles table and its indexes).
    const fd = openSync(file, 'r+');
    const junk = Buffer.alloc(4096 * 4, 0xa5);
    writeSync(fd, junk, 0, junk.length, 4096 * 10);
    closeSync(fd);
    const problems: Problem[] = [];
    const fresh = open(dir, problems);
    t.after(() => fresh.close());
    assert.equal(problems.length, 1, JSON.stringify(problems));
    assert.match(problems[0]!.message, /integrity check|not a readable SQLite database/);
    assert.ok(existsSync(problems[0]!.movedTo!));
    assert.deepEqual(fresh.cycles('demo', { since: 0, limit: 10 }), []);
  });

  void test('a database from a newer schema is moved aside rather than downgraded', (t) => {
    const dir = tempDir(t);
    const file = path.join(dir, HISTORY_FILE);
    const db = new Database(file);
    db.pragma('user_version = 99');
    db.close();
    const problems: Problem[] = [];
    const h = open(dir, problems);
    t.after(() => h.close());
    assert.match(problems[0]?.message ?? '', /newer version/);
    assert.equal(h.database.pragma('user_version', { simple: true }), 2);
  });
});
