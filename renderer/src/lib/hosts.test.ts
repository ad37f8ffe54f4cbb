import assert from 'node:assert/strict';
import { test } from 'node:test';
import type { HostInfo, PairInfo } from '../../../core/api/console-contract.js';
import { EMPTY_ADD_HOST, EMPTY_PROTECT, addHostRequest, domainProtection, fingerprintLine, hostStep, pairDraftOf, preflightVerdict, removePairPlan, removePairRefusal } from './hosts';

/** The form's complaint; fails the test if the form was accepted. */
function problem(v: unknown): string {
  assert.equal(typeof v, 'string', `expected a complaint, got ${JSON.stringify(v)}`);
  return v as string;
}

const FP = 'SHA256:uQNrE9JlgFcqm2w/sDLXOSnf21xyBBqmaHWhEh/eipU';
const host = (over: Partial<HostInfo>): HostInfo => ({ id: 'a', name: 'a', kind: 'ssh', hypervisor: 'xen', status: 'disconnected', ...over });

test('a host\'s next step: a changed key outranks everything, then secrets, then the unknown key', () => {
  const changed = host({ status: 'error', hostKey: { status: 'changed', keyType: 'ED25519', fingerprint: FP, presentedBy: 'a', knownFingerprints: ['SHA256:x (kh:1)'] }, needs: 'passphrase' });
  assert.equal(hostStep(changed).kind, 'key-changed');
  assert.equal(hostStep(host({ status: 'error', needs: 'passphrase' })).kind, 'passphrase');
  assert.equal(hostStep(host({ status: 'error', hostKey: { status: 'unknown', keyType: 'ED25519', fingerprint: FP, presentedBy: 'a' } })).kind, 'trust-key');
  assert.equal(hostStep(host({ status: 'connected', hostKey: { status: 'trusted', keyType: 'ED25519', fingerprint: FP, presentedBy: 'a' } })).kind, 'connected');
  assert.deepEqual(hostStep(host({ status: 'error', statusReason: 'refused the login' })), { kind: 'error', reason: 'refused the login' });
  assert.deepEqual(hostStep(host({ status: 'disconnected', statusReason: 'ECONNREFUSED. Next attempt in 4 s' })), { kind: 'waiting', reason: 'ECONNREFUSED. Next attempt in 4 s' });
});

test('the fingerprint line reads as ssh prints it', () => {
  assert.equal(fingerprintLine('ED25519', FP), `ED25519 key fingerprint is ${FP}.`);
});

test('the add-host form becomes the request, or says what is missing', () => {
  assert.match(problem(addHostRequest(EMPTY_ADD_HOST)), /address/);
  assert.match(problem(addHostRequest({ ...EMPTY_ADD_HOST, target: '10.0.0.1' })), /key file/);
  assert.match(problem(addHostRequest({ ...EMPTY_ADD_HOST, target: '10.0.0.1', port: '70000', auth: 'agent' })), /port/);
  assert.deepEqual(addHostRequest({ ...EMPTY_ADD_HOST, target: ' 10.0.0.1 ', keyPath: '/root/.ssh/id', port: '2222' }), {
    name: '10.0.0.1', address: '10.0.0.1', port: 2222, user: 'root', auth: { kind: 'key', keyPath: '/root/.ssh/id' }, hypervisor: 'xen',
  });
  // An alias may leave the key file to ~/.ssh/config's IdentityFile, and the user to its User.
  assert.deepEqual(addHostRequest({ ...EMPTY_ADD_HOST, name: 'A', targetKind: 'alias', target: 'xen-a', user: '' }), {
    name: 'A', alias: 'xen-a', auth: { kind: 'key' }, hypervisor: 'xen',
  });
  assert.deepEqual(addHostRequest({ ...EMPTY_ADD_HOST, target: 'h', auth: 'password' }), { name: 'h', address: 'h', user: 'root', auth: { kind: 'password' }, hypervisor: 'xen' });
});

test('the protect wizard\'s draft carries only the options of its mode', () => {
  const base = { ...EMPTY_PROTECT, primaryHostId: 'a', secondaryHostId: 'b', domain: 'web01' };
  assert.match(problem(pairDraftOf({ ...base, secondaryHostId: 'a' })), /another host/);
  assert.deepEqual(pairDraftOf({ ...base, userspaceProxy: true, remusIntervalMs: '50', secondaryAddress: '192.168.1.2' }), {
    name: 'web01', backend: 'xen', domain: 'web01', primaryHostId: 'a', secondaryHostId: 'b', mode: 'colo',
    options: { secondaryAddress: '192.168.1.2', userspaceProxy: true },
  });
  assert.deepEqual(pairDraftOf({ ...base, mode: 'remus', userspaceProxy: true, remusIntervalMs: '50' }), {
    name: 'web01', backend: 'xen', domain: 'web01', primaryHostId: 'a', secondaryHostId: 'b', mode: 'remus', options: { remusIntervalMs: 50 },
  });
  assert.match(problem(pairDraftOf({ ...base, mode: 'remus', remusIntervalMs: '0.5' })), /interval/);
});

test('a preflight with a failed check cannot be added; warnings can', () => {
  const pass = { id: 'hvm', label: 'HVM guest', status: 'pass' as const };
  const warn = { id: 'ver', label: 'Xen version', status: 'warn' as const, detail: '4.19' };
  const fail = { id: 'disk', label: 'colo disk keys', status: 'fail' as const };
  assert.deepEqual(preflightVerdict([pass, warn]), { fails: 0, warns: 1, canAdd: true, summary: 'Ready, with 1 warning.' });
  assert.equal(preflightVerdict([pass, fail]).canAdd, false);
  assert.match(preflightVerdict([pass, fail, fail]).summary, /2 checks failed/);
  assert.equal(preflightVerdict([]).canAdd, false);
});

test('a domain\'s protection names its pair and role', () => {
  const pair = { id: 'p', name: 'web', domain: 'web01', primaryHostId: 'a', secondaryHostId: 'b', state: { state: 'protected', since: 0 } } as PairInfo;
  assert.equal(domainProtection({ name: 'web01', state: 'running' }, 'a', [pair]), 'primary of web (protected)');
  assert.equal(domainProtection({ name: 'web01--incoming', state: 'paused', role: 'secondary' }, 'b', [pair]), 'COLO secondary (incoming copy)');
  assert.equal(domainProtection({ name: 'pv01', state: 'running' }, 'a', [pair]), 'not protected');
});

test('a pair is removable only when it does not run, and removing it touches neither host', () => {
  const pair = (state: string) => ({ id: 'p', name: 'web', primaryHostId: 'a', secondaryHostId: 'b', state: { state, since: 0 } }) as PairInfo;
  assert.match(removePairRefusal(pair('protected')) ?? '', /stop its protection first/);
  assert.equal(removePairRefusal(pair('stopped')), null);
  assert.equal(removePairRefusal(pair('failed-over')), null);
  const plan = removePairPlan(pair('stopped'), [host({ id: 'a', name: 'Xen A', status: 'connected' })]);
  assert.deepEqual(plan.sides.map((s) => [s.host, s.hostStatus]), [['Xen A', 'connected'], ['b', 'unknown']]);
  assert.ok(plan.sides.every((s) => /Nothing is sent/.test(s.effect)));
});
