// The audit log: a verifiable hash chain that survives restarts, that pinpoints the first altered, re-hashed or
// deleted entry, that refuses ordinary updates and deletes, and that never stores a secret.

import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import path from 'node:path';
import Database from 'better-sqlite3';
import { auditEntry } from '../api/console-contract.js';
import { AUDIT_FILE, AuditLog, GENESIS_HASH, canonicalJson, redactSecrets } from './audit.js';
import { tempDir } from './test-support/service-rig.js';

let tick = 1_700_000_000_000;
const clock = (): number => tick++;

function openLog(dir: string): AuditLog {
  return new AuditLog(dir, { report: () => assert.fail('no problem expected'), now: clock(), clock });
}

function fill(log: AuditLog, n: number): void {
  for (let i = 0; i < n; i++) {
    log.append({ actor: 'alice', action: 'pairs.stop', target: `pair p${i}`, result: i % 3 === 0 ? 'error' : 'ok', ...(i % 2 ? { command: `xl destroy vm${i}--incoming` } : {}), detail: `entry ${i}` });
  }
}

/** Opens the file directly, as someone with access to the disk would, with the append-only triggers removed. */
function tamper(dir: string, sql: string): void {
  const db = new Database(path.join(dir, AUDIT_FILE));
  db.exec('DROP TRIGGER IF EXISTS audit_no_update; DROP TRIGGER IF EXISTS audit_no_delete;');
  db.exec(sql);
  db.close();
}

void describe('AuditLog', () => {
  void test('entries chain from the genesis hash; each hash is sha256(prevHash + canonical JSON)', async (t) => {
    const dir = tempDir(t);
    const log = openLog(dir);
    t.after(() => log.close());
    const first = log.append({ actor: 'alice', action: 'pairs.start', target: 'pair demo (demo-vm)', result: 'ok' });
    const second = log.append({ actor: 'alice', action: 'host.command', target: 'host sim', command: 'simulator: protect', result: 'error', detail: 'boom' });
    assert.equal(first.seq, 1);
    assert.equal(first.prevHash, GENESIS_HASH);
    const { hash: _h, prevHash: _p, ...body } = first;
    assert.equal(first.hash, createHash('sha256').update(GENESIS_HASH + canonicalJson(body)).digest('hex'));
    assert.equal(second.prevHash, first.hash);
    for (const e of [first, second]) assert.ok(auditEntry.safeParse(e).success);
    assert.deepEqual(await log.verify(), { ok: true, entries: 2 });
  });

  void test('the chain continues across a reopen, and lists page backwards from the newest', async (t) => {
    const dir = tempDir(t);
    const log = openLog(dir);
    fill(log, 5);
    log.close();
    const again = openLog(dir);
    t.after(() => again.close());
    const sixth = again.append({ actor: 'bob', action: 'settings.set', target: 'settings', result: 'ok' });
    assert.equal(sixth.seq, 6);
    assert.deepEqual(await again.verify(), { ok: true, entries: 6 });
    assert.deepEqual(again.list(3).map((e) => e.seq), [6, 5, 4]);
    assert.deepEqual(again.list(10, 4).map((e) => e.seq), [3, 2, 1]);
    assert.equal(again.list(1)[0]?.hash, sixth.hash);
  });

  void test('ordinary UPDATE and DELETE are refused by the database', (t) => {
    const dir = tempDir(t);
    const log = openLog(dir);
    fill(log, 2);
    log.close();
    const db = new Database(path.join(dir, AUDIT_FILE));
    t.after(() => db.close());
    assert.throws(() => db.prepare("UPDATE audit SET result = 'ok' WHERE seq = 1").run(), /append-only/);
    assert.throws(() => db.prepare('DELETE FROM audit WHERE seq = 1').run(), /append-only/);
  });

  void test('an edited entry is detected at its own seq', async (t) => {
    const dir = tempDir(t);
    const log = openLog(dir);
    fill(log, 10);
    log.close();
    tamper(dir, "UPDATE audit SET result = 'ok', detail = 'nothing to see' WHERE seq = 4");
    const again = openLog(dir);
    t.after(() => again.close());
    const v = await again.verify();
    assert.equal(v.ok, false);
    assert.equal(v.firstBadSeq, 4);
    assert.match(v.reason ?? '', /entry 4 was altered/);
  });

  void test('an edited entry whose hash was recomputed breaks the link to the next entry', async (t) => {
    const dir = tempDir(t);
    const log = openLog(dir);
    fill(log, 10);
    const victim = log.list(1, 8)[0]!;
    log.close();
    const forged = { ...victim, actor: 'mallory' };
    const { hash: _h, prevHash, ...body } = forged;
    const hash = createHash('sha256').update(prevHash + canonicalJson(body)).digest('hex');
    tamper(dir, `UPDATE audit SET actor = 'mallory', hash = '${hash}' WHERE seq = 7`);
    const again = openLog(dir);
    t.after(() => again.close());
    const v = await again.verify();
    assert.equal(v.firstBadSeq, 8);
    assert.match(v.reason ?? '', /does not link/);
  });

  void test('a deleted entry is detected where the gap is', async (t) => {
    const dir = tempDir(t);
    const log = openLog(dir);
    fill(log, 10);
    log.close();
    tamper(dir, 'DELETE FROM audit WHERE seq = 5');
    const again = openLog(dir);
    t.after(() => again.close());
    const v = await again.verify();
    assert.equal(v.ok, false);
    assert.equal(v.firstBadSeq, 5);
    assert.match(v.reason ?? '', /missing/);
  });

  void test('secrets in commands and details are masked before they are hashed and stored', async (t) => {
    const dir = tempDir(t);
    const log = openLog(dir);
    t.after(() => log.close());
    const e = log.append({
      actor: 'alice',
      action: 'host.command',
      target: 'host xen1',
      command: 'ssh -o Password=hunter2 root@xen1 xl info',
      result: 'error',
      detail: 'auth failed for https://root:s3cr3t@xen1/ (token=abc123)',
    });
    for (const secret of ['hunter2', 's3cr3t', 'abc123']) {
      assert.ok(!JSON.stringify(log.list(10)).includes(secret), `${secret} is not stored`);
    }
    assert.equal(e.command, 'ssh -o Password=*** root@xen1 xl info');
    assert.deepEqual(await log.verify(), { ok: true, entries: 1 });
  });

  void test('redactSecrets masks credentials and leaves ordinary prose alone', () => {
    assert.equal(redactSecrets('Authorization: Bearer eyJhbGciOi.x.y'), 'Authorization: Bearer ***');
    assert.equal(redactSecrets('tool --password hunter2 --token=abc'), 'tool --password *** --token=***');
    assert.equal(redactSecrets('{"passphrase":"p"}'), '{"passphrase":"***"}');
    assert.equal(redactSecrets('-----BEGIN OPENSSH PRIVATE KEY-----\nb3Bl\n-----END OPENSSH PRIVATE KEY-----'), '[private key redacted]');
    const prose = 'the token was rejected; basic checks passed; xl destroy demo-vm';
    assert.equal(redactSecrets(prose), prose);
  });

  void test('canonical JSON sorts keys and drops undefined members', () => {
    assert.equal(canonicalJson({ b: 1, a: 'x', c: undefined, d: { z: [1, { y: 2, x: 1 }] } }), '{"a":"x","b":1,"d":{"z":[1,{"x":1,"y":2}]}}');
  });
});
