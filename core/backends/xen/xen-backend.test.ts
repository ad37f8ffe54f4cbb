// The Xen backend against the lab (core/lab/xen-lab.ts): emulated dom0s a and b, each a network and mount
// namespace with a real OpenSSH sshd and the xl emulator on its PATH, reached over real SSH links. Probe,
// inventory and preflight of the seeded guests; protect web01 and watch its cycles; detach, attach and a dropped
// console connection without a cycle lost or counted twice; stop (the secondary's copy destroyed first) and
// failover (the secondary takes over).

import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { after, before, describe, test } from 'node:test';
import { setTimeout as delay } from 'node:timers/promises';
import type { CycleRecord, FailoverEvent, OpenCheckpoint, ProtectionState } from '../../colo/types.js';
import type { BackendContext, HostCommand, PairEvents, PairSpec } from '../../service/backend.js';
import type { HostRecord } from '../../service/registry.js';
import { knownHostsCheck } from '../../ssh/host-keys.js';
import { SshHostLink } from '../../ssh/host-link.js';
import { parseKnownHosts } from '../../ssh/known-hosts.js';
import { XenBackend } from './xen-backend.js';
import { JsonFileRunStore } from './xen-run-store.js';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';

// The lab's interface as the brief fixes it; imported by a computed name so that this file compiles on a branch
// that does not have the lab yet (the tests then skip, saying so).
interface LabHost { name: string; address: string; port: number; user: 'root'; replicationAddress?: string }
interface XenLab {
  mode: 'namespaces' | 'loopback';
  note: string;
  a: LabHost;
  b: LabHost;
  clientKeyFile: string;
  knownHostsFile: string;
  dropConsoleConnections(h: 'a' | 'b'): Promise<void>;
  killHost(h: 'a' | 'b'): Promise<void>;
  stallSecondary(on: boolean): Promise<void>;
  xl(h: 'a' | 'b', args: string[]): Promise<{ code: number; stdout: string; stderr: string }>;
  stop(): Promise<void>;
}
interface LabModule {
  startXenLab(o?: { coloPeriodMs?: number }): Promise<XenLab>;
  labUnavailable?(): string | null;
}

const LAB_MODULE = '../../lab/xen-lab.js';
let lab: LabModule | null = null;
let labMissing: string | null;
try {
  lab = (await import(LAB_MODULE)) as LabModule;
  labMissing = lab.labUnavailable?.() ?? null;
} catch (err) {
  labMissing = `the Xen lab (core/lab/xen-lab.ts) is not on this branch: ${(err as Error).message.split('\n')[0]}`;
}

async function until(cond: () => boolean, ms: number, what: () => string): Promise<void> {
  const deadline = Date.now() + ms;
  while (!cond()) {
    if (Date.now() > deadline) throw new Error(`gave up after ${ms / 1000} s waiting for ${what()}`);
    await delay(50);
  }
}

function collect(): { events: PairEvents; states: ProtectionState[]; cycles: CycleRecord[]; opens: OpenCheckpoint[]; failovers: FailoverEvent[] } {
  const c = { states: [] as ProtectionState[], cycles: [] as CycleRecord[], opens: [] as OpenCheckpoint[], failovers: [] as FailoverEvent[] };
  return {
    ...c,
    events: {
      state: (s) => c.states.push(s),
      checkpointStarted: (o) => c.opens.push(o),
      cycle: (r) => c.cycles.push(r),
      failover: (e) => c.failovers.push(e),
    },
  };
}

function audit(): { ctx: BackendContext; log: HostCommand[] } {
  const log: HostCommand[] = [];
  return { log, ctx: { command: (r) => log.push(r) } };
}

const contiguous = (seqs: number[]): boolean => seqs.every((s, i) => s === i);

describe('Xen backend against the lab', { skip: labMissing ?? false }, () => {
  let x: XenLab;
  let dir: string;
  const links = new Map<string, SshHostLink>();
  let backend: XenBackend;
  let A: HostRecord;
  let B: HostRecord;
  let pair: (domain: string) => PairSpec;
  let reversed: (domain: string) => PairSpec;

  before(async () => {
    x = await lab!.startXenLab({});
    console.log(`lab: ${x.mode}: ${x.note}`);
    dir = mkdtempSync(path.join(tmpdir(), 'xen-backend-'));
    const entries = parseKnownHosts(readFileSync(x.knownHostsFile, 'utf8'), x.knownHostsFile).entries;
    const key = readFileSync(x.clientKeyFile);
    A = { id: 'xen-a', name: 'xen-a', kind: 'ssh', hypervisor: 'xen', address: x.a.address, port: x.a.port, user: 'root' };
    B = { id: 'xen-b', name: 'xen-b', kind: 'ssh', hypervisor: 'xen', address: x.b.address, port: x.b.port, user: 'root' };
    for (const h of [A, B]) {
      links.set(h.id, new SshHostLink({
        target: { host: h.address!, port: h.port!, user: 'root' },
        auth: () => ({ kind: 'key', privateKey: key }),
        connect: { checkHostKey: knownHostsCheck(h.address!, h.port!, { entries }), readyTimeoutMs: 10_000, keepaliveMs: 2000 },
        backoff: { initialMs: 100, maxMs: 500 },
      }));
    }
    backend = new XenBackend({ links: { link: (h) => links.get(h.id)! }, runStore: new JsonFileRunStore(dir), commandTimeoutMs: 30_000, settleTimeoutMs: 20_000 });
    pair = (domain) => ({ id: `p-${domain}`, name: domain, domain, mode: 'colo', primary: A, secondary: B, options: { secondaryAddress: x.b.replicationAddress ?? x.b.address } });
    reversed = (domain) => ({ id: `p-${domain}`, name: domain, domain, mode: 'colo', primary: B, secondary: A, options: { secondaryAddress: x.a.replicationAddress ?? x.a.address } });
  });

  after(async () => {
    await backend?.close();
    for (const l of links.values()) l.close();
    await x?.stop();
    if (dir !== undefined) rmSync(dir, { recursive: true, force: true });
  });

  test('probe of a and b: Xen version, hvm, the nohup supervisor (no systemd in the lab); audited', async () => {
    for (const h of [A, B]) {
      const { ctx, log } = audit();
      const p = await backend.probe(h, ctx);
      assert.equal(p.hypervisor, 'xen');
      assert.match(p.version ?? '', /^Xen 4\.\d+/);
      assert.ok(p.capabilities.includes('hvm'), p.capabilities.join(' '));
      assert.ok(p.capabilities.includes('supervisor:setsid-nohup'));
      assert.deepEqual(log.map((c) => [c.hostId, c.command]), [[h.id, 'xl info'], [h.id, 'test -d /run/systemd/system']]);
    }
  });

  test('inventory: the seeded guests on a, none of them on b', async () => {
    const a = await backend.inventory(A, audit().ctx);
    const names = a.map((d) => d.name);
    for (const n of ['web01', 'pv01', 'plain01']) assert.ok(names.includes(n), names.join(' '));
    assert.match(a.find((d) => d.name === 'web01')!.uuid ?? '', /^[0-9a-f-]{36}$/);
    assert.equal((await backend.inventory(B, audit().ctx)).some((d) => d.name === 'web01'), false);
  });

  test('preflight: web01 passes (sizes always, sha256 on both hosts only when asked); pv01 fails HVM; plain01 fails the colo disk keys', async () => {
    const web = await backend.preflight(pair('web01'), audit().ctx);
    assert.deepEqual(web.filter((c) => c.status === 'fail').map((c) => `${c.id}: ${c.detail}`), []);
    assert.equal(web.find((c) => c.id === 'disk-size')?.status, 'pass');
    assert.equal(web.find((c) => c.id === 'disk-checksum'), undefined, 'no checksum unless asked');
    const sums = audit();
    const checked = await backend.preflight({ ...pair('web01'), options: { ...pair('web01').options, checksumDisks: true } }, sums.ctx);
    assert.equal(checked.find((c) => c.id === 'disk-checksum')?.status, 'pass', JSON.stringify(checked.find((c) => c.id === 'disk-checksum')));
    assert.deepEqual(sums.log.filter((c) => c.command.startsWith('sha256sum')).map((c) => c.hostId).sort(), [A.id, B.id]);
    const pv = await backend.preflight(pair('pv01'), audit().ctx);
    assert.equal(pv.find((c) => c.id === 'hvm')?.status, 'fail');
    const plain = await backend.preflight(pair('plain01'), audit().ctx);
    assert.equal(plain.find((c) => c.id === 'colo-disks')?.status, 'fail');
  });

  test('protect pv01 fails with xl\'s own words, and leaves no run behind', async () => {
    await assert.rejects(backend.protect(pair('pv01'), collect().events, audit().ctx), /xl remus on xen-a ended before the replication stream started: COLO only supports hvm now/);
    assert.equal(await backend.attach(pair('pv01'), collect().events, audit().ctx), null);
  });

  test('protect web01: cycles 0, 1, 2… derived; detach and attach, then a dropped console connection: none lost or doubled; stop destroys web01--incoming first', async () => {
    const first = collect();
    const { ctx } = audit();
    const h1 = await backend.protect(pair('web01'), first.events, ctx);
    await until(() => first.cycles.length >= 4, 60_000, () => `4 cycles (have ${first.cycles.length}; state ${h1.state.state})`);
    assert.equal(h1.state.state, 'protected');
    assert.ok(first.cycles.every((c) => c.provenance === 'derived' && c.outcome === 'committed' && c.mode === 'colo'));
    assert.ok(first.cycles.every((c) => c.pagesSent > 0 && c.bytesSent > 0 && c.primaryPauseMs >= 0));

    await h1.detach(ctx);
    const seenBefore = first.cycles.length;
    await delay(1000);
    assert.equal(first.cycles.length, seenBefore, 'a detached handle reports nothing');
    const second = collect();
    const attachAudit = audit();
    const h2 = await backend.attach(pair('web01'), second.events, attachAudit.ctx);
    assert.ok(h2 !== null, 'attach finds the running xl remus');
    await until(() => second.cycles.length >= 3, 30_000, () => `3 cycles after attach (have ${second.cycles.length})`);
    const seqs = (): number[] => [...first.cycles, ...second.cycles].map((c) => c.seq);
    assert.ok(contiguous(seqs()), `after attach: ${seqs().join(',')}`);

    const tails = (): string[] => attachAudit.log.filter((c) => c.hostId === A.id && c.command.startsWith('tail ')).map((c) => c.command);
    const before = second.cycles.length;
    await x.dropConsoleConnections('a');
    await until(() => second.cycles.length >= before + 3, 30_000, () => `3 cycles after the dropped connection (have ${second.cycles.length - before})`);
    assert.ok(contiguous(seqs()), `after the drop: ${seqs().join(',')}`);
    // The dropped tail is in the audit as an error, and the next one resumed further on in the log.
    assert.ok(tails().length >= 1, 'the dropped tail was audited');

    const stop = audit();
    const final = await h2.stop(stop.ctx);
    assert.equal(final.state, 'stopped', JSON.stringify(final));
    assert.deepEqual([stop.log[0]!.hostId, stop.log[0]!.command], [B.id, 'xl destroy -- web01--incoming']);
    assert.equal(stop.log.some((c) => c.hostId === A.id && c.command.startsWith('xl destroy')), false, 'nothing destroyed on the primary');
    assert.equal(await h2.ended, final);
    assert.ok(contiguous(seqs()), `at the end: ${seqs().join(',')}`);
    const onA = await x.xl('a', ['list']);
    const onB = await x.xl('b', ['list']);
    assert.match(onA.stdout, /^web01\s/m);
    assert.doesNotMatch(onB.stdout, /web01/);
    assert.equal(await backend.attach(pair('web01'), collect().events, ctx), null, 'nothing left to attach to');
  });

  test('Remus (-i 100): cycles end at Checkpointed save, mode remus; stop ends it with the guest on a', async () => {
    const c = collect();
    const spec: PairSpec = { ...pair('web01'), mode: 'remus', options: { secondaryAddress: x.b.replicationAddress ?? x.b.address, remusIntervalMs: 100 } };
    const start = audit();
    const h = await backend.protect(spec, c.events, start.ctx);
    assert.ok(start.log.some((k) => k.hostId === A.id && k.command.includes("xl -vvv remus -i 100 -- web01")), start.log.map((k) => k.command).join('\n'));
    await until(() => c.cycles.length >= 3, 60_000, () => `3 Remus cycles (have ${c.cycles.length})`);
    assert.ok(c.cycles.every((r) => r.mode === 'remus' && r.outcome === 'committed' && r.phases.length === 1 && r.phases[0]!.name === 'transfer'));
    assert.ok(contiguous(c.cycles.map((r) => r.seq)));
    const final = await h.stop(audit().ctx);
    assert.equal(final.state, 'stopped', JSON.stringify(final));
    assert.match((await x.xl('a', ['list'])).stdout, /^web01\s/m);
  });

  test('a stalled secondary: the checkpoint stays open (no cycle for it) until it resumes, then commits with the whole pause', async (t) => {
    const c = collect();
    const h = await backend.protect(pair('web01'), c.events, audit().ctx);
    t.after(() => x.stallSecondary(false));
    await until(() => c.cycles.length >= 2, 60_000, () => `2 cycles (have ${c.cycles.length})`);
    await x.stallSecondary(true);
    const stalledAt = Date.now();
    // A checkpoint that started after the stall cannot complete while the receiver is stopped.
    await until(() => c.opens.some((o) => o.startedAt >= stalledAt), 30_000, () => 'a checkpoint to start during the stall');
    const open = c.opens.find((o) => o.startedAt >= stalledAt)!;
    await delay(1500);
    assert.equal(c.cycles.some((r) => r.seq >= open.seq), false, 'no cycle closes while the secondary is stopped');
    assert.equal(h.state.state, 'protected', 'the open pause is the service\'s to judge (Guest-frozen), not the backend\'s');
    await x.stallSecondary(false);
    await until(() => c.cycles.some((r) => r.seq === open.seq), 30_000, () => `cycle ${open.seq} after the stall`);
    const done = c.cycles.find((r) => r.seq === open.seq)!;
    assert.equal(done.outcome, 'committed');
    assert.ok(done.primaryPauseMs >= 1500, `paused ${done.primaryPauseMs} ms`);
    assert.ok(contiguous(c.cycles.map((r) => r.seq)));
    assert.equal((await h.stop(audit().ctx)).state, 'stopped');
  });

  test('the secondary copy destroyed behind the console\'s back: backup failed, the guest runs on a unprotected, in xl\'s words', async () => {
    const c = collect();
    const h = await backend.protect(pair('web01'), c.events, audit().ctx);
    await until(() => c.cycles.length >= 2, 60_000, () => `2 cycles (have ${c.cycles.length})`);
    const destroyed = await x.xl('b', ['destroy', 'web01--incoming']);
    assert.equal(destroyed.code, 0, destroyed.stderr);
    const final = await h.ended;
    assert.deepEqual([final.state, final.reasonCode], ['unprotected', 'secondary-lost'], JSON.stringify(final));
    const e = c.failovers.at(-1);
    assert.equal(e?.survivor, 'primary');
    assert.match(e?.detail ?? '', /Backup failed\? resuming domain at primary.*(reading|sending) data fails/);
    assert.ok((e?.lastCheckpointSeq ?? -1) >= 1);
    assert.match((await x.xl('a', ['list'])).stdout, /^web01\s/m);
    assert.ok(contiguous(c.cycles.map((r) => r.seq)));
  });

  test('failover (secondary verbose through -s): web01 destroyed on a, b takes over; failed-over with the downtime measured from the destroy', async () => {
    const c = collect();
    // With the secondary's xl made verbose through -s (xl remus does not forward -v).
    const spec: PairSpec = { ...pair('web01'), options: { secondaryAddress: x.b.replicationAddress ?? x.b.address, secondaryVerbose: true } };
    const h = await backend.protect(spec, c.events, audit().ctx);
    await until(() => c.cycles.length >= 2, 60_000, () => `2 cycles (have ${c.cycles.length})`);
    const fo = audit();
    const r = await h.failover(fo.ctx);
    assert.equal(r.state.state, 'failed-over', JSON.stringify(r.state));
    assert.equal(r.event?.survivor, 'secondary');
    assert.equal(r.event?.detectedBy, 'admin');
    assert.match(r.event?.cause ?? '', /measured from the destroy command/);
    assert.ok((r.event?.lastCheckpointSeq ?? -1) >= 1);
    assert.deepEqual([fo.log[0]!.hostId, fo.log[0]!.command], [A.id, 'xl destroy -- web01']);
    assert.match((await x.xl('b', ['list'])).stdout, /^web01\s/m);
    assert.doesNotMatch((await x.xl('a', ['list'])).stdout, /web01/);
  });

  // From here web01 runs on b (it failed over): protection goes from b to a.
  test('xl remus killed on the primary (b): the log just ends, a takes over while b still runs the guest: split brain; keeping the primary destroys a\'s copy', async () => {
    const c = collect();
    const h = await backend.protect(reversed('web01'), c.events, audit().ctx);
    await until(() => c.cycles.length >= 2, 60_000, () => `2 cycles (have ${c.cycles.length})`);
    const run = JSON.parse(readFileSync(path.join(dir, 'xen-runs.json'), 'utf8')) as { runs: { pairId: string; pid: number }[] };
    const pid = run.runs.find((r) => r.pairId === 'p-web01')!.pid;
    const killed = await links.get(B.id)!.exec(['kill', '-9', String(pid)], { timeoutMs: 10_000 });
    assert.equal(killed.code, 0, killed.stderr);
    const final = await h.ended;
    assert.deepEqual([final.state, final.reasonCode], ['error', 'split-brain'], JSON.stringify(final));
    assert.equal(c.failovers.at(-1)?.survivor, 'both');
    assert.match(c.failovers.at(-1)?.cause ?? '', /no exit reason/);
    assert.match((await x.xl('a', ['list'])).stdout, /^web01\s/m);
    assert.match((await x.xl('b', ['list'])).stdout, /^web01\s/m);
    const keep = audit();
    const after = await h.keep!('primary', keep.ctx);
    assert.equal(after.state, 'unprotected');
    assert.deepEqual(keep.log.map((k) => [k.hostId, k.command]), [[A.id, 'xl destroy -- web01']]);
    assert.doesNotMatch((await x.xl('a', ['list'])).stdout, /web01/);
    assert.match((await x.xl('b', ['list'])).stdout, /^web01\s/m);
  });

  test('the primary host (b) dies, every process and its sshd: the tail cannot reconnect, a has taken over: failed-over, primary lost', async () => {
    const c = collect();
    const h = await backend.protect(reversed('web01'), c.events, audit().ctx);
    await until(() => c.cycles.length >= 2, 60_000, () => `2 cycles (have ${c.cycles.length})`);
    await x.killHost('b');
    const final = await h.ended;
    assert.deepEqual([final.state, final.reasonCode], ['failed-over', 'primary-lost'], JSON.stringify(final));
    assert.equal(c.failovers.at(-1)?.survivor, 'secondary');
    assert.equal(c.failovers.at(-1)?.detectedBy, 'secondary');
    assert.match((await x.xl('a', ['list'])).stdout, /^web01\s/m);
    const seqs = c.cycles.map((r) => r.seq);
    assert.ok(contiguous(seqs), seqs.join(','));
  });
});
