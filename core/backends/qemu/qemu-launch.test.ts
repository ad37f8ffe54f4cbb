// The launch plan: its command lines as QEMU's COLO documentation spells them, checked word by word; the preview
// read back by a real shell; and the plan run for real through a real sshd: QEMU 7.2 started detached, both
// monitors answering, the secondary waiting for its migration, and, with a disk, the secondary's preparation and
// the block replication steps accepted, after which COLO starts with replicated disks; with network user, the COLO
// proxy's objects in place and its sockets connected across the pair before COLO starts.

import assert from 'node:assert/strict';
import { execFile, execFileSync } from 'node:child_process';
import { existsSync, mkdtempSync, rmSync, truncateSync, writeFileSync } from 'node:fs';
import net from 'node:net';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { setTimeout as delay } from 'node:timers/promises';
import { describe, test, type TestContext } from 'node:test';
import { promisify } from 'node:util';
import { qemuMissing, startColo } from '../../lab/qemu-pair.js';
import type { SshConnection } from '../../ssh/connection.js';
import { startSshd, sshdUnavailable } from '../../ssh/test-support/sshd.js';
import { freePort, freePortRun } from '../../test-support/ports.js';
import { coloLayout, primaryAloneSteps, stepName } from './qemu-colo-plumbing.js';
import { type LaunchPlan, launchPlan, supervisedLaunch } from './qemu-launch.js';
import { type QemuPairOptions, readQemuOptions } from './qemu-options.js';
import { LIST_QEMU_ARGV, parseQemuList } from './qemu-processes.js';
import { QmpClient } from './qmp-client.js';
import { connectLoopback } from './test-support/loopback-ssh.js';
import { eventually } from '../../test-support/eventually.js';

const run = promisify(execFile);

const OPTIONS: QemuPairOptions = { primaryQmp: '/run/colo/web.qmp', secondaryQmp: '/run/colo/web-s.qmp' };
const COMMON = ['-machine', 'pc', '-accel', 'kvm', '-m', '1024', '-smp', '1', '-display', 'none', '-nodefaults', '-nic', 'none'];

describe('launchPlan', () => {
  test('without a disk: the two command lines, no preparation, no replication steps', () => {
    const plan = launchPlan('web', OPTIONS, '10.0.0.2');
    assert.deepEqual(plan.primary.argv, ['qemu-system-x86_64', '-name', 'guest=web', ...COMMON,
      '-chardev', 'socket,id=colo-qmp,path=/run/colo/web.qmp,server=on,wait=off', '-mon', 'chardev=colo-qmp,mode=control', '-S']);
    assert.deepEqual(plan.secondary.argv, ['qemu-system-x86_64', '-name', 'guest=web', ...COMMON,
      '-chardev', 'socket,id=colo-qmp,path=/run/colo/web-s.qmp,server=on,wait=off', '-mon', 'chardev=colo-qmp,mode=control',
      '-incoming', 'tcp:10.0.0.2:9998']);
    assert.equal(plan.incomingUri, 'tcp:10.0.0.2:9998');
    assert.deepEqual(plan.secondary.prepare, [['mkdir', '-p', '-m', '0700', '--', '/run/colo']]);
    assert.deepEqual(plan.primary.prepare, [['mkdir', '-p', '-m', '0700', '--', '/run/colo']]);
    assert.deepEqual(plan.afterLaunch, { secondary: [], primary: [] });
    assert.match(plan.preview.split('\n')[0]!, /^# web: no network \(-nic none\); no disk, so no block replication$/);
  });

  test('with a disk: quorum on the primary, replication over active and hidden disks on the secondary, NBD and drive_add steps', () => {
    const plan = launchPlan('web', {
      ...OPTIONS, binary: '/opt/qemu/bin/qemu-system-x86_64', accel: 'tcg', memoryMiB: 512, vcpus: 2, machine: 'q35',
      disk: '/srv/vm/web.qcow2', diskFormat: 'qcow2', replicationAddress: '192.168.7.2', migrationPort: 7000, nbdPort: 7001,
      scratchDir: '/dev/shm/colo/',
    }, '10.0.0.2');
    const scratch = '/dev/shm/colo/web';
    assert.deepEqual(plan.primary.argv.slice(-3), ['-drive',
      'if=ide,id=colo-disk0,driver=quorum,read-pattern=fifo,vote-threshold=1,children.0.file.filename=/srv/vm/web.qcow2,children.0.driver=qcow2', '-S']);
    assert.deepEqual(plan.secondary.argv.slice(-8), [
      '-drive', 'if=none,id=parent0,file.filename=/srv/vm/web.qcow2,driver=qcow2',
      '-drive', `if=none,id=childs0,driver=replication,mode=secondary,file.driver=qcow2,top-id=colo-disk0,file.file.filename=${scratch}/active_disk.qcow2,file.backing.driver=qcow2,file.backing.file.filename=${scratch}/hidden_disk.qcow2,file.backing.backing=parent0`,
      '-drive', 'if=ide,id=colo-disk0,driver=quorum,read-pattern=fifo,vote-threshold=1,children.0=childs0',
      '-incoming', 'tcp:192.168.7.2:7000',
    ]);
    assert.deepEqual(plan.secondary.argv.slice(0, 11), ['/opt/qemu/bin/qemu-system-x86_64', '-name', 'guest=web', '-machine', 'q35', '-accel', 'tcg', '-m', '512', '-smp', '2']);
    assert.deepEqual(plan.secondary.prepare, [
      ['mkdir', '-p', '-m', '0700', '--', '/run/colo'],
      ['mkdir', '-p', '-m', '0700', '--', scratch],
      ['/opt/qemu/bin/qemu-img', 'create', '-q', '-f', 'qcow2', '-F', 'qcow2', '-b', '/srv/vm/web.qcow2', `${scratch}/hidden_disk.qcow2`],
      ['/opt/qemu/bin/qemu-img', 'create', '-q', '-f', 'qcow2', '-F', 'qcow2', '-b', `${scratch}/hidden_disk.qcow2`, `${scratch}/active_disk.qcow2`],
    ]);
    assert.deepEqual(plan.afterLaunch, {
      secondary: [
        { command: 'nbd-server-start', arguments: { addr: { type: 'inet', data: { host: '192.168.7.2', port: '7001' } } } },
        { command: 'nbd-server-add', arguments: { device: 'parent0', writable: true } },
      ],
      primary: [
        { command: 'human-monitor-command', arguments: { 'command-line': 'drive_add -n buddy driver=replication,mode=primary,file.driver=nbd,file.host=192.168.7.2,file.port=7001,file.export=parent0,node-name=replication0' } },
        { command: 'x-blockdev-change', arguments: { parent: 'colo-disk0', node: 'replication0' } },
      ],
    });
    assert.equal(plan.incomingUri, 'tcp:192.168.7.2:7000');
  });

  test('network user: slirp and an e1000 on both sides; the primary\'s proxy listens, the secondary\'s connects back', () => {
    const plan = launchPlan('web', { ...OPTIONS, network: 'user' }, '10.0.0.2', '10.0.0.1');
    const head = (argv: string[]): string[] => argv.slice(0, 14);
    const tail = (qmp: string): string[] => ['-chardev', `socket,id=colo-qmp,path=${qmp},server=on,wait=off`, '-mon', 'chardev=colo-qmp,mode=control'];
    const BASE = ['qemu-system-x86_64', '-name', 'guest=web', '-machine', 'pc', '-accel', 'kvm', '-m', '1024', '-smp', '1', '-display', 'none', '-nodefaults'];
    assert.deepEqual(head(plan.primary.argv), BASE);
    assert.deepEqual(plan.primary.argv.slice(14), [
      '-netdev', 'user,id=hn0',
      '-device', 'e1000,id=e0,netdev=hn0',
      '-chardev', 'socket,id=mirror0,host=10.0.0.1,port=9003,server=on,wait=off',
      '-chardev', 'socket,id=compare1,host=10.0.0.1,port=9004,server=on,wait=off',
      '-chardev', 'socket,id=compare0,host=127.0.0.1,port=9005,server=on,wait=off',
      '-chardev', 'socket,id=compare0-0,host=127.0.0.1,port=9005',
      '-chardev', 'socket,id=compare_out,host=127.0.0.1,port=9006,server=on,wait=off',
      '-chardev', 'socket,id=compare_out0,host=127.0.0.1,port=9006',
      '-object', 'filter-mirror,id=m0,netdev=hn0,queue=tx,outdev=mirror0',
      '-object', 'filter-redirector,id=redire0,netdev=hn0,queue=rx,indev=compare_out',
      '-object', 'filter-redirector,id=redire1,netdev=hn0,queue=rx,outdev=compare0',
      '-object', 'iothread,id=iothread1',
      '-object', 'colo-compare,id=comp0,primary_in=compare0-0,secondary_in=compare1,outdev=compare_out0,iothread=iothread1',
      ...tail('/run/colo/web.qmp'),
      '-S',
    ]);
    assert.deepEqual(head(plan.secondary.argv), BASE);
    assert.deepEqual(plan.secondary.argv.slice(14), [
      '-netdev', 'user,id=hn0',
      '-device', 'e1000,id=e0,netdev=hn0',
      '-chardev', 'socket,id=red0,host=10.0.0.1,port=9003,reconnect=1',
      '-chardev', 'socket,id=red1,host=10.0.0.1,port=9004,reconnect=1',
      '-object', 'filter-redirector,id=f1,netdev=hn0,queue=tx,indev=red0',
      '-object', 'filter-redirector,id=f2,netdev=hn0,queue=rx,outdev=red1',
      '-object', 'filter-rewriter,id=rew0,netdev=hn0,queue=all',
      ...tail('/run/colo/web-s.qmp'),
      '-incoming', 'tcp:10.0.0.2:9998',
    ]);
    assert.doesNotMatch(plan.primary.argv.join(' '), /-nic/);
    assert.match(plan.preview.split('\n')[0]!, /^# web: a NIC on QEMU's user-mode network \(slirp, no host networking\) behind colo-compare; no disk/);
  });

  test('network bridge: the bridge netdev on both sides, a given MAC, ports from the base, the primary replication address', () => {
    const plan = launchPlan('web', {
      ...OPTIONS, network: 'bridge', bridge: 'br-colo', macAddress: '52:54:00:12:34:56', proxyBasePort: 7100,
      primaryReplicationAddress: '192.168.7.1',
    }, '10.0.0.2', '10.0.0.1');
    const pairs = (argv: string[]): string[] => argv.flatMap((a, i) => (['-netdev', '-device', '-chardev', '-object'].includes(argv[i - 1] ?? '') ? [`${argv[i - 1]} ${a}`] : []));
    assert.deepEqual(pairs(plan.primary.argv).sort(), [
      '-chardev socket,id=colo-qmp,path=/run/colo/web.qmp,server=on,wait=off',
      '-chardev socket,id=compare0,host=127.0.0.1,port=7102,server=on,wait=off',
      '-chardev socket,id=compare0-0,host=127.0.0.1,port=7102',
      '-chardev socket,id=compare1,host=192.168.7.1,port=7101,server=on,wait=off',
      '-chardev socket,id=compare_out,host=127.0.0.1,port=7103,server=on,wait=off',
      '-chardev socket,id=compare_out0,host=127.0.0.1,port=7103',
      '-chardev socket,id=mirror0,host=192.168.7.1,port=7100,server=on,wait=off',
      '-device e1000,id=e0,netdev=hn0,mac=52:54:00:12:34:56',
      '-netdev bridge,id=hn0,br=br-colo',
      '-object colo-compare,id=comp0,primary_in=compare0-0,secondary_in=compare1,outdev=compare_out0,iothread=iothread1',
      '-object filter-mirror,id=m0,netdev=hn0,queue=tx,outdev=mirror0',
      '-object filter-redirector,id=redire0,netdev=hn0,queue=rx,indev=compare_out',
      '-object filter-redirector,id=redire1,netdev=hn0,queue=rx,outdev=compare0',
      '-object iothread,id=iothread1',
    ]);
    assert.deepEqual(pairs(plan.secondary.argv).sort(), [
      '-chardev socket,id=colo-qmp,path=/run/colo/web-s.qmp,server=on,wait=off',
      '-chardev socket,id=red0,host=192.168.7.1,port=7100,reconnect=1',
      '-chardev socket,id=red1,host=192.168.7.1,port=7101,reconnect=1',
      '-device e1000,id=e0,netdev=hn0,mac=52:54:00:12:34:56',
      '-netdev bridge,id=hn0,br=br-colo',
      '-object filter-redirector,id=f1,netdev=hn0,queue=tx,indev=red0',
      '-object filter-redirector,id=f2,netdev=hn0,queue=rx,outdev=red1',
      '-object filter-rewriter,id=rew0,netdev=hn0,queue=all',
    ].sort());
    assert.equal(plan.primary.argv.at(-1), '-S');
    assert.deepEqual(plan.secondary.argv.slice(-2), ['-incoming', 'tcp:10.0.0.2:9998']);
    assert.match(plan.preview.split('\n')[0]!, /^# web: a NIC on bridge br-colo \(tap through qemu-bridge-helper\) behind colo-compare/);
  });

  test('the network options refuse what cannot be a bridge, a port or a MAC, naming the option', () => {
    const base = { primaryQmp: '/run/p.qmp', secondaryQmp: '/run/s.qmp' };
    const refusal = (options: Record<string, unknown>): string => {
      const r = readQemuOptions(options);
      assert.equal(typeof r, 'string', `accepted: ${JSON.stringify(options)}`);
      return r as string;
    };
    assert.deepEqual(readQemuOptions({ ...base, network: 'bridge', bridge: 'br0', proxyBasePort: 65532, macAddress: '52:54:00:AB:cd:01', primaryReplicationAddress: 'fd00::1' }),
      { ...base, network: 'bridge', bridge: 'br0', proxyBasePort: 65532, macAddress: '52:54:00:AB:cd:01', primaryReplicationAddress: 'fd00::1' });
    for (const bridge of ['br0,helper=/tmp/x', 'br 0', '-br0', 'a'.repeat(16), 'br/0', '']) {
      assert.match(refusal({ ...base, network: 'bridge', bridge }), /^option bridge: an interface name/, bridge);
    }
    for (const proxyBasePort of [0, 65533, 65535, 70000, 9003.5]) {
      assert.match(refusal({ ...base, network: 'user', proxyBasePort }), /^option proxyBasePort: /, String(proxyBasePort));
    }
    for (const macAddress of ['01:00:5e:00:00:01', '52:54:00:12:34', '52-54-00-12-34-56', '52:54:00:12:34:56,romfile=x']) {
      assert.match(refusal({ ...base, macAddress }), /^option macAddress: a unicast MAC address/, macAddress);
    }
    assert.match(refusal({ ...base, network: 'tap' }), /^option network: /);
    assert.match(refusal({ ...base, network: 'bridge' }), /^option bridge: name the host bridge/);
    assert.match(refusal({ ...base, primaryReplicationAddress: '10.0.0.1,server=on' }), /^option primaryReplicationAddress: a host name or IP address/);
  });

  test('the plan checks the network options again, and needs the primary\'s address for them', () => {
    assert.throws(() => launchPlan('web', { ...OPTIONS, network: 'bridge', bridge: 'br0,helper=/tmp/evil' }, 'h2', 'h1'), /the bridge name "br0,helper=\/tmp\/evil" cannot go into a QEMU option/);
    assert.throws(() => launchPlan('web', { ...OPTIONS, network: 'bridge' }, 'h2', 'h1'), /network bridge needs the bridge option/);
    assert.throws(() => launchPlan('web', { ...OPTIONS, network: 'user', proxyBasePort: 65534 }, 'h2', 'h1'), /the proxy base port 65534 leaves no room/);
    assert.throws(() => launchPlan('web', { ...OPTIONS, network: 'user', macAddress: '52:54:00:12:34:56,x=y' }, 'h2', 'h1'), /the MAC address .* cannot go into a QEMU option/);
    assert.throws(() => launchPlan('web', { ...OPTIONS, network: 'user' }, 'h2'), /needs the primary's replication address \(primaryReplicationAddress\)/);
    assert.throws(() => launchPlan('web', { ...OPTIONS, network: 'user' }, 'h2', 'h1,server=on'), /"h1,server=on" is not a host name or IP address for the primary's COLO proxy/);
    // Without a network the primary's address is not needed.
    assert.deepEqual(launchPlan('web', OPTIONS, 'h2').primary.argv.slice(14, 16), ['-nic', 'none']);
  });

  test('an IPv6 replication address goes in brackets in the URI; a given incoming URI is used as it is', () => {
    assert.equal(launchPlan('web', { ...OPTIONS, replicationAddress: 'fd00::2' }, 'h2').incomingUri, 'tcp:[fd00::2]:9998');
    const plan = launchPlan('web', { ...OPTIONS, incomingUri: 'tcp:h2.example:4444' }, 'h2');
    assert.equal(plan.incomingUri, 'tcp:h2.example:4444');
    assert.deepEqual(plan.secondary.argv.slice(-2), ['-incoming', 'tcp:h2.example:4444']);
  });

  test('what cannot go on a QEMU command line is refused, naming it', () => {
    for (const vm of ['', '-S', 'two words', 'a,b', '.hidden', '../up', 'x'.repeat(65), 'new\nline']) {
      assert.throws(() => launchPlan(vm, OPTIONS, 'h2'), /the VM name/, JSON.stringify(vm));
    }
    assert.throws(() => launchPlan('web', OPTIONS, 'h2,server=on'), /not a host name or IP address/);
    // Options that did not come through qemu-options.ts: the plan checks again.
    assert.throws(() => launchPlan('web', { ...OPTIONS, disk: '/srv/a,file.locking=off' }, 'h2'), /the disk image path "\/srv\/a,file.locking=off" cannot go into a QEMU option/);
    assert.throws(() => launchPlan('web', { ...OPTIONS, primaryQmp: '/run/q\n-S' }, 'h2'), /the QMP socket path/);
    assert.throws(() => launchPlan('web', { ...OPTIONS, machine: 'pc,accel=xen' }, 'h2'), /the machine type/);
    assert.throws(() => launchPlan('web', { ...OPTIONS, disk: '/a', scratchDir: '/s,x' }, 'h2'), /the scratch directory/);
  });

  test('the preview, read by a real shell, gives back every command word for word', () => {
    const plan = launchPlan('web', { ...OPTIONS, disk: '/srv/vm/web.img' }, '10.0.0.2');
    const commands = plan.preview.split('\n').filter((l) => !l.startsWith('#'));
    const expected = [...plan.secondary.prepare, plan.secondary.argv, ...plan.primary.prepare, plan.primary.argv];
    assert.equal(commands.length, expected.length);
    commands.forEach((line, i) => {
      const words = execFileSync('sh', ['-c', `printf '%s\\0' ${line}`], { encoding: 'utf8' }).split('\0').slice(0, -1);
      assert.deepEqual(words, expected[i]);
    });
  });

  test('the listing reads a planned secondary back: its name, QMP socket and incoming address', () => {
    const plan = launchPlan('web', OPTIONS, '10.0.0.2');
    const line = `77 ${Buffer.from(plan.secondary.argv.map((a) => `${a}\0`).join('')).toString('base64')}\nend\n`;
    assert.deepEqual(parseQemuList(line).map(({ name, qmpSockets, incoming }) => ({ name, qmpSockets, incoming })),
      [{ name: 'web', qmpSockets: ['/run/colo/web-s.qmp'], incoming: 'tcp:10.0.0.2:9998' }]);
  });
});

describe('supervisedLaunch', () => {
  test('QEMU daemonizes itself with -D; the argv and log path stay arguments of a fixed script', () => {
    const argv = supervisedLaunch(['qemu-system-x86_64', '-name', "it's"], '/var/log/colo/web.log');
    assert.deepEqual(argv.slice(0, 2), ['sh', '-c']);
    assert.deepEqual(argv.slice(3), ['colo-console-qemu', '/var/log/colo/web.log', 'qemu-system-x86_64', '-name', "it's"]);
    assert.match(argv[2]!, /"\$@" -daemonize -D "\$log"/);
  });

  test('refuses what it cannot run', () => {
    assert.throws(() => supervisedLaunch([], '/l'), /empty/);
    assert.throws(() => supervisedLaunch(['q', '-daemonize'], '/l'), /already says -daemonize/);
    for (const log of ['log', '/var/log/', '/a/../etc/x', '/a b', '/a\nb']) assert.throws(() => supervisedLaunch(['q'], log), /not an absolute path/, log);
  });
});

// ---- against real QEMU, through a real sshd ----

const unavailable = qemuMissing() ?? sshdUnavailable();

function qemuImgMissing(): string | null {
  try {
    execFileSync('qemu-img', ['--version'], { stdio: 'ignore' });
    return null;
  } catch {
    return 'qemu-img is not installed here (apt-get install qemu-utils)';
  }
}

async function listQemus(): Promise<ReturnType<typeof parseQemuList>> {
  const { stdout } = await run(LIST_QEMU_ARGV[0]!, LIST_QEMU_ARGV.slice(1), { timeout: 20_000, maxBuffer: 16 * 1024 * 1024 });
  return parseQemuList(stdout);
}

/** Kills the daemonized QEMUs whose command line mentions `dir` (they are no children of ours) and waits. */
async function killQemusUnder(dir: string): Promise<void> {
  const mine = (await listQemus()).filter((p) => p.argv.some((a) => a.includes(dir)));
  for (const p of mine) {
    try {
      process.kill(p.pid, 'SIGKILL');
    } catch { /* already gone */ }
  }
  for (let i = 0; i < 200 && mine.some((p) => existsSync(`/proc/${p.pid}`)); i++) await delay(25);
}

async function qmp(socket: string, name: string): Promise<QmpClient> {
  const sock = await new Promise<net.Socket>((resolve, reject) => {
    const s = net.connect(socket);
    s.once('connect', () => resolve(s));
    s.once('error', reject);
  });
  return QmpClient.open(sock, { name, timeoutMs: 10_000 });
}

interface Lab {
  dir: string;
  ssh: SshConnection;
  options: QemuPairOptions;
}

async function lab(t: TestContext): Promise<Lab> {
  const dir = mkdtempSync(path.join(tmpdir(), 'colo-launch-'));
  t.after(() => rmSync(dir, { recursive: true, force: true }));
  t.after(() => killQemusUnder(dir));
  const sshd = await startSshd();
  t.after(() => sshd.stop());
  const ssh = await connectLoopback(sshd);
  t.after(() => ssh.close());
  const options: QemuPairOptions = {
    // In directories that do not exist yet: the plan's preparation makes them.
    primaryQmp: path.join(dir, 'run-p', 'primary.qmp'), secondaryQmp: path.join(dir, 'run-s', 'secondary.qmp'),
    accel: 'tcg', memoryMiB: 64, migrationPort: await freePort(), nbdPort: await freePort(),
  };
  return { dir, ssh, options };
}

async function exec(ssh: SshConnection, argv: string[]): Promise<void> {
  const r = await ssh.exec(argv, { timeoutMs: 30_000, maxOutputBytes: 1024 * 1024 });
  assert.equal(r.code, 0, `${argv.slice(-3).join(' ')}: ${r.stderr}`);
}

/** x-colo on both sides and `migrate`, as qemu-pair.ts starts its pair; then both sides say they are in COLO. */
/**
 * Runs the plan through the SSH connection as the console does (the secondary first: with a network its proxy keeps
 * trying until the primary's listens) and connects to both monitors, closed when the test ends.
 */
async function launchBoth(t: TestContext, ssh: SshConnection, dir: string, plan: LaunchPlan, options: { primaryQmp: string; secondaryQmp: string }): Promise<{ primary: QmpClient; secondary: QmpClient }> {
  for (const step of [...plan.secondary.prepare, ...plan.primary.prepare]) await exec(ssh, step);
  await exec(ssh, supervisedLaunch(plan.secondary.argv, path.join(dir, 'log', 'secondary.log')));
  await exec(ssh, supervisedLaunch(plan.primary.argv, path.join(dir, 'log', 'primary.log')));
  const secondary = await qmp(options.secondaryQmp, 'secondary');
  t.after(() => secondary.close());
  const primary = await qmp(options.primaryQmp, 'primary');
  t.after(() => primary.close());
  return { primary, secondary };
}

async function startColoAndWait(primary: QmpClient, secondary: QmpClient, uri: string): Promise<void> {
  // 7.2's first periodic checkpoint hangs the primary (qemu-colo.md §3): a minute's delay keeps it out of the test.
  await startColo(primary, secondary, uri, 60_000);
  await eventually('COLO on both sides', 20_000, async () => {
    const p = await primary.execute<{ mode: string }>('query-colo-status');
    const s = await secondary.execute<{ mode: string }>('query-colo-status');
    return p.mode === 'primary' && s.mode === 'secondary' ? true : undefined;
  });
  // The primary was started paused (-S); COLO's start resumes it once the secondary runs (finish-migrate until then).
  await eventually('the primary running', 20_000, async () => ((await primary.execute<{ status: string }>('query-status')).status === 'running' ? true : undefined));
}

describe('a launch plan run on a real QEMU 7.2 through a real sshd', { skip: unavailable ?? false, timeout: 120_000 }, () => {
  test('without a disk: both start detached, both monitors answer, the secondary waits in inmigrate; COLO then starts', async (t) => {
    const { dir, ssh, options } = await lab(t);
    const plan = launchPlan('diskless', options, '127.0.0.1');
    const { primary, secondary } = await launchBoth(t, ssh, dir, plan, options);
    assert.equal((await secondary.execute<{ status: string }>('query-status')).status, 'inmigrate');
    assert.equal((await primary.execute<{ status: string }>('query-status')).status, 'prelaunch');

    // The listing, through the same SSH connection, finds both as the console will: by name and socket.
    const listed = parseQemuList((await ssh.exec(LIST_QEMU_ARGV, { timeoutMs: 20_000, maxOutputBytes: 4 * 1024 * 1024 })).stdout)
      .filter((p) => p.name === 'diskless' && p.argv.some((a) => a.includes(dir)));
    assert.deepEqual(listed.map((p) => [p.qmpSockets, p.incoming]).sort(), [
      [[options.primaryQmp], undefined],
      [[options.secondaryQmp], plan.incomingUri],
    ]);

    await startColoAndWait(primary, secondary, plan.incomingUri);
  });

  test('QEMU refusing to start is a failed exit with its own words on stderr, not a hang', async (t) => {
    const { dir, ssh, options } = await lab(t);
    const plan = launchPlan('nodisk', { ...options, disk: path.join(dir, 'missing.img') }, '127.0.0.1');
    for (const step of plan.primary.prepare) await exec(ssh, step);
    const r = await ssh.exec(supervisedLaunch(plan.primary.argv, path.join(dir, 'primary.log')), { timeoutMs: 30_000 });
    assert.notEqual(r.code, 0);
    assert.match(r.stderr, /Could not open '.*missing\.img'/);
  });

  test('with a 1 MiB raw disk: prepare + start the secondary, then the doc\'s NBD and replication steps; COLO starts with them', { skip: qemuImgMissing() ?? false }, async (t) => {
    const { dir, ssh, options } = await lab(t);
    // The two hosts are one machine here: each side gets its own copy of the image (QEMU locks an image it writes).
    const images = { primary: path.join(dir, 'primary.img'), secondary: path.join(dir, 'secondary.img') };
    for (const image of Object.values(images)) {
      writeFileSync(image, '');
      truncateSync(image, 1024 * 1024);
    }
    const onPrimary = launchPlan('withdisk', { ...options, disk: images.primary, scratchDir: path.join(dir, 'p-scratch') }, '127.0.0.1');
    const onSecondary = launchPlan('withdisk', { ...options, disk: images.secondary, scratchDir: path.join(dir, 's-scratch') }, '127.0.0.1');

    for (const step of [...onSecondary.secondary.prepare, ...onPrimary.primary.prepare]) await exec(ssh, step);
    const scratch = path.join(dir, 's-scratch', 'withdisk');
    const info = JSON.parse(execFileSync('qemu-img', ['info', '--output=json', path.join(scratch, 'active_disk.qcow2')], { encoding: 'utf8' })) as { 'virtual-size': number };
    assert.equal(info['virtual-size'], 1024 * 1024, 'the active disk is as long as the image');

    await exec(ssh, supervisedLaunch(onSecondary.secondary.argv, path.join(dir, 'secondary.log')));
    await exec(ssh, supervisedLaunch(onPrimary.primary.argv, path.join(dir, 'primary.log')));
    const secondary = await qmp(options.secondaryQmp, 'secondary');
    t.after(() => secondary.close());
    const primary = await qmp(options.primaryQmp, 'primary');
    t.after(() => primary.close());
    assert.equal((await secondary.execute<{ status: string }>('query-status')).status, 'inmigrate');

    // Every step is answered with success by 7.2 (drive_add's HMP reply is empty text when it worked).
    for (const step of onSecondary.afterLaunch.secondary) assert.deepEqual(await secondary.execute(step.command, step.arguments), {}, step.command);
    const [driveAdd, blockdevChange] = onPrimary.afterLaunch.primary;
    assert.equal(await primary.execute(driveAdd!.command, driveAdd!.arguments), '');
    assert.deepEqual(await primary.execute(blockdevChange!.command, blockdevChange!.arguments), {});
    // The replication node is now the quorum's second child on the primary.
    const nodes = await primary.execute<Array<{ 'node-name': string; drv: string }>>('query-named-block-nodes');
    assert.ok(nodes.some((n) => n['node-name'] === 'replication0' && n.drv === 'replication'), JSON.stringify(nodes.map((n) => n['node-name'])));

    await startColoAndWait(primary, secondary, onPrimary.incomingUri);

    // The secondary lost: the primary drops its replication child ("Primary Failover", as the console does for a
    // pair it launched), then leaves COLO and runs on with its own disk alone.
    const layout = coloLayout({ ...options, launch: true, disk: images.primary });
    assert.deepEqual(primaryAloneSteps(layout!).map(stepName), ['x-blockdev-change children.1', 'human-monitor-command drive_del replication0']);
    for (const step of primaryAloneSteps(layout!)) await primary.execute(step.command, step.arguments);
    await primary.execute('x-colo-lost-heartbeat');
    const left = await primary.execute<Array<{ 'node-name': string }>>('query-named-block-nodes');
    assert.ok(!left.some((n) => n['node-name'] === 'replication0'), JSON.stringify(left.map((n) => n['node-name'])));
    await eventually('the primary running alone', 20_000, async () => {
      const [st, colo] = [await primary.execute<{ status: string }>('query-status'), await primary.execute<{ mode: string }>('query-colo-status')];
      return st.status === 'running' && colo.mode === 'none' ? true : undefined;
    });
  });

  test('network user: both start with the COLO proxy, the secondary\'s proxy connects to the primary\'s, COLO starts', async (t) => {
    const { dir, ssh, options } = await lab(t);
    const base = await freePortRun(4);
    const plan = launchPlan('netuser', { ...options, network: 'user', proxyBasePort: base }, '127.0.0.1', '127.0.0.1');
    const { primary, secondary } = await launchBoth(t, ssh, dir, plan, options);

    const objects = async (client: QmpClient): Promise<string[]> =>
      (await client.execute<Array<{ name: string; type: string }>>('qom-list', { path: '/objects' })).map((o) => o.name).sort();
    const pObjects = await objects(primary);
    for (const id of ['comp0', 'iothread1', 'm0', 'redire0', 'redire1']) assert.ok(pObjects.includes(id), `primary /objects lacks ${id}: ${pObjects.join(' ')}`);
    const sObjects = await objects(secondary);
    for (const id of ['f1', 'f2', 'rew0']) assert.ok(sObjects.includes(id), `secondary /objects lacks ${id}: ${sObjects.join(' ')}`);
    assert.equal(await primary.execute('qom-get', { path: '/objects/comp0', property: 'type' }), 'colo-compare');
    assert.equal(await secondary.execute('qom-get', { path: '/objects/rew0', property: 'type' }), 'filter-rewriter');

    // A socket chardev's filename starts "disconnected:" until its connection is up: within its reconnect second,
    // the secondary's red0 and red1 reach the primary's mirror0 and compare1, and colo-compare's loopback pairs are up.
    const chardevs = async (client: QmpClient, ids: string[]): Promise<Record<string, string>> => {
      const all = await client.execute<Array<{ label: string; filename: string }>>('query-chardev');
      return Object.fromEntries(all.filter((c) => ids.includes(c.label)).map((c) => [c.label, c.filename]));
    };
    const connected = (m: Record<string, string>, ids: string[]): boolean => ids.every((id) => m[id] !== undefined && !m[id].startsWith('disconnected:'));
    const sIds = ['red0', 'red1'];
    const pIds = ['mirror0', 'compare1', 'compare0', 'compare0-0', 'compare_out', 'compare_out0'];
    await eventually('the proxy connections', 10_000, async () => (connected(await chardevs(secondary, sIds), sIds) && connected(await chardevs(primary, pIds), pIds) ? true : undefined));
    // The secondary's ends point at the primary's proxy ports: base (mirrored packets) and base+1 (its output).
    const s = await chardevs(secondary, sIds);
    assert.match(s.red0 ?? '', new RegExp(`^tcp:127\\.0\\.0\\.1:\\d+ <-> 127\\.0\\.0\\.1:${base}$`));
    assert.match(s.red1 ?? '', new RegExp(`^tcp:127\\.0\\.0\\.1:\\d+ <-> 127\\.0\\.0\\.1:${base + 1}$`));

    await startColoAndWait(primary, secondary, plan.incomingUri);
  });

  test('network bridge on a host whose /etc/qemu/bridge.conf allows no bridge: the launch fails with QEMU\'s words', {
    skip: existsSync('/etc/qemu/bridge.conf') ? 'this host has /etc/qemu/bridge.conf: the bridge helper may set up a real tap here' : false,
  }, async (t) => {
    const { dir, ssh, options } = await lab(t);
    const plan = launchPlan('netbridge', { ...options, network: 'bridge', bridge: 'colotest0', proxyBasePort: await freePortRun(4) }, '127.0.0.1', '127.0.0.1');
    for (const step of plan.primary.prepare) await exec(ssh, step);
    const r = await ssh.exec(supervisedLaunch(plan.primary.argv, path.join(dir, 'primary.log')), { timeoutMs: 30_000 });
    // What QEMU 7.2 says when qemu-bridge-helper finds no ACL file: the fix the README gives is that file.
    assert.notEqual(r.code, 0);
    assert.match(r.stderr, /failed to parse default acl file `\/etc\/qemu\/bridge\.conf'/);
    assert.match(r.stderr, /-netdev bridge,id=hn0,br=colotest0: bridge helper failed/);
  });
});
