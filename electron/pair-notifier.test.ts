import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import type { HostInfo, PairInfo } from '../core/api/console-contract.js';
import type { PairAlert } from '../core/api/pair-alert.js';
import { startPairNotifier } from './pair-notifier.js';

const HOSTS: HostInfo[] = [
  { id: 'sim-a', name: 'Simulated host A', kind: 'sim', hypervisor: 'sim', status: 'connected' },
  { id: 'sim-b', name: 'Simulated host B', kind: 'sim', hypervisor: 'sim', status: 'connected' },
];

function pair(over: Partial<PairInfo>): PairInfo {
  const no = { allowed: false };
  return {
    id: 'demo',
    name: 'demo-vm',
    backend: 'sim',
    mode: 'colo',
    primaryHostId: 'sim-a',
    secondaryHostId: 'sim-b',
    state: { state: 'protected', since: 1 },
    stats: { pausePrimaryP50Ms: 2, pausePrimaryP99Ms: 9, pausePrimaryMaxMs: 11, checkpointsPerMinute: 60, lastCheckpointAt: 1, lastSeq: 3 },
    lastFailover: null,
    alarm: null,
    openCheckpoint: null,
    runningOn: ['sim-a'],
    actions: { start: no, stop: no, failover: no, drill: no, checkpoint: no, 'keep-primary': no, 'keep-secondary': no },
    ...over,
  };
}

function rig() {
  let feed: ((p: PairInfo, h: readonly HostInfo[]) => void) | null = null;
  const shown: PairAlert[] = [];
  const clicks: (() => void)[] = [];
  const opened: string[] = [];
  const stop = startPairNotifier({
    watch: (fn) => {
      feed = fn;
      return () => {
        feed = null;
      };
    },
    create: (alert) => ({
      on: (_e, listener) => clicks.push(listener),
      show: () => shown.push(alert),
    }),
    open: (id) => opened.push(id),
  });
  return { send: (p: PairInfo) => feed?.(p, HOSTS), shown, clicks, opened, stop, subscribed: () => feed !== null };
}

describe('pair notifier', () => {
  test('a pair that leaves Protected raises one notification naming the VM, what happened and where it runs; a click opens it', () => {
    const r = rig();
    r.send(pair({}));
    assert.equal(r.shown.length, 0, 'a protected pair is quiet');
    const split = pair({
      state: { state: 'error', since: 5, reasonCode: 'split-brain', reason: 'Split brain.' },
      alarm: { kind: 'split-brain', since: 5, headline: 'Split brain: demo-vm is running on both Simulated host A and Simulated host B.', detail: '' },
      runningOn: ['sim-a', 'sim-b'],
    });
    r.send(split);
    r.send(split);
    assert.equal(r.shown.length, 1, 'the same situation is raised once');
    assert.equal(r.shown[0]!.title, 'Split brain: demo-vm');
    assert.equal(r.shown[0]!.body, 'Split brain: demo-vm is running on both Simulated host A and Simulated host B.');
    r.clicks[0]!();
    assert.deepEqual(r.opened, ['demo']);
  });

  test('a new situation raises again; protected again resets; stopping by the admin is quiet', () => {
    const r = rig();
    r.send(pair({ state: { state: 'degraded', since: 2, reasonCode: 'checkpoint-overdue', reason: 'Checkpoint 4 has not completed.' } }));
    r.send(pair({
      state: { state: 'degraded', since: 3, reasonCode: 'guest-frozen', reason: 'Paused.' },
      alarm: { kind: 'guest-frozen', since: 3, headline: 'Guest frozen: demo-vm has been paused on Simulated host A.', detail: '' },
    }));
    assert.deepEqual(r.shown.map((a) => a.title), ['demo-vm is degraded', 'Guest frozen: demo-vm']);
    assert.match(r.shown[0]!.body, /^demo-vm: degraded\. Checkpoint 4 has not completed\. It runs on Simulated host A\.$/);
    r.send(pair({}));
    r.send(pair({ state: { state: 'stopped', since: 9, reasonCode: 'stopped-by-admin' } }));
    assert.equal(r.shown.length, 2);
    r.send(pair({ state: { state: 'failed-over', since: 10, reasonCode: 'primary-lost' }, runningOn: ['sim-b'] }));
    assert.equal(r.shown[2]!.title, 'demo-vm is failed over');
    assert.match(r.shown[2]!.body, /It runs on Simulated host B, unprotected\./);
    r.stop();
    assert.equal(r.subscribed(), false);
  });
});
