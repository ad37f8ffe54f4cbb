// The console's own data survives (issue 7 §6), on real SQLite files: one process per data directory, audit or
// refuse on a full disk, truncation of the audit log detected, I/O errors never taken for corruption, a bad row
// that does not stop writing, failed writes that change nothing, housekeeping, and a verify that never freezes.
//
// Full disks and read-only mounts are real: a small tmpfs, filled or remounted read-only (needs root; the tests
// that need it say so and skip otherwise). A permission error is a child process running as 'nobody'.

import { type TestContext, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { execFileSync, spawnSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import {
  chmodSync, chownSync, closeSync, existsSync, mkdirSync, mkdtempSync, openSync, readFileSync, readdirSync, rmSync, statSync,
  truncateSync, writeFileSync, writeSync,
} from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { setImmediate as yieldToLoop } from 'node:timers/promises';
import Database from 'better-sqlite3';
import { consoleContract } from '../api/console-contract.js';
import type { DataFileProblem } from '../api/console-contract.js';
import { createMemoryChannelPair } from '../api/memory-channel.js';
import { createClient, serve } from '../api/rpc.js';
import { ROOT, startServer } from '../cli/serve-process.js';
import { ANCHOR_FILE, AUDIT_FILE, AuditLog } from './audit.js';
import { ConsoleService, consoleHandlers } from './console-service.js';
import { LOCK_FILE } from './data-dir-lock.js';
import { HISTORY_FILE } from './history.js';
import { Registry } from './registry.js';
import { SETTINGS_FILE, SettingsStore } from './settings.js';
import { buildAuditLog } from './test-support/audit-builder.js';
import { SMALL_SIM, rejectsWithCode, startService, tempDir, untilState, waitFor } from './test-support/service-rig.js';

const IS_ROOT = process.getuid?.() === 0;
const NEEDS_ROOT = IS_ROOT ? false : 'needs root: mounts a small tmpfs to fill it or make it read-only';
const START_SERVICE = path.join(ROOT, 'core', 'service', 'test-support', 'start-service.ts');

/** A tmpfs of `size` (e.g. '2m') for one test; every service in `services` is closed before it is unmounted. */
function tmpfs(t: TestContext, size: string, services: ConsoleService[] = []): string {
  const dir = mkdtempSync(path.join(tmpdir(), 'colo-tmpfs-'));
  execFileSync('mount', ['-t', 'tmpfs', '-o', `size=${size},mode=0755`, 'tmpfs', dir]);
  t.after(async () => {
    for (const s of services) await s.close();
    spawnSync('umount', ['-l', dir]);
    rmSync(dir, { recursive: true, force: true });
  });
  return dir;
}

/** Writes a filler file until the filesystem refuses even one more byte; returns its path (delete it to free). */
function fillDisk(dir: string): string {
  const filler = path.join(dir, 'filler');
  const fd = openSync(filler, 'a');
  try {
    for (const size of [65536, 4096, 512, 1]) {
      const chunk = Buffer.alloc(size, 7);
      for (;;) {
        try {
          writeSync(fd, chunk);
        } catch (err) {
          if ((err as NodeJS.ErrnoException).code === 'ENOSPC') break;
          throw err;
        }
      }
    }
  } finally {
    closeSync(fd);
  }
  return filler;
}

function sha(file: string): string {
  return createHash('sha256').update(readFileSync(file)).digest('hex');
}

function corruptNames(dir: string): string[] {
  return readdirSync(dir).filter((n) => n.includes('.corrupt-'));
}

/** Opens `file` from outside (as another tool would), with the append-only triggers removed. */
function tamperAudit(dir: string, sql: string): void {
  const db = new Database(path.join(dir, AUDIT_FILE));
  db.exec('DROP TRIGGER IF EXISTS audit_no_update; DROP TRIGGER IF EXISTS audit_no_delete;');
  db.exec(sql);
  db.close();
}

/** A service on `dir` that is closed when the test ends, without the rig's temp-dir removal (mounts do their own). */
async function startOn(dir: string, services: ConsoleService[], opts: { autoStartDemo?: boolean } = {}): Promise<ConsoleService> {
  const service = new ConsoleService({ dataDir: dir, simOverrides: SMALL_SIM, autoStartDemo: opts.autoStartDemo ?? false, onError: () => {} });
  services.push(service);
  await service.start();
  return service;
}

/** Runs start-service.ts in its own process; resolves with its exit status and output. */
function runStartService(dir: string, opts: { uid?: number; gid?: number } = {}): { status: number | null; out: string; err: string } {
  const r = spawnSync(process.execPath, ['--import', 'tsx', START_SERVICE, dir], {
    cwd: ROOT,
    encoding: 'utf8',
    env: { ...process.env, NODE_OPTIONS: '' },
    timeout: 60_000,
    ...(opts.uid === undefined ? {} : { uid: opts.uid, gid: opts.gid }),
  });
  return { status: r.status, out: r.stdout, err: r.stderr };
}

void describe('the console\'s own data survives', () => {
  void describe('one process per data directory', () => {
    void test('a second `serve` on the same directory prints one line naming the pid that holds it and exits non-zero', async (t) => {
      const dir = tempDir(t);
      const first = await startServer({ dataDir: dir, demo: false });
      t.after(() => first.stop());
      const owner = JSON.parse(readFileSync(path.join(dir, LOCK_FILE), 'utf8')) as { pid: number; what: string };
      assert.equal(owner.what, 'colo-console serve');

      const second = spawnSync(process.execPath, ['--import', 'tsx', path.join(ROOT, 'core', 'cli', 'main.ts'), 'serve', '--port', '0', '--no-demo', '--data-dir', dir], {
        cwd: ROOT, encoding: 'utf8', env: { ...process.env, NODE_OPTIONS: '' }, timeout: 60_000,
      });
      assert.equal(second.status, 1);
      assert.equal(second.stdout, '', 'no URL: the second one never served');
      const lines = second.stderr.trimEnd().split('\n');
      assert.equal(lines.length, 1, second.stderr);
      assert.match(lines[0]!, new RegExp(`^colo-console: the data directory ${dir.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')} is in use by colo-console serve \\(pid ${owner.pid}, started \\d{4}-`));

      // The first one is untouched, and once it stops the directory is free again.
      assert.match(first.log(), /^(?![\s\S]*UNIQUE constraint)/);
      await first.stop();
      assert.equal(existsSync(path.join(dir, LOCK_FILE)), false, 'the lock went with its process');
      const again = runStartService(dir);
      assert.equal(again.status, 0, again.out + again.err);
      assert.match(again.out, /^started pid \d+/);
    });

    void test('a lock left by a dead process is taken over; one held by a live process is not', async (t) => {
      const dir = tempDir(t);
      const dead = spawnSync(process.execPath, ['-e', 'process.stdout.write(String(process.pid))'], { encoding: 'utf8' });
      const deadPid = Number(dead.stdout);
      writeFileSync(path.join(dir, LOCK_FILE), JSON.stringify({ pid: deadPid, startedAt: 1, what: 'colo-console serve', host: (await import('node:os')).hostname() }));
      const { service } = await startService(dir, { autoStartDemo: false });
      const lock = JSON.parse(readFileSync(path.join(dir, LOCK_FILE), 'utf8')) as { pid: number };
      assert.equal(lock.pid, process.pid);

      // This process now holds it: another process is refused with a line naming this pid.
      const other = runStartService(dir);
      assert.equal(other.status, 1);
      assert.match(other.out, new RegExp(`^error: the data directory .* is in use by node .* \\(pid ${process.pid}, started `));
      await service.close();
      assert.equal(existsSync(path.join(dir, LOCK_FILE)), false);
    });

    void test('two services in one process on one directory: the second is refused, nothing is written twice', async (t) => {
      const dir = tempDir(t);
      const { service } = await startService(dir, { autoStartDemo: false });
      const before = service.auditList(100).length;
      const second = new ConsoleService({ dataDir: dir, autoStartDemo: false });
      await assert.rejects(second.start(), (err: Error) => /is in use by/.test(err.message));
      assert.equal(service.auditList(100).length, before);
      assert.equal((await service.auditVerify()).ok, true);
    });
  });

  void describe('audit or refuse', () => {
    void test('on a full disk a confirmed failover is refused with the reason and the pair keeps running; checkpoint requests are audited or refused', { skip: NEEDS_ROOT }, async (t) => {
      const services: ConsoleService[] = [];
      const dir = tmpfs(t, '2m', services);
      const service = await startOn(dir, services, { autoStartDemo: true });
      await untilState(service, 'demo', 'protected');
      const cycles: number[] = [];
      service.onCycle((_id, r) => cycles.push(r.seq));
      const problems: DataFileProblem[] = [];
      service.onProblem((p) => problems.push(p));
      const filler = fillDisk(dir);

      let audited = 0;
      let takenButReported = 0;
      let refused = '';
      for (let i = 0; i < 500 && refused === ''; i++) {
        const seqBefore = service.auditList(1)[0]!.seq;
        try {
          await service.checkpoint('demo', 'alice');
          const last = service.auditList(1)[0]!;
          assert.ok(last.seq > seqBefore && last.action === 'pairs.checkpoint' && last.result === 'ok', `checkpoint ${i} is audited`);
          audited++;
        } catch (err) {
          const message = (err as Error).message;
          const last = service.auditList(1)[0]!;
          if (last.seq > seqBefore && last.action === 'pairs.checkpoint') {
            audited++; // refused for another reason (one already in flight), and that is on record
          } else if (/^pairs\.checkpoint was done, but its audit entry could not be written \(ENOSPC/.test(message)) {
            takenButReported++;
          } else {
            assert.match(message, /audit log cannot be written \(ENOSPC/);
            refused = message;
          }
        }
      }
      assert.notEqual(refused, '', `a request was refused once the log could not grow (${audited} audited)`);
      assert.ok(takenButReported <= 1, 'at most the request that found the disk full went through unaudited, and it said so');

      const message = await rejectsWithCode(service.failover('demo', 'demo-vm', 'alice'), 'invalid-state');
      assert.match(message, /^Not done: the audit log cannot be written \(ENOSPC: the disk is full\), and a destructive action is never performed unaudited/);
      assert.equal(service.pair('demo').state.state, 'protected', 'the failover did not happen');
      const seen = cycles.length;
      await waitFor(() => cycles.length >= seen + 3, 10_000, 'the pair to keep checkpointing');
      assert.ok(problems.some((p) => p.file.endsWith(AUDIT_FILE) && /could not be written/.test(p.message)), JSON.stringify(problems));
      assert.ok(service.problems.some((p) => /audit log/.test(p.message)), 'the problem is listed in app.problems too');

      // Space again: the next action is audited, and the chain is whole.
      rmSync(filler);
      await service.checkpoint('demo', 'alice');
      assert.equal(service.auditList(1)[0]!.action, 'pairs.checkpoint');
      assert.equal((await service.auditVerify()).ok, true);
    });

    void test('destructive calls refused by validation are audited; other refused calls are not', async (t) => {
      const { service } = await startService(tempDir(t), { autoStartDemo: false });
      // A raw peer, as a browser-mode socket may be: the typed client would refuse these before sending them.
      const [clientEnd, serverEnd] = createMemoryChannelPair();
      const server = serve(consoleContract, consoleHandlers(service, { transport: 'browser', actor: 'mallory' }), serverEnd);
      t.after(() => server.close());
      const replies = new Map<number, { t: string; error?: { code: string; message: string } }>();
      clientEnd.onMessage((m) => {
        const msg = m as { t: string; id: number; error?: { code: string; message: string } };
        replies.set(msg.id, msg);
      });
      let id = 0;
      const call = async (method: string, req: unknown): Promise<{ code: string; message: string } | undefined> => {
        const mine = ++id;
        clientEnd.send({ t: 'call', id: mine, method, req });
        await waitFor(() => replies.has(mine), 5000, `a reply to ${method}`);
        return replies.get(mine)!.error;
      };
      const calls: [string, unknown][] = [
        ['pairs.failover', { pairId: 'demo' }],
        ['pairs.stop', { pairId: 'demo', confirmName: 42 }],
        ['pairs.drill', { pairId: 'demo', confirmName: 'x'.repeat(500) }],
        ['pairs.keep', { pairId: 'demo', confirmName: 'demo-vm', keep: 'both' }],
        ['sim.inject', { pairId: 'demo', fault: 'kill-primary', on: 'yes' }],
      ];
      for (const [method, req] of calls) {
        const before = service.auditList(1)[0]?.seq ?? 0;
        const error = await call(method, req);
        assert.equal(error?.code, 'bad-request', method);
        const last = service.auditList(1)[0]!;
        assert.equal(last?.seq, before + 1, `${method} is on record`);
        assert.deepEqual([last.actor, last.action, last.target, last.result], ['mallory', method, 'pair demo', 'error']);
        assert.match(last.detail ?? '', /^refused: invalid request: /);
      }
      const before = service.auditList(1)[0]!.seq;
      assert.equal((await call('pairs.get', { pairId: 42 }))?.code, 'bad-request');
      assert.equal((await call('sim.inject', { pairId: 'demo', fault: 'slow-link', on: 'yes' }))?.code, 'bad-request');
      assert.equal(service.auditList(1)[0]!.seq, before, 'reads and harmless faults are not audited');
    });
  });

  void describe('the chain detects truncation', () => {
    for (const [what, damage, expected] of [
      ['the newest entry removed', (dir: string) => tamperAudit(dir, 'DELETE FROM audit WHERE seq = (SELECT max(seq) FROM audit)'), /the log ends at entry 11, but its anchor \(written [^)]+\) records 12: the newest entry was removed/],
      ['the newest 5 entries removed', (dir: string) => tamperAudit(dir, 'DELETE FROM audit WHERE seq > 7'), /the log ends at entry 7, but its anchor \(written [^)]+\) records 12: the newest 5 entries were removed/],
      ['the file emptied', (dir: string) => truncateSync(path.join(dir, AUDIT_FILE), 0), /the log is empty, but its anchor \(written [^)]+\) records 12 entries: the file was emptied, deleted or replaced/],
      ['the file deleted', (dir: string) => rmSync(path.join(dir, AUDIT_FILE)), /the log is empty, but its anchor .* records 12 entries/],
    ] as const) {
      void test(`${what}: reported at start (app.problems) and by audit.verify`, async (t) => {
        const dir = tempDir(t);
        const log = new AuditLog(dir, { report: () => assert.fail('no problem expected'), now: 1, clock: Date.now });
        for (let i = 0; i < 12; i++) log.append({ actor: 'alice', action: 'pairs.checkpoint', target: 'pair demo', result: 'ok' });
        log.close();
        damage(dir);

        const { service } = await startService(dir, { autoStartDemo: false });
        const problem = service.problems.find((p) => p.file.endsWith(ANCHOR_FILE));
        assert.ok(problem, JSON.stringify(service.problems));
        assert.match(problem.message, /does not match its anchor/);
        assert.match(problem.message, expected);
        assert.ok(problem.movedTo !== undefined && existsSync(problem.movedTo), 'the old anchor is kept as evidence');
        const verdict = await service.auditVerify();
        assert.equal(verdict.ok, false);
        assert.match(verdict.reason ?? '', expected);
        // And the finding is itself on record in the log that goes on.
        assert.ok(service.auditList(10).some((e) => e.action === 'file.recover' && expected.test(e.detail ?? '')));
      });
    }

    void test('damaged pages in the middle of the log: the start does not walk them, the background walk reports them, the file stays', async (t) => {
      const dir = tempDir(t);
      buildAuditLog(dir, 20_000);
      const file = path.join(dir, AUDIT_FILE);
      const size = statSync(file).size;
      const fd = openSync(file, 'r+');
      writeSync(fd, Buffer.alloc(3 * 4096, 0xa5), 0, 3 * 4096, Math.floor(size / 2 / 4096) * 4096);
      closeSync(fd);
      const { service } = await startService(dir, { autoStartDemo: false });
      await waitFor(() => service.problems.some((p) => p.file === file), 30_000, () => `a problem for the audit log (got ${JSON.stringify(service.problems)})`);
      const p = service.problems.find((x) => x.file === file)!;
      assert.match(p.message, /^The audit log (could not be verified: database disk image is malformed|failed its integrity check at entry \d+)/);
      assert.equal(p.movedTo, undefined, 'evidence is never moved aside by the walk');
      assert.deepEqual(corruptNames(dir), []);
      await service.close();
      assert.equal(existsSync(file), true, 'the damaged log is still where it was');
    });

    void test('an intact log with its anchor verifies, before and after a restart; a rewritten newest entry is detected', async (t) => {
      const dir = tempDir(t);
      const first = await startService(dir, { autoStartDemo: false });
      await first.service.checkpoint('demo', 'alice').catch(() => undefined);
      const n = first.service.auditList(100).length;
      await first.service.close();
      const second = await startService(dir, { autoStartDemo: false });
      assert.deepEqual(second.service.problems, []);
      assert.deepEqual(await second.service.auditVerify(), { ok: true, entries: n });
      await second.service.close();
      // Replace the newest entry with a self-consistent forgery (deleted, re-appended by a fresh AuditLog).
      tamperAudit(dir, `DELETE FROM audit WHERE seq = ${n}`);
      const anchor = readFileSync(path.join(dir, ANCHOR_FILE), 'utf8');
      const forger = new AuditLog(dir, { report: () => {}, now: 1, clock: Date.now });
      forger.append({ actor: 'mallory', action: 'nothing', target: 'pair demo', result: 'ok' });
      forger.close();
      writeFileSync(path.join(dir, ANCHOR_FILE), anchor);
      const third = await startService(dir, { autoStartDemo: false });
      assert.match(third.service.problems.map((p) => p.message).join('\n'), new RegExp(`entry ${n} is not the one its anchor .* recorded: the log was replaced or rewritten`));
    });
  });

  void describe('I/O errors are not corruption', () => {
    void test('a read-only mount stops the start with one line naming the file and EROFS; nothing is moved or changed', { skip: NEEDS_ROOT }, async (t) => {
      const services: ConsoleService[] = [];
      const dir = tmpfs(t, '4m', services);
      const first = await startOn(dir, services);
      await first.checkpoint('demo', 'alice').catch(() => undefined);
      await first.close();
      const before = sha(path.join(dir, AUDIT_FILE));
      const names = readdirSync(dir).sort();
      execFileSync('mount', ['-o', 'remount,ro', dir]);

      const attempt = new ConsoleService({ dataDir: dir, autoStartDemo: false });
      await assert.rejects(attempt.start(), (err: Error) => /EROFS/.test(err.message) && err.message.includes(dir) && !err.message.includes('\n'));
      execFileSync('mount', ['-o', 'remount,rw', dir]);
      assert.deepEqual(readdirSync(dir).sort(), names);
      assert.equal(sha(path.join(dir, AUDIT_FILE)), before);
    });

    void test('a read-only audit.sqlite (bind mount) is named with EROFS and left where it is', { skip: NEEDS_ROOT }, async (t) => {
      const dir = tempDir(t);
      const first = await startService(dir, { autoStartDemo: false });
      await first.service.close();
      const file = path.join(dir, AUDIT_FILE);
      const before = sha(file);
      execFileSync('mount', ['--bind', file, file]);
      try {
        execFileSync('mount', ['-o', 'remount,ro,bind', file]);
        const attempt = new ConsoleService({ dataDir: dir, autoStartDemo: false });
        await assert.rejects(attempt.start(), (err: Error) => err.message === `cannot use ${file}: EROFS (EROFS: read-only file system, access '${file}'); nothing was changed`);
      } finally {
        // Before the temp directory is removed (that cleanup runs first).
        spawnSync('umount', [file]);
      }
      assert.deepEqual(corruptNames(dir), []);
      assert.equal(sha(file), before);
      assert.equal(existsSync(path.join(dir, LOCK_FILE)), false, 'a failed start lets go of the directory');
    });

    void test('a permission error (another user) names the file and EACCES; nothing is moved', { skip: IS_ROOT ? false : 'needs root to run a child as nobody' }, async (t) => {
      const dir = tempDir(t);
      const first = await startService(dir, { autoStartDemo: false });
      await first.service.close();
      // The directory and the JSON files are nobody's; the databases stay root's, mode 0600.
      for (const name of ['', SETTINGS_FILE, 'registry.json', ANCHOR_FILE]) {
        if (existsSync(path.join(dir, name))) chownSync(path.join(dir, name), 65534, 65534);
      }
      const before = sha(path.join(dir, AUDIT_FILE));
      const r = runStartService(dir, { uid: 65534, gid: 65534 });
      assert.equal(r.status, 1, r.out + r.err);
      assert.equal(r.out, `error: cannot use ${path.join(dir, AUDIT_FILE)}: EACCES (EACCES: permission denied, access '${path.join(dir, AUDIT_FILE)}'); nothing was changed\n`);
      assert.deepEqual(corruptNames(dir), []);
      assert.equal(sha(path.join(dir, AUDIT_FILE)), before);
    });

    void test('a directory where the audit log should be is an error naming it, not corruption', async (t) => {
      const dir = tempDir(t);
      mkdirSync(path.join(dir, AUDIT_FILE));
      const attempt = new ConsoleService({ dataDir: dir, autoStartDemo: false });
      await assert.rejects(attempt.start(), /^DataFileIoError: cannot use .*audit\.sqlite: EISDIR \(a directory is in its place\); nothing was changed$/);
      assert.ok(statSync(path.join(dir, AUDIT_FILE)).isDirectory());
      assert.deepEqual(corruptNames(dir), []);
    });

    void test('a restart on a full disk never moves a healthy database aside', { skip: NEEDS_ROOT }, async (t) => {
      const services: ConsoleService[] = [];
      const dir = tmpfs(t, '2m', services);
      const first = await startOn(dir, services);
      await first.checkpoint('demo', 'alice').catch(() => undefined);
      const entries = first.auditList(100).length;
      await first.close();
      const filler = fillDisk(dir);
      const second = new ConsoleService({ dataDir: dir, autoStartDemo: false, simOverrides: SMALL_SIM });
      services.push(second);
      try {
        await second.start();
      } catch (err) {
        assert.match((err as Error).message, /ENOSPC/);
      }
      await second.close();
      assert.deepEqual(corruptNames(dir), []);
      rmSync(filler);
      const third = await startOn(dir, services);
      assert.deepEqual(third.problems, []);
      const verdict = await third.auditVerify();
      assert.equal(verdict.ok, true);
      assert.ok(verdict.entries >= entries);
    });

    void test('a zero-byte history where the audit log says the console ran before is a problem, not a first start', async (t) => {
      const dir = tempDir(t);
      const first = await startService(dir, { autoStartDemo: true });
      await untilState(first.service, 'demo', 'protected');
      await first.service.close();
      truncateSync(path.join(dir, HISTORY_FILE), 0);
      const { service } = await startService(dir, { autoStartDemo: false });
      const p = service.problems.find((x) => x.file.endsWith(HISTORY_FILE));
      assert.ok(p, JSON.stringify(service.problems));
      assert.match(p.message, /is empty \(0 bytes\), yet the audit log records \d+ entries, so the console has stored history here before: its data was lost/);

      // A zero-byte history in a directory with no record of a previous run is just a first start.
      const fresh = tempDir(t);
      writeFileSync(path.join(fresh, HISTORY_FILE), '');
      const clean = await startService(fresh, { autoStartDemo: false });
      assert.deepEqual(clean.service.problems, []);
    });
  });

  void test('a corrupt spot under `events` does not stop writing: cycles keep being stored and delivered, the failure is a live problem', async (t) => {
    const dir = tempDir(t);
    const { service } = await startService(dir, { autoStartDemo: true });
    await untilState(service, 'demo', 'protected');
    const [clientEnd, serverEnd] = createMemoryChannelPair();
    const server = serve(consoleContract, consoleHandlers(service, { transport: 'browser' }), serverEnd);
    const client = createClient(consoleContract, clientEnd, { timeoutMs: 10_000 });
    t.after(() => {
      client.close();
      server.close();
    });
    const live: DataFileProblem[] = [];
    client.subscribe('problems', undefined, (ps) => live.push(...ps));
    const delivered: number[] = [];
    client.subscribe('cycles', { pairId: 'demo' }, (cs) => delivered.push(...cs.map((c) => c.seq)));

    // From outside, with sqlite's own writes: the index of `events` now points into another table's pages.
    const ext = new Database(path.join(dir, HISTORY_FILE));
    ext.exec('CREATE TABLE junk (x); INSERT INTO junk VALUES (1), (2);');
    const root = (ext.prepare("SELECT rootpage FROM sqlite_master WHERE name = 'junk'").get() as { rootpage: number }).rootpage;
    const version = ext.pragma('schema_version', { simple: true }) as number;
    ext.unsafeMode(true);
    ext.pragma('writable_schema = ON');
    ext.prepare("UPDATE sqlite_master SET rootpage = ? WHERE name = 'events_pair'").run(root);
    ext.pragma(`schema_version = ${version + 1}`);
    ext.close();

    const count = (): number => (service as unknown as { historyDb: { database: Database.Database; flush(): void } }).historyDb.database.prepare('SELECT count(*) AS n FROM cycles').pluck().get() as number;
    const storedBefore = count();
    // An event (a fault switched on and off) that cannot be stored, and cycles that must be.
    await service.injectSim('demo', 'slow-link', true, 'alice');
    await service.injectSim('demo', 'slow-link', false, 'alice');
    const deliveredBefore = delivered.length;
    await waitFor(() => live.some((p) => p.file.endsWith(HISTORY_FILE) && /could not be stored and were skipped/.test(p.message)), 10_000, () => `a live problem (got ${JSON.stringify(live)})`);
    await waitFor(() => delivered.length >= deliveredBefore + 5, 10_000, 'cycles to keep being delivered');
    (service as unknown as { historyDb: { flush(): void } }).historyDb.flush();
    await waitFor(() => count() >= storedBefore + 5, 10_000, 'cycles to keep being stored');
    assert.ok(service.events('demo', 10).some((e) => e.kind === 'fault'), 'events still reach the live buffer');
  });

  void describe('failed writes change nothing', () => {
    void test('settings.set on a full disk returns an error and the value in memory is unchanged; so do registry updates', { skip: NEEDS_ROOT }, async (t) => {
      const services: ConsoleService[] = [];
      const dir = tmpfs(t, '2m', services);
      const service = await startOn(dir, services);
      const before = service.settings();
      const fileBefore = existsSync(path.join(dir, SETTINGS_FILE)) ? readFileSync(path.join(dir, SETTINGS_FILE), 'utf8') : null;
      const filler = fillDisk(dir);
      const message = await rejectsWithCode(Promise.resolve().then(() => service.setSettings({ historyRetentionDays: before.historyRetentionDays + 1 }, 'alice')), 'invalid-state');
      assert.match(message, /^Settings not changed: they could not be saved \(ENOSPC\)\.$/);
      assert.deepEqual(service.settings(), before);
      assert.equal(existsSync(path.join(dir, SETTINGS_FILE)) ? readFileSync(path.join(dir, SETTINGS_FILE), 'utf8') : null, fileBefore);
      assert.deepEqual(readdirSync(dir).filter((n) => n.includes('.tmp-')), [], 'no half-written temp file');

      const registry = Registry.load(dir, () => {}, 1);
      const pairBefore = registry.pair('demo');
      assert.throws(() => registry.updatePair('demo', (p) => ({ ...p, name: 'renamed' })), /ENOSPC/);
      assert.deepEqual(registry.pair('demo'), pairBefore);
      rmSync(filler);
      assert.equal(service.setSettings({ historyRetentionDays: before.historyRetentionDays + 1 }, 'alice').historyRetentionDays, before.historyRetentionDays + 1);
      assert.equal(SettingsStore.load(dir, () => {}, 1).get().historyRetentionDays, before.historyRetentionDays + 1);
    });
  });

  void test('housekeeping: crash leftovers are removed at start; the directory is 0700, the databases and their -wal/-shm 0600', async (t) => {
    const dir = tempDir(t);
    chmodSync(dir, 0o755);
    const leftovers = ['settings.json.tmp-4242-0badc0de', 'registry.json.tmp-17-deadbeef', 'audit.anchor.tmp-9-00ff00ff'];
    for (const name of leftovers) writeFileSync(path.join(dir, name), 'half');
    writeFileSync(path.join(dir, 'notes.tmp-keep'), 'not ours');
    const old = process.umask(0o022);
    t.after(() => process.umask(old));
    const { service } = await startService(dir, { autoStartDemo: true });
    await untilState(service, 'demo', 'protected');
    for (const name of leftovers) assert.equal(existsSync(path.join(dir, name)), false, `${name} removed`);
    assert.equal(existsSync(path.join(dir, 'notes.tmp-keep')), true, 'only our own temp files go');
    assert.equal(statSync(dir).mode & 0o777, 0o700);
    const sqlite = readdirSync(dir).filter((n) => /\.sqlite(-wal|-shm)?$/.test(n));
    assert.ok(sqlite.includes('history.sqlite-wal') && sqlite.includes('audit.sqlite-shm'), sqlite.join());
    for (const name of sqlite) assert.equal(statSync(path.join(dir, name)).mode & 0o777, 0o600, name);
  });

  void test('audit.verify over a large log does not block: other calls are answered while it runs; the start does not walk the chain', async (t) => {
    const dir = tempDir(t);
    const N = 200_000;
    buildAuditLog(dir, N);
    const { service } = await startService(dir, { autoStartDemo: false });
    assert.deepEqual(service.problems, []);
    const [clientEnd, serverEnd] = createMemoryChannelPair();
    const server = serve(consoleContract, consoleHandlers(service, { transport: 'browser' }), serverEnd);
    const client = createClient(consoleContract, clientEnd, { timeoutMs: 60_000 });
    t.after(() => {
      client.close();
      server.close();
    });
    let done = false;
    const verify = client.call('audit.verify', {}).then((v) => {
      done = true;
      return v;
    });
    let answered = 0;
    while (!done) {
      const [pairs, page] = await Promise.all([client.call('pairs.list', {}), client.call('audit.list', { limit: 5 })]);
      assert.equal(pairs.length, 1);
      assert.equal(page.length, 5);
      if (!done) answered++;
      await yieldToLoop();
    }
    assert.deepEqual(await verify, { ok: true, entries: N });
    assert.ok(answered >= 3, `calls were answered while verify ran (${answered})`);
  });
});
