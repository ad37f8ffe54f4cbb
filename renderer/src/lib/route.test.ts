import assert from 'node:assert/strict';
import { test } from 'node:test';
import { hrefFor, parseHash } from './route';

test('hash routes parse and round-trip', () => {
  assert.deepEqual(parseHash(''), { name: 'overview' });
  assert.deepEqual(parseHash('#/'), { name: 'overview' });
  assert.deepEqual(parseHash('#/hosts'), { name: 'hosts' });
  assert.deepEqual(parseHash('#/audit/'), { name: 'audit' });
  assert.deepEqual(parseHash('#/pair/demo'), { name: 'pair', id: 'demo' });
  assert.deepEqual(parseHash('#/pair/a%20b'), { name: 'pair', id: 'a b' });
  assert.equal(parseHash('#/pair/%E0%A4%A').name, 'not-found');
  assert.equal(parseHash('#/nope').name, 'not-found');
  assert.deepEqual(parseHash('#/host/xen-a'), { name: 'host', id: 'xen-a' });
  assert.deepEqual(parseHash(hrefFor({ name: 'host', id: 'a b' })), { name: 'host', id: 'a b' });
  assert.equal(hrefFor({ name: 'pair', id: 'a b/c' }), '#/pair/a%20b%2Fc');
  assert.deepEqual(parseHash(hrefFor({ name: 'pair', id: 'a b/c' })), { name: 'pair', id: 'a b/c' });
});
