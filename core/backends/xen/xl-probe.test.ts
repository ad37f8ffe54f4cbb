// xl info and xl list -l as a dom0 prints them, and as a lying host might: truncated JSON, the wrong shape,
// wrong types, sizes past the bound.

import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { parseXlInfo, xenProbe } from './xl-info.js';
import { XlListError, domainSummary, parseXlList } from './xl-list.js';

const INFO = `host                   : dom0-a
release                : 6.1.0-18-amd64
nr_cpus                : 8
virt_caps              : pv hvm hvm_directio pv_directio hap shadow
total_memory           : 32617
free_memory            : 20480
xen_major              : 4
xen_minor              : 17
xen_extra              : .3
xen_version            : 4.17.3
xen_commandline        : placeholder dom0_mem=4096M
`;

describe('xl info', () => {
  test('keys, numbers in MiB, virt_caps and the version', () => {
    const i = parseXlInfo(INFO);
    assert.deepEqual([i.host, i.xenVersion, i.xenMajor, i.xenMinor, i.totalMemoryMiB, i.freeMemoryMiB, i.nrCpus], ['dom0-a', '4.17.3', 4, 17, 32617, 20480, 8]);
    assert.ok(i.virtCaps.includes('hvm'));
    assert.deepEqual(xenProbe(i), { hypervisor: 'xen', version: 'Xen 4.17.3', capabilities: i.virtCaps, warnings: [] });
  });

  test('4.18 and later carry the dirty-list warning; no hvm is said; no version is said', () => {
    const newer = xenProbe(parseXlInfo(INFO.replace('xen_minor              : 17', 'xen_minor              : 19').replace('4.17.3', '4.19.1')));
    assert.match(newer.warnings[0]!, /^Xen 4\.19\.1: since 4\.18 the secondary writes its dirty-page list with a 16-byte header/);
    assert.match(xenProbe(parseXlInfo(INFO.replace(' hvm hvm_directio', ''))).warnings.join(' '), /cannot run HVM guests/);
    assert.match(xenProbe(parseXlInfo('host : x\n')).warnings[0]!, /no Xen version/);
  });

  test('garbage and floods are bounded: no exception, numbers that are not numbers are absent', () => {
    const i = parseXlInfo(`free_memory : lots\n${'junk line without colon\n'.repeat(50_000)}nr_cpus : 4\n`);
    assert.equal(i.freeMemoryMiB, undefined);
    assert.equal(i.nrCpus, undefined, 'past the byte bound');
    const many = parseXlInfo(Array.from({ length: 1000 }, (_, k) => `k${k} : v`).join('\n'));
    assert.equal(Object.keys(many.raw).length, 200);
  });
});

const LIST = JSON.stringify([
  { domid: 0, config: { c_info: { type: 'pv', name: 'Domain-0' } } },
  {
    domid: 7,
    config: {
      c_info: { type: 'hvm', name: 'web-01', uuid: 'c5b1f5f0-1c1a-4b1e-9d56-1f1e2a3b4c5d' },
      b_info: { max_memkb: 2097152, max_vcpus: 2 },
      disks: [{ pdev_path: '/images/web-01.qcow2', vdev: 'hda', backend: 'qdisk', colo_host: '10.0.0.2', colo_port: 9000, colo_export: 'web01', active_disk: '/colo/a.qcow2', hidden_disk: '/colo/h.qcow2' }],
      nics: [{ bridge: 'xenbr0', mac: '00:16:3e:00:00:01', colo_compare_pri_in_id: 'x' }],
    },
  },
  { domid: 9, config: { c_info: { type: 'hvm', name: 'web-01--incoming' }, disks: [{ vdev: 'hda' }] } },
]);

describe('xl list -l', () => {
  test('the fields the console uses; everything optional; --incoming is a secondary', () => {
    const doms = parseXlList(LIST);
    assert.equal(doms.length, 3);
    const web = doms[1]!;
    assert.deepEqual([web.domid, web.name, web.type, web.maxMemKiB, web.vcpus], [7, 'web-01', 'hvm', 2097152, 2]);
    assert.deepEqual(web.disks, [{ target: '/images/web-01.qcow2', vdev: 'hda', backend: 'qdisk', colo: true }]);
    assert.equal(web.nics[0]!.coloKeys, 1);
    assert.equal(doms[2]!.disks[0]!.colo, false);
    assert.deepEqual(domainSummary(doms[2]!, true), { name: 'web-01--incoming', id: '9', state: 'running', role: 'secondary' });
    assert.deepEqual(domainSummary(web, false).memoryMiB, 2048);
    assert.deepEqual(parseXlList(''), []);
  });

  test('a lying host: truncated JSON, not an array, wrong types, too big', () => {
    assert.throws(() => parseXlList(LIST.slice(0, LIST.length / 2)), (e: Error) => e instanceof XlListError && /did not print valid JSON.*cut off/.test(e.message));
    assert.throws(() => parseXlList('{"domid":1}'), /not an array/);
    assert.throws(() => parseXlList(' '.repeat(33 * 1024 * 1024)), /more than the/);
    const odd = parseXlList(JSON.stringify([{ domid: 'seven', config: { c_info: { name: 42, type: ['hvm'] }, disks: 'none', b_info: { max_memkb: -5 } } }, null, 3]));
    assert.deepEqual(odd[0], { disks: [], nics: [] });
    assert.deepEqual(odd[1], { disks: [], nics: [] });
  });
});
