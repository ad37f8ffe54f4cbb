import assert from 'node:assert/strict';
import { test } from 'node:test';
import type { HostInfo, PairInfo } from '../../../core/api/console-contract.js';
import type { FailoverEvent } from '../../../core/colo/types.js';
import { failoverReport, livePauseMs, nextAlerts, nextDisconnectedSince, pairBadge, splitCheckpoint, titleWithAlerts, visiblePauseMs, whereRuns } from './alarm';

const at = 1_700_000_000_000;
const hosts: HostInfo[] = [
  { id: 'sim-a', name: 'Simulated host A', kind: 'sim', hypervisor: 'sim', status: 'connected' },
  { id: 'sim-b', name: 'Simulated host B', kind: 'sim', hypervisor: 'sim', status: 'down', statusReason: 'killed' },
];

function pair(over: Partial<PairInfo> = {}): PairInfo {
  return {
    id: 'demo',
    name: 'demo-vm',
    mode: 'colo',
    backend: 'sim',
    primaryHostId: 'sim-a',
    secondaryHostId: 'sim-b',
    state: { state: 'protected', since: at },
    stats: { pausePrimaryP50Ms: 2, pausePrimaryP99Ms: 5, pausePrimaryMaxMs: 6, checkpointsPerMinute: 600, lastCheckpointAt: at, lastSeq: 41 },
    lastFailover: null,
    alarm: null,
    openCheckpoint: null,
    runningOn: ['sim-a'],
    actions: {},
    ...over,
  } as PairInfo;
}

const fo = (over: Partial<FailoverEvent>): FailoverEvent => ({
  detectedBy: 'primary', cause: 'secondary stopped answering', at, survivor: 'primary', lastCheckpointSeq: 40, guestDowntimeMs: 0, ...over,
});

test('guest frozen outranks the state: red, with the alarm headline', () => {
  const p = pair({ state: { state: 'degraded', since: at, reasonCode: 'guest-frozen' }, alarm: { kind: 'guest-frozen', since: at, headline: 'demo-vm is frozen', detail: 'x' } });
  const b = pairBadge(p, null);
  assert.deepEqual([b.label, b.tone, b.detail, b.key], ['Guest frozen', 'bad', 'demo-vm is frozen', 'degraded']);
});

test('split brain alarm reads Split brain, red', () => {
  const p = pair({ state: { state: 'error', since: at, reasonCode: 'split-brain' }, alarm: { kind: 'split-brain', since: at, headline: 'two copies', detail: '' } });
  assert.deepEqual([pairBadge(p, null).label, pairBadge(p, null).tone], ['Split brain', 'bad']);
});

test('disconnected makes every state unknown, with the time', () => {
  const b = pairBadge(pair(), new Date(2026, 0, 2, 9, 5, 7).getTime());
  assert.equal(b.label, 'unknown (console disconnected since 09:05:07)');
  assert.equal(b.key, 'unknown');
  assert.notEqual(b.tone, 'ok');
});

test('the open pause grows with the clock and never falls below the service figure', () => {
  const open = { seq: 9, trigger: 'timer' as const, startedAt: at, pausedMs: 6000 };
  assert.equal(livePauseMs(open, at + 12_000), 12_000);
  assert.equal(livePauseMs(open, at + 1000), 6000);
  assert.equal(livePauseMs(null, at), null);
  // A few ms of a normal checkpoint while protected is not shown; once the state left protected it is.
  const short = { ...open, pausedMs: 3 };
  assert.equal(visiblePauseMs(pair({ openCheckpoint: short }), at + 3), null);
  assert.equal(visiblePauseMs(pair({ openCheckpoint: short, state: { state: 'degraded', since: at, reasonCode: 'checkpoint-overdue' } }), at + 400), 400);
});

test('where the guest runs, by host names', () => {
  assert.equal(whereRuns(pair(), hosts), 'Runs on Simulated host A, protected by Simulated host B');
  assert.equal(whereRuns(pair({ state: { state: 'unprotected', since: at }, runningOn: ['sim-b'] }), hosts), 'Runs on Simulated host B, unprotected');
  assert.equal(whereRuns(pair({ state: { state: 'error', since: at }, runningOn: ['sim-a', 'sim-b'] }), hosts), 'Runs on Simulated host A and Simulated host B — split brain');
  assert.doesNotMatch(whereRuns(pair({ runningOn: ['nope'] }), hosts), /nope/);
});

test('kill secondary: the report is the output held, and the hypervisor text is only the detail', () => {
  const r = failoverReport(fo({ survivor: 'primary', outputHeldMs: 3974, detail: 'Backup failed? resuming domain at primary' }), pair(), hosts);
  assert.equal(r.headline, 'The guest kept running on Simulated host A; its output was held 3974 ms; it is now unprotected.');
  assert.deepEqual(r.measure, { label: 'Output held', ms: 3974, testId: 'output-held' });
  assert.equal(r.detail, 'Backup failed? resuming domain at primary');
});

test('kill primary: the report is the guest downtime on the host it runs on now', () => {
  const r = failoverReport(fo({ survivor: 'secondary', guestDowntimeMs: 412 }), pair({ runningOn: ['sim-b'] }), hosts);
  assert.equal(r.headline, 'demo-vm now runs on Simulated host B; it was down 412 ms.');
  assert.equal(r.measure?.testId, 'guest-downtime');
});

test('the split checkpoint: the failover’s last checkpoint, else the last one seen', () => {
  assert.equal(splitCheckpoint(pair({ lastFailover: fo({ lastCheckpointSeq: 37 }) })), 37);
  assert.equal(splitCheckpoint(pair()), 41);
});

test('alerts: raised for a fault, updated as it changes, cleared when protected again; dismissal holds per situation', () => {
  const protectedP = pair();
  const cut = pair({ state: { state: 'degraded', since: at + 1, reasonCode: 'link-broken' } });
  assert.deepEqual(nextAlerts([], [protectedP], hosts, () => undefined).alerts, []);
  const one = nextAlerts([], [cut], hosts, () => undefined);
  assert.equal(one.alerts.length, 1);
  assert.equal(one.raised.length, 1);
  assert.equal(one.alerts[0]!.title, 'demo-vm is degraded');
  assert.match(one.alerts[0]!.body, /It runs on Simulated host A\./);
  // Nothing changed: the same list, nothing raised again.
  const same = nextAlerts(one.alerts, [cut], hosts, () => undefined);
  assert.equal(same.alerts, one.alerts);
  assert.equal(same.raised.length, 0);
  const split = pair({ state: { state: 'error', since: at + 2, reasonCode: 'split-brain' }, runningOn: ['sim-a', 'sim-b'], alarm: { kind: 'split-brain', since: at, headline: 'Split brain: demo-vm is running on both Simulated host A and Simulated host B.', detail: '' } });
  const two = nextAlerts(one.alerts, [split], hosts, () => undefined);
  assert.equal(two.alerts.length, 1);
  assert.equal(two.raised.length, 1, 'a new situation notifies again');
  assert.equal(two.alerts[0]!.title, 'Split brain: demo-vm');
  // The service's headline names both hosts; the body does not say it twice.
  assert.equal(two.alerts[0]!.body, 'Split brain: demo-vm is running on both Simulated host A and Simulated host B.');
  assert.equal(nextAlerts(two.alerts, [protectedP], hosts, () => undefined).alerts.length, 0);
  // Dismissed: the same situation stays quiet, a different one is raised, protected again forgets the dismissal.
  const key = one.alerts[0]!.key;
  assert.equal(nextAlerts([], [cut], hosts, () => key).alerts.length, 0);
  assert.equal(nextAlerts([], [split], hosts, () => key).alerts.length, 1);
  assert.deepEqual(nextAlerts([], [protectedP], hosts, () => key).cleared, ['demo']);
  // What the admin did on purpose is no alarm.
  assert.equal(nextAlerts([], [pair({ state: { state: 'stopped', since: at, reasonCode: 'stopped-by-admin' } })], hosts, () => undefined).alerts.length, 0);
});

test('the page title carries the count', () => {
  assert.equal(titleWithAlerts('COLO Console', 0), 'COLO Console');
  assert.equal(titleWithAlerts('COLO Console', 1), '(1) ⚠ COLO Console');
});

test('disconnected: from the drop until fresh data arrives on the reopened connection', () => {
  assert.equal(nextDisconnectedSince(null, 'open', 'reconnecting', false, at), at);
  assert.equal(nextDisconnectedSince(at, 'reconnecting', 'reconnecting', false, at + 5000), at, 'the time it was lost stays');
  assert.equal(nextDisconnectedSince(at, 'reconnecting', 'open', false, at + 9000), at, 'open, but no data yet');
  assert.equal(nextDisconnectedSince(at, 'open', 'open', true, at + 9100), null, 'data flows again');
  assert.equal(nextDisconnectedSince(null, 'connecting', 'open', true, at), null, 'the first connection is no loss');
});
