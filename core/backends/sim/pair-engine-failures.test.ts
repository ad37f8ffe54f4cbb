// Failure semantics of the checkpoint engine (core/colo), run for real between two SimDomains over loopback TCP
// (xen-colo.md §1.5 "secondary buffering", §2.8 failover, §2.9 Remus): a partial checkpoint is never applied,
// a lost secondary leaves the primary running unprotected, a broken initial copy leaves nothing to run, and bad
// bytes from the secondary end protection cleanly.

import { test, describe } from 'node:test';
import assert from 'node:assert/strict';
import type { CheckpointTrigger, ReplicationMode } from '../../colo/types.js';
import { encodeCheckpointState, CheckpointState, LibxcRecord } from '../../stream/index.js';
import { type Rig, ScriptedTriggers, type WireItem, label, startRig, waitFor, withTimeout } from './test-support/engine-rig.js';

const timers = (n: number): CheckpointTrigger[] => Array<CheckpointTrigger>(n).fill('timer');

/**
 * Starts a pair whose forward link is cut `bytesIn` bytes after the item `at` picks. The bytes before the cut
 * reach the secondary (checked through its socket's byte count) before both sockets are destroyed.
 */
async function startWithCut(mode: ReplicationMode, checkpoints: number, at: (item: WireItem) => boolean, bytesIn: number, onSuspend?: (seq: number, rig: Rig) => void): Promise<{ rig: Rig; delivered: Promise<boolean> }> {
  const ref: { rig?: Rig } = {};
  let resolveDelivered: (ok: boolean) => void = () => {};
  const delivered = new Promise<boolean>((r) => (resolveDelivered = r));
  const rig = await startRig({
    mode,
    triggers: new ScriptedTriggers(timers(checkpoints), 10),
    pageCount: 512,
    svmWorkload: false,
    svmNoise: 0,
    forward: {
      keepRaw: true,
      cutPlan: (item) => (at(item) ? item.end + bytesIn : undefined),
      onCut: (cutAt) => {
        const r = ref.rig!;
        waitFor(() => r.secondarySocket.bytesRead >= cutAt, 3000, 'the bytes before the cut to reach the secondary')
          .then(() => resolveDelivered(true), () => resolveDelivered(false))
          .finally(() => r.cutLink());
      },
    },
    primary: { onSuspend: (seq) => onSuspend?.(seq, ref.rig!) },
  });
  ref.rig = rig;
  return { rig, delivered };
}

void describe('a partial checkpoint is never applied', () => {
  for (const mode of ['colo', 'remus'] as const) {
    void test(`${mode}: link cut inside checkpoint 4's PAGE_DATA → secondary takes over with checkpoint 3's memory`, async () => {
      const K = 4;
      const digests = new Map<number, string>();
      const devices = new Map<number, Buffer>();
      let boundaries = 0;
      // COLO's checkpoint k starts with the k-th NEW; Remus's right after the k-th CHECKPOINT_END (the initial copy's
      // is the first). PAGE_DATA follows immediately in both.
      const startOfK = (item: WireItem): boolean => {
        if (mode === 'colo' ? label(item) === 'CHECKPOINT_STATE(NEW)' : item.name === 'CHECKPOINT_END') boundaries++;
        return boundaries === K && (mode === 'colo' ? item.name === 'CHECKPOINT_STATE' : item.name === 'CHECKPOINT_END');
      };
      const { rig, delivered } = await startWithCut(mode, K + 5, startOfK, 2048, (seq, r) => {
        digests.set(seq, r.pd.memoryDigest());
        devices.set(seq, Buffer.from(r.pd.getDeviceState()));
      });
      try {
        const [pExit, sExit] = await rig.exits(8000);
        assert.ok(await withTimeout(delivered, 4000, 'the cut'), 'the secondary received the bytes up to the cut');
        assert.deepEqual({ kind: sExit.kind, lastSeq: sExit.kind === 'setup-failed' ? undefined : sExit.lastSeq }, { kind: 'took-over', lastSeq: K - 1 });
        // COLO commits on SVM_READY, which never came; Remus commits once written (xen-colo.md §2.9), so its primary
        // may count checkpoint K although the backup never got all of it.
        if (mode === 'colo') assert.equal(pExit.lastSeq, K - 1);
        else assert.ok(pExit.lastSeq >= K - 1, `primary lastSeq ${pExit.lastSeq}`);

        // The cut really fell inside checkpoint K's first PAGE_DATA record, with more of it still to come.
        const raw = rig.forwardTap.rawBytes();
        const cutAt = rig.forwardTap.cutAt!;
        const recordAt = cutAt - 2048;
        assert.equal(raw.readUInt32LE(recordAt), LibxcRecord.PAGE_DATA, 'the record at the cut is PAGE_DATA');
        assert.ok(recordAt + 8 + raw.readUInt32LE(recordAt + 4) > cutAt, 'the PAGE_DATA record extends past the cut');
        assert.equal(rig.secondarySocket.bytesRead, cutAt, 'the secondary got every byte up to the cut, none after');

        // The SVM has exactly checkpoint K-1's memory and device state; checkpoint K would have changed it.
        assert.notEqual(digests.get(K), digests.get(K - 1), 'checkpoint K changed memory, so applying any of it shows');
        assert.equal(rig.sd.memoryDigest(), digests.get(K - 1), 'SVM memory is checkpoint K-1, untouched by the partial one');
        assert.deepEqual(Buffer.from(rig.sd.getDeviceState()), devices.get(K - 1));
        assert.equal(rig.sd.running, true, 'the secondary runs the guest after taking over');
        assert.equal(rig.takeovers.length, 1);
        assert.equal(rig.takeovers[0]!.survivor, 'secondary');
        assert.equal(rig.takeovers[0]!.detectedBy, 'secondary');
        assert.equal(rig.takeovers[0]!.lastCheckpointSeq, K - 1);
      } finally {
        rig.dispose();
      }
    });
  }
});

void describe('secondary lost', () => {
  void test('COLO, between checkpoints: the primary resumes unprotected at the next checkpoint', async () => {
    const triggers = new ScriptedTriggers(timers(3), 10);
    const rig = await startRig({ mode: 'colo', triggers, pageCount: 256, svmWorkload: true });
    try {
      await rig.waitCycles(4);
      assert.equal(rig.states[rig.states.length - 1]!.state, 'protected');
      rig.secondary.destroy();
      triggers.push('timer');
      const [pExit, sExit] = await rig.exits();
      assert.equal(sExit.kind, 'destroyed');
      assert.equal(pExit.kind, 'secondary-lost');
      assert.equal(pExit.lastSeq, 3);
      assert.equal(rig.pd.running, true, 'the guest runs on the primary');
      const last = rig.states[rig.states.length - 1]!;
      assert.equal(last.state, 'unprotected');
      assert.equal(last.reasonCode, 'secondary-lost');
      assert.ok(last.reason && last.reason.length > 0);
      assert.equal(rig.failovers.length, 1);
      assert.deepEqual(
        { survivor: rig.failovers[0]!.survivor, detectedBy: rig.failovers[0]!.detectedBy, last: rig.failovers[0]!.lastCheckpointSeq },
        { survivor: 'primary', detectedBy: 'primary', last: 3 },
      );
      assert.ok(rig.failovers[0]!.guestDowntimeMs >= 0);
    } finally {
      rig.dispose();
    }
  });

  void test('COLO, while the primary is paused mid-checkpoint: the guest is resumed', async () => {
    const rig = await startRig({
      mode: 'colo',
      triggers: new ScriptedTriggers(timers(6), 10),
      pageCount: 256,
      svmWorkload: true,
      primary: {
        onSuspend: (seq) => {
          if (seq === 3) setImmediate(() => rig.secondary.destroy());
        },
      },
    });
    try {
      const [pExit] = await rig.exits();
      assert.equal(pExit.kind, 'secondary-lost');
      assert.equal(pExit.lastSeq, 2);
      assert.equal(rig.pd.running, true, 'the primary resumed the guest it had paused for checkpoint 3');
      assert.deepEqual(rig.cycles.map((c) => [c.seq, c.outcome]), [[0, 'committed'], [1, 'committed'], [2, 'committed'], [3, 'failed']], 'checkpoint 3 is on record, as failed');
      assert.ok(rig.cycles[3]!.primaryPauseMs > 0, 'the failed checkpoint keeps the pause it caused');
      const last = rig.states[rig.states.length - 1]!;
      assert.deepEqual([last.state, last.reasonCode], ['unprotected', 'secondary-lost']);
      assert.equal(rig.failovers.length, 1);
      assert.equal(rig.failovers[0]!.survivor, 'primary');
      assert.equal(rig.failovers[0]!.lastCheckpointSeq, 2);
      assert.ok(rig.failovers[0]!.guestDowntimeMs >= 0);
    } finally {
      rig.dispose();
    }
  });

  void test('Remus: the primary notices on its next write and runs on unprotected', async () => {
    const triggers = new ScriptedTriggers(timers(3), 10);
    const rig = await startRig({ mode: 'remus', triggers, pageCount: 256 });
    try {
      await rig.waitCycles(4);
      rig.secondary.destroy();
      // Remus never reads the back channel: only writing tells the primary, so a few more checkpoints may go.
      triggers.push(...timers(10));
      const [pExit] = await rig.exits();
      assert.equal(pExit.kind, 'secondary-lost');
      assert.equal(rig.pd.running, true);
      const last = rig.states[rig.states.length - 1]!;
      assert.deepEqual([last.state, last.reasonCode], ['unprotected', 'secondary-lost']);
      assert.equal(rig.failovers[0]?.survivor, 'primary');
    } finally {
      rig.dispose();
    }
  });
});

void describe('initial copy broken', () => {
  void test('cut during the initial copy → secondary setup-failed (nothing to run), primary runs on', async () => {
    const { rig, delivered } = await startWithCut('colo', 3, (item) => item.name === 'libxc-header', 300_000);
    try {
      const [pExit, sExit] = await rig.exits(8000);
      assert.ok(await withTimeout(delivered, 4000, 'the cut'), 'the secondary received part of the initial copy');
      assert.equal(sExit.kind, 'setup-failed');
      assert.equal(rig.sd.running, false, 'the SVM never ran');
      assert.equal(rig.takeovers.length, 0);
      assert.equal(pExit.kind, 'secondary-lost');
      assert.equal(pExit.lastSeq, -1);
      assert.equal(rig.pd.running, true);
      assert.deepEqual(rig.cycles.filter((c) => c.outcome === 'committed'), [], 'no cycle committed');
      // The live copy may have reached its final pass (the guest paused) before the break was seen: then that
      // pass is on record as the failed initial cycle.
      assert.ok(rig.cycles.every((c) => c.seq === 0 && c.trigger === 'initial' && c.outcome === 'failed'));
      assert.ok(rig.states.some((s) => s.state === 'syncing'), 'the copy was under way');
      const last = rig.states[rig.states.length - 1]!;
      assert.deepEqual([last.state, last.reasonCode], ['unprotected', 'secondary-lost']);
      assert.equal(rig.failovers[0]?.lastCheckpointSeq, -1);
    } finally {
      rig.dispose();
    }
  });
});

const GARBAGE: Array<{ what: string; bytes: Buffer; reason: RegExp }> = [
  { what: 'random bytes', bytes: Buffer.alloc(64, 0xab), reason: /claims \d+ bytes|limit/ },
  {
    what: 'SVM_READY where SVM_SUSPENDED is due',
    bytes: Buffer.concat(encodeCheckpointState(CheckpointState.SVM_READY)),
    reason: /invalid section: 2, expected: 1/,
  },
  {
    what: 'a forward-stream record on the back channel',
    bytes: Buffer.from([0x0a, 0, 0, 0, 8, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0]),
    reason: /cannot appear on the back channel/,
  },
  {
    what: 'CHECKPOINT_STATE with an unknown id',
    bytes: Buffer.from([5, 0, 0, 0, 4, 0, 0, 0, 9, 0, 0, 0, 0, 0, 0, 0]),
    reason: /CHECKPOINT_STATE id 9/,
  },
];

/** Three checkpoints, then `bytes` straight into the back channel's socket, then one more trigger. */
async function corruptBackChannel(bytes: Buffer): Promise<Rig> {
  const triggers = new ScriptedTriggers(timers(3), 10);
  const rig = await startRig({ mode: 'colo', triggers, pageCount: 256, svmWorkload: true });
  try {
    await rig.waitCycles(4);
    rig.secondarySocket.write(bytes);
    triggers.push('timer');
    await withTimeout(rig.primaryRun, 5000, 'the primary to give up');
    return rig;
  } catch (err) {
    rig.dispose();
    throw err;
  }
}

void describe('corrupt back channel', () => {
  for (const g of GARBAGE) {
    void test(`${g.what}: the primary ends unprotected with the reason, guest resumed`, async () => {
      const rig = await corruptBackChannel(g.bytes);
      try {
        const pExit = await rig.primaryRun;
        assert.equal(pExit.kind, 'secondary-lost');
        assert.equal(pExit.lastSeq, 3);
        assert.match(pExit.kind === 'secondary-lost' ? pExit.reason : '', g.reason);
        assert.equal(rig.pd.running, true, 'the guest paused for checkpoint 4 runs again');
        const last = rig.states[rig.states.length - 1]!;
        assert.equal(last.state, 'unprotected');
        assert.equal(last.reasonCode, 'stream-error');
        assert.match(last.reason ?? '', g.reason);
        assert.equal(rig.failovers.length, 1);
        assert.equal(rig.failovers[0]!.survivor, 'primary');
        assert.equal(rig.failovers[0]!.lastCheckpointSeq, 3);
      } finally {
        rig.dispose();
      }
    });
  }

  void test('after giving up, the primary closes the stream, so the secondary fails over instead of waiting forever', async () => {
    // xen-colo.md §2.8: xl remus exits after "Backup failed? resuming domain at primary", which closes both channels;
    // the secondary then sees the broken stream and takes over. Its copy must not hang suspended mid-checkpoint.
    const rig = await corruptBackChannel(GARBAGE[0]!.bytes);
    try {
      const sExit = await withTimeout(rig.secondaryRun, 3000, 'the secondary to notice that the primary gave up');
      assert.equal(sExit.kind, 'took-over');
      assert.equal(rig.sd.running, true);
    } finally {
      rig.dispose();
    }
  });
});
