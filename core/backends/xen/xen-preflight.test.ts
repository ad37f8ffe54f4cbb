// Preflight decisions over recorded `xl list -l` and `xl info` texts: a guest that passes, a PV guest, disks
// without the colo keys, a secondary already holding the guest, too little memory, unequal disks, unreachable
// secondary; every failure says why and how to fix it.

import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { parseXlListStates } from './xen-backend.js';
import { type Fact, type PreflightFacts, preflightChecks } from './xen-preflight.js';
import { parseXlInfo } from './xl-info.js';
import { parseXlList } from './xl-list.js';

const INFO_A = `host                   : dom0-a
virt_caps              : pv hvm hvm_directio pv_directio hap shadow
total_memory           : 32617
free_memory            : 20480
xen_major              : 4
xen_minor              : 17
xen_extra              : .3
xen_version            : 4.17.3
`;
const INFO_B = INFO_A.replace('dom0-a', 'dom0-b').replace('free_memory            : 20480', 'free_memory            : 4096');

const coloDisk = (img: string) => ({ pdev_path: img, vdev: 'xvda', backend: 'qdisk', colo_host: '10.0.0.2', colo_port: 9000, colo_export: 'e', active_disk: '/colo/a.qcow2', hidden_disk: '/colo/h.qcow2' });
const LIST_A = JSON.stringify([
  { domid: 0, config: { c_info: { type: 'pv', name: 'Domain-0' } } },
  { domid: 3, config: { c_info: { type: 'hvm', name: 'web01', uuid: '11111111-2222-3333-4444-555555555555' }, b_info: { max_memkb: 524288, max_vcpus: 2 }, disks: [coloDisk('/var/lib/xen/images/web01.img')], nics: [{ bridge: 'xenbr0', mac: '00:16:3e:00:00:01' }] } },
  { domid: 4, config: { c_info: { type: 'pv', name: 'pv01' }, b_info: { max_memkb: 262144 }, disks: [coloDisk('/var/lib/xen/images/pv01.img')] } },
  { domid: 5, config: { c_info: { type: 'hvm', name: 'plain01' }, b_info: { max_memkb: 262144 }, disks: [{ pdev_path: '/var/lib/xen/images/plain01.img', vdev: 'xvda', backend: 'qdisk' }] } },
]);
const LIST_B = JSON.stringify([{ domid: 0, config: { c_info: { type: 'pv', name: 'Domain-0' } } }]);

const ok = <T>(value: T): Fact<T> => ({ ok: true, value });

function facts(domain: string, over: Partial<PreflightFacts> = {}): PreflightFacts {
  return {
    domain,
    primaryName: 'xen-a',
    secondaryName: 'xen-b',
    secondaryAddress: '10.0.0.2',
    userspaceProxy: false,
    primaryInfo: ok(parseXlInfo(INFO_A)),
    primaryDomains: ok(parseXlList(LIST_A)),
    secondaryInfo: ok(parseXlInfo(INFO_B)),
    secondaryDomains: ok(parseXlList(LIST_B)),
    secondaryReachable: ok(true as const),
    replicationDriver: ok(true),
    disks: [{ path: `/var/lib/xen/images/${domain}.img`, primarySize: ok(1 << 30), secondarySize: ok(1 << 30) }],
    ...over,
  };
}

const byId = (checks: ReturnType<typeof preflightChecks>) => Object.fromEntries(checks.map((c) => [c.id, c]));

describe('Xen preflight decisions', () => {
  test('web01 passes every check', () => {
    const checks = preflightChecks(facts('web01'));
    assert.deepEqual(checks.filter((c) => c.status !== 'pass').map((c) => `${c.id}: ${c.detail}`), []);
    assert.deepEqual(checks.map((c) => c.id), ['domain', 'hvm', 'colo-disks', 'secondary-ssh', 'device-model', 'secondary-memory', 'no-incoming', 'no-copy', 'disk-size', 'xen-version']);
    assert.match(byId(checks)['secondary-memory']!.detail!, /4096 MiB free, the guest needs 512 MiB/);
  });

  test('pv01 fails HVM; plain01 fails the colo disk keys; a missing guest fails with the fix', () => {
    const pv = byId(preflightChecks(facts('pv01')));
    assert.equal(pv.hvm!.status, 'fail');
    assert.match(pv.hvm!.detail!, /"pv".*HVM guests only.*Fix:/);
    const plain = byId(preflightChecks(facts('plain01')));
    assert.equal(plain.hvm!.status, 'pass');
    assert.equal(plain['colo-disks']!.status, 'fail');
    assert.match(plain['colo-disks']!.detail!, /xvda lacks backend=qdisk with colo.*Fix:/);
    const none = byId(preflightChecks(facts('db01', { disks: undefined })));
    assert.equal(none.domain!.status, 'fail');
    assert.match(none.domain!.detail!, /no domain named "db01".*Fix: create it paused/);
    assert.equal(none.hvm, undefined);
  });

  test('the secondary already holding the guest, too little memory, unequal disks, ssh and device model failures', () => {
    const listB = JSON.stringify([{ domid: 9, config: { c_info: { type: 'hvm', name: 'web01--incoming' } } }, { domid: 10, config: { c_info: { type: 'hvm', name: 'web01' } } }]);
    const c = byId(preflightChecks(facts('web01', {
      secondaryDomains: ok(parseXlList(listB)),
      secondaryInfo: ok(parseXlInfo(INFO_B.replace(': 4096', ': 100'))),
      secondaryReachable: { ok: false, error: 'ssh from xen-a to 10.0.0.2 failed (exit 255: Permission denied (publickey)).' },
      replicationDriver: ok(false),
      disks: [{ path: '/var/lib/xen/images/web01.img', primarySize: ok(100), secondarySize: ok(99) }],
    })));
    for (const id of ['no-incoming', 'no-copy', 'secondary-memory', 'secondary-ssh', 'device-model', 'disk-size']) {
      assert.equal(c[id]!.status, 'fail', id);
      assert.match(c[id]!.detail!, /Fix:/, id);
    }
    assert.match(c['no-incoming']!.detail!, /web01--incoming already exists on xen-b/);
    assert.match(c['disk-size']!.detail!, /100 bytes on xen-a and 99 on xen-b/);
    assert.match(c['secondary-ssh']!.detail!, /Permission denied/);
  });

  test('-p needs vif colo keys; checksums only when asked, and a difference fails', () => {
    const p = byId(preflightChecks(facts('web01', { userspaceProxy: true })));
    assert.equal(p['colo-vifs']!.status, 'fail');
    assert.equal(byId(preflightChecks(facts('web01')))['colo-vifs'], undefined);
    const sums = byId(preflightChecks(facts('web01', { disks: [{ path: '/i', primarySize: ok(1), secondarySize: ok(1), primarySum: ok('a'.repeat(64)), secondarySum: ok('b'.repeat(64)) }] })));
    assert.equal(sums['disk-checksum']!.status, 'fail');
    assert.equal(byId(preflightChecks(facts('web01')))['disk-checksum'], undefined);
  });

  test('Xen 4.18+ and unequal versions warn; a host whose xl fails gives a failure naming it', () => {
    const newer = byId(preflightChecks(facts('web01', { primaryInfo: ok(parseXlInfo(INFO_A.replace(': 17', ': 19').replace('4.17.3', '4.19.1'))) })));
    assert.equal(newer['xen-version']!.status, 'warn');
    assert.match(newer['xen-version']!.detail!, /16-byte header.*different Xen versions/);
    const down = byId(preflightChecks(facts('web01', { secondaryDomains: { ok: false, error: 'xen-b: `xl list -l` failed: did not finish within 20 s.' } })));
    assert.equal(down['no-incoming']!.status, 'fail');
    assert.match(down['no-incoming']!.detail!, /^xen-b: `xl list -l` failed/);
  });
});

describe('xl list states', () => {
  test('the State column by name, names with spaces included; junk ignored', () => {
    const text = `Name                                        ID   Mem VCPUs\tState\tTime(s)
Domain-0                                     0  4096     4     r-----     120.5
web01                                        3   512     2     -b----       3.2
two words                                    4   256     1     --p---       0.0
web01--incoming                              7   512     2     ------       0.1
garbage line
`;
    assert.deepEqual([...parseXlListStates(text)], [['Domain-0', 'r-----'], ['web01', '-b----'], ['two words', '--p---'], ['web01--incoming', '------']]);
  });
});
