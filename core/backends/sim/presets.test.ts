import { test, describe } from 'node:test';
import assert from 'node:assert/strict';
import { INTERVAL_PRESETS, PRESETS, STOP_COST_MS_PER_VCPU, intervalPresetNames, presetNames } from './presets.js';
import { SimDomain } from './sim-domain.js';
import { Workload, validateWorkloadConfig } from './workload.js';

void describe('presets', () => {
  void test('the four workload kinds of the brief are all there', () => {
    for (const name of ['idle', 'web-server', 'database', 'batch'] as const) assert.ok(presetNames.includes(name));
    assert.deepEqual(presetNames, Object.keys(PRESETS));
  });

  for (const name of presetNames) {
    void test(`${name} is a usable workload for its own guest size`, () => {
      const p = PRESETS[name];
      assert.deepEqual(validateWorkloadConfig(p), []);
      assert.ok(p.workingSetPages <= p.guestPages, 'working set larger than the guest');
      assert.ok(Number.isInteger(p.vcpus) && p.vcpus >= 1);
      assert.ok(p.label.length > 0 && p.description.length > 0);
      const d = new SimDomain({ name, pageCount: p.guestPages, vcpus: p.vcpus, running: true });
      const w = new Workload(d, p);
      const r = w.step(100);
      assert.equal(r.pagesWritten, Math.floor(p.dirtyPagesPerSec / 10));
    });
  }

  void test('SPECweb anchor and the 1 GbE ceiling are kept', () => {
    assert.equal(PRESETS['web-server'].dirtyPagesPerSec, 12000);
    assert.ok(PRESETS.batch.dirtyPagesPerSec > 25000);
    assert.ok(PRESETS.idle.dirtyPagesPerSec < PRESETS['web-server'].dirtyPagesPerSec);
  });

  void test('interval presets are the published ones, in ascending order', () => {
    const ms = intervalPresetNames.map((n) => INTERVAL_PRESETS[n].ms);
    assert.deepEqual(ms, [25, 200, 300, 600, 2000, 20000]);
    assert.ok(STOP_COST_MS_PER_VCPU >= 3 && STOP_COST_MS_PER_VCPU <= 5);
  });
});
