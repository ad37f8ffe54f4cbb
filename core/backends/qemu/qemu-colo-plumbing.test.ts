// The clean-up and restore steps of a launched pair's COLO set-up: the documentation's failover runbooks, ids that
// are the launch's own, and a restore that adds only what the running QEMU lacks. (Real QEMU runs them in
// qemu-backend-launch.test.ts and qemu-launch.test.ts.)

import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { type ColoLayout, coloLayout, primaryAloneSteps, primaryProxySteps, secondaryAloneSteps, stepName } from './qemu-colo-plumbing.js';
import { launchPlan } from './qemu-launch.js';
import type { QemuPairOptions } from './qemu-options.js';

const OPTIONS: QemuPairOptions = { launch: true, primaryQmp: '/run/p.qmp', secondaryQmp: '/run/s.qmp', network: 'user', disk: '/srv/web.img', proxyBasePort: 9100 };
const FULL: ColoLayout = { network: true, disk: true, proxyBasePort: 9100 };
const none = { objects: new Set<string>(), chardevs: new Set<string>() };

describe('COLO set-up around a launched guest', () => {
  test('only a launched pair has a layout: an attached one is the admin\'s own', () => {
    assert.deepEqual(coloLayout(OPTIONS), FULL);
    assert.deepEqual(coloLayout({ ...OPTIONS, network: undefined, disk: undefined, proxyBasePort: undefined }), { network: false, disk: false, proxyBasePort: 9003 });
    assert.equal(coloLayout({ ...OPTIONS, launch: false }), null);
    assert.deepEqual(primaryAloneSteps({ network: false, disk: false, proxyBasePort: 9003 }), []);
    assert.deepEqual(secondaryAloneSteps({ network: false, disk: false, proxyBasePort: 9003 }), { before: [], after: [] });
  });

  test('the failover runbooks, in the documentation\'s order, on ids the launch itself gave', () => {
    assert.deepEqual(primaryAloneSteps(FULL).map(stepName), [
      'x-blockdev-change children.1', 'human-monitor-command drive_del replication0',
      'object-del comp0', 'object-del iothread1', 'object-del m0', 'object-del redire0', 'object-del redire1',
    ]);
    const s = secondaryAloneSteps(FULL);
    assert.deepEqual(s.before.map(stepName), ['nbd-server-stop']);
    assert.deepEqual(s.after.map(stepName), ['object-del f2', 'object-del f1', 'chardev-remove red1', 'chardev-remove red0']);

    // Every id removed is one the command lines create, on the side that has it.
    const plan = launchPlan('web', OPTIONS, '10.0.0.2', '10.0.0.1');
    const idsIn = (words: string[]): string[] => words.flatMap((a) => [...a.matchAll(/(?:^|,| )(?:id|node-name)=([^, ]+)/g)].map((m) => m[1]!));
    const text = (v: unknown): string => (typeof v === 'string' ? v : '');
    const primaryIds = [...idsIn(plan.primary.argv), ...idsIn(plan.afterLaunch.primary.map((st) => text(st.arguments?.['command-line'])))];
    /** What a step acts on: an object's id, the parent drive, or the node drive_del names. */
    const target = (st: { arguments?: Record<string, unknown> }): string => text(st.arguments?.id) || text(st.arguments?.parent) || text(st.arguments?.['command-line']).split(' ')[1]!;
    for (const st of primaryAloneSteps(FULL)) assert.ok(primaryIds.includes(target(st)), `${stepName(st)}: ${target(st)} in ${primaryIds.join(' ')}`);
    for (const st of s.after) assert.ok(idsIn(plan.secondary.argv).includes(target(st)), stepName(st));
  });

  test('a guest that was the secondary gets the whole proxy, its filters before its rewriter, its redirectors removed first', () => {
    const steps = primaryProxySteps(FULL, '10.0.0.2', { objects: new Set(['rew0', 'f1', 'f2']), chardevs: new Set(['red0', 'red1', 'colo-qmp']) });
    assert.deepEqual(steps.map(stepName), [
      'object-del f2', 'object-del f1', 'chardev-remove red1', 'chardev-remove red0',
      'chardev-add mirror0', 'chardev-add compare1', 'chardev-add compare0', 'chardev-add compare0-0', 'chardev-add compare_out', 'chardev-add compare_out0',
      'object-add m0', 'object-add redire0', 'object-add redire1', 'object-add iothread1', 'object-add comp0',
    ]);
    assert.deepEqual(steps[4]!.arguments, { id: 'mirror0', backend: { type: 'socket', data: { addr: { type: 'inet', data: { host: '10.0.0.2', port: '9100' } }, server: true, wait: false } } });
    assert.deepEqual(steps[7]!.arguments, { id: 'compare0-0', backend: { type: 'socket', data: { addr: { type: 'inet', data: { host: '127.0.0.1', port: '9102' } }, server: false } } });
    assert.deepEqual(steps[10]!.arguments, { 'qom-type': 'filter-mirror', id: 'm0', netdev: 'hn0', queue: 'tx', outdev: 'mirror0', insert: 'before', position: 'id=rew0' });
    assert.deepEqual(steps.slice(10).map((st) => st.arguments?.id), ['m0', 'redire0', 'redire1', 'iothread1', 'comp0']);
    assert.deepEqual(steps[14]!.arguments, { 'qom-type': 'colo-compare', id: 'comp0', primary_in: 'compare0-0', secondary_in: 'compare1', outdev: 'compare_out0', iothread: 'iothread1' });
  });

  test('a primary that ran on alone kept its sockets: only its objects come back; one that has it all gets nothing', () => {
    const sockets = new Set(['mirror0', 'compare1', 'compare0', 'compare0-0', 'compare_out', 'compare_out0']);
    const steps = primaryProxySteps(FULL, '10.0.0.1', { objects: new Set(), chardevs: sockets });
    assert.deepEqual(steps.map((st) => st.arguments?.id), ['m0', 'redire0', 'redire1', 'iothread1', 'comp0']);
    assert.equal(steps[0]!.arguments?.insert, undefined, 'no rewriter, nothing to go before');
    assert.deepEqual(primaryProxySteps(FULL, '10.0.0.1', { objects: new Set(['m0', 'redire0', 'redire1', 'iothread1', 'comp0']), chardevs: sockets }), []);
    assert.deepEqual(primaryProxySteps({ ...FULL, network: false }, '10.0.0.1', none), []);
  });
});
