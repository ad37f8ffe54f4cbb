// The QMP client against a real QEMU (Debian's qemu-system-x86_64, machine "none": a monitor and no guest), and
// against a scripted monitor on a real unix socket for what QEMU never sends on purpose: broken JSON, replies
// nobody asked for, a 100 MB line, an event storm, a reply that stops half way.

import assert from 'node:assert/strict';
import type { ChildProcess } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import net from 'node:net';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { after, before, describe, test } from 'node:test';
import type { QmpError} from './qmp-client.js';
import { qemuMissing } from '../../lab/qemu-pair.js';
import { spawnMonitorQemu } from './test-support/monitor-qemu.js';
import { QmpClient, type QmpEvent, type QmpProblem } from './qmp-client.js';

const GREETING = { QMP: { version: { qemu: { micro: 22, minor: 2, major: 7 }, package: 'Debian 1:7.2+dfsg-7+deb12u18+b3' }, capabilities: ['oob'] } };

function connectUnix(socketPath: string): Promise<net.Socket> {
  return new Promise((resolve, reject) => {
    const s = net.connect(socketPath);
    s.once('connect', () => resolve(s));
    s.once('error', reject);
  });
}

describe('QMP client against a real QEMU', { skip: qemuMissing() ?? false }, () => {
  let dir: string;
  let qemu: ChildProcess;
  let client: QmpClient;
  const events: QmpEvent[] = [];
  const problems: QmpProblem[] = [];

  before(async () => {
    dir = mkdtempSync(path.join(tmpdir(), 'colo-qmp-'));
    const sock = path.join(dir, 'qmp.sock');
    qemu = await spawnMonitorQemu(sock);
    const stream = await connectUnix(sock);
    client = await QmpClient.open(stream, { name: 'VM test (primary)', onEvent: (e) => events.push(e), onProblem: (p) => problems.push(p) });
  });

  after(() => {
    client?.close();
    if (qemu.exitCode === null) qemu.kill('SIGKILL');
    rmSync(dir, { recursive: true, force: true });
  });

  test('greeting, version and out-of-band execution negotiated', async () => {
    assert.ok(client.greeting!.version.major >= 7, JSON.stringify(client.greeting));
    assert.equal(client.oob, true);
    const v = await client.execute<{ qemu: { major: number } }>('query-version');
    assert.equal(v.qemu.major, client.greeting!.version.major);
  });

  test('events carry QEMU\'s own timestamp next to their arrival time', async () => {
    const before = Date.now();
    await client.execute('cont');
    await client.execute('stop');
    for (let i = 0; i < 50 && events.length < 2; i++) await new Promise((r) => setTimeout(r, 20));
    assert.deepEqual(events.map((e) => e.event), ['RESUME', 'STOP']);
    for (const e of events) {
      assert.ok(e.at >= before - 1000 && e.at <= e.receivedAt + 1000, `QEMU time ${e.at} vs arrival ${e.receivedAt}`);
      assert.notEqual(Math.round(e.at), e.at, 'microseconds are kept');
    }
  });

  test('a command QEMU refuses is one error with its class and words', async () => {
    await assert.rejects(client.execute('no-such-command'), (e: QmpError) => e.kind === 'command' && e.errorClass === 'CommandNotFound' && /VM test \(primary\): no-such-command failed/.test(e.message));
    await assert.rejects(client.execute('query-status', undefined, { oob: true }), (e: QmpError) => e.kind === 'command' && /does not support OOB/.test(e.message));
  });

  test('a stopped QEMU times the call out; its late answer is not taken for a stray reply', async () => {
    qemu.kill('SIGSTOP');
    try {
      await assert.rejects(client.execute('query-status', undefined, { timeoutMs: 300 }), (e: QmpError) => e.kind === 'timeout' && /no answer within 0.3 s/.test(e.message));
    } finally {
      qemu.kill('SIGCONT');
    }
    const status = await client.execute<{ status: string }>('query-status');
    assert.equal(status.status, 'paused');
    assert.deepEqual(problems, []);
  });

  test('QEMU killed: the call in flight and the connection end with "closed"', async () => {
    const closed = new Promise<QmpError>((resolve) => client.onClose(resolve));
    qemu.kill('SIGSTOP');
    const inFlight = client.execute('query-status', undefined, { timeoutMs: 5000 });
    qemu.kill('SIGKILL');
    await assert.rejects(inFlight, (e: QmpError) => e.kind === 'closed');
    assert.equal((await closed).kind, 'closed');
    assert.equal(client.isOpen, false);
    await assert.rejects(client.execute('query-status'), (e: QmpError) => e.kind === 'closed');
  });
});

/** A scripted monitor on a real unix socket: greets like QEMU 7.2, accepts qmp_capabilities, then `answer` decides. */
async function scriptedMonitor(t: { after(fn: () => void): void }, answer: (cmd: Record<string, unknown>, sock: net.Socket) => void, greet: (sock: net.Socket) => void = (s) => s.write(JSON.stringify(GREETING) + '\r\n')): Promise<net.Socket> {
  const dir = mkdtempSync(path.join(tmpdir(), 'colo-qmp-fake-'));
  const sockPath = path.join(dir, 'm.sock');
  const peers: net.Socket[] = [];
  const server = net.createServer((sock) => {
    peers.push(sock);
    sock.on('error', () => {});
    greet(sock);
    let buf = '';
    sock.on('data', (d) => {
      buf += d.toString();
      let nl: number;
      while ((nl = buf.indexOf('\n')) >= 0) {
        const cmd = JSON.parse(buf.slice(0, nl)) as Record<string, unknown>;
        buf = buf.slice(nl + 1);
        if (cmd.execute === 'qmp_capabilities') sock.write(JSON.stringify({ return: {}, id: cmd.id }) + '\r\n');
        else answer(cmd, sock);
      }
    });
  });
  await new Promise<void>((r) => server.listen(sockPath, r));
  t.after(() => {
    for (const p of peers) p.destroy();
    server.close();
    rmSync(dir, { recursive: true, force: true });
  });
  return connectUnix(sockPath);
}

describe('QMP client against a monitor that misbehaves', () => {
  test('bad JSON and replies nobody asked for are reported; the connection goes on', async (t) => {
    const stream = await scriptedMonitor(t, (cmd, sock) => {
      sock.write('{"return": {"status": "runn\r\n');
      sock.write(JSON.stringify({ return: {}, id: 'not-mine' }) + '\r\n');
      sock.write('[1,2]\r\n');
      sock.write(JSON.stringify({ return: { status: 'running' }, id: cmd.id }) + '\r\n');
    });
    const problems: QmpProblem[] = [];
    const client = await QmpClient.open(stream, { name: 'VM bad', onProblem: (p) => problems.push(p) });
    t.after(() => client.close());
    assert.deepEqual(await client.execute('query-status'), { status: 'running' });
    assert.deepEqual(problems.map((p) => p.kind), ['bad-message', 'unknown-reply', 'bad-message']);
    assert.match(problems[0]!.message, /^VM bad: the monitor sent a line that is not JSON: \{"return"/);
    assert.match(problems[1]!.message, /did not send \(id "not-mine"\)/);
  });

  test('a 100 MB line ends the connection at the limit instead of filling memory', async (t) => {
    const stream = await scriptedMonitor(t, (_cmd, sock) => {
      const block = Buffer.alloc(1024 * 1024, 0x61);
      let sent = 0;
      const pump = (): void => {
        while (sent < 100 && !sock.destroyed) {
          sent++;
          if (!sock.write(block)) return void sock.once('drain', pump);
        }
      };
      sock.write('{"return": "');
      pump();
    });
    const client = await QmpClient.open(stream, { name: 'VM big', maxMessageBytes: 4 * 1024 * 1024 });
    await assert.rejects(client.execute('query-status'), (e: QmpError) => e.kind === 'too-large' && /VM big: QEMU sent a message longer than 4 MiB/.test(e.message));
    assert.equal(client.isOpen, false);
  });

  test('an event storm is cut to the budget, counted and reported once per second', async (t) => {
    const stream = await scriptedMonitor(t, (cmd, sock) => {
      const ev = JSON.stringify({ timestamp: { seconds: 1796584247, microseconds: 1 }, event: 'MIGRATION_PASS', data: { pass: 1 } }) + '\r\n';
      sock.write(ev.repeat(10_000));
      sock.write(JSON.stringify({ return: {}, id: cmd.id }) + '\r\n');
    });
    const seen: QmpEvent[] = [];
    const problems: QmpProblem[] = [];
    const clock = 1_000_000;
    const client = await QmpClient.open(stream, { name: 'VM storm', maxEventsPerSecond: 500, clock: () => clock, onEvent: (e) => seen.push(e), onProblem: (p) => problems.push(p) });
    t.after(() => client.close());
    await client.execute('query-status');
    assert.equal(seen.length, 500);
    assert.equal(client.eventsDropped, 9500);
    assert.deepEqual(problems.map((p) => p.kind), ['event-storm']);
    assert.equal(seen[0]!.at, 1796584247000.001);
    assert.equal(client.isOpen, true);
  });

  test('a reply that stops half way times out; no greeting, or not QMP, fails the open', async (t) => {
    const stalled = await scriptedMonitor(t, (_cmd, sock) => sock.write('{"return": {"sta'));
    const client = await QmpClient.open(stalled, { name: 'VM stall' });
    t.after(() => client.close());
    await assert.rejects(client.execute('query-status', undefined, { timeoutMs: 200 }), (e: QmpError) => e.kind === 'timeout');

    const silent = await scriptedMonitor(t, () => {}, () => {});
    await assert.rejects(QmpClient.open(silent, { name: 'VM silent', greetingTimeoutMs: 200 }), (e: QmpError) => e.kind === 'timeout' && /no QMP greeting within 0.2 s/.test(e.message));

    const notQmp = await scriptedMonitor(t, () => {}, (s) => s.write('SSH-2.0-OpenSSH_9.2\r\n{"hello": 1}\r\n'));
    await assert.rejects(QmpClient.open(notQmp, { name: 'VM wrong' }), (e: QmpError) => e.kind === 'protocol' && /did not greet like QEMU's monitor/.test(e.message));

    // Only replies and events owed to someone else come before a greeting: never one alone.
    const onlyStale = await scriptedMonitor(t, () => {}, (s) => s.write('{"return": {"status": "running"}, "id": "old"}\r\n'));
    await assert.rejects(QmpClient.open(onlyStale, { name: 'VM stale', greetingTimeoutMs: 200 }), (e: QmpError) => e.kind === 'timeout');
  });

  test('what QEMU still owed the monitor\'s previous client comes before the greeting: skipped, said, and the open goes on', async (t) => {
    const owed = await scriptedMonitor(t, (cmd, sock) => sock.write(JSON.stringify({ return: { status: 'running', running: true }, id: cmd.id }) + '\r\n'), (s) => {
      s.write('{"return": {"last-mode": "primary", "mode": "none", "reason": "request"}, "id": "cc24"}\r\n');
      s.write('{"timestamp": {"seconds": 1, "microseconds": 0}, "event": "RESUME"}\r\n');
      s.write(JSON.stringify(GREETING) + '\r\n');
    });
    const problems: string[] = [];
    const client = await QmpClient.open(owed, { name: 'VM owed', onProblem: (p) => problems.push(`${p.kind}: ${p.message}`) });
    t.after(() => client.close());
    assert.deepEqual(client.greeting?.version, { ...GREETING.QMP.version.qemu, package: GREETING.QMP.version.package });
    assert.deepEqual(await client.execute('query-status'), { status: 'running', running: true });
    assert.equal(problems.length, 2, problems.join('\n'));
    assert.match(problems[0]!, /^unknown-reply: VM owed: output meant for the monitor's previous client came before the greeting; skipped: .*"id": "cc24"/);
  });
});
