// Fidelity of the checkpoint engine (core/colo) run for real between two SimDomains over loopback TCP: after every
// checkpoint the secondary's memory equals the primary's memory at suspend time (xen-colo.md §2.4–2.5, §2.9).
// These tests live here rather than in core/colo because they need SimDomain, and core/colo may not import it.

import { test, describe } from 'node:test';
import assert from 'node:assert/strict';
import {
  ScriptedTriggers,
  differingPages,
  forwardCycles,
  pageHashes,
  startRig,
  waitFor,
} from './test-support/engine-rig.js';

const CHECKPOINTS = 24;

void describe('engine fidelity (COLO)', () => {
  void test(`SVM memory equals PVM memory at suspend after each of ${CHECKPOINTS} checkpoints, with both copies writing`, async () => {
    const primaryDigest = new Map<number, string>();
    const primaryPages = new Map<number, string[]>();
    const secondaryDigest = new Map<number, string>();
    /** The SVM's pages when it suspended for checkpoint seq, before anything was applied. */
    const svmAtSuspend = new Map<number, string[]>();
    const triggers = new ScriptedTriggers(Array<'timer'>(CHECKPOINTS).fill('timer'), 12);
    const rig = await startRig({
      mode: 'colo',
      triggers,
      pageCount: 512,
      svmWorkload: true,
      svmNoise: 2,
      secondaryPause: true,
      primary: {
        onSuspend: (seq) => {
          primaryDigest.set(seq, rig.pd.memoryDigest());
          primaryPages.set(seq, pageHashes(rig.pd));
        },
      },
      beforeResume: (seq) => secondaryDigest.set(seq, rig.sd.memoryDigest()),
      onSecondaryStatus: (status, r) => {
        if (status === 'suspended') svmAtSuspend.set(r.secondary.lastCompleteSeq + 1, pageHashes(r.sd));
      },
    });
    try {
      await rig.waitCycles(CHECKPOINTS + 1);
      const [pExit, sExit] = await rig.stop();
      assert.equal(pExit.kind, 'stopped');
      assert.equal(sExit.kind, 'destroyed');

      // The claim itself, for every checkpoint including the initial copy.
      for (let seq = 0; seq <= CHECKPOINTS; seq++) {
        const p = primaryDigest.get(seq);
        const s = secondaryDigest.get(seq);
        assert.ok(p !== undefined && s !== undefined, `checkpoint ${seq}: missing digest (primary ${p}, secondary ${s})`);
        assert.equal(s, p, `checkpoint ${seq}: SVM memory differs from the PVM's at suspend`);
      }

      // The test could fail: the SVM really wrote pages the PVM did not, so ignoring its dirty list would diverge.
      const steady = rig.cycles.filter((r) => r.seq > 0);
      assert.equal(steady.length, CHECKPOINTS);
      assert.ok(steady.every((r) => r.dirtyPages > 0), 'the primary guest dirtied pages every cycle');
      assert.ok(steady.some((r) => (r.secondaryDirtyPages ?? 0) > 0), 'the SVM reported dirty pages');
      // |own ∪ svm| > |own| exactly when the SVM contributed pfns the primary had not dirtied.
      assert.ok(steady.some((r) => r.pagesSent > r.dirtyPages), 'some checkpoint re-sent pages only the SVM dirtied');

      const svmLists = rig.backTap.items.filter((i) => i.name === 'CHECKPOINT_DIRTY_PFN_LIST');
      const fwd = forwardCycles(rig.forwardTap.items);
      let svmOnlyChanged = 0;
      for (let seq = 1; seq <= CHECKPOINTS; seq++) {
        const pNow = primaryPages.get(seq)!;
        const pPrev = primaryPages.get(seq - 1)!;
        const svm = svmAtSuspend.get(seq);
        assert.ok(svm, `no SVM snapshot at suspend for checkpoint ${seq}`);
        // Pages the PVM left alone since the last checkpoint, yet the SVM holds something else: only the SVM's
        // dirty list gets them re-sent.
        const pvmUnchanged = new Set(differingPages(pNow, pPrev));
        const diverged = differingPages(svm, pNow).filter((p) => !pvmUnchanged.has(p));
        svmOnlyChanged += diverged.length;
        const listed = new Set(svmLists[seq - 1]?.pfns);
        const sent = new Set(fwd[seq]!.flatMap((i) => i.pfns ?? []));
        for (const p of diverged) {
          assert.ok(listed.has(p), `checkpoint ${seq}: pfn ${p} changed on the SVM only but is not in its dirty pfn list`);
          assert.ok(sent.has(p), `checkpoint ${seq}: pfn ${p} changed on the SVM only but was not re-sent`);
        }
      }
      assert.ok(svmOnlyChanged > 0, 'no page was changed by the SVM alone: the test would pass without the dirty list');
    } finally {
      rig.dispose();
    }
  });
});

void describe('engine fidelity (Remus)', () => {
  void test(`the backup's memory equals the primary's at suspend after each of ${CHECKPOINTS} checkpoints`, async () => {
    const primaryDigest = new Map<number, string>();
    const secondaryDigest = new Map<number, string>();
    const triggers = new ScriptedTriggers(Array<'timer'>(CHECKPOINTS).fill('timer'), 12);
    const rig = await startRig({
      mode: 'remus',
      triggers,
      pageCount: 512,
      svmWorkload: true,
      primary: { onSuspend: (seq) => primaryDigest.set(seq, rig.pd.memoryDigest()) },
      // Remus's secondary has no beforeResume (its copy never runs); its cycle event fires right after applying.
      onSecondaryCycle: (c, r) => secondaryDigest.set(c.seq, r.sd.memoryDigest()),
    });
    try {
      await rig.waitCycles(CHECKPOINTS + 1);
      // Remus commits once written, so the secondary may still be applying the last one.
      await waitFor(() => rig.secondaryCycles.length >= CHECKPOINTS + 1, 5000, 'the secondary to apply every checkpoint');
      const [pExit] = await rig.stop();
      assert.equal(pExit.kind, 'stopped');
      assert.equal(rig.sd.running, false, 'a Remus backup never runs while protected');
      let compared = 0;
      for (let seq = 0; seq <= CHECKPOINTS; seq++) {
        const p = primaryDigest.get(seq);
        const s = secondaryDigest.get(seq);
        assert.ok(p !== undefined, `checkpoint ${seq}: no primary digest`);
        assert.ok(s !== undefined, `checkpoint ${seq}: the secondary never applied it`);
        assert.equal(s, p, `checkpoint ${seq}: backup memory differs from the primary's at suspend`);
        compared++;
      }
      assert.equal(compared, CHECKPOINTS + 1);
      // Not vacuous: the guest changed memory between checkpoints, so each one had to carry pages.
      assert.equal(new Set(primaryDigest.values()).size, primaryDigest.size, 'primary memory changed every cycle');
      assert.ok(rig.cycles.filter((r) => r.seq > 0).every((r) => r.pagesSent > 0));
    } finally {
      rig.dispose();
    }
  });
});
