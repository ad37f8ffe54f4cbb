import { test, describe } from 'node:test';
import assert from 'node:assert/strict';
import { PAGE_SIZE, SimDomain } from './sim-domain.js';

function page(byte: number): Uint8Array {
  return new Uint8Array(PAGE_SIZE).fill(byte);
}

void describe('SimDomain dirty log', () => {
  void test('reports exactly the pages the guest wrote, ascending, once', () => {
    const d = new SimDomain({ name: 'd', pageCount: 100, running: true });
    d.enableLogDirty();
    for (const pfn of [70, 3, 64, 31, 32, 3, 99, 0]) d.guestWrite(pfn, 8, new Uint8Array([1, 2, 3]));
    assert.equal(d.dirtyCount, 7);
    assert.deepEqual([...d.takeDirtyPfns()], [0, 3, 31, 32, 64, 70, 99]);
    assert.deepEqual([...d.takeDirtyPfns()], []);
    d.guestWrite(5, 0, new Uint8Array(1));
    assert.deepEqual([...d.takeDirtyPfns()], [5]);
  });

  void test('writes before log-dirty was enabled are not reported', () => {
    const d = new SimDomain({ name: 'd', pageCount: 64, running: true });
    d.guestWrite(1, 0, new Uint8Array(1));
    d.enableLogDirty();
    d.guestWrite(2, 0, new Uint8Array(1));
    assert.deepEqual([...d.takeDirtyPfns()], [2]);
  });

  void test('toolstack writes are not guest writes and stay out of the log', async () => {
    const d = new SimDomain({ name: 'd', pageCount: 16, running: true });
    d.enableLogDirty();
    await d.suspend();
    d.writePage(4, page(7));
    assert.deepEqual([...d.takeDirtyPfns()], []);
    assert.equal(d.readPage(4)[100], 7);
  });

  void test('readPages is one view over consecutive pages, and stays inside the guest', async () => {
    const d = new SimDomain({ name: 'd', pageCount: 16, running: true });
    await d.suspend();
    d.writePage(3, page(3));
    d.writePage(4, page(4));
    const run = d.readPages(3, 2);
    assert.equal(run.byteLength, 2 * PAGE_SIZE);
    assert.deepEqual([run[0], run[PAGE_SIZE]], [3, 4]);
    assert.deepEqual(run.subarray(PAGE_SIZE), d.readPage(4));
    assert.throws(() => d.readPages(15, 2), /pfn 16 outside/);
    assert.throws(() => d.readPages(3, 0), /not a positive integer/);
  });

  void test('asking for the log without log-dirty is an error, as in Xen', () => {
    const d = new SimDomain({ name: 'd', pageCount: 16 });
    assert.throws(() => d.takeDirtyPfns(), /log-dirty is not enabled/);
  });
});

void describe('SimDomain memory', () => {
  void test('readPage is a view of guest memory, not a copy', () => {
    const d = new SimDomain({ name: 'd', pageCount: 16, running: true });
    const view = d.readPage(2);
    d.guestWrite(2, 10, new Uint8Array([42]));
    assert.equal(view[10], 42);
    assert.equal(view.byteLength, PAGE_SIZE);
  });

  void test('rejects out-of-range pfns, wrong sizes and loads into a running guest', async () => {
    const d = new SimDomain({ name: 'd', pageCount: 16, running: true });
    assert.throws(() => d.readPage(16), RangeError);
    assert.throws(() => d.readPage(-1), RangeError);
    assert.throws(() => d.writePage(1, page(0)), /while the domain is running/);
    await d.suspend();
    assert.throws(() => d.writePage(1, new Uint8Array(10)), RangeError);
    assert.throws(() => d.guestWrite(1, 0, new Uint8Array(1)), /while suspended/);
  });

  void test('digests follow content', () => {
    const a = new SimDomain({ name: 'a', pageCount: 32 });
    const b = new SimDomain({ name: 'b', pageCount: 32 });
    assert.equal(a.memoryDigest(), b.memoryDigest());
    a.writePage(9, page(1));
    assert.notEqual(a.memoryDigest(), b.memoryDigest());
    assert.notEqual(a.pageHash(9), b.pageHash(9));
    b.writePage(9, a.readPage(9));
    assert.equal(a.memoryDigest(), b.memoryDigest());
  });

  void test('random fill differs between domains, so a copy must really move pages', () => {
    const a = new SimDomain({ name: 'a', pageCount: 16, fill: 'random' });
    const b = new SimDomain({ name: 'b', pageCount: 16, fill: 'random' });
    assert.notEqual(a.memoryDigest(), b.memoryDigest());
  });
});

void describe('SimDomain run state', () => {
  void test('suspend and resume flip running; suspend honours the stop cost', async () => {
    const d = new SimDomain({ name: 'd', pageCount: 16, running: true, stopCostMs: 20 });
    const t0 = performance.now();
    const first = d.suspend();
    assert.equal(d.running, false);
    await first;
    assert.ok(performance.now() - t0 >= 15);
    await d.suspend();
    d.resume();
    assert.equal(d.running, true);
  });

  void test('a changed stop cost applies from the next suspend; without one the guest stops before any timer runs', async () => {
    const d = new SimDomain({ name: 'd', pageCount: 16, running: true, stopCostMs: 0 });
    const order: string[] = [];
    const timer = new Promise<void>((r) => setTimeout(() => { order.push('timer'); r(); }, 10));
    await d.suspend().then(() => order.push('stopped'));
    await timer;
    assert.deepEqual(order, ['stopped', 'timer']);
    d.resume();
    d.setStopCostMs(20);
    const t0 = performance.now();
    await d.suspend();
    assert.ok(performance.now() - t0 >= 15, 'the new stop cost was paid');
    assert.throws(() => d.setStopCostMs(-1), /non-negative/);
  });

  void test('guest time stands still while suspended', async () => {
    const d = new SimDomain({ name: 'd', pageCount: 16, running: true });
    await new Promise((r) => setTimeout(r, 5));
    await d.suspend();
    const t = d.guestTimeNs();
    assert.ok(t > 0n);
    await new Promise((r) => setTimeout(r, 5));
    assert.equal(d.guestTimeNs(), t);
  });
});

void describe('SimDomain CPU and device state', () => {
  void test('CPU context round-trips to a suspended twin', async () => {
    const pvm = new SimDomain({ name: 'p', pageCount: 64, vcpus: 2, running: true });
    const svm = new SimDomain({ name: 's', pageCount: 64, vcpus: 2 });
    await new Promise((r) => setTimeout(r, 2));
    await pvm.suspend();
    const ctx = pvm.getCpuContext();
    assert.ok(ctx.hvmContext.byteLength >= 4096 && ctx.hvmContext.byteLength <= 8192);
    assert.ok(ctx.hvmParams.length >= 4);
    svm.setCpuContext(ctx);
    assert.deepEqual(svm.getCpuContext(), ctx);
  });

  void test('a context for another vCPU count is refused', () => {
    const one = new SimDomain({ name: 'a', pageCount: 64, vcpus: 1 });
    const four = new SimDomain({ name: 'b', pageCount: 64, vcpus: 4 });
    assert.throws(() => four.setCpuContext(one.getCpuContext()), /1 vCPUs/);
  });

  void test('without a device model the device state is kept as given', () => {
    const d = new SimDomain({ name: 'd', pageCount: 16 });
    d.setDeviceState(new Uint8Array([1, 2, 3]));
    assert.deepEqual([...d.getDeviceState()], [1, 2, 3]);
  });
});
