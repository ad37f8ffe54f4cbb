import assert from 'node:assert/strict';
import { test } from 'node:test';
import type { FailoverEvent, ProtectionState } from '../../../core/colo/types.js';
import { isSplitBrain, protectionBadge, syncPercent } from './protection';

const at = 1_700_000_000_000;
const st = (s: Partial<ProtectionState> & Pick<ProtectionState, 'state'>): ProtectionState => ({ since: at, ...s });
const failover = (survivor: FailoverEvent['survivor']): FailoverEvent => ({
  detectedBy: 'secondary',
  cause: 'primary stopped answering',
  at,
  survivor,
  lastCheckpointSeq: 41,
  guestDowntimeMs: 380,
});

test('protected reads Protected, in the ok tone', () => {
  assert.deepEqual(
    [protectionBadge(st({ state: 'protected' })).label, protectionBadge(st({ state: 'protected' })).tone],
    ['Protected', 'ok'],
  );
});

test('syncing shows whole percent of the initial copy', () => {
  const b = protectionBadge(st({ state: 'syncing', reasonCode: 'initial-sync', progress: { iteration: 2, pagesDone: 1234, pagesTotal: 4096 } }));
  assert.equal(b.label, 'Syncing 30%');
  assert.equal(b.tone, 'info');
  assert.match(b.detail, /pass 2, 1234 of 4096 pages/);
  assert.equal(protectionBadge(st({ state: 'syncing' })).label, 'Syncing');
  assert.equal(syncPercent(st({ state: 'syncing', progress: { iteration: 1, pagesDone: 5000, pagesTotal: 4096 } })), 100);
  assert.equal(syncPercent(st({ state: 'syncing', progress: { iteration: 1, pagesDone: 0, pagesTotal: 0 } })), null);
});

test('not protected always says why', () => {
  assert.equal(protectionBadge(st({ state: 'unprotected', reasonCode: 'not-started' })).label, 'Not protected: not started');
  assert.equal(protectionBadge(st({ state: 'unprotected' })).label, 'Not protected: not started');
  assert.equal(protectionBadge(st({ state: 'stopped', reasonCode: 'stopped-by-admin' })).label, 'Not protected: stopped by admin');
  assert.equal(protectionBadge(st({ state: 'error', reasonCode: 'stream-error', reason: 'Bad record at offset 812' })).label, 'Not protected: replication stream error');
  assert.equal(protectionBadge(st({ state: 'error', reasonCode: 'stream-error', reason: 'Bad record at offset 812' })).detail, 'Bad record at offset 812');
  assert.equal(protectionBadge(st({ state: 'error' })).tone, 'bad');
  assert.equal(protectionBadge(st({ state: 'starting' })).label, 'Not protected: starting');
  assert.equal(protectionBadge(st({ state: 'unprotected', reasonCode: 'secondary-lost' })).label, 'Not protected: secondary lost');
});

test('failed over, degraded and failing over', () => {
  assert.equal(protectionBadge(st({ state: 'failed-over', reasonCode: 'primary-lost' }), failover('secondary')).label, 'Failed over');
  assert.equal(protectionBadge(st({ state: 'failed-over' }), failover('secondary')).tone, 'warn');
  assert.equal(protectionBadge(st({ state: 'failed-over' }), failover('none')).tone, 'bad');
  assert.equal(protectionBadge(st({ state: 'degraded', reasonCode: 'slow-checkpoints' })).label, 'Degraded: slow checkpoints');
  assert.equal(protectionBadge(st({ state: 'failing-over' })).label, 'Failing over');
});

test('split brain wins over every other state', () => {
  assert.equal(protectionBadge(st({ state: 'failed-over' }), failover('both')).label, 'Split brain');
  assert.equal(protectionBadge(st({ state: 'error', reasonCode: 'split-brain' })).label, 'Split brain');
  assert.equal(protectionBadge(st({ state: 'error', reasonCode: 'split-brain' })).tone, 'bad');
  assert.ok(isSplitBrain(st({ state: 'failed-over' }), failover('both')));
  assert.ok(!isSplitBrain(st({ state: 'protected' }), failover('both')), 'an old split brain no longer shows once protected again');
});
