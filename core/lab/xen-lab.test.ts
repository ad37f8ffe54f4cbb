// The lab end to end: real sshds in network and mount namespaces, the console's own SshConnection (directly and
// through the bastion), the supervised `xl -vvv remus -c -u` the Xen backend will run, and the faults the lab can
// inject. Every test starts its own lab and stops it, also on failure.

import assert from 'node:assert/strict';
import { execFileSync, spawn } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { setTimeout as delay } from 'node:timers/promises';
import { type TestContext, describe, test } from 'node:test';
import { xenProbe, parseXlInfo } from '../backends/xen/xl-info.js';
import { parseXlList } from '../backends/xen/xl-list.js';
import { classifyXlLine, parseXlLine } from '../backends/xen/xl-log-line.js';
import { destroyArgv, supervisedCommand } from '../backends/xen/xl-commands.js';
import { SshConnection } from '../ssh/connection.js';
import { knownHostsCheck } from '../ssh/host-keys.js';
import { parseKnownHosts } from '../ssh/known-hosts.js';
import { type XenLab, type XenLabOptions, cleanupStaleLabs, labUnavailable, namespacesUnavailable, startXenLab } from './xen-lab.js';

const unavailable = labUnavailable();
const noNamespaces = unavailable ?? namespacesUnavailable();

async function withLab(t: TestContext, opts: XenLabOptions = {}): Promise<XenLab> {
  const lab = await startXenLab({ coloPeriodMs: 150, ...opts });
  t.after(() => lab.stop());
  return lab;
}

async function connect(t: TestContext, lab: XenLab, h: 'a' | 'b' | 'bastion', via?: SshConnection): Promise<SshConnection> {
  const host = lab[h];
  const known = parseKnownHosts(readFileSync(lab.knownHostsFile, 'utf8'), lab.knownHostsFile);
  const conn = await SshConnection.connect(
    { host: host.address, port: host.port, user: host.user },
    { kind: 'key', privateKey: readFileSync(lab.clientKeyFile) },
    { checkHostKey: knownHostsCheck(host.address, host.port, known), readyTimeoutMs: 10_000, ...(via ? { via } : {}) },
  );
  t.after(() => conn.close());
  return conn;
}

async function sh(conn: SshConnection, argv: string[]): Promise<string> {
  const r = await conn.exec(argv, { timeoutMs: 15_000 });
  assert.equal(r.code, 0, `${r.command}: ${r.stderr}`);
  return r.stdout;
}

/** Polls `check` every 100 ms until it returns a value; fails naming `what` after `ms` (a timeout, not a timing claim). */
async function until<T>(what: string, ms: number, check: () => Promise<T | undefined>, explain?: () => Promise<string>): Promise<T> {
  const deadline = Date.now() + ms;
  for (;;) {
    const v = await check();
    if (v !== undefined) return v;
    if (Date.now() > deadline) throw new Error(`gave up waiting for ${what} after ${ms} ms${explain ? `:\n${await explain()}` : ''}`);
    await delay(100);
  }
}

const kinds = (log: string): string[] => log.split('\n').filter(Boolean).map((l) => classifyXlLine(parseXlLine(l)).kind);
const count = (log: string, kind: string): number => kinds(log).filter((k) => k === kind).length;
const CYCLE = ['suspended', 'checkpointed', 'secondary-buffered', 'secondary-processed', 'record', 'record'];

/**
 * Whole cycles, in the contract's order, from the first checkpoint on. Only the per-cycle lines count: the
 * receiver's start lines may arrive during the initial copy, since they travel through ssh while it runs.
 */
function wholeCycles(log: string): number {
  const k = kinds(log).filter((x) => CYCLE.includes(x));
  let i = k.indexOf('suspended');
  let n = 0;
  while (i >= 0 && k.slice(i, i + 6).join() === CYCLE.join()) {
    n++;
    i += 6;
  }
  return n;
}

async function startSupervised(conn: SshConnection, lab: XenLab, unit: string): Promise<{ pid: number; log: string }> {
  return startSupervisedOn(conn, unit, lab.b.replicationAddress!);
}

async function startSupervisedOn(conn: SshConnection, unit: string, secondary: string): Promise<{ pid: number; log: string }> {
  const argv = ['xl', '-vvv', 'remus', '-c', '-u', '--', 'web01', secondary];
  const { command, log } = supervisedCommand(argv, unit, false);
  const pid = Number((await sh(conn, ['sh', '-c', command])).trim());
  assert.ok(pid > 0);
  return { pid, log };
}

async function listOn(lab: XenLab, h: 'a' | 'b'): Promise<ReturnType<typeof parseXlList>> {
  const r = await lab.xl(h, ['list', '-l']);
  assert.equal(r.code, 0, r.stderr);
  return parseXlList(r.stdout);
}

/** The xl list state letters of `name` on host h, or undefined when it is not there. */
async function stateOn(lab: XenLab, h: 'a' | 'b', name: string): Promise<string | undefined> {
  const r = await lab.xl(h, ['list']);
  const line = r.stdout.split('\n').find((l) => l.startsWith(`${name} `));
  return line?.split(/\s+/)[4];
}

describe('the Xen lab', { skip: unavailable ?? false }, () => {
  test('start and stop leave nothing behind', async () => {
    const lab = await startXenLab();
    const ns = lab.mode === 'namespaces' ? /namespaces (\S+), (\S+), (\S+);/.exec(lab.note)!.slice(1) : [];
    try {
      for (const n of ns) assert.ok(execFileSync('ip', ['netns', 'list'], { encoding: 'utf8' }).includes(n));
      assert.match(lab.a.hostKeySha256, /^SHA256:[A-Za-z0-9+/]{43}$/);
      assert.notDeepEqual(lab.a.hostKey, lab.b.hostKey);
    } finally {
      await lab.stop();
    }
    const left = execFileSync('ip', ['netns', 'list'], { encoding: 'utf8' });
    for (const n of ns) assert.ok(!left.includes(n), `${n} removed`);
    assert.throws(() => readFileSync(lab.knownHostsFile), /ENOENT/);
  });

  test('host sessions: root\'s dotfiles of this machine do not run there; XL_EMU_TIMING_FILE only on a and b, when asked', async (t) => {
    const lab = await withLab(t, { timingFile: '/tmp/colo-lab-timing-test' });
    const a = await connect(t, lab, 'a');
    const bastion = await connect(t, lab, 'bastion');
    for (const f of ['.bashrc', '.profile']) {
      assert.equal(await sh(a, ['sh', '-c', `if [ -e /root/${f} ]; then wc -c < /root/${f}; else echo absent; fi`]).then((o) => o.trim().replace(/^0$/, 'empty')).then((o) => (o === 'absent' ? 'empty' : o)), 'empty', `/root/${f} on a`);
    }
    assert.equal(await sh(a, ['sh', '-c', 'echo "$XL_EMU_TIMING_FILE"']), '/tmp/colo-lab-timing-test\n');
    assert.equal(await sh(bastion, ['sh', '-c', 'echo "${XL_EMU_TIMING_FILE-unset}"']), 'unset\n');
    const plain = await withLab(t);
    assert.equal(await sh(await connect(t, plain, 'a'), ['sh', '-c', 'echo "${XL_EMU_TIMING_FILE-unset}"']), 'unset\n');
  });

  test('supervised xl -vvv remus -c -u: start lines, whole cycles in order, SVM on b, console drop, destroy → failover', async (t) => {
    const lab = await withLab(t, { xenMinor: { b: 19 } });
    const a = await connect(t, lab, 'a');
    const bastion = await connect(t, lab, 'bastion');
    const b = await connect(t, lab, 'b', bastion);
    const bDirect = await connect(t, lab, 'b');
    // The hosts as the console's probe sees them.
    assert.deepEqual(xenProbe(parseXlInfo(await sh(a, ['xl', 'info']))).warnings, []);
    assert.match(xenProbe(parseXlInfo(await sh(b, ['xl', 'info']))).warnings[0]!, /^Xen 4\.19\.0: since 4\.18/);
    assert.match(await sh(a, ['/usr/lib/xen/bin/qemu-system-i386', '-drive', 'format=help']), /^Supported formats: .*\bquorum\b.*\breplication\b/);
    const sizes = async (c: SshConnection): Promise<string> => sh(c, ['stat', '-c', '%s %b', '/var/lib/xen/images/web01.img']);
    assert.equal(await sizes(a), await sizes(b));
    assert.match(await sizes(a), /^2147483648 0\n$/, 'sparse');
    assert.equal(await sh(a, ['test', '-d', '/run/systemd/system']).catch(() => 'none'), 'none', 'no systemd: the setsid nohup path');
    assert.equal(await sh(a, ['hostname']), 'xen-a\n');

    const { pid, log } = await startSupervised(a, lab, 'colo-console-web01');
    const readLog = (): Promise<string> => sh(a, ['cat', log]);
    await until('3 whole checkpoints after the initial copy', 20_000, async () => ((wholeCycles(await readLog())) >= 4 ? true : undefined), readLog);
    const started = kinds(await readLog());
    const first = started.indexOf('suspended');
    for (const k of ['stream-started', 'receiver-ready', 'live-progress']) assert.ok(started.slice(0, first).includes(k), `${k} before the first checkpoint`);
    const text = await readLog();
    assert.match(text, /^xc: info: Saving domain 1, type x86 HVM$/m);
    assert.match(text, /^xc: info: Found x86 HVM domain from Xen 4\.17$/m);
    assert.match(text, /^ Savefile contains xl domain config in JSON format$/m);

    const pvm = (await listOn(lab, 'a')).find((d) => d.name === 'web01')!;
    const svm = parseXlList(await sh(b, ['xl', 'list', '-l'])).find((d) => d.name === 'web01--incoming');
    assert.ok(svm, 'b lists web01--incoming');
    assert.equal(svm.uuid, pvm.uuid);

    // The console losing its connections to b does not touch replication (its own sshd on the P–S link).
    await lab.dropConsoleConnections('b');
    await until('the console connection to b to drop', 10_000, () => Promise.resolve(bDirect.isOpen ? undefined : true));
    const before = count(await readLog(), 'secondary-processed');
    await until('checkpoints to go on', 10_000, async () => (count(await readLog(), 'secondary-processed') > before + 2 ? true : undefined));

    assert.equal((await a.exec(destroyArgv('web01'), { timeoutMs: 15_000 })).code, 0);
    const end = await until('the takeover line', 20_000, async () => {
      const l = await readLog();
      return kinds(l).includes('takeover-complete') ? l : undefined;
    });
    assert.deepEqual(kinds(end).slice(-5), ['primary-teardown', 'exit-reason', 'secondary-failover', 'secondary-teardown', 'takeover-complete']);
    assert.match(end, /^COLO: Primary domain has been destroyed\.$/m);
    const onB = await listOn(lab, 'b');
    assert.deepEqual(onB.filter((d) => d.name?.startsWith('web01')).map((d) => [d.name, d.uuid]), [['web01', pvm.uuid]]);
    assert.equal(await stateOn(lab, 'b', 'web01'), 'r-----');
    await until('xl remus to exit', 10_000, async () => ((await a.exec(['kill', '-0', String(pid)], { timeoutMs: 5000 })).code !== 0 ? true : undefined));

    // Protection again, the other way round: a brand-new xl remus from b (reached through the bastion again: the
    // drop above ended the first connection) to a.
    const b2 = await connect(t, lab, 'b', await connect(t, lab, 'bastion'));
    const back = await startSupervisedOn(b2, 'colo-console-web01-back', lab.a.replicationAddress!);
    const readBack = (): Promise<string> => sh(b2, ['cat', back.log]);
    await until('a checkpoint of the reverse protection', 20_000, async () => (wholeCycles(await readBack()) >= 2 ? true : undefined), readBack);
    assert.deepEqual((await listOn(lab, 'a')).filter((d) => d.name?.startsWith('web01')).map((d) => [d.name, d.uuid]), [['web01--incoming', pvm.uuid]]);
  });

  test('killHost(a): b takes over; a and its guests are gone', async (t) => {
    const lab = await withLab(t);
    const remus = lab.xl('a', ['remus', '-c', '-u', '--', 'web01', lab.b.replicationAddress!]);
    t.after(() => remus.catch(() => undefined));
    await until('the SVM running on b', 20_000, async () => ((await stateOn(lab, 'b', 'web01--incoming')) === 'r-----' ? true : undefined));
    await lab.killHost('a');
    const r = await remus;
    assert.equal(r.code, 137, 'xl remus died with its host (SIGKILL)');
    await until('b to take over', 20_000, async () => ((await stateOn(lab, 'b', 'web01')) === 'r-----' ? true : undefined));
    assert.equal(await stateOn(lab, 'b', 'web01--incoming'), undefined);
    await assert.rejects(lab.xl('a', ['list']), /host a is not running/);
  });

  test('cutReplicationLink: a resumes unprotected (exit 1), b takes over: split brain', { skip: noNamespaces ?? false }, async (t) => {
    const lab = await withLab(t);
    const remus = lab.xl('a', ['remus', '-c', '-u', '--', 'web01', lab.b.replicationAddress!]);
    t.after(() => remus.catch(() => undefined));
    await until('the SVM running on b', 20_000, async () => ((await stateOn(lab, 'b', 'web01--incoming')) === 'r-----' ? true : undefined));
    await lab.cutReplicationLink();
    const r = await remus;
    assert.equal(r.code, 1, r.stderr);
    assert.match(r.stderr, /Domain 1:(reading|sending) data fails\n/);
    assert.match(r.stderr, /COLO: Domain suspend terminated with rc -3, teardown COLO devices\.\.\.\nCOLO: Backup failed\? resuming domain at primary\.\n$/);
    assert.equal(await stateOn(lab, 'a', 'web01'), 'r-----');
    await until('b to take over (sshd keepalive)', 20_000, async () => ((await stateOn(lab, 'b', 'web01')) === 'r-----' ? true : undefined));
    // The console still reaches both hosts: only the P–S link was cut.
    assert.equal((await lab.xl('a', ['list', 'web01'])).code, 0);
    const a = await connect(t, lab, 'a');
    assert.match(await sh(a, ['xl', 'list']), /^web01 /m);
    await lab.restoreReplicationLink();
  });

  test('stallSecondary: the log stops after `Domain now suspended`; the console connection is unaffected', async (t) => {
    const lab = await withLab(t);
    t.after(() => lab.stallSecondary(false));
    const a = await connect(t, lab, 'a');
    const { log } = await startSupervised(a, lab, 'colo-console-stall');
    const readLog = (): Promise<string> => sh(a, ['cat', log]);
    await until('2 whole checkpoints', 20_000, async () => (wholeCycles(await readLog()) >= 3 ? true : undefined), readLog);
    await lab.stallSecondary(true);
    const stuck = await until('the log to stop growing', 20_000, async () => {
      const first = await readLog();
      await delay(1000);
      return (await readLog()) === first ? first : undefined;
    });
    assert.equal(kinds(stuck).at(-1), 'suspended', stuck.split('\n').slice(-4).join('\n'));
    await lab.stallSecondary(false);
    await until('the stalled checkpoint to complete', 20_000, async () => (count(await readLog(), 'secondary-processed') > count(stuck, 'secondary-processed') ? true : undefined), readLog);
  });

  test('xl remus killed: its log just ends, the PVM stays on a, b takes over: split brain', async (t) => {
    const lab = await withLab(t);
    const a = await connect(t, lab, 'a');
    const { pid, log } = await startSupervised(a, lab, 'colo-console-killed');
    const readLog = (): Promise<string> => sh(a, ['cat', log]);
    await until('2 whole checkpoints', 20_000, async () => (wholeCycles(await readLog()) >= 3 ? true : undefined), readLog);
    await sh(a, ['kill', '-KILL', String(pid)]);
    await until('b to take over', 20_000, async () => ((await stateOn(lab, 'b', 'web01')) === 'r-----' ? true : undefined));
    const end = await readLog();
    assert.ok(!kinds(end).includes('exit-reason'), 'xl remus printed no exit reason: it was killed');
    // Killed between checkpoints (running) or inside one (paused): either way it is still there on a.
    assert.match((await stateOn(lab, 'a', 'web01')) ?? 'gone', /^(r-----|--p---)$/);
  });

  test('loopback mode: sshds on 127.x, xl over ssh, a COLO run ended by destroy', async (t) => {
    const lab = await withLab(t, { forceLoopback: true });
    assert.equal(lab.mode, 'loopback');
    assert.match(lab.note, /cannot be cut/);
    assert.match(lab.a.address, /^127\./);
    await assert.rejects(lab.cutReplicationLink(), /no replication link/);
    const a = await connect(t, lab, 'a');
    assert.match(await sh(a, ['xl', 'list']), /^web01 /m);
    const remus = lab.xl('a', ['remus', '-c', '-u', '--', 'web01', lab.b.replicationAddress!]);
    t.after(() => remus.catch(() => undefined));
    await until('the SVM running on b', 20_000, async () => ((await stateOn(lab, 'b', 'web01--incoming')) === 'r-----' ? true : undefined));
    assert.equal((await lab.xl('a', ['destroy', 'web01'])).code, 0);
    assert.equal((await remus).code, 0);
    await until('b to take over', 20_000, async () => ((await stateOn(lab, 'b', 'web01')) === 'r-----' ? true : undefined));
  });

  test('cleanupStaleLabs removes the namespaces and files of a lab whose process died', { skip: noNamespaces ?? false }, async (t) => {
    const script = `import { startXenLab } from ${JSON.stringify(new URL('./xen-lab.ts', import.meta.url).pathname)};
const lab = await startXenLab(); console.log(lab.note); setInterval(() => {}, 1000);`;
    const child = spawn(process.execPath, ['--import', 'tsx', '--input-type=module', '-e', script], { stdio: ['ignore', 'pipe', 'inherit'] });
    t.after(() => child.kill('SIGKILL'));
    let out = '';
    child.stdout.setEncoding('utf8').on('data', (d: string) => {
      out += d;
    });
    const note = await until('the child lab to start', 30_000, () => Promise.resolve(out.includes('\n') ? out : undefined));
    const names = /namespaces (\S+), (\S+), (\S+);/.exec(note)!.slice(1);
    child.kill('SIGKILL');
    await new Promise((r) => child.once('exit', r));
    assert.ok(execFileSync('ip', ['netns', 'list'], { encoding: 'utf8' }).includes(names[0]!), 'left behind by the killed lab');
    const removed = cleanupStaleLabs();
    assert.ok(removed.length >= 1);
    const left = execFileSync('ip', ['netns', 'list'], { encoding: 'utf8' });
    for (const n of names) assert.ok(!left.includes(n), `${n} removed`);
  });
});
