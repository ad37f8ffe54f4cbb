import { test, describe } from 'node:test';
import assert from 'node:assert/strict';
import type { GuestPacket } from './packet.js';
import { SimDomain } from './sim-domain.js';
import { Workload, workingSetPfn, type WorkloadConfig } from './workload.js';

const CONFIG: WorkloadConfig = {
  dirtyPagesPerSec: 2000,
  workingSetPages: 40,
  packetsPerSec: 500,
  packetBytes: 99,
  divergenceProbability: 0,
};

function guest(name: string, config: Partial<WorkloadConfig> = {}, seed = 7): { d: SimDomain; w: Workload; out: GuestPacket[] } {
  const d = new SimDomain({ name, pageCount: 256 });
  const out: GuestPacket[] = [];
  const w = new Workload(d, { ...CONFIG, ...config }, { seed, onPacket: (p) => out.push(p) });
  return { d, w, out };
}

/** Makes `b` a checkpoint copy of `a`: memory and device state, with both suspended. */
async function checkpoint(a: { d: SimDomain }, b: { d: SimDomain }): Promise<void> {
  await a.d.suspend();
  await b.d.suspend();
  for (let pfn = 0; pfn < a.d.pageCount; pfn++) b.d.writePage(pfn, a.d.readPage(pfn));
  b.d.setDeviceState(a.d.getDeviceState());
}

function runBoth(a: { d: SimDomain; w: Workload }, b: { d: SimDomain; w: Workload }, steps: number[]): void {
  a.d.resume();
  b.d.resume();
  for (const dt of steps) {
    a.w.step(dt);
    b.w.step(dt);
  }
}

void describe('Workload determinism', () => {
  void test('identical memory and device state give identical writes and packets', async () => {
    const a = guest('a');
    const b = guest('b', {}, 999); // its own seed is overwritten by the checkpoint
    a.d.resume();
    a.w.step(37);
    await checkpoint(a, b);
    runBoth(a, b, [5, 10, 3, 50, 7]);
    assert.ok(a.out.length > 20);
    assert.equal(a.d.memoryDigest(), b.d.memoryDigest());
    assert.deepEqual(b.out.slice(-20).map((p) => p.data), a.out.slice(-20).map((p) => p.data));
  });

  void test('divergence 1 makes every packet differ, memory stays equal', async () => {
    const a = guest('a', { divergenceProbability: 1 });
    const b = guest('b', { divergenceProbability: 1 });
    await checkpoint(a, b);
    runBoth(a, b, [20, 20]);
    assert.equal(a.out.length, b.out.length);
    assert.ok(a.out.length >= 10);
    a.out.forEach((p, i) => assert.ok(!p.data.equals(b.out[i]!.data), `packet ${i} should differ`));
    assert.equal(a.d.memoryDigest(), b.d.memoryDigest());
    assert.equal(a.w.stats.divergedPackets, a.out.length);
  });

  void test('packet n does not depend on how time was sliced into ticks', async () => {
    const a = guest('a');
    const b = guest('b');
    await checkpoint(a, b);
    a.d.resume();
    b.d.resume();
    a.w.step(100);
    for (let i = 0; i < 10; i++) b.w.step(10);
    const n = Math.min(a.out.length, b.out.length);
    assert.ok(n >= 45);
    assert.deepEqual(b.out.slice(0, n).map((p) => p.data), a.out.slice(0, n).map((p) => p.data));
  });
});

void describe('Workload behaviour', () => {
  void test('writes at the configured rate, inside the working set, seen by log-dirty', () => {
    const { d, w } = guest('a');
    d.enableLogDirty();
    d.resume();
    const r = w.step(1000);
    assert.equal(r.pagesWritten, 2000);
    assert.equal(r.packets, 500);
    const allowed = new Set(Array.from({ length: 40 }, (_, i) => workingSetPfn(i, 256)));
    assert.equal(allowed.size, 40);
    const dirty = [...d.takeDirtyPfns()];
    assert.ok(dirty.length > 30 && dirty.length <= 40);
    for (const pfn of dirty) assert.ok(allowed.has(pfn), `pfn ${pfn} outside the working set`);
  });

  void test('a suspended guest neither writes nor talks', async () => {
    const { d, w, out } = guest('a');
    d.resume();
    await d.suspend();
    const digest = d.memoryDigest();
    assert.deepEqual(w.step(500), { pagesWritten: 0, packets: 0 });
    assert.equal(out.length, 0);
    assert.equal(d.memoryDigest(), digest);
  });

  void test('the timer drives the guest only while running, and stops', async () => {
    const { d, w, out } = guest('a');
    w.start();
    await new Promise((r) => setTimeout(r, 30));
    assert.equal(out.length, 0);
    d.resume();
    await new Promise((r) => setTimeout(r, 60));
    w.stop();
    const seen = out.length;
    assert.ok(seen > 0);
    await new Promise((r) => setTimeout(r, 30));
    assert.equal(out.length, seen);
  });

  void test('rates travel in the device state; a bad state is refused and changes nothing', async () => {
    const a = guest('a', { packetsPerSec: 123 });
    const b = guest('b');
    await b.d.suspend();
    const before = b.d.getDeviceState();
    const bad = a.d.getDeviceState();
    bad[84] = 1; // packetBytes below the minimum
    assert.throws(() => b.d.setDeviceState(bad), /packetBytes/);
    assert.throws(() => b.d.setDeviceState(new Uint8Array(10)), /expected 96 bytes/);
    assert.deepEqual(b.d.getDeviceState(), before);
    b.d.setDeviceState(a.d.getDeviceState());
    assert.equal(b.w.getConfig().packetsPerSec, 123);
  });

  void test('invalid configs are refused', () => {
    const d = new SimDomain({ name: 'd', pageCount: 16 });
    assert.throws(() => new Workload(d, { ...CONFIG, divergenceProbability: 2 }), /divergenceProbability/);
    assert.throws(() => new Workload(d, { ...CONFIG, packetBytes: 4 }), /packetBytes/);
  });
});
