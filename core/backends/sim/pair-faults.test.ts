// SimPair (pair.ts) under the faults it can inject and the admin actions it offers: each must end in the state Xen
// would reach (xen-colo.md §2.8, §2.9). Real engines, real SimDomains, a real loopback connection.

import { test, describe } from 'node:test';
import assert from 'node:assert/strict';
import type { CycleRecord, FailoverEvent, ProtectionState } from '../../colo/types.js';
import { SimPair, type SimPairOptions } from './pair.js';
import { PRESETS, STOP_COST_MS_PER_VCPU } from './presets.js';
import { median, waitFor, withTimeout } from './test-support/engine-rig.js';

const SMALL: SimPairOptions = { preset: 'web-server', pageCount: 1024, link: 'unlimited', stopCost: false, maxWaitMs: 200 };

interface Watched {
  pair: SimPair;
  cycles: CycleRecord[];
  states: ProtectionState[];
  failovers: FailoverEvent[];
}

async function startPair(options: SimPairOptions = {}): Promise<Watched> {
  const pair = new SimPair({ ...SMALL, ...options });
  const w: Watched = { pair, cycles: [], states: [], failovers: [] };
  pair.subscribe({
    cycle: (r) => w.cycles.push(r),
    state: (s) => w.states.push(s),
    failover: (e) => w.failovers.push(e),
  });
  await withTimeout(pair.start(), 5000, 'the pair to start');
  return w;
}

/** Waits until `n` more checkpoints (not the initial copy) have committed. */
async function moreCycles(w: Watched, n: number, ms = 10_000): Promise<void> {
  const target = w.cycles.length + n;
  await waitFor(() => w.cycles.length >= target, ms, () => `${n} more checkpoints (have ${w.cycles.length}, state ${w.pair.state.state} ${w.pair.state.reasonCode ?? ''})`);
}

async function protectedFor(w: Watched, checkpoints = 3): Promise<void> {
  await waitFor(() => w.cycles.some((c) => c.seq === 0), 10_000, () => `the initial copy (state ${w.pair.state.state})`);
  await moreCycles(w, checkpoints);
  assert.equal(w.pair.state.state, 'protected');
}

void describe('SimPair faults', () => {
  for (const mode of ['colo', 'remus'] as const) {
    void test(`${mode}: kill-primary → failed-over, the secondary runs the guest from its last checkpoint`, async () => {
      const w = await startPair({ mode, remusIntervalMs: 40 });
      try {
        await protectedFor(w);
        const committed = w.cycles[w.cycles.length - 1]!.seq;
        w.pair.inject('kill-primary');
        assert.equal(w.pair.state.state, 'failing-over');
        const outcome = await withTimeout(w.pair.outcome(), 5000, 'the pair to settle');
        assert.equal(outcome.state.state, 'failed-over');
        assert.equal(outcome.state.reasonCode, 'primary-lost');
        assert.equal(outcome.primary.kind, 'killed');
        assert.equal(outcome.secondary.kind, 'took-over');
        assert.equal(w.failovers.length, 1);
        const e = w.failovers[0]!;
        assert.equal(e.survivor, 'secondary');
        assert.equal(e.detectedBy, 'secondary');
        assert.ok(e.lastCheckpointSeq >= committed, `took over from ${e.lastCheckpointSeq}, ${committed} was committed`);
        assert.ok(e.guestDowntimeMs >= 0);
        assert.equal(w.pair.secondaryDomain.running, true, 'the secondary copy runs');
        assert.deepEqual(w.states.slice(-2).map((s) => s.state), ['failing-over', 'failed-over']);
      } finally {
        await withTimeout(w.pair.dispose(), 5000, 'dispose()');
      }
    });
  }

  void test('kill-secondary → unprotected (secondary-lost), the guest runs on the primary only', async () => {
    const w = await startPair();
    try {
      await protectedFor(w);
      w.pair.inject('kill-secondary');
      const outcome = await withTimeout(w.pair.outcome(), 5000, 'the pair to settle');
      assert.equal(outcome.state.state, 'unprotected');
      assert.equal(outcome.state.reasonCode, 'secondary-lost');
      assert.equal(outcome.primary.kind, 'secondary-lost');
      assert.equal(outcome.secondary.kind, 'destroyed');
      assert.equal(w.pair.primaryDomain.running, true);
      assert.equal(w.failovers.length, 1);
      assert.equal(w.failovers[0]!.survivor, 'primary');
    } finally {
      await withTimeout(w.pair.dispose(), 5000, 'dispose()');
    }
  });

  void test('kill-secondary while a checkpoint is still crossing a paced link → unprotected, not a silent hang', async () => {
    // Remus every 20 ms over a link slowed to 100 Mbit/s, with ~400 dirty pages a checkpoint (1.6 MB, ~130 ms on
    // the wire): when the secondary dies, a checkpoint's pages are most likely queued in the link, more than it
    // takes before holding the writer back, and the primary must learn of the death from the link as it would
    // from a socket.
    const w = await startPair({ mode: 'remus', remusIntervalMs: 20, link: '1gbe', workload: { dirtyPagesPerSec: 20_000, workingSetPages: 1000 } });
    try {
      await protectedFor(w, 2);
      w.pair.inject('slow-link');
      await moreCycles(w, 2);
      assert.ok(w.cycles.at(-1)!.bytesSent > 500_000, `a checkpoint takes a while on the slow link (${w.cycles.at(-1)!.bytesSent} B)`);
      w.pair.inject('kill-secondary');
      const outcome = await withTimeout(w.pair.outcome(), 5000, 'the pair to settle');
      assert.equal(outcome.state.state, 'unprotected');
      assert.equal(outcome.state.reasonCode, 'secondary-lost');
      assert.equal(w.pair.primaryDomain.running, true, 'the guest runs on');
    } finally {
      await withTimeout(w.pair.dispose(), 5000, 'dispose()');
    }
  });

  void test('cut-link → error (split-brain): both copies run', async () => {
    const w = await startPair();
    try {
      await protectedFor(w);
      w.pair.inject('cut-link');
      const outcome = await withTimeout(w.pair.outcome(), 5000, 'the pair to settle');
      assert.equal(outcome.state.state, 'error');
      assert.equal(outcome.state.reasonCode, 'split-brain');
      assert.equal(outcome.primary.kind, 'secondary-lost');
      assert.equal(outcome.secondary.kind, 'took-over');
      assert.ok(w.pair.primaryDomain.running && w.pair.secondaryDomain.running, 'both copies run');
      assert.ok(w.failovers.some((e) => e.survivor === 'both'), `failover events: ${JSON.stringify(w.failovers.map((e) => e.survivor))}`);
    } finally {
      await withTimeout(w.pair.dispose(), 5000, 'dispose()');
    }
  });

  void test('slow-link → checkpoints keep committing, with longer primary pauses', async () => {
    const w = await startPair();
    try {
      await protectedFor(w, 4);
      const before = w.cycles.filter((c) => c.seq > 0).map((c) => c.primaryPauseMs);
      const bytesBefore = w.cycles.reduce((s, c) => s + c.bytesSent, 0);
      w.pair.inject('slow-link');
      const from = w.cycles.length;
      await moreCycles(w, 4, 15_000);
      // The first one may have been on the wire already when the link slowed down.
      const after = w.cycles.slice(from + 1).map((c) => c.primaryPauseMs);
      assert.ok(after.length >= 3);
      assert.ok(w.cycles.slice(from).every((c) => c.outcome === 'committed' && c.pagesSent > 0));
      assert.ok(w.cycles.reduce((s, c) => s + c.bytesSent, 0) > bytesBefore, 'bytes still flow');
      // COLO resumes only after SVM_READY, so at 100 Mbit/s a cycle of p pages holds the primary for at least
      // p × 4 KiB / 12.5 MB/s (less the link's 16 KiB burst; 64 KiB allowed). A lower bound: a busy machine only adds.
      for (const c of w.cycles.slice(from + 1)) {
        const wireMs = (Math.max(0, c.pagesSent * 4096 - 65536) * 8 / 1e8) * 1000;
        assert.ok(c.primaryPauseMs >= wireMs, `checkpoint ${c.seq}: ${c.pagesSent} pages in ${c.primaryPauseMs.toFixed(1)} ms < ${wireMs.toFixed(1)} ms on the wire`);
      }
      assert.ok(median(after) > median(before), `median pause ${median(after).toFixed(1)} ms after vs ${median(before).toFixed(1)} ms before`);
      assert.ok(['protected', 'degraded'].includes(w.pair.state.state), `state ${w.pair.state.state}`);
      if (w.pair.state.state === 'degraded') assert.equal(w.pair.state.reasonCode, 'slow-checkpoints');
    } finally {
      await withTimeout(w.pair.dispose(), 5000, 'dispose()');
    }
  });

  void test('stall-secondary → degraded (checkpoint-stalled) with the primary paused; unstall → protected', async () => {
    const w = await startPair();
    try {
      await protectedFor(w);
      w.pair.inject('stall-secondary');
      await waitFor(() => w.pair.state.state === 'degraded', 5000, () => `degraded (state ${w.pair.state.state})`);
      assert.equal(w.pair.state.reasonCode, 'checkpoint-stalled');
      assert.match(w.pair.state.reason ?? '', /stalled/);
      assert.equal(w.pair.primaryDomain.running, false, 'the primary sits paused mid-checkpoint');
      const stalledAt = w.cycles.length;
      await new Promise((r) => setTimeout(r, 100));
      assert.equal(w.cycles.length, stalledAt, 'no checkpoint commits while the secondary is stalled');
      w.pair.inject('stall-secondary', false);
      // The stalled checkpoint completes (a pause over slowPauseMs: degraded, slow-checkpoints), then a quick one.
      await waitFor(() => w.pair.state.state === 'protected', 5000, () => `protected again (state ${w.pair.state.state} ${w.pair.state.reasonCode ?? ''})`);
      const stalled = w.cycles[stalledAt]!;
      assert.equal(stalled.outcome, 'committed');
      assert.ok(stalled.primaryPauseMs >= 990, `the stalled checkpoint paused the primary ${stalled.primaryPauseMs.toFixed(0)} ms`);
      await moreCycles(w, 2);
      assert.equal(w.pair.state.state, 'protected');
    } finally {
      await withTimeout(w.pair.dispose(), 5000, 'dispose()');
    }
  });
});

void describe('SimPair admin actions', () => {
  void test('stop() → stopped: the primary runs on, the secondary copy is gone', async () => {
    const w = await startPair();
    try {
      await protectedFor(w);
      const outcome = await withTimeout(w.pair.stop(), 5000, 'stop()');
      assert.equal(outcome.state.state, 'stopped');
      assert.equal(outcome.state.reasonCode, 'stopped-by-admin');
      assert.equal(outcome.primary.kind, 'stopped');
      assert.equal(outcome.secondary.kind, 'destroyed');
      assert.equal(w.pair.primaryDomain.running, true, 'the primary runs');
      // That the secondary copy no longer runs is checked below ('a destroyed copy stops running').
      assert.equal(w.failovers.length, 0, 'a stop is not a failover');
      assert.ok(!w.states.some((s) => s.state === 'unprotected' && s.reasonCode === 'secondary-lost'), 'no spurious secondary-lost');
    } finally {
      await withTimeout(w.pair.dispose(), 5000, 'dispose()');
    }
  });

  void test('failover() → failed-over (failover-by-admin): the secondary runs the guest', async () => {
    const w = await startPair();
    try {
      await protectedFor(w);
      const outcome = await withTimeout(w.pair.failover(), 5000, 'failover()');
      assert.equal(outcome.state.state, 'failed-over');
      assert.equal(outcome.state.reasonCode, 'failover-by-admin');
      assert.equal(outcome.secondary.kind, 'took-over');
      assert.equal(w.pair.secondaryDomain.running, true);
      assert.equal(w.failovers.length, 1);
      assert.equal(w.failovers[0]!.survivor, 'secondary');
      assert.ok(w.failovers[0]!.lastCheckpointSeq >= 3);
      assert.deepEqual(w.states.slice(-2).map((s) => [s.state, s.reasonCode]), [['failing-over', 'failover-by-admin'], ['failed-over', 'failover-by-admin']]);
    } finally {
      await withTimeout(w.pair.dispose(), 5000, 'dispose()');
    }
  });
});

void describe('SimPair vCPU stop cost', () => {
  void test('switched on while protected, every later pause includes vcpus × 4 ms; switched off, it is gone again', async () => {
    const w = await startPair({ mode: 'remus', remusIntervalMs: 5 });
    try {
      await protectedFor(w);
      const stopMs = PRESETS['web-server'].vcpus * STOP_COST_MS_PER_VCPU;
      const quick = w.cycles.filter((c) => c.seq > 0);
      assert.ok(median(quick.map((c) => c.primaryPauseMs)) < stopMs, `without the stop cost the median pause is under ${stopMs} ms`);
      w.pair.setStopCost(true);
      const from = w.cycles.length + 1; // the cycle running now may have suspended before the change
      await moreCycles(w, 4);
      const slow = w.cycles.slice(from);
      // Node's timers count from the event loop's cached clock, which can lag the suspend by up to a millisecond.
      const floor = stopMs - 1;
      assert.ok(slow.length >= 3 && slow.every((c) => c.primaryPauseMs >= floor), `every pause ≥ ${floor} ms: ${slow.map((c) => c.primaryPauseMs.toFixed(1)).join(', ')}`);
      w.pair.setStopCost(false);
      const after = w.cycles.length + 1;
      await moreCycles(w, 6);
      assert.ok(median(w.cycles.slice(after).map((c) => c.primaryPauseMs)) < stopMs, 'the stop cost is gone again');
    } finally {
      await withTimeout(w.pair.dispose(), 5000, 'dispose()');
    }
  });
});

void describe('SimPair: a destroyed copy stops running', () => {
  void test('after stop(), kill-secondary, kill-primary and failover(), the copy that was destroyed is not running', async () => {
    // xen-colo.md §2.8: stop = destroy the SVM; kill-secondary = the secondary host dies; kill-primary = the
    // primary host dies; failover = xl destroy of the PVM. Whoever looks at the domains afterwards must not see the
    // destroyed copy running (for stop(), the brief's "the secondary not running").
    const scenarios: Array<{ name: string; act: (p: SimPair) => Promise<unknown>; gone: 'primaryDomain' | 'secondaryDomain' }> = [
      { name: 'stop()', act: (p) => p.stop(), gone: 'secondaryDomain' },
      { name: 'kill-secondary', act: (p) => { p.inject('kill-secondary'); return p.outcome(); }, gone: 'secondaryDomain' },
      { name: 'kill-primary', act: (p) => { p.inject('kill-primary'); return p.outcome(); }, gone: 'primaryDomain' },
      { name: 'failover()', act: (p) => p.failover(), gone: 'primaryDomain' },
    ];
    const stillRunning: string[] = [];
    for (const sc of scenarios) {
      const w = await startPair();
      try {
        await protectedFor(w, 1);
        await withTimeout(sc.act(w.pair), 5000, sc.name);
        if (w.pair[sc.gone].running) stillRunning.push(`${sc.name}: ${sc.gone}.running is still true (state ${w.pair.state.state})`);
      } finally {
        await withTimeout(w.pair.dispose(), 5000, 'dispose()');
      }
    }
    assert.deepEqual(stillRunning, []);
  });
});
