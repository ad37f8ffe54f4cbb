import { test, describe } from 'node:test';
import assert from 'node:assert/strict';
import { buildHvmContext, cpuRecordOffsets, hvmContextSize, stampVcpuRegisters } from './hvm-context.js';

void describe('HVM context blob', () => {
  void test('has a realistic size that grows with the vCPU count', () => {
    assert.ok(hvmContextSize(1) >= 4096 && hvmContextSize(1) <= 6144);
    assert.ok(hvmContextSize(2) > hvmContextSize(1) && hvmContextSize(2) <= 8192);
    assert.equal(buildHvmContext(3, 2_400_000).byteLength, hvmContextSize(3));
  });

  void test('holds one CPU record per vCPU', () => {
    assert.equal(cpuRecordOffsets(buildHvmContext(4, 2_400_000)).length, 4);
  });

  void test('rejects truncated, headerless and over-long blobs', () => {
    const good = buildHvmContext(1, 2_400_000);
    assert.throws(() => cpuRecordOffsets(good.subarray(0, good.byteLength - 9)), /HVM context/);
    const headerless = good.slice();
    headerless[8] = 0;
    assert.throws(() => cpuRecordOffsets(headerless), /header/);
    const longer = new Uint8Array(good.byteLength + 4);
    longer.set(good);
    assert.throws(() => cpuRecordOffsets(longer), /after the END/);
  });

  void test('registers change with guest time', () => {
    const a = buildHvmContext(1, 2_400_000);
    const b = a.slice();
    stampVcpuRegisters(a, 1_000_000n, 2_400_000);
    stampVcpuRegisters(b, 2_000_000n, 2_400_000);
    assert.notDeepEqual(a, b);
  });
});
