// The emulated pair through the console's own QmpClient, for what QEMU 7.2 cannot show on this machine type:
// checkpoints that go on (STOP/RESUME pairs with QEMU timestamps on both sides, at the pace x-checkpoint-delay
// sets, also when it changes), failover with COLO_EXIT and a running survivor, and the faults: a silent monitor,
// malformed replies, a checkpoint that never ends.

import assert from 'node:assert/strict';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import net from 'node:net';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { setTimeout as delay } from 'node:timers/promises';
import { test } from 'node:test';
import { QmpClient, type QmpError, type QmpEvent, type QmpProblem } from '../../backends/qemu/qmp-client.js';
import { startColo } from '../qemu-pair.js';
import { type QmpPair, type QmpPairOptions, startQmpPair } from './index.js';
import { eventually } from '../../test-support/eventually.js';

type Side = 'primary' | 'secondary';

interface Harness {
  pair: QmpPair;
  client: Record<Side, QmpClient>;
  events: Record<Side, QmpEvent[]>;
  problems: QmpProblem[];
}

function connect(socketPath: string): Promise<net.Socket> {
  return new Promise((resolve, reject) => {
    const s = net.connect(socketPath);
    s.once('connect', () => resolve(s));
    s.once('error', reject);
  });
}

/** An emulated pair with a QmpClient on each side; everything is torn down when the test ends, pass or fail. */
async function harness(t: { after(fn: () => Promise<void> | void): void }, o: Omit<QmpPairOptions, 'dir'> = {}): Promise<Harness> {
  const dir = mkdtempSync(path.join(tmpdir(), 'colo-qmp-emu-'));
  const events: Record<Side, QmpEvent[]> = { primary: [], secondary: [] };
  const problems: QmpProblem[] = [];
  const clients: QmpClient[] = [];
  let pair: QmpPair;
  try {
    pair = await startQmpPair({ dir, ...o });
  } catch (err) {
    rmSync(dir, { recursive: true, force: true });
    throw err;
  }
  t.after(async () => {
    for (const c of clients) c.close();
    await pair.stop();
    rmSync(dir, { recursive: true, force: true });
  });
  const open = async (side: Side, socketPath: string): Promise<QmpClient> => {
    const c = await QmpClient.open(await connect(socketPath), { name: `VM emu (${side})`, timeoutMs: 2000, onEvent: (e) => events[side].push(e), onProblem: (p) => problems.push(p) });
    clients.push(c);
    return c;
  };
  const client = { primary: await open('primary', pair.primarySocket), secondary: await open('secondary', pair.secondarySocket) };
  return { pair, client, events, problems };
}

/** Starts COLO as the console will, and returns once both sides resumed after the initial copy. */
async function coloRunning(h: Harness, delayMs: number): Promise<void> {
  await startColo(h.client.primary, h.client.secondary, 'tcp:127.0.0.1:4449', delayMs);
  await eventually('COLO running on the primary', 3000, () => (h.events.primary.some((e) => e.event === 'RESUME') ? true : undefined));
}

interface Pause {
  stop: number;
  resume: number;
}

/** The checkpoint pauses of one side after COLO start: each STOP followed by its RESUME, nothing in between. */
function pauses(events: QmpEvent[]): Pause[] {
  const runEvents = events.filter((e) => e.event === 'STOP' || e.event === 'RESUME');
  const firstResume = runEvents.findIndex((e) => e.event === 'RESUME');
  const out: Pause[] = [];
  const rest = runEvents.slice(firstResume + 1);
  for (let i = 0; i + 1 < rest.length; i += 2) {
    assert.equal(rest[i]!.event, 'STOP', `STOP and RESUME alternate: ${rest.map((e) => e.event).join(',')}`);
    assert.equal(rest[i + 1]!.event, 'RESUME', `STOP and RESUME alternate: ${rest.map((e) => e.event).join(',')}`);
    out.push({ stop: rest[i]!.at, resume: rest[i + 1]!.at });
  }
  return out;
}

const median = (xs: number[]): number => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)]!;

test('continuous checkpoints: STOP/RESUME pairs on both sides with QEMU timestamps, at x-checkpoint-delay', async (t) => {
  const h = await harness(t);
  await coloRunning(h, 100);
  assert.deepEqual(await h.client.primary.execute('query-migrate'), { status: 'colo' });
  assert.deepEqual(await h.client.secondary.execute('query-colo-status'), { 'last-mode': 'none', mode: 'secondary', reason: 'none' });
  await delay(1000);
  const p = pauses(h.events.primary);
  const s = pauses(h.events.secondary);
  assert.ok(p.length >= 6 && p.length <= 11, `about one checkpoint per 100 ms: ${p.length} in 1 s`);
  assert.ok(Math.abs(p.length - s.length) <= 1, `both sides pause each checkpoint: ${p.length} vs ${s.length}`);
  for (const [i, x] of p.entries()) {
    const pause = x.resume - x.stop;
    assert.ok(pause > 20 && pause < 150, `primary pause ${pause} ms`);
    // The secondary stops first (before its checkpoint-reply) and resumes first (before vmstate-loaded).
    if (s[i] !== undefined) assert.ok(s[i].stop <= x.stop && s[i].resume <= x.resume, JSON.stringify({ p: x, s: s[i] }));
  }
  assert.ok(h.events.primary.some((e) => e.at !== Math.round(e.at)), 'QEMU timestamps carry microseconds');
  const starts = p.map((x) => x.stop);
  const intervals = starts.slice(1).map((x, i) => x - starts[i]!);
  assert.ok(Math.abs(median(intervals) - 100) < 30, `start-to-start ${median(intervals)} ms for a 100 ms delay`);
  assert.ok(h.pair.state.checkpoints >= p.length - 1);
  assert.deepEqual(h.problems, []);
});

test('during the initial copy query-migrate has a real 7.2\'s keys, and its counters advance', async (t) => {
  const real = JSON.parse(readFileSync(path.join(import.meta.dirname, '../../backends/qemu/fixtures/query-migrate-active-qemu-7.2.json'), 'utf8')) as { ram: object };
  const h = await harness(t, { ramMiB: 1024, timings: { initialCopyMs: 600 } });
  const caps = [{ capability: 'x-colo', state: true }, { capability: 'events', state: true }];
  await h.client.secondary.execute('migrate-set-capabilities', { capabilities: caps });
  await h.client.primary.execute('migrate-set-capabilities', { capabilities: caps });
  await h.client.primary.execute('migrate', { uri: h.pair.incomingUri });
  await delay(150);
  const first = await h.client.primary.execute<{ status: string; ram: Record<string, number> }>('query-migrate');
  await delay(200);
  const second = await h.client.primary.execute<{ status: string; ram: Record<string, number> }>('query-migrate');
  assert.equal(first.status, 'active');
  assert.deepEqual(Object.keys(first).sort(), Object.keys(real).sort());
  assert.deepEqual(Object.keys(first.ram).sort(), Object.keys(real.ram).sort());
  assert.equal(first.ram.total, 1024 * 1024 * 1024);
  assert.ok(second.ram.remaining! < first.ram.remaining! && second.ram.remaining! > 0, `${first.ram.remaining} → ${second.ram.remaining}`);
});

test('changing x-checkpoint-delay live changes the pace', async (t) => {
  const h = await harness(t);
  await coloRunning(h, 80);
  await delay(500);
  const fast = pauses(h.events.primary).length;
  await h.client.primary.execute('migrate-set-parameters', { 'x-checkpoint-delay': 300 });
  const params = await h.client.primary.execute<Record<string, unknown>>('query-migrate-parameters');
  assert.equal(params['x-checkpoint-delay'], 300);
  const mark = h.events.primary.length;
  await delay(1300);
  const slow = pauses(h.events.primary).filter((x) => x.stop > h.events.primary[mark - 1]!.at);
  assert.ok(fast >= 4, `about six checkpoints in 0.5 s at 80 ms: ${fast}`);
  assert.ok(slow.length >= 3 && slow.length <= 5, `about four in 1.3 s at 300 ms: ${slow.length}`);
  const intervals = slow.slice(1).map((x, i) => x.stop - slow[i]!.stop);
  assert.ok(intervals.every((x) => Math.abs(x - 300) < 60), `intervals ${intervals.join(', ')}`);
  await assert.rejects(h.client.primary.execute('migrate-set-parameters', { 'x-checkpoint-delay': 'soon' }), (e: QmpError) => e.errorClass === 'GenericError' && /Parameter 'x-checkpoint-delay' expects uint64/.test(e.message));
});

test('x-checkpoint-delay changed while COLO starts only sets the pace of what follows', async (t) => {
  const h = await harness(t, { timings: { coloStartMs: 300 } });
  await startColo(h.client.primary, h.client.secondary, 'tcp:127.0.0.1:4449', 1000);
  // Between the primary's `colo` and COLO running: the secondary has not loaded the initial state yet.
  await eventually('the primary in colo', 2000, () => h.events.primary.find((e) => e.event === 'MIGRATION' && e.data?.status === 'colo'));
  await h.client.primary.execute('migrate-set-parameters', { 'x-checkpoint-delay': 100 });
  await eventually('COLO running', 3000, () => (h.events.primary.some((e) => e.event === 'RESUME') ? true : undefined));
  await delay(450);
  assert.equal(h.events.secondary.some((e) => e.event === 'COLO_EXIT'), false);
  assert.ok(pauses(h.events.primary).length >= 3, 'checkpoints at the new delay');
});

test('failover: primary killed, yank (OOB) + x-colo-lost-heartbeat on the secondary → COLO_EXIT, survivor running', async (t) => {
  const h = await harness(t);
  await coloRunning(h, 100);
  const closed = new Promise<QmpError>((resolve) => h.client.primary.onClose(resolve));
  await h.pair.faults.kill('primary');
  assert.equal((await closed).kind, 'closed');
  assert.equal(h.client.secondary.oob, true);
  assert.deepEqual(await h.client.secondary.execute('yank', { instances: [{ type: 'migration' }] }, { oob: true }), {});
  assert.deepEqual(await h.client.secondary.execute('x-colo-lost-heartbeat'), {});
  const exit = await eventually('COLO_EXIT', 1000, () => h.events.secondary.find((e) => e.event === 'COLO_EXIT'));
  assert.deepEqual(exit.data, { mode: 'secondary', reason: 'error' });
  await eventually('the survivor to run', 1000, async () => ((await h.client.secondary.execute<{ running: boolean }>('query-status')).running ? true : undefined));
  assert.deepEqual(await h.client.secondary.execute('query-colo-status'), { 'last-mode': 'secondary', mode: 'none', reason: 'request' });
  assert.deepEqual(await h.client.secondary.execute('query-migrate'), { status: 'completed' });
  const stopsAfter = h.events.secondary.filter((e) => e.event === 'STOP' && e.at > exit.at).length;
  await delay(300);
  assert.equal(h.events.secondary.filter((e) => e.event === 'STOP' && e.at > exit.at).length, stopsAfter, 'no checkpoints after failover');
  await assert.rejects(h.client.secondary.execute('x-colo-lost-heartbeat'), (e: QmpError) => /The feature 'colo' is not enabled/.test(e.message));
});

test('failover the other way: secondary killed, the primary notices at its next checkpoint and runs on alone', async (t) => {
  const h = await harness(t);
  await coloRunning(h, 100);
  await h.pair.faults.kill('secondary');
  const exit = await eventually('COLO_EXIT on the primary', 1000, () => h.events.primary.find((e) => e.event === 'COLO_EXIT'));
  assert.deepEqual(exit.data, { mode: 'primary', reason: 'error' });
  await h.client.primary.execute('x-colo-lost-heartbeat');
  await eventually('the primary to run', 1000, async () => ((await h.client.primary.execute<{ status: string }>('query-status')).status === 'running' ? true : undefined));
  assert.deepEqual(await h.client.primary.execute('query-colo-status'), { 'last-mode': 'primary', mode: 'none', reason: 'request' });
});

test('a silent monitor times QmpClient out; when it speaks again the late answer is not a stray reply', async (t) => {
  const h = await harness(t);
  h.pair.faults.silence('secondary');
  await assert.rejects(h.client.secondary.execute('query-status', undefined, { timeoutMs: 300 }), (e: QmpError) => e.kind === 'timeout' && /VM emu \(secondary\): query-status got no answer within 0.3 s/.test(e.message));
  // Out of band is still answered by a silent monitor, as by QEMU's monitor thread.
  await assert.rejects(h.client.secondary.execute('yank', { instances: [{ type: 'chardev', id: 'x' }] }, { oob: true, timeoutMs: 300 }), (e: QmpError) => e.errorClass === 'DeviceNotFound');
  h.pair.faults.silence('secondary', false);
  assert.deepEqual(await h.client.secondary.execute('query-status'), { status: 'inmigrate', singlestep: false, running: false });
  assert.deepEqual(h.problems, []);
});

test('malformed replies: cut short, not JSON, unknown id — each reported by QmpClient, the connection goes on', async (t) => {
  const h = await harness(t);
  h.pair.faults.malformNextReply('primary', 'truncated');
  await assert.rejects(h.client.primary.execute('query-status', undefined, { timeoutMs: 300 }), (e: QmpError) => e.kind === 'timeout');
  h.pair.faults.malformNextReply('primary', 'not-json');
  h.pair.faults.malformNextReply('primary', 'unknown-id');
  assert.equal((await h.client.primary.execute<{ status: string }>('query-status')).status, 'running');
  assert.equal((await h.client.primary.execute<{ status: string }>('query-status')).status, 'running');
  assert.deepEqual(h.problems.map((p) => p.kind), ['bad-message', 'bad-message', 'unknown-reply']);
  assert.equal(h.client.primary.isOpen, true);
});

test('a checkpoint that never resumes: the primary stays stopped and silent, the secondary resumes', async (t) => {
  const h = await harness(t);
  await coloRunning(h, 100);
  h.pair.faults.hangNextCheckpoint();
  await eventually('the hung checkpoint', 2000, () => (h.pair.state.sides.primary.hung ? true : undefined));
  await delay(300);
  const last = (side: Side): string => h.events[side].filter((e) => e.event === 'STOP' || e.event === 'RESUME').at(-1)!.event;
  assert.equal(last('primary'), 'STOP');
  assert.equal(last('secondary'), 'RESUME');
  await assert.rejects(h.client.primary.execute('query-status', undefined, { timeoutMs: 300 }), (e: QmpError) => e.kind === 'timeout');
  const stops = h.events.secondary.filter((e) => e.event === 'STOP').length;
  await delay(300);
  assert.equal(h.events.secondary.filter((e) => e.event === 'STOP').length, stops, 'no further checkpoints');
});

test('the monitor serves one client at a time, like a QEMU chardev socket; the next is greeted when it leaves', async (t) => {
  const h = await harness(t);
  const second = await connect(h.pair.primarySocket);
  t.after(() => second.destroy());
  let got = '';
  second.on('data', (d: Buffer) => (got += d.toString()));
  await delay(150);
  assert.equal(got, '', 'not greeted while another client holds the monitor');
  h.client.primary.close();
  await eventually('the greeting', 1000, () => (got.includes('"QMP"') ? true : undefined));
  assert.match(got, /^\{"QMP": \{"version": \{"qemu": \{"micro": 22, "minor": 2, "major": 7\}/);
  assert.ok(got.endsWith('\r\n'));
});

test('a second monitor on the primary (a second -qmp) has its own client and gets the same events; kill closes it', async (t) => {
  const h = await harness(t);
  const socketPath = path.join(path.dirname(h.pair.primarySocket), 'primary-2.qmp');
  await h.pair.addMonitor('primary', socketPath);
  const seen: QmpEvent[] = [];
  const other = await QmpClient.open(await connect(socketPath), { name: 'VM emu (primary, 2nd monitor)', timeoutMs: 2000, onEvent: (e) => seen.push(e) });
  t.after(() => other.close());
  assert.deepEqual(await other.execute('query-status'), { status: 'running', singlestep: false, running: true });
  await coloRunning(h, 50);
  await delay(300);
  const runEvents = (es: QmpEvent[]): string[] => es.filter((e) => e.event === 'STOP' || e.event === 'RESUME').map((e) => e.event);
  assert.ok(runEvents(seen).length >= 4, `checkpoints seen on the second monitor: ${runEvents(seen).join(',')}`);
  const first = h.events.primary.filter((e) => e.event === 'STOP' || e.event === 'RESUME');
  const second = seen.filter((e) => e.event === 'STOP' || e.event === 'RESUME');
  assert.ok(first.length >= 4, `the console's monitor still gets them: ${first.length}`);
  const n = Math.min(first.length, second.length);
  for (let i = 0; i < n; i++) {
    assert.equal(second[i]!.event, first[i]!.event);
    assert.ok(Math.abs(second[i]!.at - first[i]!.at) < 5, `the same event, stamped alike: ${first[i]!.at} vs ${second[i]!.at}`);
  }
  const closed = new Promise<void>((resolve) => other.onClose(() => resolve()));
  await h.pair.faults.kill('primary');
  await closed;
  await assert.rejects(connect(socketPath), 'the second monitor\'s socket is gone with its QEMU');
});

test('failover while the hung primary is still alive: the order a real 7.2 secondary showed', async (t) => {
  const h = await harness(t, { qemu72Deadlock: true });
  await coloRunning(h, 100);
  await eventually('the hung checkpoint', 2000, () => (h.pair.state.sides.primary.hung ? true : undefined));
  await delay(100);
  const mark = h.events.secondary.length;
  assert.deepEqual(await h.client.secondary.execute('x-colo-lost-heartbeat'), {});
  await eventually('RESUME', 1000, () => (h.events.secondary.slice(mark).some((e) => e.event === 'RESUME') ? true : undefined));
  const seq = h.events.secondary.slice(mark).map((e) => `${e.event}${e.data === undefined ? '' : ` ${JSON.stringify(e.data)}`}`);
  assert.deepEqual(seq, ['STOP', 'MIGRATION {"status":"completed"}', 'COLO_EXIT {"mode":"secondary","reason":"request"}', 'RESUME']);
  assert.deepEqual(await h.client.secondary.execute('query-colo-status'), { 'last-mode': 'secondary', mode: 'none', reason: 'request' });
});

test('without the events capability there are no MIGRATION or MIGRATION_PASS events, only STOP/RESUME', async (t) => {
  const h = await harness(t);
  const colo = [{ capability: 'x-colo', state: true }];
  await h.client.secondary.execute('migrate-set-capabilities', { capabilities: colo });
  await h.client.primary.execute('migrate-set-capabilities', { capabilities: colo });
  await h.client.primary.execute('migrate-set-parameters', { 'x-checkpoint-delay': 100 });
  await h.client.primary.execute('migrate', { uri: 'tcp:127.0.0.1:4449' });
  await eventually('a checkpoint', 3000, () => (pauses(h.events.primary).length >= 1 ? true : undefined));
  assert.deepEqual(await h.client.primary.execute('query-migrate'), { status: 'colo' });
  for (const side of ['primary', 'secondary'] as const) {
    assert.deepEqual([...new Set(h.events[side].map((e) => e.event))].sort(), ['RESUME', 'STOP'], side);
  }
});

test('migrate to an address the secondary does not listen on: setup, then failed; the primary runs on', async (t) => {
  const h = await harness(t);
  await h.client.primary.execute('migrate-set-capabilities', { capabilities: [{ capability: 'events', state: true }] });
  await h.client.primary.execute('migrate', { uri: 'tcp:127.0.0.1:1' });
  await eventually('failed', 1000, () => h.events.primary.find((e) => e.event === 'MIGRATION' && e.data?.status === 'failed'));
  assert.deepEqual(h.events.primary.map((e) => [e.event, e.data?.status]), [['MIGRATION', 'setup'], ['MIGRATION', 'failed']]);
  assert.deepEqual(await h.client.primary.execute('query-migrate'), { status: 'failed', 'error-desc': "Failed to connect to '127.0.0.1:1': Connection refused" });
  assert.equal((await h.client.primary.execute<{ status: string }>('query-status')).status, 'running');
});
