// The QEMU backend against the emulated 7.2 pair (core/lab/qmp), each monitor reached through a real sshd's
// streamlocal forwarding as on real hosts: start → syncing → protected with measured cycles, a live change of
// x-checkpoint-delay, and each fault to its end state: the primary killed (automatic takeover), the secondary
// killed (the primary runs on alone), the primary hung in a checkpoint (stalled, naming 7.2's deadlock; failover
// refused until the admin confirms fencing), stop, and attach to a pair already in COLO.

import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { after, afterEach, before, beforeEach, describe, test } from 'node:test';
import type { CycleRecord, FailoverEvent, OpenCheckpoint, ProtectionState } from '../../colo/types.js';
import { type QmpPair, startQmpPair } from '../../lab/qmp/index.js';
import { type BackendContext, FencingRequiredError, type HostCommand, type PairEvents, type PairHandle, type PairSpec } from '../../service/backend.js';
import type { HostRecord } from '../../service/registry.js';
import type { SshHostLink } from '../../ssh/host-link.js';
import { type Sshd, startSshd, sshdUnavailable } from '../../ssh/test-support/sshd.js';
import { eventually } from '../../test-support/eventually.js';
import { QemuBackend } from './qemu-backend.js';
import { linkToSshd } from './test-support/loopback-ssh.js';

interface Seen {
  states: ProtectionState[];
  cycles: CycleRecord[];
  opened: OpenCheckpoint[];
  failovers: FailoverEvent[];
  commands: HostCommand[];
  events: PairEvents;
  ctx: BackendContext;
}

function recorder(): Seen {
  const s: Seen = { states: [], cycles: [], opened: [], failovers: [], commands: [], events: null as unknown as PairEvents, ctx: null as unknown as BackendContext };
  s.events = { state: (x) => s.states.push(x), cycle: (r) => s.cycles.push(r), checkpointStarted: (o) => s.opened.push(o), failover: (e) => s.failovers.push(e) };
  s.ctx = { command: (c) => s.commands.push(c) };
  return s;
}

describe('QEMU backend, emulated pair through a real sshd', { skip: sshdUnavailable() ?? false }, () => {
  let sshd: Sshd;
  let links: { a: SshHostLink; b: SshHostLink };
  let dir: string;
  let pair: QmpPair;
  let backend: QemuBackend;
  let handle: PairHandle | null;
  const a: HostRecord = { id: 'qa', name: 'qemu-a', kind: 'ssh', hypervisor: 'qemu' };
  const b: HostRecord = { id: 'qb', name: 'qemu-b', kind: 'ssh', hypervisor: 'qemu' };

  before(async () => {
    sshd = await startSshd();
    links = { a: linkToSshd(sshd), b: linkToSshd(sshd) };
  });

  after(async () => {
    links?.a.close();
    links?.b.close();
    await sshd?.stop();
  });

  beforeEach(async () => {
    dir = mkdtempSync(path.join(tmpdir(), 'qemu-backend-'));
    pair = await startQmpPair({ dir, checkpointDelayMs: 100, timings: { checkpointPauseMs: 15, initialCopyMs: 40, coloStartMs: 60 } });
    backend = new QemuBackend({ links: { link: (h) => (h.id === 'qa' ? links.a : links.b) }, commandTimeoutMs: 2000, connectTimeoutMs: 5000, settleTimeoutMs: 5000 });
    handle = null;
  });

  afterEach(async () => {
    await handle?.detach({ command: () => {} });
    await backend.close();
    await pair.stop();
    rmSync(dir, { recursive: true, force: true });
  });

  const spec = (options: Record<string, string | number | boolean> = {}): PairSpec => ({
    id: 'p1', name: 'colo01', domain: 'colo01', mode: 'colo', primary: a, secondary: b,
    options: { primaryQmp: pair.primarySocket, secondaryQmp: pair.secondarySocket, incomingUri: pair.incomingUri, checkpointDelayMs: 100, heartbeatIntervalMs: 100, heartbeatMisses: 3, ...options },
  });

  async function protectedPair(seen: Seen, options?: Record<string, string | number | boolean>): Promise<PairHandle> {
    handle = await backend.protect(spec(options), seen.events, seen.ctx);
    await eventually('protected', 10_000, () => handle!.state.state === 'protected');
    await eventually('three periodic checkpoints', 10_000, () => seen.cycles.filter((c) => c.trigger !== 'initial').length >= 3);
    return handle;
  }

  test('preflight passes for a fresh pair and names every check; a wrong socket path fails with the fix', async () => {
    const seen = recorder();
    const checks = await backend.preflight(spec(), seen.ctx);
    assert.deepEqual(checks.filter((c) => c.status === 'fail'), []);
    for (const id of ['monitor-primary', 'monitor-secondary', 'x-colo-primary', 'x-colo-secondary', 'primary-running', 'secondary-incoming', 'incoming-uri']) {
      assert.ok(checks.some((c) => c.id === id && c.status === 'pass'), `${id} passes`);
    }
    assert.ok(checks.some((c) => c.status === 'warn' && /7\.2.*deadlock/.test(c.detail ?? '')), 'the 7.2 warning');
    const bad = await backend.preflight(spec({ secondaryQmp: path.join(dir, 'nowhere.qmp') }), seen.ctx);
    const f = bad.find((c) => c.id === 'monitor-secondary');
    assert.equal(f?.status, 'fail');
    assert.match(f?.detail ?? '', /qemu-b.*nowhere\.qmp.*Fix: start QEMU there with -qmp unix:/s);
  });

  test('start: syncing, then protected; the initial copy is seq 0 and each checkpoint a measured cycle with both pauses', async () => {
    const seen = recorder();
    const h = await protectedPair(seen);
    assert.equal(seen.states[0]?.state, 'syncing');
    assert.match(seen.states[0]?.reason ?? '', /full copy/);
    const [first, ...rest] = seen.cycles;
    assert.equal(first?.seq, 0);
    assert.equal(first?.trigger, 'initial');
    assert.ok(first.primaryPauseMs >= 50, `the initial pause spans COLO start: ${first?.primaryPauseMs}`);
    rest.forEach((c, i) => {
      assert.equal(c.seq, i + 1);
      assert.equal(c.outcome, 'committed');
      assert.equal(c.provenance, 'measured');
      assert.equal(c.trigger, 'timer');
      assert.ok(c.primaryPauseMs >= 12, `primary pause ${c.primaryPauseMs} covers the secondary's`);
      assert.ok(c.secondaryPauseMs !== undefined && c.secondaryPauseMs >= 12 && c.secondaryPauseMs <= c.primaryPauseMs + 1, `secondary pause ${c.secondaryPauseMs}`);
    });
    assert.deepEqual(seen.opened.map((o) => o.seq).slice(0, seen.cycles.length), seen.cycles.map((c) => c.seq));
    // The audit: exactly what was sent, on which host.
    const sent = seen.commands.map((c) => `${c.hostId} ${c.command.replace(/^QMP \S+: /, '')}`);
    assert.deepEqual(sent.slice(0, 4), [
      'qb {"execute":"migrate-set-capabilities","arguments":{"capabilities":[{"capability":"x-colo","state":true},{"capability":"events","state":true}]}}',
      'qa {"execute":"migrate-set-capabilities","arguments":{"capabilities":[{"capability":"x-colo","state":true},{"capability":"events","state":true}]}}',
      'qa {"execute":"migrate-set-parameters","arguments":{"x-checkpoint-delay":100}}',
      `qa {"execute":"migrate","arguments":{"uri":"${pair.incomingUri}"}}`,
    ]);
    const st = h.qemu!.status();
    assert.equal(st.primary?.coloMode, 'primary');
    assert.equal(st.secondary?.coloMode, 'secondary');
    assert.equal(st.migration, 'colo');
    assert.equal(st.checkpointDelayMs, 100);
  });

  test('the initial copy: syncing, with the progress query-migrate reports, then protected', async () => {
    await pair.stop();
    pair = await startQmpPair({ dir, checkpointDelayMs: 100, ramMiB: 512, timings: { checkpointPauseMs: 15, initialCopyMs: 1500, coloStartMs: 60 } });
    const seen = recorder();
    handle = await backend.protect(spec(), seen.events, seen.ctx);
    await eventually('protected', 10_000, () => handle!.state.state === 'protected');
    const progress = seen.states.filter((x) => x.state === 'syncing' && x.progress !== undefined).map((x) => x.progress!);
    assert.ok(progress.length >= 3, `progress reported ${progress.length} times`);
    for (const p of progress) assert.equal(p.pagesTotal, 512 * 256);
    const done = progress.map((p) => p.pagesDone);
    assert.deepEqual(done, [...done].sort((x, y) => x - y), 'the copy only goes forward');
    assert.ok(done.at(-1)! > done[0]!, done.join(' '));
  });

  test('the checkpoint delay changes live: QEMU holds the new value and the checkpoints slow down', async () => {
    const seen = recorder();
    const h = await protectedPair(seen);
    await h.qemu!.setCheckpointDelay(400, seen.ctx);
    assert.equal(pair.state.sides.primary.parameters['x-checkpoint-delay'], 400);
    assert.equal(h.qemu!.status().checkpointDelayMs, 400);
    const n = seen.cycles.length;
    await eventually('two checkpoints at the new delay', 10_000, () => seen.cycles.length >= n + 3);
    const late = seen.cycles.slice(n + 1);
    for (let i = 1; i < late.length; i++) assert.ok(late[i]!.startedAt - late[i - 1]!.startedAt >= 390, `interval ${late[i]!.startedAt - late[i - 1]!.startedAt}`);
  });

  test('the primary killed: its socket refuses while its host answers, so the secondary is promoted without asking', async () => {
    const seen = recorder();
    const h = await protectedPair(seen);
    await pair.faults.kill('primary');
    const final = await h.ended;
    assert.equal(final.state, 'failed-over');
    assert.equal(final.reasonCode, 'primary-lost');
    assert.match(final.reason ?? '', /qemu-b took over from checkpoint \d+.*unprotected.*new full copy/);
    const e = seen.failovers.at(-1)!;
    assert.equal(e.survivor, 'secondary');
    assert.ok(e.guestDowntimeMs > 0);
    assert.equal(e.lastCheckpointSeq, Math.max(...seen.cycles.filter((c) => c.outcome === 'committed').map((c) => c.seq)));
    const s = pair.state.sides.secondary;
    assert.equal(s.runState, 'running');
    assert.equal(s.mode, 'none');
    assert.equal(s.lastMode, 'secondary');
    assert.ok(seen.commands.some((c) => c.hostId === 'qb' && c.command.includes('"exec-oob":"yank"')), 'yank out of band on the secondary');
    assert.ok(seen.commands.some((c) => c.hostId === 'qb' && c.command.includes('x-colo-lost-heartbeat')));
    // The secondary's COLO_EXIT stays on the pair's screen after the run.
    assert.equal(backend.idleStatus(spec())?.lastColoExit?.side, 'secondary');
  });

  test('the secondary killed: the primary leaves COLO and runs on alone; the failover event says so', async () => {
    const seen = recorder();
    const h = await protectedPair(seen);
    await pair.faults.kill('secondary');
    const final = await h.ended;
    assert.equal(final.state, 'unprotected');
    assert.equal(final.reasonCode, 'secondary-lost');
    assert.equal(seen.failovers.at(-1)?.survivor, 'primary');
    assert.equal(pair.state.sides.primary.runState, 'running');
    assert.equal(pair.state.sides.primary.mode, 'none');
  });

  test('the primary hung in a checkpoint: stalled, naming 7.2\'s deadlock; failover needs the fencing word, then works', async () => {
    const seen = recorder();
    const h = await protectedPair(seen);
    pair.faults.hangNextCheckpoint();
    await eventually('stalled', 10_000, () => h.state.reasonCode === 'checkpoint-stalled');
    // At once: stalled; once the heartbeats are missed, named.
    await eventually('the deadlock named', 10_000, () => /7\.2/.test(h.state.reason ?? ''));
    assert.match(h.state.reason ?? '', /paused on qemu-a in checkpoint \d+.*QEMU 7\.2's known checkpoint deadlock/);
    const open = seen.opened.at(-1)!;
    assert.ok(!seen.cycles.some((c) => c.seq === open.seq), 'the hung checkpoint stays open');
    assert.match(h.qemu!.status().fencingRequired ?? '', /monitor does not answer.*confirm by typing qemu-a/);
    await assert.rejects(h.failover(seen.ctx), (e: Error) => e instanceof FencingRequiredError && /Not failed over/.test(e.message));
    assert.equal(pair.state.sides.secondary.mode, 'secondary', 'nothing was promoted');
    const r = await h.failover(seen.ctx, { fenced: true });
    assert.equal(r.state.state, 'failed-over');
    assert.equal(r.event?.detectedBy, 'admin');
    const hung = seen.cycles.find((c) => c.seq === open.seq);
    assert.equal(hung?.outcome, 'failed', 'the hung checkpoint is on record as failed');
    assert.equal(pair.state.sides.secondary.runState, 'running');
  });

  test('failover by the admin with a healthy primary: the primary is ended with quit first, then the secondary runs', async () => {
    const seen = recorder();
    const h = await protectedPair(seen);
    const r = await h.failover(seen.ctx);
    assert.equal(r.state.state, 'failed-over');
    assert.equal(pair.state.sides.primary.alive, false);
    const order = seen.commands.map((c) => `${c.hostId} ${/"(?:execute|exec-oob)":"([^"]+)"/.exec(c.command)?.[1]}`).filter((x) => !x.endsWith('query-status') && !x.endsWith('query-colo-status'));
    assert.deepEqual(order.slice(-3), ['qa quit', 'qb yank', 'qb x-colo-lost-heartbeat']);
  });

  test('a lying monitor (cut-off JSON, a line that is not JSON, a reply with a stray id) costs a reconnect, never the pair', async () => {
    const seen = recorder();
    const h = await protectedPair(seen);
    for (const kind of ['truncated', 'not-json', 'unknown-id'] as const) {
      pair.faults.malformNextReply('primary', kind);
      const n = seen.cycles.length;
      await eventually(`cycles after ${kind}`, 10_000, () => seen.cycles.length >= n + 3);
    }
    await eventually('protected again', 10_000, () => h.state.state === 'protected');
    assert.deepEqual(seen.failovers, []);
    assert.equal(pair.state.sides.primary.mode, 'primary');
    assert.equal(pair.state.sides.secondary.mode, 'secondary');
    const seqs = seen.cycles.map((c) => c.seq);
    assert.deepEqual(seqs, seqs.map((_, i) => i), 'the seqs stay 0..n across the reconnects');
  });

  test('a silent secondary monitor: degraded after the misses, then the primary runs on alone', async () => {
    const seen = recorder();
    const h = await protectedPair(seen);
    pair.faults.silence('secondary');
    const final = await h.ended;
    assert.equal(final.state, 'unprotected');
    assert.match(final.reason ?? '', /qemu-b is gone \(its QEMU missed 3 heartbeats \(no answer to query-status within 100 ms\)\)/);
    assert.equal(pair.state.sides.primary.mode, 'none');
    assert.equal(pair.state.sides.primary.runState, 'running');
  });

  test('stop: the primary leaves COLO and runs alone, the secondary is ended', async () => {
    const seen = recorder();
    const h = await protectedPair(seen);
    const final = await h.stop(seen.ctx);
    assert.equal(final.state, 'stopped');
    assert.equal(pair.state.sides.primary.runState, 'running');
    assert.equal(pair.state.sides.primary.mode, 'none');
    assert.equal(pair.state.sides.secondary.alive, false);
  });

  test('attach: a pair already in COLO is followed from the next seq; a fresh pair is not attached', async () => {
    assert.equal(await backend.attach(spec(), recorder().events, recorder().ctx), null);
    const first = recorder();
    const h1 = await protectedPair(first);
    await h1.detach(first.ctx);
    handle = null;
    const lastSeq = Math.max(...first.cycles.map((c) => c.seq));
    const seen = recorder();
    handle = await backend.attach({ ...spec(), lastSeq }, seen.events, seen.ctx);
    assert.ok(handle !== null);
    assert.equal(handle.state.state, 'protected');
    assert.equal(seen.states[0]?.state, 'protected', 'the attached run\'s state is reported, as a start\'s is');
    await eventually('cycles after attach', 10_000, () => seen.cycles.length >= 2);
    assert.equal(seen.cycles[0]!.seq, lastSeq + 1);
  });
});

describe('QEMU backend: a pair\'s options after a takeover', () => {
  test('the sockets and replication addresses swap with the hosts; the old incoming address is dropped', () => {
    const backend = new QemuBackend({ links: { link: () => { throw new Error('no host is reached'); } } });
    assert.deepEqual(backend.swappedOptions({ primaryQmp: '/a.qmp', secondaryQmp: '/b.qmp', incomingUri: 'tcp:10.0.0.2:9998', replicationAddress: '10.0.0.2', checkpointDelayMs: 200 }),
      { primaryQmp: '/b.qmp', secondaryQmp: '/a.qmp', primaryReplicationAddress: '10.0.0.2', checkpointDelayMs: 200 });
    assert.deepEqual(backend.swappedOptions({ primaryQmp: '/a.qmp', secondaryQmp: '/b.qmp', replicationAddress: '10.0.0.2', primaryReplicationAddress: '10.0.0.1' }),
      { primaryQmp: '/b.qmp', secondaryQmp: '/a.qmp', replicationAddress: '10.0.0.1', primaryReplicationAddress: '10.0.0.2' });
  });
});

describe('QEMU backend: a host the console cannot reach', { skip: sshdUnavailable() ?? false }, () => {
  /** The emulated pair with each host behind its own sshd: stopping one is that host dropping off the console's network. */
  async function twoHosts(t: { after(fn: () => Promise<void>): void }): Promise<{ pair: QmpPair; sshdA: Sshd; sshdB: Sshd; backend: QemuBackend; spec: PairSpec }> {
    const dir = mkdtempSync(path.join(tmpdir(), 'qemu-guard-'));
    const pair = await startQmpPair({ dir, checkpointDelayMs: 100, timings: { checkpointPauseMs: 10, initialCopyMs: 30, coloStartMs: 40 } });
    const sshdA = await startSshd();
    const sshdB = await startSshd();
    const la = linkToSshd(sshdA, { readyTimeoutMs: 2000 });
    const lb = linkToSshd(sshdB, { readyTimeoutMs: 2000 });
    const backend = new QemuBackend({ links: { link: (h) => (h.id === 'ga' ? la : lb) }, commandTimeoutMs: 2000, connectTimeoutMs: 5000, settleTimeoutMs: 5000 });
    t.after(async () => {
      await backend.close();
      la.close();
      lb.close();
      await sshdA.stop();
      await sshdB.stop();
      await pair.stop();
      rmSync(dir, { recursive: true, force: true });
    });
    const spec: PairSpec = {
      id: 'g', name: 'colo01', domain: 'colo01', mode: 'colo',
      primary: { id: 'ga', name: 'guard-a', kind: 'ssh', hypervisor: 'qemu' },
      secondary: { id: 'gb', name: 'guard-b', kind: 'ssh', hypervisor: 'qemu' },
      options: { primaryQmp: pair.primarySocket, secondaryQmp: pair.secondarySocket, incomingUri: pair.incomingUri, heartbeatIntervalMs: 100, heartbeatMisses: 3 },
    };
    return { pair, sshdA, sshdB, backend, spec };
  }

  test('the primary\'s host: its QEMU may still run, so it is never promoted by the heartbeat; a failover needs the fencing word', async (t) => {
    const { pair, sshdA, backend, spec } = await twoHosts(t);
    const seen = recorder();
    const h = await backend.protect(spec, seen.events, seen.ctx);
    await eventually('protected', 10_000, () => h.state.state === 'protected');

    await sshdA.stop();
    await eventually('the primary lost', 10_000, () => h.state.reasonCode === 'primary-lost' && (h.qemu!.status().primary?.missedHeartbeats ?? 0) >= 3);
    // Well past the misses: still not promoted, and it says why and what to do.
    await new Promise((r) => setTimeout(r, 1000));
    assert.equal(h.state.state, 'degraded');
    assert.match(h.state.reason ?? '', /guard-a cannot be reached .*its QEMU may still be running.*confirm by typing guard-a/);
    assert.equal(h.qemu!.status().primary?.monitor, 'unreachable');
    assert.deepEqual(seen.failovers, []);
    assert.equal(pair.state.sides.secondary.mode, 'secondary', 'the secondary was not promoted');
    assert.equal(pair.state.sides.primary.mode, 'primary', 'the primary runs on in COLO, out of the console\'s sight');

    await assert.rejects(h.failover(seen.ctx), (e: Error) => e instanceof FencingRequiredError && /guard-a cannot be reached/.test(e.message));
    assert.equal(pair.state.sides.secondary.mode, 'secondary');
    const r = await h.failover(seen.ctx, { fenced: true });
    assert.equal(r.state.state, 'failed-over');
    assert.equal(pair.state.sides.secondary.mode, 'none');
    assert.equal(pair.state.sides.secondary.runState, 'running');
  });

  test('the secondary\'s host: COLO goes on between the hosts, so protection is kept; once the secondary really dies, the primary runs on alone', async (t) => {
    const { pair, sshdB, backend, spec } = await twoHosts(t);
    const seen = recorder();
    const h = await backend.protect(spec, seen.events, seen.ctx);
    await eventually('protected', 10_000, () => h.state.state === 'protected');

    await sshdB.stop();
    await eventually('out of sight', 10_000, () => h.state.reasonCode === 'secondary-lost');
    assert.match(h.state.reason ?? '', /cannot reach guard-b .*COLO goes on between the hosts/);
    const n = seen.cycles.length;
    await eventually('checkpoints go on', 10_000, () => seen.cycles.length >= n + 5);
    assert.equal(h.state.state, 'degraded');
    assert.deepEqual(seen.failovers, []);
    assert.equal(pair.state.sides.primary.mode, 'primary', 'still in COLO');

    // The secondary dies for real: the primary's next checkpoint fails (its COLO_EXIT), and it runs on alone.
    await pair.faults.kill('secondary');
    const final = await h.ended;
    assert.equal(final.state, 'unprotected');
    assert.match(final.reason ?? '', /COLO_EXIT on the primary/);
    assert.equal(pair.state.sides.primary.mode, 'none');
    assert.equal(pair.state.sides.primary.runState, 'running');
  });
});
