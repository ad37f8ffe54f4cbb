// A pair the console launches itself, with real QEMU processes started through a real sshd: preflight shows the
// command lines it will run, start brings both QEMUs up detached and into COLO, the host's QEMU list shows them with
// their roles and sockets, stop leaves the primary running alone with the secondary's QEMU gone, and protecting
// it again launches only a new secondary (a full copy), the guest running on in the same primary QEMU.

import assert from 'node:assert/strict';
import { chmodSync, existsSync, mkdirSync, mkdtempSync, openSync, readFileSync, readSync, closeSync, rmSync, truncateSync, writeFileSync, writeSync } from 'node:fs';
import net from 'node:net';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { describe, test, type TestContext } from 'node:test';
import type { CycleRecord, FailoverEvent, ProtectionState } from '../../colo/types.js';
import { qemuMissing } from '../../lab/qemu-pair.js';
import type { BackendContext, HostCommand, PairEvents, PairHandle, PairSpec } from '../../service/backend.js';
import type { HostRecord } from '../../service/registry.js';
import { type Sshd, startSshd, sshdUnavailable } from '../../ssh/test-support/sshd.js';
import { freePort, freePortRun } from '../../test-support/ports.js';
import { logFile, QemuBackend } from './qemu-backend.js';
import { eventually } from '../../test-support/eventually.js';
import { QmpClient } from './qmp-client.js';
import { linkToSshd } from './test-support/loopback-ssh.js';

const why = qemuMissing() ?? sshdUnavailable();

interface Fixture {
  dir: string;
  vm: string;
  backend: QemuBackend;
  quiet: BackendContext;
  a: HostRecord;
  b: HostRecord;
  primaryQmp: string;
  secondaryQmp: string;
  /** The image path both hosts show (fixture `withDisk`). */
  disk: string;
}

const DISK_A = 'a.img';
const DISK_B = 'b.img';

/** Waits (30 s at most) for the run to be protected; the states it went through say why when it is not. */
async function untilProtected(h: PairHandle, states: readonly ProtectionState[]): Promise<void> {
  await eventually('protected', 30_000, () => h.state.state === 'protected').catch(() => {});
  assert.equal(h.state.state, 'protected', JSON.stringify(states));
}

/** What a QEMU holds by id (objects, chardevs) and whether it runs, asked on its own monitor once the console let go. */
async function holds(socket: string): Promise<{ objects: Set<string>; chardevs: Set<string>; running: boolean }> {
  const stream = await new Promise<net.Socket>((resolve, reject) => {
    const s = net.connect(socket);
    s.once('connect', () => resolve(s));
    s.once('error', reject);
  });
  // What QEMU still owed the console's connection may come first: QmpClient skips it.
  const c = await QmpClient.open(stream, { name: 'test', timeoutMs: 10_000 });
  try {
    const objects = await c.execute<{ name: string }[]>('qom-list', { path: '/objects' });
    const chardevs = await c.execute<{ label: string }[]>('query-chardev');
    const status = await c.execute<{ running: boolean }>('query-status');
    return { objects: new Set(objects.map((o) => o.name)), chardevs: new Set(chardevs.map((d) => d.label)), running: status.running };
  } finally {
    c.close();
  }
}

/**
 * A real sshd both "hosts" are reached through, a backend on it, and the cleanup of whatever a test launched. With
 * `disk`, each host is an sshd of its own that shows its own image (DISK_A, DISK_B in `dir`) at the same path, `disk`,
 * as two real hosts would: QEMU locks an image it writes, so the two sides cannot share one file.
 */
async function fixture(t: TestContext, name: string, primaryAddress: string | undefined, withDisk = false): Promise<Fixture> {
  const dir = mkdtempSync(path.join(tmpdir(), 'qemu-launch-'));
  chmodSync(dir, 0o755);
  const vm = `${name}${process.pid}`;
  const disk = path.join(dir, 'disk.img');
  let sshds: Sshd[];
  if (withDisk) {
    writeFileSync(disk, '');
    for (const f of [DISK_A, DISK_B]) {
      writeFileSync(path.join(dir, f), '');
      truncateSync(path.join(dir, f), 1024 * 1024);
    }
    sshds = [await startSshd({ binds: [{ source: path.join(dir, DISK_A), target: disk }] }), await startSshd({ binds: [{ source: path.join(dir, DISK_B), target: disk }] })];
  } else {
    sshds = [await startSshd()];
  }
  const links = sshds.map((sshd) => linkToSshd(sshd));
  const backend = new QemuBackend({ links: { link: (h) => (h.id === 'lb' ? links[links.length - 1]! : links[0]!) }, commandTimeoutMs: 10_000 });
  const quiet: BackendContext = { command: () => {} };
  const a: HostRecord = { id: 'la', name: 'launch-a', kind: 'ssh', hypervisor: 'qemu', ...(primaryAddress === undefined ? {} : { address: primaryAddress }) };
  const b: HostRecord = { id: 'lb', name: 'launch-b', kind: 'ssh', hypervisor: 'qemu', address: '127.0.0.1' };
  const primaryQmp = path.join(dir, 'p', 'primary.qmp');
  const secondaryQmp = path.join(dir, 's', 'secondary.qmp');
  t.after(async () => {
    // Whatever this test started is found by its sockets and killed, also when it failed half way.
    const left = await backend.inventory(b, quiet).catch(() => []);
    for (const d of left) if (d.qmpSocket === primaryQmp || d.qmpSocket === secondaryQmp) process.kill(Number(d.id), 'SIGKILL');
    await backend.close();
    for (const l of links) l.close();
    for (const sshd of sshds) await sshd.stop();
    rmSync(dir, { recursive: true, force: true });
    for (const side of ['primary', 'secondary'] as const) rmSync(logFile(vm, side), { force: true });
  });
  return { dir, vm, backend, quiet, a, b, primaryQmp, secondaryQmp, disk };
}


describe('QEMU backend: a pair it launches, real QEMU through a real sshd', { skip: why ?? false }, () => {
  void test('preflight shows the command lines; start launches both and reaches COLO; stop leaves the primary alone; protecting again launches only a new secondary', async (t) => {
    const { vm, backend, quiet, a, b, primaryQmp, secondaryQmp } = await fixture(t, 'launch', '127.0.0.1');

    const spec: PairSpec = {
      id: 'launched', name: vm, domain: vm, mode: 'colo', primary: a, secondary: b,
      options: { launch: true, accel: 'tcg', machine: 'pc', memoryMiB: 64, primaryQmp, secondaryQmp, replicationAddress: '127.0.0.1', migrationPort: await freePort(), checkpointDelayMs: 60_000, heartbeatIntervalMs: 200 },
    };
    const commands: HostCommand[] = [];
    const ctx: BackendContext = { command: (c) => commands.push(c) };

    const checks = await backend.preflight(spec, ctx);
    assert.deepEqual(checks.filter((c) => c.status === 'fail'), []);
    const secondaryLine = checks.find((c) => c.id === 'command-line-secondary');
    assert.equal(secondaryLine?.label, 'The console will run this on launch-b');
    assert.match(secondaryLine?.detail ?? '', new RegExp(`qemu-system-x86_64 -name guest=${vm} .*-accel tcg .*-incoming tcp:127\\.0\\.0\\.1:\\d+`));
    assert.match(checks.find((c) => c.id === 'command-line-primary')?.detail ?? '', / -S$/m);
    assert.ok(checks.some((c) => c.id === 'binary-la' && c.status === 'pass' && /^QEMU \d+\.\d+\.\d+$/.test(c.detail ?? '')));

    const states: ProtectionState[] = [];
    const cycles: CycleRecord[] = [];
    const events: PairEvents = { state: (s) => states.push(s), cycle: (c) => cycles.push(c), failover: () => {} };
    const handle = await backend.protect(spec, events, ctx);
    await untilProtected(handle, states);
    assert.deepEqual(states.map((x) => x.state), ['syncing', 'protected']);
    // The primary was paused (-S) until COLO started: no guest pause to report for the initial copy.
    assert.ok(!cycles.some((c) => c.trigger === 'initial'), JSON.stringify(cycles));
    // Every launch command went to the audit with the host it ran on.
    assert.ok(commands.some((c) => c.hostId === 'lb' && c.result === 'ok' && c.command.includes('-daemonize') && c.command.includes('-incoming')), commands.map((c) => c.command).join('\n'));

    const listed = await backend.inventory(a, quiet);
    const p = listed.find((d) => d.qmpSocket === primaryQmp);
    const s = listed.find((d) => d.qmpSocket === secondaryQmp);
    assert.equal(p?.name, vm);
    assert.equal(p?.role, undefined);
    assert.equal(s?.role, 'secondary');

    const final = await handle.stop(ctx);
    assert.equal(final.state, 'stopped');
    const after = await backend.inventory(a, quiet);
    assert.ok(after.some((d) => d.qmpSocket === primaryQmp), 'the primary runs on');
    assert.ok(!after.some((d) => d.qmpSocket === secondaryQmp), 'the secondary\'s QEMU is gone');

    // Protect it again: the guest runs on, so only a new secondary is launched, and the copy is a full one.
    const again = await backend.preflight(spec, ctx);
    assert.deepEqual(again.filter((c) => c.status === 'fail'), []);
    assert.match(again.find((c) => c.id === 'primary-running')?.detail ?? '', /only a new secondary is launched, and the guest is copied to it in full/);
    assert.ok(!again.some((c) => c.id === 'command-line-primary'));
    const states2: ProtectionState[] = [];
    const h2 = await backend.protect(spec, { state: (x) => states2.push(x), cycle: () => {}, failover: () => {} }, ctx);
    await untilProtected(h2, states2);
    assert.match(states2[0]?.reason ?? '', /every start is a full copy/);
    const third = await backend.inventory(a, quiet);
    assert.equal(third.find((d) => d.qmpSocket === primaryQmp)?.id, p?.id, 'the same primary QEMU');
    assert.ok(third.some((d) => d.qmpSocket === secondaryQmp && d.id !== s?.id), 'a new secondary QEMU');
    await h2.detach(quiet);
  });

  void test('network user: preflight names the primary\'s address it needs; the command lines carry the COLO proxy; start reaches COLO; stop, failover and each re-protect take the proxy down and put it back as QEMU\'s failover steps do', async (t) => {
    const { vm, backend, a, b, primaryQmp, secondaryQmp } = await fixture(t, 'netuser', undefined);
    const options = {
      launch: true, accel: 'tcg', machine: 'pc', memoryMiB: 64, primaryQmp, secondaryQmp, replicationAddress: '127.0.0.1',
      migrationPort: await freePort(), checkpointDelayMs: 60_000, heartbeatIntervalMs: 200, network: 'user', proxyBasePort: await freePortRun(4),
    };
    const ctx: BackendContext = { command: () => {} };

    // The primary host has no address: the plan fails, saying which option to set.
    const without = await backend.preflight({ id: 'net', name: vm, domain: vm, mode: 'colo', primary: a, secondary: b, options }, ctx);
    assert.deepEqual(without.filter((c) => c.status === 'fail').map((c) => [c.id, c.detail]),
      [['launch-plan', `${vm}: set primaryReplicationAddress: launch-a has no address for the secondary's COLO proxy to connect to.`]]);

    const spec: PairSpec = { id: 'net', name: vm, domain: vm, mode: 'colo', primary: a, secondary: b, options: { ...options, primaryReplicationAddress: '127.0.0.1' } };
    const checks = await backend.preflight(spec, ctx);
    assert.deepEqual(checks.filter((c) => c.status === 'fail'), []);
    const port = options.proxyBasePort;
    const primaryLine = checks.find((c) => c.id === 'command-line-primary')?.detail ?? '';
    assert.ok(primaryLine.includes(` -netdev user,id=hn0 -device e1000,id=e0,netdev=hn0 `), primaryLine);
    assert.ok(primaryLine.includes(` -chardev socket,id=mirror0,host=127.0.0.1,port=${port},server=on,wait=off `), primaryLine);
    assert.ok(primaryLine.includes(' -object colo-compare,id=comp0,primary_in=compare0-0,secondary_in=compare1,outdev=compare_out0,iothread=iothread1 '), primaryLine);
    const secondaryLine = checks.find((c) => c.id === 'command-line-secondary')?.detail ?? '';
    assert.ok(secondaryLine.includes(` -chardev socket,id=red1,host=127.0.0.1,port=${port + 1},reconnect=1 `), secondaryLine);
    assert.ok(secondaryLine.includes(' -object filter-rewriter,id=rew0,netdev=hn0,queue=all '), secondaryLine);

    const commands: HostCommand[] = [];
    const audited: BackendContext = { command: (c) => commands.push(c) };
    const protectedBy = async (pair: PairSpec): Promise<PairHandle> => {
      const states: ProtectionState[] = [];
      const h = await backend.protect(pair, { state: (x) => states.push(x), cycle: () => {}, failover: (e) => failovers.push(e) }, audited);
      await untilProtected(h, states);
      return h;
    };
    const sent = (since: number, command: string): string[] => commands.slice(since).map((c) => c.command).filter((c) => c.includes(`"execute":"${command}"`));
    const failovers: FailoverEvent[] = [];
    const primaryProxy = ['m0', 'redire0', 'redire1', 'iothread1', 'comp0'];

    // Stop: the primary runs on alone, its COLO proxy taken down as QEMU's "Primary Failover" steps do, so its
    // guest's packets no longer wait in colo-compare for a secondary that is gone.
    const handle = await protectedBy(spec);
    const stopped = await handle.stop(audited);
    assert.equal(stopped.state, 'stopped');
    assert.match(stopped.reason ?? '', /Taken down on launch-a, as QEMU's COLO failover steps do: object-del comp0, object-del iothread1, object-del m0, object-del redire0, object-del redire1\.$/);
    let held = await holds(primaryQmp);
    assert.deepEqual(primaryProxy.filter((id) => held.objects.has(id)), [], [...held.objects].join(' '));
    assert.ok(held.chardevs.has('mirror0') && held.chardevs.has('compare1'), 'the proxy\'s sockets stay, as in the documentation');
    assert.equal(held.running, true);

    // Protect again: a new secondary, and the proxy put back on the running primary before the new copy.
    let mark = commands.length;
    const again = await protectedBy(spec);
    assert.equal(sent(mark, 'object-add').length, 5, commands.slice(mark).map((c) => c.command).join('\n'));
    assert.deepEqual(sent(mark, 'chardev-add'), [], 'its sockets were still there');

    // Fail over: the primary's QEMU ends, the secondary runs alone with its redirectors and their sockets removed
    // ("Secondary Failover"): its output no longer goes to a colo-compare that is gone. Its filter-rewriter stays.
    const result = await again.failover(audited);
    assert.equal(result.state.state, 'failed-over');
    assert.match(result.event?.detail ?? '', /Taken down on launch-b, as QEMU's COLO failover steps do: object-del f2, object-del f1, chardev-remove red1, chardev-remove red0\.$/);
    held = await holds(secondaryQmp);
    assert.equal(held.running, true);
    assert.ok(held.objects.has('rew0'), [...held.objects].join(' '));
    assert.deepEqual(['f1', 'f2'].filter((id) => held.objects.has(id)), []);
    assert.deepEqual(['red0', 'red1'].filter((id) => held.chardevs.has(id)), []);

    // Protect the survivor: it becomes a primary with the whole proxy, its filters before its rewriter, and a new
    // secondary starts where the old primary ran.
    mark = commands.length;
    const swapped: PairSpec = { ...spec, primary: b, secondary: a, options: backend.swappedOptions(spec.options ?? {}) };
    const third = await protectedBy(swapped);
    assert.deepEqual(sent(mark, 'chardev-add').map((c) => /"id":"([^"]+)"/.exec(c)?.[1]), ['mirror0', 'compare1', 'compare0', 'compare0-0', 'compare_out', 'compare_out0']);
    assert.deepEqual(sent(mark, 'object-add').map((c) => /"id":"([^"]+)"/.exec(c)?.[1]), primaryProxy);
    assert.ok(sent(mark, 'object-add').slice(0, 3).every((c) => c.includes('"insert":"before","position":"id=rew0"')));
    assert.equal((await third.stop(audited)).state, 'stopped');
  });

  void test('preflight through the host: a port something already holds, a bridge that is not there, no ACL: each a failed check with its fix, audited, nothing started', async (t) => {
    const { vm, backend, a, b, primaryQmp, secondaryQmp } = await fixture(t, 'held', '127.0.0.1');
    const holder = net.createServer();
    await new Promise<void>((resolve) => holder.listen(0, '127.0.0.1', resolve));
    t.after(() => holder.close());
    const held = (holder.address() as net.AddressInfo).port;
    const commands: HostCommand[] = [];
    const ctx: BackendContext = { command: (c) => commands.push(c) };
    const options = { launch: true, accel: 'tcg', machine: 'pc', memoryMiB: 64, primaryQmp, secondaryQmp, replicationAddress: '127.0.0.1', migrationPort: held };

    const checks = await backend.preflight({ id: 'held', name: vm, domain: vm, mode: 'colo', primary: a, secondary: b, options }, ctx);
    const ports = checks.find((c) => c.id === 'ports-secondary');
    assert.equal(ports?.status, 'fail', JSON.stringify(checks));
    assert.equal(ports?.label, 'The ports the secondary\'s QEMU listens on, on launch-b');
    assert.equal(ports?.detail, `port ${held} (the incoming migration, at 127.0.0.1) is taken: something listens on 127.0.0.1:${held}. Fix: end what holds it (a QEMU left from an earlier launch?), or set migrationPort.`);
    assert.ok(commands.some((c) => c.hostId === 'lb' && c.command === 'cat /proc/net/tcp /proc/net/tcp6' && c.result === 'ok'), commands.map((c) => c.command).join('\n'));

    // A bridge no host here has (a name of this test's own), with the ACL as this machine has it.
    const bridge = `brc${process.pid % 100000}`;
    const bridged = await backend.preflight({ id: 'br', name: vm, domain: vm, mode: 'colo', primary: a, secondary: b, options: { ...options, migrationPort: await freePort(), network: 'bridge', bridge, primaryReplicationAddress: '127.0.0.1', proxyBasePort: await freePortRun(4) } }, ctx);
    for (const side of ['primary', 'secondary']) {
      const host = side === 'primary' ? 'launch-a' : 'launch-b';
      assert.deepEqual(bridged.find((c) => c.id === `bridge-${side}`), { id: `bridge-${side}`, label: `Bridge ${bridge} on ${host}`, status: 'fail', detail: `${host} has no bridge named ${bridge}. Fix: create it there (ip link add ${bridge} type bridge, then add the uplink and set it up), or name the bridge the guests use.` });
      const acl = bridged.find((c) => c.id === `bridge-acl-${side}`);
      let conf: string | undefined;
      try {
        conf = readFileSync('/etc/qemu/bridge.conf', 'utf8');
      } catch { /* absent, as on a fresh Debian */ }
      if (conf === undefined) assert.match(acl?.detail ?? '', /^\/etc\/qemu\/bridge\.conf cannot be read there \(exit 1: cat: \/etc\/qemu\/bridge\.conf: No such file or directory\)/);
      assert.equal(acl?.status, conf !== undefined && /^\s*allow\s+all\s*$/m.test(conf) && !/^\s*deny/m.test(conf) ? 'pass' : 'fail', JSON.stringify(acl));
      assert.equal(bridged.find((c) => c.id === `ports-${side}`)?.status, 'pass');
    }
    assert.equal(existsSync(secondaryQmp), false, 'nothing was started');

    // Something that is no QEMU monitor holds the secondary's socket path: the launch will not take the path from it.
    mkdirSync(path.dirname(secondaryQmp), { recursive: true });
    const squatter = net.createServer((sock) => sock.end('SSH-2.0-not-qemu\r\n{"hello": 1}\r\n'));
    await new Promise<void>((resolve) => squatter.listen(secondaryQmp, resolve));
    t.after(() => squatter.close());
    const squatted = await backend.preflight({ id: 'sq', name: vm, domain: vm, mode: 'colo', primary: a, secondary: b, options: { ...options, migrationPort: await freePort() } }, ctx);
    assert.deepEqual(squatted.map((c) => [c.id, c.status]), [['sockets-free', 'fail']]);
    assert.match(squatted[0]!.detail ?? '', new RegExp(`^Something answers at ${secondaryQmp.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')} on launch-b, but not as QEMU's monitor should \\(.*did not greet like QEMU's monitor.*\\); the console launches nothing over it\\.`));
  });

  void test('with a disk: stop drops the replication child; protecting again copies the running guest\'s disk into the new secondary first (drive-mirror; a secondary image of the wrong size is refused in QEMU\'s words, the guest untouched), then COLO; a failover stops the NBD export', async (t) => {
    const { dir, vm, backend, a, b, primaryQmp, secondaryQmp, disk } = await fixture(t, 'disk', '127.0.0.1', true);
    const put = (file: string, offset: number, text: string): void => {
      const fd = openSync(path.join(dir, file), 'r+');
      try {
        writeSync(fd, Buffer.from(text), 0, text.length, offset);
      } finally {
        closeSync(fd);
      }
    };
    const at = (file: string, offset: number, length: number): string => {
      const fd = openSync(path.join(dir, file), 'r');
      try {
        const buf = Buffer.alloc(length);
        readSync(fd, buf, 0, length, offset);
        return buf.toString();
      } finally {
        closeSync(fd);
      }
    };
    // Both images start the same, as COLO needs.
    for (const f of [DISK_A, DISK_B]) put(f, 4096, 'GOOD-SECTOR');
    const spec: PairSpec = {
      id: 'disk', name: vm, domain: vm, mode: 'colo', primary: a, secondary: b,
      options: {
        launch: true, accel: 'tcg', machine: 'pc', memoryMiB: 64, primaryQmp, secondaryQmp, replicationAddress: '127.0.0.1', disk, diskFormat: 'raw',
        scratchDir: path.join(dir, 'scratch'), migrationPort: await freePort(), nbdPort: await freePort(), checkpointDelayMs: 60_000, heartbeatIntervalMs: 200,
      },
    };
    const commands: HostCommand[] = [];
    const ctx: BackendContext = { command: (c) => commands.push(c) };
    const states: ProtectionState[] = [];
    const protectedBy = async (): Promise<PairHandle> => {
      const h = await backend.protect(spec, { state: (x) => states.push(x), cycle: () => {}, failover: () => {} }, ctx);
      await untilProtected(h, states);
      return h;
    };
    const sent = (since: number): string[] => commands.slice(since).map((c) => /"execute":"([^"]+)"/.exec(c.command)?.[1] ?? '').filter(Boolean);

    const first = await protectedBy();
    const stopped = await first.stop(ctx);
    assert.match(stopped.reason ?? '', /Taken down on launch-a, as QEMU's COLO failover steps do: x-blockdev-change children\.1, human-monitor-command drive_del replication0\.$/);
    assert.equal((await holds(primaryQmp)).running, true, 'the guest runs on with its own disk');

    // While it ran alone its disk moved on, and the old secondary's image is stale.
    put(DISK_A, 8192, 'NEWER-DATA!');
    put(DISK_B, 4096, 'STALE-SECTR');
    const checks = await backend.preflight(spec, ctx);
    assert.deepEqual(checks.filter((c) => c.status === 'fail'), []);
    assert.match(checks.find((c) => c.id === 'primary-running')?.detail ?? '', /Its disk is copied first, whole, into the new secondary's image \(drive-mirror over NBD\) while the guest runs/);

    // A new secondary whose image is not the guest's size: the copy is refused in QEMU's words, the new secondary
    // is ended, and the guest runs on as it was.
    truncateSync(path.join(dir, DISK_B), 512 * 1024);
    await assert.rejects(backend.protect(spec, { state: () => {}, cycle: () => {}, failover: () => {} }, ctx), (err: Error) => {
      t.diagnostic(err.message);
      return /^launch-a: the copy of .+'s disk to launch-b \(nbd:\/\/127\.0\.0\.1:\d+\/parent0\) failed: .*size/i.test(err.message);
    });
    assert.equal((await holds(primaryQmp)).running, true, 'the guest still runs');
    assert.ok(!(await backend.inventory(b, { command: () => {} })).some((d) => d.qmpSocket === secondaryQmp), 'no secondary left behind');
    truncateSync(path.join(dir, DISK_B), 1024 * 1024);

    const mark = commands.length;
    states.length = 0;
    const again = await protectedBy();
    const order = sent(mark).filter((c) => ['nbd-server-start', 'nbd-server-add', 'drive-mirror', 'stop', 'block-job-cancel', 'human-monitor-command', 'x-blockdev-change', 'migrate'].includes(c));
    assert.deepEqual(order, ['nbd-server-start', 'nbd-server-add', 'drive-mirror', 'stop', 'block-job-cancel', 'human-monitor-command', 'x-blockdev-change', 'migrate']);
    assert.ok(commands.slice(mark).some((c) => c.command.includes(`"target":"nbd://127.0.0.1:${String(spec.options!.nbdPort)}/parent0"`)), 'mirrored into the new secondary\'s export');
    assert.ok(states.some((x) => x.state === 'starting' && /^Copying .+'s disk to launch-b \(drive-mirror\): \d+% of 1\.0 MiB/.test(x.reason ?? '')), JSON.stringify(states));
    assert.equal(at(DISK_B, 4096, 11), 'GOOD-SECTOR', 'the stale sector was overwritten from the primary');
    assert.equal(at(DISK_B, 8192, 11), 'NEWER-DATA!', 'what the guest wrote alone reached the new secondary');

    // The primary's QEMU ends; the secondary takes over and stops exporting its disk ("Secondary Failover").
    const result = await again.failover(ctx);
    assert.equal(result.state.state, 'failed-over');
    assert.match(result.event?.detail ?? '', /Taken down on launch-b, as QEMU's COLO failover steps do: nbd-server-stop\.$/);
    assert.equal((await holds(secondaryQmp)).running, true);
  });
});
