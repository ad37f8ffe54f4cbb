import assert from 'node:assert/strict';
import { test } from 'node:test';
import type { HostInfo, PairInfo } from '../../../core/api/console-contract.js';
import { confirmHint, confirmNameMatches, confirmReady, describeAction, fencingReason, isFencingRefusal } from './confirm';

test('the typed name must match exactly', () => {
  assert.ok(confirmNameMatches('web-01', 'web-01'));
  assert.ok(!confirmNameMatches('web-01 ', 'web-01'));
  assert.ok(!confirmNameMatches('Web-01', 'web-01'));
  assert.ok(!confirmNameMatches('web-0', 'web-01'));
  assert.ok(!confirmNameMatches('', ''), 'an empty name never confirms');
  // As the service compares: NFC, so a decomposed é matches the composed one.
  assert.ok(confirmNameMatches('cafe\u0301', 'caf\u00e9'));
  assert.ok(!confirmNameMatches('cafe', 'caf\u00e9'));
});

test('hints for near misses, silence while typing a prefix', () => {
  assert.equal(confirmHint('', 'web-01'), null);
  assert.equal(confirmHint('web', 'web-01'), null);
  assert.equal(confirmHint('web-01', 'web-01'), null);
  assert.match(confirmHint(' web-01', 'web-01') ?? '', /spaces/);
  assert.match(confirmHint('WEB-01', 'web-01') ?? '', /case-sensitive/);
  assert.match(confirmHint('db-02', 'web-01') ?? '', /not the VM/);
  assert.equal(confirmHint('beta', 'alpha', 'the primary host’s name'), 'This is not the primary host’s name.');
});

const hosts: HostInfo[] = [
  { id: 'h1', name: 'alpha', kind: 'sim', hypervisor: 'sim', status: 'connected' },
  { id: 'h2', name: 'beta', kind: 'ssh', hypervisor: 'xen', status: 'error', statusReason: 'ssh timeout' },
];

function pair(over: Partial<PairInfo> = {}): PairInfo {
  return {
    id: 'p1',
    name: 'web-01',
    backend: 'sim',
    mode: 'colo',
    primaryHostId: 'h1',
    secondaryHostId: 'h2',
    state: { state: 'protected', since: 0 },
    stats: { pausePrimaryP50Ms: 2, pausePrimaryP99Ms: 9, pausePrimaryMaxMs: 11, checkpointsPerMinute: 60, lastCheckpointAt: 1, lastSeq: 314 },
    lastFailover: null,
    alarm: null,
    openCheckpoint: null,
    runningOn: ['h1', 'h2'],
    actions: {
      start: { allowed: false }, stop: { allowed: true }, failover: { allowed: true }, drill: { allowed: true }, checkpoint: { allowed: true },
      'keep-primary': { allowed: false }, 'keep-secondary': { allowed: false },
    },
    ...over,
  };
}

test('each destructive action says what happens to each side, naming the hosts', () => {
  for (const action of ['stop', 'failover', 'drill'] as const) {
    const plan = describeAction(action, pair(), hosts);
    assert.equal(plan.sides.length, 2);
    assert.deepEqual(plan.sides.map((s) => [s.role, s.host]), [
      ['Primary', 'alpha'],
      ['Secondary', 'beta'],
    ]);
    assert.match(plan.title, /web-01/);
    assert.ok(plan.afterwards.length > 0);
  }
  const fo = describeAction('failover', pair(), hosts);
  assert.match(fo.sides[1]!.effect, /#314/);
  assert.equal(fo.sides[1]!.hostStatus, 'error (ssh timeout)');
  assert.match(describeAction('failover', pair({ mode: 'remus' }), hosts).sides[1]!.effect, /Takes over from checkpoint #314/);
  assert.match(describeAction('stop', pair(), hosts).sides[0]!.effect, /Keeps running/);
});

test('an unknown host is named by its id', () => {
  const plan = describeAction('stop', pair({ secondaryHostId: 'gone' }), hosts);
  assert.equal(plan.sides[1]!.host, 'gone');
  assert.equal(plan.sides[1]!.hostStatus, 'unknown');
});

test('keep a copy: says which copy is kept and what is lost, from which checkpoint', () => {
  const split = pair({ lastFailover: { detectedBy: 'primary', cause: 'link cut', at: 5, survivor: 'both', lastCheckpointSeq: 300, guestDowntimeMs: 0 } });
  const a = describeAction('keep-primary', split, hosts);
  assert.equal(a.title, 'Keep the copy on alpha?');
  assert.equal(a.verb, 'Keep the copy on alpha');
  assert.match(a.sides[0]!.effect, /keeps running/);
  assert.match(a.sides[1]!.effect, /destroyed: every write it made since checkpoint #300 is lost/);
  const b = describeAction('keep-secondary', pair(), hosts);
  assert.match(b.summary, /copy on beta keeps running; the copy on alpha is destroyed, and with it the writes made there since checkpoint #314/);
  assert.match(b.sides[0]!.effect, /destroyed/);
});

test('stop while the guest is frozen: the primary resumes, unprotected; the secondary is destroyed', () => {
  const frozen = pair({
    state: { state: 'degraded', since: 0, reasonCode: 'guest-frozen' },
    alarm: { kind: 'guest-frozen', since: 0, headline: 'frozen', detail: '' },
    openCheckpoint: { seq: 315, trigger: 'timer', startedAt: 1000, pausedMs: 5000 },
  });
  const plan = describeAction('stop', frozen, hosts, 1000 + 44_900);
  assert.match(plan.summary, /paused for 44\.9 s/);
  assert.match(plan.sides[0]!.effect, /Resumes the paused guest .* unprotected/);
  assert.match(plan.sides[1]!.effect, /destroyed/);
});

test('a QEMU failover the backend cannot make safe asks for the fencing word, and says why', () => {
  const qemu = { checkpointDelayMs: 200, migration: 'colo', heartbeat: { intervalMs: 1000, misses: 3, autoFailover: true }, primary: null, secondary: null, lastColoExit: null, launch: false };
  assert.equal(fencingReason(pair()), null);
  assert.equal(fencingReason(pair({ backend: 'qemu', qemu })), null);
  const why = 'alpha does not answer: the console cannot tell whether its QEMU still runs.';
  assert.equal(fencingReason(pair({ backend: 'qemu', qemu: { ...qemu, fencingRequired: why } })), why);
  const plan = describeAction('failover', pair({ backend: 'qemu', qemu: { ...qemu, fencingRequired: why } }), hosts);
  assert.match(plan.sides[0]!.effect, /cannot stop it: you confirm that it is fenced/);
  assert.match(describeAction('failover', pair(), hosts).sides[0]!.effect, /^Is stopped/);
  // The QEMU backend's refusal, in its words.
  assert.ok(isFencingRefusal('Not failed over: QEMU on alpha is connected but its monitor does not answer: the console cannot end it. Make sure it cannot run on (kill its process, or power alpha off), then confirm by typing alpha.'));
  assert.ok(isFencingRefusal('To confirm that the primary is fenced, type its host\'s name exactly as shown ("alpha").'));
  assert.ok(!isFencingRefusal('Type the VM\'s name exactly.'));
});

test('the dialog confirms once the VM\'s name matches and, when fencing is needed, the primary host\'s name too', () => {
  // No fencing step (not a failover): the name alone.
  assert.deepEqual(confirmReady('web-01', 'web-01', undefined, '', null), { ready: true, fenceReason: null });
  // A failover the backend can make safe: the field stays hidden, the name alone.
  const fence = { host: 'alpha', required: null };
  assert.deepEqual(confirmReady('web-01', 'web-01', fence, '', null), { ready: true, fenceReason: null });
  // Fencing needed: the host's name too, exactly (NFC), never the VM's name alone.
  const needed = { host: 'alpha', required: 'alpha cannot be reached.' };
  assert.deepEqual(confirmReady('web-01', 'web-01', needed, '', null), { ready: false, fenceReason: 'alpha cannot be reached.' });
  assert.equal(confirmReady('web-01', 'web-01', needed, 'Alpha', null).ready, false);
  assert.equal(confirmReady('web-0', 'web-01', needed, 'alpha', null).ready, false);
  assert.equal(confirmReady('web-01', 'web-01', needed, 'alpha', null).ready, true);
  // Refused meanwhile for want of it: the refusal becomes the reason and the field is asked for.
  const refused = confirmReady('web-01', 'web-01', fence, '', 'Not failed over: confirm by typing alpha.');
  assert.deepEqual(refused, { ready: false, fenceReason: 'Not failed over: confirm by typing alpha.' });
  assert.equal(confirmReady('web-01', 'web-01', fence, 'alpha', 'Not failed over: confirm by typing alpha.').ready, true);
});
