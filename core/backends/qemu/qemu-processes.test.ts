// The QEMU process listing: LIST_QEMU_ARGV run for real (locally and through a real sshd) against real QEMU
// processes, one of them started with a hostile name and socket path; and hand-written listings that lie.

import assert from 'node:assert/strict';
import { type ChildProcess, execFile, spawn } from 'node:child_process';
import { existsSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { setTimeout as delay } from 'node:timers/promises';
import { after, before, describe, test } from 'node:test';
import { promisify } from 'node:util';
import { launchQemuPair, QEMU_BINARY, qemuMissing, type QemuPair } from '../../lab/qemu-pair.js';
import { type Sshd, startSshd, sshdUnavailable } from '../../ssh/test-support/sshd.js';
import { LIST_QEMU_ARGV, MAX_ARGV_ITEM_BYTES, MAX_QEMU_PROCESSES, parseOptions, parseQemuList, qemuDomainSummary, readQemuList } from './qemu-processes.js';
import { connectLoopback } from './test-support/loopback-ssh.js';

const run = promisify(execFile);

/** One listing line for this argv, as the script prints it. */
function entry(pid: number, argv: string[]): string {
  return `${pid} ${Buffer.from(argv.map((a) => `${a}\0`).join(''), 'utf8').toString('base64')}`;
}

async function listLocally(): Promise<string> {
  const { stdout } = await run(LIST_QEMU_ARGV[0]!, LIST_QEMU_ARGV.slice(1), { timeout: 20_000, maxBuffer: 16 * 1024 * 1024 });
  return stdout;
}

describe('parseQemuList on hand-written listings', () => {
  test('name, QMP sockets (both spellings), incoming; QEMU comma escaping; a -mon before its -chardev', () => {
    const argv = [
      '/usr/bin/qemu-system-x86_64', '-S', '--name', 'guest=web,,01,debug-threads=on',
      '-mon', 'chardev=m1,mode=control', '-chardev', 'socket,id=m1,path=/run/a,,b c\nd.sock,server=on,wait=off',
      '-qmp', 'unix:/run/q.sock,server,nowait', '-incoming', 'tcp:0.0.0.0:9998', 'disk.img',
    ];
    const out = readQemuList(`${entry(42, argv)}\nend\n`);
    assert.deepEqual(out, {
      processes: [{ pid: 42, binary: argv[0], name: 'web,01', qmpSockets: ['/run/q.sock', '/run/a,b c\nd.sock'], incoming: 'tcp:0.0.0.0:9998', argv }],
      skipped: 0,
      complete: true,
    });
    assert.deepEqual(qemuDomainSummary(out.processes[0]!), { name: 'web,01', id: '42', state: 'running', role: 'secondary', qmpSocket: '/run/q.sock' });
  });

  test('memory and vCPUs, where the command line gives them plainly', () => {
    const summary = (...opts: string[]): object => {
      const p = readQemuList(`${entry(7, ['qemu-system-x86_64', ...opts])}\nend\n`).processes[0]!;
      const { memoryMiB, vcpus } = qemuDomainSummary(p);
      return { memoryMiB, vcpus };
    };
    assert.deepEqual(summary('-m', '64', '-smp', '2'), { memoryMiB: 64, vcpus: 2 });
    assert.deepEqual(summary('-m', 'size=2G', '-smp', 'cpus=4,sockets=1'), { memoryMiB: 2048, vcpus: 4 });
    assert.deepEqual(summary('-m', '512M,slots=2,maxmem=4G'), { memoryMiB: 512, vcpus: undefined });
    assert.deepEqual(summary('-m', 'lots', '-smp', 'many'), { memoryMiB: undefined, vcpus: undefined });
  });

  test('only listening sockets of control-mode monitors are QMP; flags do not swallow the next option', () => {
    const argv = [
      'qemu-system-aarch64', '-name', 'plain', '-nodefaults', '-qmp', 'tcp:127.0.0.1:4444,server=on',
      '-qmp', 'unix:/client.sock', '-chardev', 'socket,id=hmp,path=/hmp.sock,server=on', '-mon', 'chardev=hmp',
      '-chardev', 'socket,id=out,path=/out.sock', '-mon', 'chardev=out,mode=control',
      '-chardev', 'file,id=f,path=/f.sock,server=on', '-mon', 'chardev=f,mode=control',
      '-daemonize', '-chardev', 'socket,path=/ok.sock,server=on,id=ok', '-mon', 'mode=control,chardev=ok',
    ];
    const [p] = parseQemuList(`${entry(7, argv)}\nend\n`);
    assert.equal(p?.name, 'plain');
    assert.deepEqual(p?.qmpSockets, ['/ok.sock']);
    assert.equal(p?.incoming, undefined);
    assert.deepEqual(qemuDomainSummary(p), { name: 'plain', id: '7', state: 'running', qmpSocket: '/ok.sock' });
  });

  test('missing values, a nameless VM and a name the contract cannot carry', () => {
    const [a, b] = parseQemuList([
      entry(1, ['qemu-system-x86_64', '-qmp', 'unix:/x,server', '-name']),
      entry(2, ['qemu-system-x86_64', '-name', 'guest=', '-name', `${'n'.repeat(300)}`]),
      'end',
    ].join('\n'));
    assert.deepEqual([a?.name, a?.qmpSockets], [undefined, ['/x']]);
    assert.deepEqual(qemuDomainSummary(a!), { name: 'qemu-1', id: '1', state: 'running', qmpSocket: '/x' });
    assert.equal(qemuDomainSummary(b!).name, 'qemu-2');
  });

  test('garbage is counted and skipped, never thrown on', () => {
    const good = entry(10, ['qemu-system-x86_64', '-name', 'ok']);
    const cmdline = Buffer.from('qemu-system-x86_64\0-name\0cut').toString('base64');
    const lines = [
      good,
      good, // the same pid again
      'not a line',
      `11 ${entry(11, ['qemu-system-x86_64']).split(' ')[1]!.slice(0, -3)}`, // truncated base64
      `12 ${cmdline}`, // no final NUL: a cut-off read
      '0 AAAA', // pid 0
      `99999999 ${entry(1, ['qemu-system-x86_64']).split(' ')[1]}`, // beyond Linux's pids
      entry(13, ['/bin/sh', '-c', 'qemu-system-x86_64']), // not a QEMU
      entry(14, ['qemu-system-x86_64', 'x'.repeat(MAX_ARGV_ITEM_BYTES + 1)]), // an oversized item
      '15 ', // the process went away between the listing and the read
      '16 !!!!',
    ];
    const out = readQemuList(`${lines.join('\n')}\nend\n`);
    assert.deepEqual(out.processes.map((p) => p.pid), [10]);
    assert.equal(out.skipped, lines.length - 1);
    assert.equal(out.complete, true);
  });

  test('a listing cut short (no end marker) or stopped at the bound says it is incomplete', () => {
    assert.equal(readQemuList(entry(1, ['qemu-system-x86_64'])).complete, false);
    assert.equal(readQemuList(`${entry(1, ['qemu-system-x86_64'])}\nmore\n`).complete, false);
  });

  test('huge output: at most MAX_QEMU_PROCESSES processes, the rest counted', () => {
    const n = MAX_QEMU_PROCESSES + 500;
    const lines = Array.from({ length: n }, (_, i) => entry(i + 1, ['qemu-system-x86_64', '-name', `vm${i}`, '-append', 'a'.repeat(2000)]));
    const out = readQemuList(`${lines.join('\n')}\nend\n`);
    assert.equal(out.processes.length, MAX_QEMU_PROCESSES);
    assert.equal(out.skipped, 500);
  });

  test('parseOptions: escaped commas, implied key, flags, later keys win', () => {
    assert.deepEqual([...parseOptions('a,,b,,,c=d,,e,server,c=x', 'path')], [['path', 'a,b,'], ['c', 'x'], ['server', 'on']]);
    assert.deepEqual([...parseOptions('')], []);
  });
});

describe('LIST_QEMU_ARGV against real QEMU processes', { skip: qemuMissing() ?? false, timeout: 60_000 }, () => {
  let dir: string;
  let pair: QemuPair | undefined;
  let hostile: ChildProcess | undefined;
  let hostileSocket: string;
  let hostileArgv: string[];

  before(async () => {
    dir = mkdtempSync(path.join(tmpdir(), 'colo-qemu-ps-'));
    pair = await launchQemuPair({ dir });
    // A socket path with a comma, a space and a newline; a name with a comma: QEMU's ,, escaping on the way in.
    hostileSocket = path.join(dir, 'a,b c\nd.sock');
    hostileArgv = ['-M', 'none', '-nodefaults', '-display', 'none', '-S', '-name', 'guest=we,,ird name,debug-threads=on',
      '-chardev', `socket,id=q,path=${hostileSocket.replace(/,/g, ',,')},server=on,wait=off`, '-mon', 'chardev=q,mode=control'];
    hostile = spawn(QEMU_BINARY, hostileArgv, { stdio: 'ignore' });
    for (let i = 0; i < 200 && !existsSync(hostileSocket); i++) await delay(25);
  });
  after(async () => {
    hostile?.kill('SIGKILL');
    await pair?.stop();
    rmSync(dir, { recursive: true, force: true });
  });

  function check(stdout: string): void {
    const list = readQemuList(stdout);
    assert.equal(list.complete, true);
    const byPid = new Map(list.processes.map((p) => [p.pid, p]));
    const primary = byPid.get(pair!.primary.process.pid!);
    const secondary = byPid.get(pair!.secondary.process.pid!);
    assert.deepEqual(primary?.argv, pair!.primary.argv);
    assert.deepEqual(secondary?.argv, pair!.secondary.argv);
    assert.deepEqual(primary?.qmpSockets, [pair!.primary.socket]);
    assert.equal(primary?.incoming, undefined);
    assert.equal(secondary?.incoming, `tcp:127.0.0.1:${pair!.port}`);
    assert.deepEqual(qemuDomainSummary(secondary), { name: `qemu-${secondary.pid}`, id: String(secondary.pid), state: 'running', role: 'secondary', qmpSocket: pair!.secondary.socket, memoryMiB: 64 });
    const odd = byPid.get(hostile!.pid!);
    assert.deepEqual(odd?.argv, [QEMU_BINARY, ...hostileArgv]);
    assert.equal(odd?.name, 'we,ird name');
    assert.deepEqual(odd?.qmpSockets, [hostileSocket]);
    assert.ok(existsSync(odd.qmpSockets[0]!), 'the parsed socket path is the one QEMU created');
    // The listing finds QEMUs only: this test's node process and the script itself are not in it.
    assert.ok(list.processes.every((p) => /qemu-system-/.test(p.binary)));
    assert.ok(!byPid.has(process.pid));
  }

  test('run locally: the argv of each QEMU, exactly as started', async () => {
    check(await listLocally());
  });

  test('run through a real sshd with SshConnection.exec, output bounded', { skip: sshdUnavailable() ?? false }, async (t) => {
    const sshd: Sshd = await startSshd();
    t.after(() => sshd.stop());
    const ssh = await connectLoopback(sshd);
    t.after(() => ssh.close());
    const r = await ssh.exec(LIST_QEMU_ARGV, { timeoutMs: 20_000, maxOutputBytes: 4 * 1024 * 1024 });
    assert.equal(r.code, 0, r.stderr);
    check(r.stdout);
    await assert.rejects(ssh.exec(LIST_QEMU_ARGV, { timeoutMs: 20_000, maxOutputBytes: 64 }), { kind: 'output-too-large' });
  });
});
