import assert from 'node:assert/strict';
import { test } from 'node:test';
import type { QemuPairStatus, QemuSideStatus } from '../../../core/api/console-contract.js';
import { EMPTY_PROTECT, pairDraftOf } from './hosts';
import {
  EMPTY_QEMU, NOT_REPORTED_BY_QEMU, QEMU_NETWORK_TEXT, checkpointDelayInput, commandHost, firstQemuError, heartbeatInput, monitorText, monitorTone, prefillQmp, qemuFigures,
  qemuOptionsOf, sizesReported, splitCommandLines,
} from './qemu';

/** The complaint; fails the test if the input was accepted. */
function problem(v: unknown): string {
  assert.equal(typeof v, 'string', `expected a complaint, got ${JSON.stringify(v)}`);
  return v as string;
}

const attach = { ...EMPTY_QEMU, primaryQmp: '/run/qemu/web-p.qmp', secondaryQmp: '/run/qemu/web-s.qmp' };

test('an attach sends its sockets, the incoming URI and the watch settings; empty fields are left to the service', () => {
  assert.deepEqual(qemuOptionsOf({ ...attach, incomingUri: ' tcp:10.0.0.2:9998 ', checkpointDelayMs: '200', heartbeatMisses: '5', disk: '/ignored.img' }), {
    options: { primaryQmp: '/run/qemu/web-p.qmp', secondaryQmp: '/run/qemu/web-s.qmp', incomingUri: 'tcp:10.0.0.2:9998', checkpointDelayMs: 200, heartbeatMisses: 5, autoFailover: true },
  });
  // An unticked auto-failover is said, not left to the service's default (on).
  assert.deepEqual(qemuOptionsOf({ ...attach, autoFailover: false }), { options: { primaryQmp: '/run/qemu/web-p.qmp', secondaryQmp: '/run/qemu/web-s.qmp', autoFailover: false } });
});

test('a launch sends the VM definition and launch, never an incoming URI', () => {
  const r = qemuOptionsOf({ ...attach, way: 'launch', incomingUri: 'tcp:x:1', accel: 'tcg', memoryMiB: '256', disk: '/var/lib/images/web.img', diskFormat: 'qcow2', nbdPort: '10999' });
  assert.deepEqual(r, {
    options: {
      primaryQmp: '/run/qemu/web-p.qmp', secondaryQmp: '/run/qemu/web-s.qmp', autoFailover: true, launch: true,
      accel: 'tcg', memoryMiB: 256, disk: '/var/lib/images/web.img', diskFormat: 'qcow2', nbdPort: 10999,
    },
  });
});

test('a launch with network none sends no network, and none of the proxy\'s fields', () => {
  const r = qemuOptionsOf({ ...attach, way: 'launch', network: 'none', bridge: 'br0', proxyBasePort: '9100', macAddress: '52:54:00:12:34:56', primaryReplicationAddress: '10.0.0.1' });
  assert.deepEqual(r, { options: { primaryQmp: '/run/qemu/web-p.qmp', secondaryQmp: '/run/qemu/web-s.qmp', autoFailover: true, launch: true } });
});

test('a launch with network user sends the network and the proxy\'s fields typed, never a bridge', () => {
  const r = qemuOptionsOf({ ...attach, way: 'launch', network: 'user', bridge: 'br0', proxyBasePort: ' 9100 ', macAddress: '52:54:00:12:34:56', primaryReplicationAddress: ' 10.0.0.1 ' });
  assert.deepEqual(r, {
    options: {
      primaryQmp: '/run/qemu/web-p.qmp', secondaryQmp: '/run/qemu/web-s.qmp', autoFailover: true, launch: true,
      network: 'user', proxyBasePort: 9100, macAddress: '52:54:00:12:34:56', primaryReplicationAddress: '10.0.0.1',
    },
  });
  // Empty fields are left to the service (proxy base 9003, QEMU's MAC, the primary host's address).
  assert.deepEqual(qemuOptionsOf({ ...attach, way: 'launch', network: 'user' }), {
    options: { primaryQmp: '/run/qemu/web-p.qmp', secondaryQmp: '/run/qemu/web-s.qmp', autoFailover: true, launch: true, network: 'user' },
  });
});

test('a launch with network bridge sends the bridge\'s name, and refuses to go without one', () => {
  assert.deepEqual(qemuOptionsOf({ ...attach, way: 'launch', network: 'bridge', bridge: ' br0 ' }), {
    options: { primaryQmp: '/run/qemu/web-p.qmp', secondaryQmp: '/run/qemu/web-s.qmp', autoFailover: true, launch: true, network: 'bridge', bridge: 'br0' },
  });
  const missing = qemuOptionsOf({ ...attach, way: 'launch', network: 'bridge' });
  assert.ok('errors' in missing);
  assert.deepEqual(Object.keys(missing.errors), ['bridge']);
  assert.equal(firstQemuError(missing.errors), 'Host bridge: name the host bridge the guest joins');
});

test('the network\'s fields complain beside themselves, in the schema\'s words; an attach ignores them', () => {
  const r = qemuOptionsOf({ ...attach, way: 'launch', network: 'bridge', bridge: 'br0;reboot', proxyBasePort: '65533', macAddress: '01:00:5e:00:00:01', primaryReplicationAddress: 'a b' });
  assert.ok('errors' in r);
  assert.deepEqual(Object.keys(r.errors).sort(), ['bridge', 'macAddress', 'primaryReplicationAddress', 'proxyBasePort']);
  assert.match(r.errors.bridge ?? '', /interface name/);
  assert.match(r.errors.macAddress ?? '', /unicast MAC address/);
  assert.match(r.errors.primaryReplicationAddress ?? '', /host name or IP address/);
  assert.match(r.errors.proxyBasePort ?? '', /65532/);
  const words = qemuOptionsOf({ ...attach, way: 'launch', network: 'user', proxyBasePort: 'ninety' });
  assert.ok('errors' in words);
  assert.equal(words.errors.proxyBasePort, 'a whole number');
  // An attach launches nothing: the network is whatever the running QEMUs have.
  assert.deepEqual(qemuOptionsOf({ ...attach, network: 'bridge', macAddress: 'nonsense' }), {
    options: { primaryQmp: '/run/qemu/web-p.qmp', secondaryQmp: '/run/qemu/web-s.qmp', autoFailover: true },
  });
});

test('each network has its sentence: what the guest gets and what the hosts need', () => {
  assert.match(QEMU_NETWORK_TEXT.none, /No NIC/);
  assert.match(QEMU_NETWORK_TEXT.user, /user-mode network/);
  assert.match(QEMU_NETWORK_TEXT.bridge, /qemu-bridge-helper.*\/etc\/qemu\/bridge\.conf/);
});

test('each complaint stays with its field, in the schema\'s words', () => {
  const r = qemuOptionsOf({ ...EMPTY_QEMU, secondaryQmp: 'relative/path', incomingUri: 'http://x', checkpointDelayMs: '1.5', heartbeatIntervalMs: '50' });
  assert.ok('errors' in r);
  assert.match(r.errors.primaryQmp ?? '', /QMP socket/);
  assert.match(r.errors.secondaryQmp ?? '', /absolute path/);
  assert.match(r.errors.incomingUri ?? '', /tcp:<host>:<port>/);
  assert.equal(r.errors.checkpointDelayMs, 'a whole number');
  assert.match(r.errors.heartbeatIntervalMs ?? '', /100/);
  assert.equal(r.errors.disk, undefined);
  const launch = qemuOptionsOf({ ...attach, way: 'launch', migrationPort: '70000', machine: 'pc;rm' });
  assert.ok('errors' in launch);
  assert.deepEqual(Object.keys(launch.errors).sort(), ['machine', 'migrationPort']);
  assert.match(firstQemuError(launch.errors) ?? '', /^(Machine|Migration port): /);
});

test('the protect draft for QEMU hosts is COLO with the QEMU options, or the first complaint', () => {
  const base = { ...EMPTY_PROTECT, backend: 'qemu' as const, primaryHostId: 'a', secondaryHostId: 'b', domain: ' web01 ' };
  assert.deepEqual(pairDraftOf({ ...base, qemu: attach }), {
    name: 'web01', backend: 'qemu', domain: 'web01', primaryHostId: 'a', secondaryHostId: 'b', mode: 'colo',
    options: { primaryQmp: '/run/qemu/web-p.qmp', secondaryQmp: '/run/qemu/web-s.qmp', autoFailover: true },
  });
  assert.match(problem(pairDraftOf({ ...base, domain: '' })), /VM's name/);
  assert.match(problem(pairDraftOf({ ...base, qemu: { ...attach, secondaryQmp: '' } })), /^Secondary's QMP socket: /);
  assert.match(problem(pairDraftOf({ ...base, qemu: { ...attach, way: 'launch', network: 'bridge' } })), /^Host bridge: name the host bridge/);
  const launched = pairDraftOf({ ...base, qemu: { ...attach, way: 'launch', network: 'user', primaryReplicationAddress: '127.0.0.2' } });
  assert.ok(typeof launched !== 'string' && launched.backend === 'qemu');
  assert.deepEqual(launched.options, { primaryQmp: '/run/qemu/web-p.qmp', secondaryQmp: '/run/qemu/web-s.qmp', autoFailover: true, launch: true, network: 'user', primaryReplicationAddress: '127.0.0.2' });
});

test('the sockets are prefilled from the domain lists: the primary\'s VM by name, the secondary\'s copy by role', () => {
  const primary = [{ name: 'db', state: 'running' as const, qmpSocket: '/run/db.qmp' }, { name: 'web01', state: 'running' as const, qmpSocket: '/run/web.qmp' }];
  const secondary = [{ name: 'other', state: 'running' as const, qmpSocket: '/run/other.qmp' }, { name: 'web01', state: 'paused' as const, role: 'secondary' as const, qmpSocket: '/run/web-s.qmp' }];
  const f = prefillQmp(EMPTY_QEMU, 'web01', primary, secondary);
  assert.equal(f.primaryQmp, '/run/web.qmp');
  assert.equal(f.secondaryQmp, '/run/web-s.qmp');
  // What the admin typed stays.
  assert.equal(prefillQmp({ ...EMPTY_QEMU, primaryQmp: '/mine' }, 'web01', primary, null).primaryQmp, '/mine');
  assert.equal(prefillQmp(EMPTY_QEMU, 'nope', primary, []).primaryQmp, '');
});

test('command lines come apart from the other checks, with the host each runs on', () => {
  const checks = [
    { id: 'qmp-primary', label: 'Primary monitor answers', status: 'pass' as const },
    { id: 'command-line-secondary', label: 'Secondary QEMU command line', status: 'pass' as const, detail: 'qemu-system-x86_64 -name web01 -incoming tcp:0:9998' },
    { id: 'command-line-primary', label: 'Primary QEMU command line', status: 'pass' as const, detail: 'qemu-system-x86_64 -name web01' },
    { id: 'command-line-note', label: 'no command', status: 'warn' as const },
  ];
  const { commands, others } = splitCommandLines(checks);
  assert.deepEqual(commands.map((c) => c.id), ['command-line-secondary', 'command-line-primary']);
  assert.deepEqual(others.map((c) => c.id), ['qmp-primary', 'command-line-note']);
  assert.equal(commandHost(commands[0]!, 'qemu-a', 'qemu-b'), 'qemu-b');
  assert.equal(commandHost(commands[1]!, 'qemu-a', 'qemu-b'), 'qemu-a');
  assert.equal(commandHost({ id: 'command-line-1', label: 'on qemu-b', command: 'x' }, 'qemu-a', 'qemu-b'), 'qemu-b');
});

const side = (over: Partial<QemuSideStatus>): QemuSideStatus => ({ monitor: 'connected', missedHeartbeats: 0, lastAnswerAt: 1, ...over });
const status = (over: Partial<QemuPairStatus>): QemuPairStatus => ({
  checkpointDelayMs: 200, migration: 'colo', heartbeat: { intervalMs: 1000, misses: 3, autoFailover: true }, primary: side({ version: '7.2.22' }), secondary: side({}),
  lastColoExit: null, launch: false, ...over,
});

test('a QEMU pair\'s figures: version and checkpoint delay as QEMU reports them', () => {
  assert.equal(qemuFigures(status({})), 'QEMU 7.2.22 · delay 200 ms');
  assert.equal(qemuFigures(status({ primary: side({ version: 'QEMU 7.2.22' }) })), 'QEMU 7.2.22 · delay 200 ms');
  assert.equal(qemuFigures(status({ checkpointDelayMs: null, primary: null, secondary: side({ version: '8.2.0' }) })), 'QEMU 8.2.0 · delay —');
  assert.equal(qemuFigures(status({ primary: null, secondary: null, checkpointDelayMs: 20_000 })), 'QEMU · delay 20.0 s');
});

test('a monitor reads as connected, silent or unreachable, with why', () => {
  assert.equal(monitorText(side({ detail: 'ignored while connected' })), 'connected');
  assert.equal(monitorText(side({ monitor: 'silent', detail: 'no answer for 3 s' })), 'silent: no answer for 3 s');
  assert.equal(monitorText(null), 'not watched');
  assert.equal(monitorTone(side({ monitor: 'unreachable' })), 'bad');
  assert.equal(monitorTone(side({ missedHeartbeats: 1 })), 'warn');
  assert.equal(monitorTone(side({})), 'ok');
});

test('the live controls take only what qemu.configure accepts', () => {
  assert.equal(checkpointDelayInput(' 500 '), 500);
  assert.match(problem(checkpointDelayInput('0')), /from 1 to 3600000/);
  assert.match(problem(checkpointDelayInput('2e3')), /whole number/);
  assert.deepEqual(heartbeatInput('500', '4', false), { heartbeatIntervalMs: 500, heartbeatMisses: 4, autoFailover: false });
  assert.match(problem(heartbeatInput('50', '4', true)), /interval/);
  assert.match(problem(heartbeatInput('500', '', true)), /Missed/);
});

test('page and byte counts are not shown as 0 for QEMU pairs', () => {
  assert.equal(sizesReported({ backend: 'qemu' }), false);
  assert.equal(sizesReported({ backend: 'xen' }), true);
  assert.equal(sizesReported(undefined), true);
  assert.match(NOT_REPORTED_BY_QEMU, /QEMU/);
});
