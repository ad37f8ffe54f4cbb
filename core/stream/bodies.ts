// Parsers for the record bodies COLO uses. Each checks the body's shape against its length the way libxc's
// restore code does, and reports problems as StreamErrors at the record's offset.

import { StreamError } from './errors.js';
import { type ByteSource, SegmentedBytes } from './segmented-bytes.js';
import {
  EMULATOR_SUBHEADER_SIZE,
  PAGE_SIZE,
  pageTypeHasData,
  pageTypeIsValid,
} from './format.js';

export interface PageData {
  /** Frame numbers (up to 52 bits, exact in a double). */
  pfns: Float64Array;
  types: Uint8Array;
  /** Index into `data` (in pages) of each pfn's contents, or -1 for types without data. */
  dataIndex: Int32Array;
  /** The contents of every pfn that carries data, back to back (possibly still in the chunks it arrived in). */
  data: ByteSource;
}

export interface EmulatorData {
  emulatorId: number;
  index: number;
  data: Buffer;
}

export interface TscInfo {
  mode: number;
  khz: number;
  nsec: bigint;
  incarnation: number;
}

export interface HvmParamEntry {
  index: bigint;
  value: bigint;
}

function u64AsNumber(buf: Buffer, at: number): number {
  return buf.readUInt32LE(at) + buf.readUInt32LE(at + 4) * 0x100000000;
}

export function parsePageData(source: ByteSource, offset: number, p2mSize = Number.MAX_SAFE_INTEGER): PageData {
  if (source.length < 8) throw new StreamError('bad-body', offset, `PAGE_DATA record truncated: ${source.length} bytes`);
  const count = source.subarray(0, 8).readUInt32LE(0);
  if (count < 1) throw new StreamError('bad-body', offset, 'PAGE_DATA record lists no pfns');
  if (source.length < 8 + count * 8) {
    throw new StreamError('bad-body', offset, `PAGE_DATA record of ${source.length} bytes is too short for ${count} pfns`);
  }
  // The header and pfn table, joined if they straddle chunks (at most 8 KiB); the pages stay where they are.
  const body = source.subarray(0, 8 + count * 8);
  const pfns = new Float64Array(count);
  const types = new Uint8Array(count);
  const dataIndex = new Int32Array(count);
  let withData = 0;
  for (let i = 0; i < count; i++) {
    const lo = body.readUInt32LE(8 + i * 8);
    const hi = body.readUInt32LE(12 + i * 8);
    const type = hi >>> 28;
    const reserved = (hi >>> 20) & 0xff;
    const pfn = lo + (hi & 0xfffff) * 0x100000000;
    if (!pageTypeIsValid(type)) {
      throw new StreamError('bad-body', offset, `PAGE_DATA entry ${i} has invalid page type 0x${type.toString(16)}`);
    }
    if (reserved !== 0) throw new StreamError('bad-body', offset, `PAGE_DATA entry ${i} sets reserved bits 59–52`);
    if (pfn >= p2mSize) throw new StreamError('bad-body', offset, `PAGE_DATA entry ${i}: pfn ${pfn} out of range (p2m size ${p2mSize})`);
    pfns[i] = pfn;
    types[i] = type;
    dataIndex[i] = pageTypeHasData(type) ? withData++ : -1;
  }
  const expected = 8 + count * 8 + withData * PAGE_SIZE;
  if (source.length !== expected) {
    throw new StreamError('bad-body', offset, `PAGE_DATA record has ${source.length} bytes; ${count} pfns with ${withData} pages need ${expected}`);
  }
  const data = source instanceof SegmentedBytes ? source.range(8 + count * 8) : source.subarray(8 + count * 8);
  return { pfns, types, dataIndex, data };
}

export function parseCheckpointStateId(body: Buffer, offset: number): number {
  // Xen writes 4 bytes; the spec draws 8 (id + padding). Accept both.
  if (body.length !== 4 && body.length !== 8) {
    throw new StreamError('bad-body', offset, `CHECKPOINT_STATE body is ${body.length} bytes, expected 4 or 8`);
  }
  if (body.length === 8 && body.readUInt32LE(4) !== 0) {
    throw new StreamError('bad-padding', offset + 12, 'CHECKPOINT_STATE padding field is not zero');
  }
  const id = body.readUInt32LE(0);
  if (id > 3) throw new StreamError('bad-body', offset, `CHECKPOINT_STATE id ${id} is not one of NEW, SVM_SUSPENDED, SVM_READY, SVM_RESUMED`);
  return id;
}

export function parseEmulator(body: Buffer, offset: number): EmulatorData {
  if (body.length < EMULATOR_SUBHEADER_SIZE) {
    throw new StreamError('bad-body', offset, `emulator record of ${body.length} bytes has no room for its 8-byte sub-header`);
  }
  return { emulatorId: body.readUInt32LE(0), index: body.readUInt32LE(4), data: body.subarray(EMULATOR_SUBHEADER_SIZE) };
}

export function parseXenstorePairs(data: Buffer, offset: number): Array<[string, string]> {
  if (data.length === 0) return [];
  if (data[data.length - 1] !== 0) throw new StreamError('bad-body', offset, 'xenstore data does not end with NUL');
  const parts = data.subarray(0, data.length - 1).toString('utf8').split('\0');
  if (parts.length % 2 !== 0) throw new StreamError('bad-body', offset, 'xenstore data has a key without a value');
  const pairs: Array<[string, string]> = [];
  for (let i = 0; i < parts.length; i += 2) pairs.push([parts[i]!, parts[i + 1]!]);
  return pairs;
}

export function parseTscInfo(body: Buffer, offset: number): TscInfo {
  if (body.length !== 24) throw new StreamError('bad-body', offset, `X86_TSC_INFO body is ${body.length} bytes, expected 24`);
  return {
    mode: body.readUInt32LE(0),
    khz: body.readUInt32LE(4),
    nsec: body.readBigUInt64LE(8),
    incarnation: body.readUInt32LE(16),
  };
}

export function parseHvmParams(body: Buffer, offset: number): HvmParamEntry[] {
  if (body.length < 8) throw new StreamError('bad-body', offset, `HVM_PARAMS body is ${body.length} bytes, too short for its count`);
  const count = body.readUInt32LE(0);
  if (body.length !== 8 + count * 16) {
    throw new StreamError('bad-body', offset, `HVM_PARAMS body is ${body.length} bytes; ${count} entries need ${8 + count * 16}`);
  }
  const params: HvmParamEntry[] = [];
  // One DataView for all entries: its 64-bit getter is native, where Buffer's assembles each BigInt in JS.
  const view = new DataView(body.buffer, body.byteOffset, body.byteLength);
  for (let i = 0; i < count; i++) {
    params.push({ index: view.getBigUint64(8 + i * 16, true), value: view.getBigUint64(16 + i * 16, true) });
  }
  return params;
}

export function parseDirtyPfnList(body: Buffer, offset: number, p2mSize = Number.MAX_SAFE_INTEGER): Float64Array {
  if (body.length % 8 !== 0) {
    throw new StreamError('bad-body', offset, `CHECKPOINT_DIRTY_PFN_LIST body is ${body.length} bytes, not a whole number of u64 pfns`);
  }
  const pfns = new Float64Array(body.length / 8);
  for (let i = 0; i < pfns.length; i++) {
    const pfn = u64AsNumber(body, i * 8);
    if (pfn >= p2mSize) throw new StreamError('bad-body', offset, `dirty pfn ${pfn} out of range (p2m size ${p2mSize})`);
    pfns[i] = pfn;
  }
  return pfns;
}

export function requireLength(name: string, body: Buffer, multiple: number, offset: number): void {
  if (body.length % multiple !== 0) {
    throw new StreamError('bad-body', offset, `${name} body is ${body.length} bytes, not a multiple of ${multiple}`);
  }
}
