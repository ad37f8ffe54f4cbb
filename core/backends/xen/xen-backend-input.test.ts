// What the backend refuses before sending anything: names xl would misread, a secondary address that is not one,
// pair options of the wrong type. Nothing reaches a host (the links here refuse to be used), and nothing is audited.

import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { after, describe, test } from 'node:test';
import type { HostCommand, PairSpec } from '../../service/backend.js';
import type { HostRecord } from '../../service/registry.js';
import { XenBackend } from './xen-backend.js';
import { JsonFileRunStore } from './xen-run-store.js';

const A: HostRecord = { id: 'a', name: 'xen-a', kind: 'ssh', hypervisor: 'xen', address: '10.0.0.1' };
const B: HostRecord = { id: 'b', name: 'xen-b', kind: 'ssh', hypervisor: 'xen', address: '10.0.0.2' };

describe('Xen backend input checks', () => {
  const dir = mkdtempSync(path.join(tmpdir(), 'xen-input-'));
  after(() => rmSync(dir, { recursive: true, force: true }));
  const used: string[] = [];
  const backend = new XenBackend({
    links: { link: (h) => { used.push(h.id); throw new Error('no host may be contacted in this test'); } },
    runStore: new JsonFileRunStore(dir),
  });
  const audit: HostCommand[] = [];
  const ctx = { command: (c: HostCommand) => audit.push(c) };
  const spec = (over: Partial<PairSpec>): PairSpec => ({ id: 'p', name: 'web01', domain: 'web01', mode: 'colo', primary: A, secondary: B, ...over });

  test('protect refuses names xl would misread and bad addresses and options, before any command', async () => {
    for (const domain of ['-rf', '123', 'two\nlines', 'web01--incoming', '']) {
      await assert.rejects(backend.protect(spec({ domain }), { state: () => {}, cycle: () => {}, failover: () => {} }, ctx), Error, JSON.stringify(domain));
    }
    await assert.rejects(backend.protect(spec({ options: { secondaryAddress: 'b; rm -rf /' } }), { state: () => {}, cycle: () => {}, failover: () => {} }, ctx), /not a host name or address/);
    await assert.rejects(backend.protect(spec({ options: { remusIntervalMs: 100 } }), { state: () => {}, cycle: () => {}, failover: () => {} }, ctx), /Remus only/);
    await assert.rejects(backend.protect(spec({ mode: 'remus', options: { userspaceProxy: true } }), { state: () => {}, cycle: () => {}, failover: () => {} }, ctx), /only with COLO/);
    assert.deepEqual(used, []);
    assert.deepEqual(audit, []);
  });

  test('preflight turns a bad name or bad options into one failed check with the fix, without contacting a host', async () => {
    const name = await backend.preflight(spec({ domain: '007' }), ctx);
    assert.deepEqual(name.map((c) => [c.id, c.status]), [['domain', 'fail']]);
    assert.match(name[0]!.detail!, /all digits.*Fix:/);
    const opts = await backend.preflight(spec({ options: { userspaceProxy: 'yes' } }), ctx);
    assert.deepEqual(opts.map((c) => [c.id, c.status, c.detail]), [['options', 'fail', 'option userspaceProxy must be true or false']]);
    const noAddress = await backend.preflight(spec({ secondary: { ...B, address: undefined } }), ctx);
    assert.match(noAddress[0]!.detail!, /no secondaryAddress/);
    assert.deepEqual(used, []);
  });
});
