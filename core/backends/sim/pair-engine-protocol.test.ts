// What the checkpoint engine (core/colo) puts on the wire, decoded by the real StreamDecoder from a tap on each
// sending side, against xen-colo.md §1.3, §1.5, §1.6 and §2.9; and the CycleRecords it reports, against those
// same bytes. Engines run for real between two SimDomains over loopback TCP.

import { test, describe } from 'node:test';
import assert from 'node:assert/strict';
import type { CheckpointTrigger, CycleRecord, PhaseName } from '../../colo/types.js';
import { PHASE_ORDER } from '../../colo/types.js';
import { type Rig, ScriptedTriggers, type WireItem, forwardCycles, label, shape, startRig, waitFor } from './test-support/engine-rig.js';

const SCRIPT: CheckpointTrigger[] = ['miscompare', 'timer', 'timeout', 'manual', 'miscompare', 'timer', 'manual', 'timeout'];

const INITIAL_FORWARD = [
  'xl-header', 'libxl-header', 'LIBXC_CONTEXT', 'libxc-header',
  'X86_CPUID_POLICY', 'X86_MSR_POLICY', 'STATIC_DATA_END',
  'PAGE_DATA*', 'X86_TSC_INFO', 'HVM_CONTEXT', 'HVM_PARAMS', 'CHECKPOINT',
  'EMULATOR_CONTEXT', 'CHECKPOINT_END',
];
const LIBXC_AND_LIBXL_TAIL = ['PAGE_DATA*', 'X86_TSC_INFO', 'HVM_CONTEXT', 'HVM_PARAMS', 'CHECKPOINT', 'EMULATOR_CONTEXT', 'CHECKPOINT_END'];
/** xen-colo.md §1.6, forward. */
const COLO_FORWARD_CYCLE = ['CHECKPOINT_STATE(NEW)', ...LIBXC_AND_LIBXL_TAIL];
/** xen-colo.md §1.6 / §1.3, back. */
const COLO_BACK_CYCLE = ['CHECKPOINT_STATE(SVM_SUSPENDED)', 'CHECKPOINT_DIRTY_PFN_LIST', 'CHECKPOINT_STATE(SVM_READY)', 'CHECKPOINT_STATE(SVM_RESUMED)'];

async function runScripted(mode: 'colo' | 'remus'): Promise<Rig> {
  const rig = await startRig({
    mode,
    triggers: new ScriptedTriggers(SCRIPT, 10),
    pageCount: 512,
    svmWorkload: mode === 'colo',
    svmNoise: mode === 'colo' ? 1 : 0,
    secondaryPause: true,
  });
  try {
    await rig.waitCycles(SCRIPT.length + 1);
    if (mode === 'remus') {
      // Remus counts a checkpoint once written: let the backup finish applying the last one.
      await waitFor(() => rig.secondaryCycles.length >= SCRIPT.length + 1, 5000, 'the backup to apply every checkpoint');
    }
    // Stopped while the primary waits for a trigger that never comes: no partial cycle on the wire.
    await rig.stop();
    assert.equal(rig.forwardTap.decodeError, undefined, `forward stream did not decode: ${rig.forwardTap.decodeError?.message}`);
    assert.equal(rig.backTap.decodeError, undefined, `back channel did not decode: ${rig.backTap.decodeError?.message}`);
    return rig;
  } catch (err) {
    rig.dispose();
    throw err;
  }
}

void describe('engine protocol order on the wire', () => {
  void test('COLO: forward and back channel records per cycle exactly as xen-colo.md §1.6, in causal order', async () => {
    const rig = await runScripted('colo');
    try {
      const fwd = forwardCycles(rig.forwardTap.items);
      assert.equal(fwd.length, SCRIPT.length + 1, `forward cycles: ${fwd.map((c) => shape(c).join(' ')).join(' | ')}`);
      assert.deepEqual(shape(fwd[0]!), INITIAL_FORWARD);
      for (let i = 1; i < fwd.length; i++) assert.deepEqual(shape(fwd[i]!), COLO_FORWARD_CYCLE, `forward cycle ${i}`);
      // Every steady cycle carried pages (both guests write), so PAGE_DATA* above is not vacuous.
      for (let i = 1; i < fwd.length; i++) assert.ok(fwd[i]!.some((x) => x.name === 'PAGE_DATA'), `cycle ${i} has PAGE_DATA`);

      const back = rig.backTap.items.map(label);
      const expectedBack = ['banner', 'CHECKPOINT_STATE(SVM_READY)', 'CHECKPOINT_STATE(SVM_RESUMED)'];
      for (let i = 0; i < SCRIPT.length; i++) expectedBack.push(...COLO_BACK_CYCLE);
      assert.deepEqual(back, expectedBack);

      // Both channels interleaved in write order: each step answers the one before (§2.4, §2.5), so this order is
      // forced; a primary that sent pages before the SVM's dirty list, or resumed before SVM_READY, breaks it.
      const merged = shape(rig.wire);
      const expected = ['banner', ...INITIAL_FORWARD, 'CHECKPOINT_STATE(SVM_READY)', 'CHECKPOINT_STATE(SVM_RESUMED)'];
      for (let i = 0; i < SCRIPT.length; i++) {
        expected.push(
          'CHECKPOINT_STATE(NEW)', 'CHECKPOINT_STATE(SVM_SUSPENDED)', 'CHECKPOINT_DIRTY_PFN_LIST',
          ...LIBXC_AND_LIBXL_TAIL, 'CHECKPOINT_STATE(SVM_READY)', 'CHECKPOINT_STATE(SVM_RESUMED)',
        );
      }
      assert.deepEqual(merged, expected);
    } finally {
      rig.dispose();
    }
  });

  void test('Remus: no CHECKPOINT_STATE(NEW) and nothing on the back channel after the banner', async () => {
    const rig = await runScripted('remus');
    try {
      const fwd = forwardCycles(rig.forwardTap.items);
      assert.equal(fwd.length, SCRIPT.length + 1);
      assert.deepEqual(shape(fwd[0]!), INITIAL_FORWARD);
      for (let i = 1; i < fwd.length; i++) assert.deepEqual(shape(fwd[i]!), LIBXC_AND_LIBXL_TAIL, `forward cycle ${i}`);
      assert.ok(!rig.forwardTap.items.some((x) => x.name === 'CHECKPOINT_STATE'), 'Remus sends no CHECKPOINT_STATE');
      assert.deepEqual(rig.backTap.items.map(label), ['banner']);
      assert.equal(rig.backTap.written, 54, 'the back channel carries exactly the 54-byte banner');
    } finally {
      rig.dispose();
    }
  });
});

function pfnsOf(items: readonly WireItem[]): number[] {
  return items.flatMap((i) => (i.name === 'PAGE_DATA' ? i.pfns ?? [] : []));
}

function assertPhases(r: CycleRecord, expected: readonly PhaseName[]): void {
  const names = r.phases.map((p) => p.name);
  assert.deepEqual(names, expected, `cycle ${r.seq} phases`);
  let at = r.phases[0]!.startMs;
  assert.ok(at >= 0, `cycle ${r.seq}: first phase starts at ${at}`);
  for (const p of r.phases) {
    assert.ok(p.durationMs >= 0, `cycle ${r.seq}: ${p.name} lasted ${p.durationMs} ms`);
    // Phases are back to back: each starts when the one before ends.
    assert.ok(Math.abs(p.startMs - at) < 1e-6, `cycle ${r.seq}: ${p.name} starts at ${p.startMs}, previous ended at ${at}`);
    at = p.startMs + p.durationMs;
  }
}

/** The primary is paused from inside `suspend` to inside `resume`: the phases in between bound its pause. */
function assertPause(r: CycleRecord, pausedFrom: PhaseName, pausedUntil: PhaseName): void {
  const from = r.phases.findIndex((p) => p.name === pausedFrom);
  const until = r.phases.findIndex((p) => p.name === pausedUntil);
  assert.ok(from >= 0 && until > from, `cycle ${r.seq}: has ${pausedFrom} before ${pausedUntil}`);
  const inside = r.phases.slice(from, until).reduce((s, p) => s + p.durationMs, 0);
  const withResume = inside + r.phases[until]!.durationMs;
  // Lower bound loose (a GC pause between two statements); upper bound exact: the guest resumes inside `resume`.
  assert.ok(r.primaryPauseMs >= inside - 5, `cycle ${r.seq}: pause ${r.primaryPauseMs} ms < phases ${inside} ms`);
  assert.ok(r.primaryPauseMs <= withResume + 1e-3, `cycle ${r.seq}: pause ${r.primaryPauseMs} ms > phases ${withResume} ms`);
}

void describe('engine CycleRecords against the wire', () => {
  void test('COLO: seq, trigger, phases, pause, pages and bytes agree with what crossed the wire', async () => {
    const t0 = Date.now();
    const rig = await runScripted('colo');
    try {
      const records = rig.cycles;
      assert.deepEqual(records.map((r) => r.seq), [...SCRIPT.keys(), SCRIPT.length]);
      assert.deepEqual(records.map((r) => r.trigger), ['initial', ...SCRIPT]);
      const fwd = forwardCycles(rig.forwardTap.items);
      const lists = rig.backTap.items.filter((i) => i.name === 'CHECKPOINT_DIRTY_PFN_LIST');
      assert.equal(lists.length, SCRIPT.length);
      let previousEnd = 0;
      let previousStart = t0;
      for (const r of records) {
        assert.equal(r.mode, 'colo');
        assert.equal(r.outcome, 'committed');
        assert.equal(r.provenance, 'measured');
        assert.ok(r.startedAt >= previousStart && r.startedAt <= Date.now(), `cycle ${r.seq}: startedAt ${r.startedAt}`);
        previousStart = r.startedAt;
        const items = fwd[r.seq]!;
        // bytesSent counts every byte of the cycle, headers and padding included, and nothing of another cycle.
        const end = items[items.length - 1]!.end;
        assert.equal(r.bytesSent, end - previousEnd, `cycle ${r.seq}: bytesSent vs the wire`);
        previousEnd = end;
        const sent = pfnsOf(items);
        assert.equal(r.pagesSent, sent.length, `cycle ${r.seq}: pagesSent vs PAGE_DATA pfns`);
        if (r.seq === 0) {
          assertPhases(r, ['transfer', 'suspend', 'transfer', 'device', 'svm-load', 'resume']);
          assertPause(r, 'suspend', 'resume');
          assert.ok(r.pagesSent >= rig.pd.pageCount, 'the initial copy sends every page at least once');
          assert.equal(new Set(sent).size, rig.pd.pageCount, 'the initial copy covers every pfn');
          assert.equal(r.secondaryDirtyPages, undefined);
          assert.equal(r.secondaryPauseMs, undefined, 'cycle 0: the secondary was never paused');
          continue;
        }
        assertPhases(r, PHASE_ORDER);
        assertPause(r, 'suspend', 'resume');
        // The pages sent are the union of the primary's own dirty pages and the SVM's list, ascending, once each.
        const list = lists[r.seq - 1]!.pfns!;
        assert.equal(r.secondaryDirtyPages, list.length, `cycle ${r.seq}: secondaryDirtyPages vs the back channel`);
        assert.ok(sent.every((p, i) => i === 0 || p > sent[i - 1]!), `cycle ${r.seq}: pfns ascending and unique`);
        const sentSet = new Set(sent);
        for (const p of list) assert.ok(sentSet.has(p), `cycle ${r.seq}: SVM-dirty pfn ${p} was not sent`);
        assert.ok(r.pagesSent >= r.dirtyPages && r.pagesSent >= list.length);
        assert.ok(r.pagesSent <= r.dirtyPages + list.length, `cycle ${r.seq}: ${r.pagesSent} > ${r.dirtyPages} + ${list.length}`);
        assert.ok(r.secondaryPauseMs !== undefined && r.secondaryPauseMs >= 0, `cycle ${r.seq}: secondaryPauseMs ${r.secondaryPauseMs}`);
      }
      // Nothing else went forward: the records account for the whole stream.
      assert.equal(records.reduce((s, r) => s + r.bytesSent, 0), rig.forwardTap.written);
      // The secondary applied exactly what was sent.
      assert.deepEqual(rig.secondaryCycles.map((c) => c.pagesApplied), records.map((r) => r.pagesSent));
      assert.deepEqual(rig.secondaryCycles.slice(1).map((c) => c.dirtyPages), records.slice(1).map((r) => r.secondaryDirtyPages));
    } finally {
      rig.dispose();
    }
  });

  void test('Remus: resume comes before the device records, and bytes and pages agree with the wire', async () => {
    const rig = await runScripted('remus');
    try {
      const records = rig.cycles;
      assert.deepEqual(records.map((r) => r.trigger), ['initial', ...SCRIPT]);
      const fwd = forwardCycles(rig.forwardTap.items);
      let previousEnd = 0;
      for (const r of records) {
        assert.equal(r.mode, 'remus');
        assert.equal(r.secondaryDirtyPages, undefined);
        assert.equal(r.secondaryPauseMs, undefined, 'a Remus backup never runs, so it has no pause');
        const items = fwd[r.seq]!;
        const end = items[items.length - 1]!.end;
        assert.equal(r.bytesSent, end - previousEnd, `cycle ${r.seq}: bytesSent vs the wire`);
        previousEnd = end;
        assert.equal(r.pagesSent, pfnsOf(items).length);
        if (r.seq === 0) {
          assertPhases(r, ['transfer', 'suspend', 'transfer', 'device', 'resume']);
          assertPause(r, 'suspend', 'resume');
        } else {
          // xen-colo.md §2.9: the guest resumes once libxc's part is out; the libxl records follow.
          assertPhases(r, ['wait', 'suspend', 'transfer', 'resume', 'device']);
          assertPause(r, 'suspend', 'resume');
          assert.equal(r.pagesSent, r.dirtyPages);
        }
      }
      assert.equal(records.reduce((s, r) => s + r.bytesSent, 0), rig.forwardTap.written);
      assert.deepEqual(rig.secondaryCycles.map((c) => c.seq), records.map((r) => r.seq));
      assert.deepEqual(rig.secondaryCycles.map((c) => c.pagesApplied), records.map((r) => r.pagesSent));
    } finally {
      rig.dispose();
    }
  });
});
