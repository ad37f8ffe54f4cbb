// The Xen run store: what is put comes back after a restart (a new instance on the same directory), a hostile or
// broken file is moved aside and reported, and runs of the wrong shape are left out.

import assert from 'node:assert/strict';
import { existsSync, mkdtempSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { after, describe, test } from 'node:test';
import { initialAssemblerState } from './cycle-assembler.js';
import { JsonFileRunStore, RUN_STORE_FILE, type XenRun } from './xen-run-store.js';

const RUN: XenRun = {
  pairId: 'p1', primaryHostId: 'a', secondaryHostId: 'b', domain: 'web01', uuid: 'u-1', unit: 'colo-console-p1-x',
  log: '/var/log/colo-console/colo-console-p1-x.log', supervisor: 'nohup', pid: 4242, startedAt: 1, offset: 1234,
  assembler: { ...initialAssemblerState('colo', true), nextSeq: 7, lastCommittedSeq: 6, phase: 'protected' },
};

describe('Xen run store', () => {
  const dir = mkdtempSync(path.join(tmpdir(), 'xen-runs-'));
  after(() => rmSync(dir, { recursive: true, force: true }));

  test('put, read back by a new store, remove', () => {
    const d = mkdtempSync(path.join(dir, 'a-'));
    new JsonFileRunStore(d).put(RUN);
    const again = new JsonFileRunStore(d);
    assert.deepEqual(again.get('p1'), RUN);
    assert.equal(again.get('p2'), null);
    again.remove('p1');
    assert.equal(new JsonFileRunStore(d).get('p1'), null);
  });

  test('a broken file is moved aside and reported; a run of the wrong shape is left out', () => {
    const d = mkdtempSync(path.join(dir, 'b-'));
    writeFileSync(path.join(d, RUN_STORE_FILE), '{"version":1,"runs":[{"pairId":"p1"');
    const problems: string[] = [];
    const s = new JsonFileRunStore(d, (p) => problems.push(p.message));
    assert.equal(s.get('p1'), null);
    assert.equal(problems.length, 1);
    assert.match(problems[0]!, /unreadable/);
    assert.equal(existsSync(path.join(d, RUN_STORE_FILE)), false);
    assert.equal(readdirSync(d).filter((f) => f.includes('corrupt')).length, 1);

    writeFileSync(path.join(d, RUN_STORE_FILE), JSON.stringify({ version: 1, runs: [{ ...RUN, pid: 'rm -rf /' }, { ...RUN, pairId: 'p2' }] }));
    const mixed = new JsonFileRunStore(d);
    assert.equal(mixed.get('p1'), null);
    assert.equal(mixed.get('p2')?.offset, 1234);
  });
});
