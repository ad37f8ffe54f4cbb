// Round trips of every record type, one layer at a time: libxl records, libxc records (HVM and PV), the xl header
// and the back channel. Malformed bodies are checked here too, against the rules in xen-colo.md §1.

import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import {
  CheckpointState,
  LibxcRecord,
  LibxlRecord,
  PageType,
  StreamError,
  type StreamErrorCode,
  type StreamItem,
  type StreamKind,
  type StreamRecord,
  encodeCheckpointState,
  encodeCpuidPolicy,
  encodeDirtyPfnList,
  encodeEmulatorRecord,
  encodeHvmContext,
  encodeHvmParams,
  encodeLibxcHeaders,
  encodeLibxlHeader,
  encodeMsrPolicy,
  encodePageData,
  encodeTscInfo,
  encodeXenstorePairs,
  encodeXlHeader,
} from './index.js';
import {
  HVM_PARAMS,
  TSC,
  XENSTORE_PAIRS,
  backChannel,
  cat,
  decodeAll,
  decodeCatching,
  hex,
  makePage,
  matchesLayout,
  pfnEntry,
  rawRecord,
  show,
  u32le,
  u64le,
} from './test-support/fixtures.js';

const BANNER = Buffer.from('xl migration receiver ready, send binary domain data.\n', 'latin1');
const HVM_HEADERS = encodeLibxcHeaders({ xenMajor: 4, xenMinor: 17 });
const PV_HEADERS = encodeLibxcHeaders({ domainType: 1, xenMajor: 4, xenMinor: 17 });
const LIBXC_END = rawRecord(0x00);
const LIBXL_END = rawRecord(0x00);

function records(items: readonly StreamItem[]): StreamRecord[] {
  return items.filter((i): i is StreamRecord => i.kind === 'record');
}

/** Asserts that decoding throws a StreamError with this code at this offset. */
function assertStreamError(kind: StreamKind, bytes: Buffer, code: StreamErrorCode, offset: number, options?: Parameters<typeof decodeAll>[2]): StreamError {
  const { error } = decodeCatching(kind, bytes, options);
  assert.ok(error instanceof StreamError, `expected a StreamError, got ${show(error)}`);
  assert.equal(error.code, code, error.message);
  assert.equal(error.offset, offset, error.message);
  return error;
}

/** A bare HVM libxc stream: headers, the given records, END. Returns the bytes and where the first record starts. */
function libxcStream(headers: Buffer, ...recs: Buffer[]): Buffer {
  return cat(headers, ...recs, LIBXC_END);
}

/** A plain libxl stream whose libxc part is empty, carrying `recs` in its libxl part. */
function plainLibxl(...recs: Buffer[]): Buffer {
  return cat(encodeLibxlHeader(), rawRecord(LibxlRecord.LIBXC_CONTEXT), HVM_HEADERS, LIBXC_END, ...recs, LIBXL_END);
}
const PLAIN_LIBXL_PREFIX = 16 + 8 + 40 + 8;

/** A checkpointed libxl stream up to and including the first CHECKPOINT_END. */
function checkpointedPrefix(): Buffer {
  return cat(encodeLibxlHeader(), rawRecord(LibxlRecord.LIBXC_CONTEXT), HVM_HEADERS, rawRecord(LibxcRecord.CHECKPOINT),
    rawRecord(LibxlRecord.CHECKPOINT_END));
}

describe('libxl records', () => {
  test('a plain stream: LIBXC_CONTEXT hands over to libxc, libxc END hands back, libxl END finishes', () => {
    const bytes = plainLibxl();
    const { items, decoder } = decodeAll('libxl', bytes);
    assert.deepEqual(items.map((i) => [i.kind, i.offset, i.kind === 'record' ? `${i.layer}:${i.name}` : '']), [
      ['libxl-header', 0, ''],
      ['record', 16, 'libxl:LIBXC_CONTEXT'],
      ['libxc-header', 24, ''],
      ['record', 64, 'libxc:END'],
      ['record', 72, 'libxl:END'],
    ]);
    assert.equal(decoder.isDone, true);
    assert.equal(decoder.endPosition(), 'complete');
    assert.equal(decoder.offset, bytes.length);
    assert.equal(decoder.next(), undefined);
  });

  test('empty libxl records refuse a body', () => {
    for (const type of [LibxlRecord.END, LibxlRecord.LIBXC_CONTEXT]) {
      const bytes = cat(encodeLibxlHeader(), rawRecord(type, Buffer.from([1])));
      assertStreamError('libxl', bytes, 'bad-body', 16);
    }
    const withBody = cat(checkpointedPrefix().subarray(0, -8), rawRecord(LibxlRecord.CHECKPOINT_END, u32le(0, 0)));
    assertStreamError('libxl', withBody, 'bad-body', withBody.length - 16);
  });

  test('EMULATOR_XENSTORE_DATA: sub-header, then key/value pairs', () => {
    const rec = cat(encodeEmulatorRecord(LibxlRecord.EMULATOR_XENSTORE_DATA, encodeXenstorePairs(XENSTORE_PAIRS)));
    const { items } = decodeAll('libxl', plainLibxl(rec));
    const r = records(items)[2]!;
    assert.equal(r.name, 'EMULATOR_XENSTORE_DATA');
    assert.equal(r.offset, PLAIN_LIBXL_PREFIX);
    assert.equal(r.wireLength, rec.length);
    assert.deepEqual(r.parsed, {
      kind: 'emulator',
      value: { emulatorId: 2, index: 0, data: encodeXenstorePairs(XENSTORE_PAIRS) },
      xenstore: XENSTORE_PAIRS,
    });
  });

  test('EMULATOR_XENSTORE_DATA that is not NUL-terminated pairs is a bad body', () => {
    const sub = u32le(2, 0);
    const cases = [Buffer.from('key\0value'), Buffer.from('key\0value\0lonely\0')];
    for (const data of cases) {
      assertStreamError('libxl', plainLibxl(rawRecord(LibxlRecord.EMULATOR_XENSTORE_DATA, cat(sub, data))), 'bad-body', PLAIN_LIBXL_PREFIX);
    }
    const empty = decodeAll('libxl', plainLibxl(rawRecord(LibxlRecord.EMULATOR_XENSTORE_DATA, sub)));
    assert.deepEqual(records(empty.items)[2]!.parsed, { kind: 'emulator', value: { emulatorId: 2, index: 0, data: Buffer.alloc(0) }, xenstore: [] });
  });

  test('EMULATOR_CONTEXT: opaque device state of any length, for every emulator id', () => {
    for (let len = 0; len <= 17; len++) {
      for (const emulatorId of [0, 1, 2]) {
        const state = Buffer.alloc(len, 0x40 + len);
        const { items } = decodeAll('libxl', plainLibxl(cat(encodeEmulatorRecord(LibxlRecord.EMULATOR_CONTEXT, state, emulatorId))));
        const r = records(items)[2]!;
        assert.equal(r.length, 8 + len);
        assert.equal(r.wireLength, 8 + Math.ceil((8 + len) / 8) * 8);
        assert.deepEqual(r.parsed, { kind: 'emulator', value: { emulatorId, index: 0, data: state } });
      }
    }
  });

  test('an emulator record too short for its sub-header is a bad body', () => {
    for (const type of [LibxlRecord.EMULATOR_CONTEXT, LibxlRecord.EMULATOR_XENSTORE_DATA]) {
      assertStreamError('libxl', plainLibxl(rawRecord(type, Buffer.alloc(7))), 'bad-body', PLAIN_LIBXL_PREFIX);
    }
  });

  test('CHECKPOINT_END after libxc CHECKPOINT completes a checkpoint', () => {
    const { items, decoder } = decodeAll('libxl', checkpointedPrefix());
    assert.equal(records(items).at(-1)!.name, 'CHECKPOINT_END');
    assert.equal(decoder.checkpoints, 1);
    assert.equal(decoder.endPosition(), 'between-checkpoints');
  });

  test('CHECKPOINT_END without a libxc CHECKPOINT before it is unexpected', () => {
    const bytes = cat(encodeLibxlHeader(), rawRecord(LibxlRecord.CHECKPOINT_END));
    assertStreamError('libxl', bytes, 'unexpected-record', 16);
    const plain = cat(encodeLibxlHeader(), rawRecord(LibxlRecord.LIBXC_CONTEXT), HVM_HEADERS, LIBXC_END, rawRecord(LibxlRecord.CHECKPOINT_END));
    assertStreamError('libxl', plain, 'unexpected-record', plain.length - 8);
  });

  test('CHECKPOINT_STATE(NEW) on the forward stream, with the 4-byte body Xen writes and the 8-byte one the spec draws', () => {
    const prefix = checkpointedPrefix();
    const four = hex('05 00 00 00 04 00 00 00 | 00 00 00 00 | 00 00 00 00');
    const eight = hex('05 00 00 00 08 00 00 00 | 00 00 00 00 | 00 00 00 00');
    for (const rec of [four, eight]) {
      const { items, decoder } = decodeAll('libxl', cat(prefix, rec));
      const r = records(items).at(-1)!;
      assert.equal(r.layer, 'libxl');
      assert.equal(r.name, 'CHECKPOINT_STATE');
      assert.equal(r.offset, prefix.length);
      assert.equal(r.length, rec.readUInt32LE(4));
      assert.equal(r.wireLength, 16);
      assert.deepEqual(r.parsed, { kind: 'checkpoint-state', id: CheckpointState.NEW });
      assert.equal(decoder.endPosition(), 'between-checkpoints');
    }
  });

  test('CHECKPOINT_STATE with every SVM id on the back channel, with 4- and 8-byte bodies', () => {
    for (const id of [CheckpointState.SVM_SUSPENDED, CheckpointState.SVM_READY, CheckpointState.SVM_RESUMED]) {
      for (const length of [4, 8]) {
        const rec = cat(u32le(5, length, id, 0));
        const { items } = decodeAll('back', cat(BANNER, rec));
        assert.equal(items.length, 2);
        const r = items[1] as StreamRecord;
        assert.equal(r.offset, 54);
        assert.equal(r.layer, 'libxl');
        assert.deepEqual(r.parsed, { kind: 'checkpoint-state', id });
      }
    }
  });

  test('CHECKPOINT_STATE with an unknown id or a body other than 4 or 8 bytes is a bad body', () => {
    assertStreamError('back', cat(BANNER, u32le(5, 4, 4, 0)), 'bad-body', 54);
    assertStreamError('back', cat(BANNER, u32le(5, 4, 0xffffffff, 0)), 'bad-body', 54);
    assertStreamError('back', cat(BANNER, rawRecord(5)), 'bad-body', 54);
    assertStreamError('back', cat(BANNER, rawRecord(5, u32le(2, 0, 0))), 'bad-body', 54);
  });

  test('the spec\'s 8-byte CHECKPOINT_STATE must have a zero padding field', () => {
    const err = assertStreamError('back', cat(BANNER, u32le(5, 8, 2, 1)), 'bad-padding', 54 + 12);
    assert.match(err.message, /padding/);
  });

  test('CHECKPOINT_STATE ids belong to one direction each', () => {
    // SVM_* only ever travel secondary → primary; NEW only primary → secondary.
    const prefix = checkpointedPrefix();
    for (const id of [1, 2, 3] as const) {
      assertStreamError('libxl', cat(prefix, encodeCheckpointState(id)), 'unexpected-record', prefix.length);
    }
    assertStreamError('back', cat(BANNER, encodeCheckpointState(CheckpointState.NEW)), 'unexpected-record', 54);
  });

  test('CHECKPOINT_STATE on the forward stream anywhere but right after CHECKPOINT_END is unexpected', () => {
    const beforeCheckpoint = cat(encodeLibxlHeader(), encodeCheckpointState(0));
    assertStreamError('libxl', beforeCheckpoint, 'unexpected-record', 16);
    const afterLibxcCheckpoint = cat(encodeLibxlHeader(), rawRecord(1), HVM_HEADERS, rawRecord(LibxcRecord.CHECKPOINT), encodeCheckpointState(0));
    assertStreamError('libxl', afterLibxcCheckpoint, 'unexpected-record', afterLibxcCheckpoint.length - 16);
  });

  test('libxl rejects every type it does not know, optional-looking ones included', () => {
    for (const type of [6, 0x7fffffff, 0x80000000, 0x80000005, 0xffffffff]) {
      const err = assertStreamError('libxl', cat(encodeLibxlHeader(), rawRecord(type)), 'unknown-record', 16);
      assert.match(err.message, new RegExp(type.toString(16).padStart(8, '0')));
    }
  });

  test('LIBXC_CONTEXT appears once; checkpoints continue the libxc stream without it', () => {
    const bytes = cat(checkpointedPrefix(), encodeCheckpointState(0), rawRecord(LibxlRecord.LIBXC_CONTEXT));
    // After NEW the libxc layer reads next, and libxc type 1 is PAGE_DATA: an empty one is a bad body.
    assertStreamError('libxl', bytes, 'bad-body', bytes.length - 8);
    const twice = cat(encodeLibxlHeader(), rawRecord(1), HVM_HEADERS, LIBXC_END, rawRecord(LibxlRecord.LIBXC_CONTEXT));
    assertStreamError('libxl', twice, 'unexpected-record', twice.length - 8);
  });

  test('libxl END inside a checkpointed stream, before libxc ended, is unexpected', () => {
    const bytes = cat(encodeLibxlHeader(), rawRecord(1), HVM_HEADERS, rawRecord(LibxcRecord.CHECKPOINT), LIBXL_END);
    assertStreamError('libxl', bytes, 'unexpected-record', bytes.length - 8);
  });
});

describe('libxc records', () => {
  test('PAGE_DATA: pfns, types and page contents, including types without data and the largest pfn', () => {
    const pages = [makePage(11), makePage(12), makePage(13), makePage(14)];
    const entries: Array<[bigint, number]> = [
      [0n, PageType.NOTAB],
      [0xfffffffffffffn, PageType.XTAB],
      [0x12345678n, PageType.L1TAB],
      [2n ** 51n, PageType.BROKEN],
      [99n, PageType.XALLOC],
      [0xffffffffn, PageType.L4TAB_PIN],
      [0x100000000n, PageType.L2TAB],
    ];
    // Built by hand from the spec, not with encodePageData.
    const body = cat(u32le(entries.length, 0), u64le(...entries.map(([pfn, type]) => pfnEntry(pfn, type))), ...pages);
    const { items } = decodeAll('libxc', libxcStream(HVM_HEADERS, rawRecord(LibxcRecord.PAGE_DATA, body)));
    const r = records(items)[0]!;
    assert.equal(r.name, 'PAGE_DATA');
    assert.equal(r.offset, 40);
    assert.equal(r.length, body.length);
    assert.ok(r.parsed?.kind === 'page-data');
    const v = r.parsed.value;
    assert.deepEqual(Array.from(v.pfns), entries.map(([pfn]) => Number(pfn)));
    assert.deepEqual(Array.from(v.types), entries.map(([, t]) => t));
    assert.deepEqual(Array.from(v.dataIndex), [0, -1, 1, -1, -1, 2, 3]);
    assert.deepEqual(v.data, Buffer.concat(pages));
  });

  test('PAGE_DATA made by encodePageData decodes back to the same batch', () => {
    const pfns = [5, 0x000fffffffffffff, 2 ** 32, 2 ** 32 - 1, 42, 43];
    const types = [PageType.NOTAB, PageType.XTAB, PageType.L3TAB, PageType.L2TAB_PIN, PageType.BROKEN, PageType.XALLOC];
    const contents = pfns.map((_, i) => makePage(100 + i));
    const { items } = decodeAll('libxc', libxcStream(HVM_HEADERS, cat(encodePageData({ pfns, types, page: (i) => contents[i]! }))));
    const r = records(items)[0]!;
    assert.ok(r.parsed?.kind === 'page-data');
    const v = r.parsed.value;
    assert.deepEqual(Array.from(v.pfns), pfns);
    assert.deepEqual(Array.from(v.types), types);
    for (let i = 0; i < pfns.length; i++) {
      const at = v.dataIndex[i]!;
      if (types[i]! >= PageType.BROKEN) assert.equal(at, -1, `pfn ${i} carries no data`);
      else assert.deepEqual(v.data.subarray(at * 4096, at * 4096 + 4096), contents[i], `page ${i}`);
    }
    assert.equal(v.data.length, 3 * 4096);
  });

  test('PAGE_DATA whose count and length disagree is a bad body', () => {
    const page = makePage(1);
    const cases: Array<[string, Buffer]> = [
      ['no room for the count', Buffer.alloc(4)],
      ['count 0', u32le(0, 0)],
      ['count larger than the pfns present', cat(u32le(3, 0), u64le(1n, 2n))],
      ['a page missing', cat(u32le(2, 0), u64le(1n, 2n), page)],
      ['a page too many', cat(u32le(1, 0), u64le(1n), page, page)],
      ['a page for an XTAB entry', cat(u32le(1, 0), u64le(pfnEntry(1n, PageType.XTAB)), page)],
      ['half a page', cat(u32le(1, 0), u64le(1n), page.subarray(0, 2048))],
      ['invalid type 5', cat(u32le(1, 0), u64le(pfnEntry(1n, 5)), page)],
      ['invalid type 8', cat(u32le(1, 0), u64le(pfnEntry(1n, 8)), page)],
      ['reserved bits 59–52 set', cat(u32le(1, 0), u64le(1n | (1n << 52n)), page)],
    ];
    for (const [what, body] of cases) {
      const { error } = decodeCatching('libxc', libxcStream(HVM_HEADERS, rawRecord(LibxcRecord.PAGE_DATA, body)));
      assert.ok(error instanceof StreamError, what);
      assert.equal(error.code, 'bad-body', `${what}: ${error.message}`);
      assert.equal(error.offset, 40, what);
    }
  });

  test('with a known p2m size, pfns beyond it are rejected in PAGE_DATA and the dirty list', () => {
    const rec = cat(encodePageData({ pfns: [1023, 1024], types: [PageType.XTAB, PageType.XTAB], page: () => Buffer.alloc(0) }));
    assertStreamError('libxc', libxcStream(HVM_HEADERS, rec), 'bad-body', 40, { p2mSize: 1024 });
    assert.doesNotThrow(() => decodeAll('libxc', libxcStream(HVM_HEADERS, rec), { p2mSize: 1025 }));
    assertStreamError('back', cat(BANNER, encodeDirtyPfnList([5, 4096])), 'bad-body', 54, { p2mSize: 4096 });
  });

  test('X86_TSC_INFO round trip; a body other than 24 bytes is bad', () => {
    const { items } = decodeAll('libxc', libxcStream(HVM_HEADERS, cat(encodeTscInfo(TSC))));
    assert.deepEqual(records(items)[0]!.parsed, { kind: 'tsc', value: TSC });
    assertStreamError('libxc', libxcStream(HVM_HEADERS, rawRecord(LibxcRecord.X86_TSC_INFO, Buffer.alloc(16))), 'bad-body', 40);
    assertStreamError('libxc', libxcStream(HVM_HEADERS, rawRecord(LibxcRecord.X86_TSC_INFO, Buffer.alloc(32))), 'bad-body', 40);
  });

  test('HVM_CONTEXT is carried opaque, whatever its length', () => {
    for (const len of [0, 1, 7, 8, 9, 1234]) {
      const ctx = Buffer.alloc(len, 0x77);
      const { items } = decodeAll('libxc', libxcStream(HVM_HEADERS, cat(encodeHvmContext(ctx))));
      const r = records(items)[0]!;
      assert.equal(r.name, 'HVM_CONTEXT');
      assert.deepEqual(r.body, ctx);
      assert.equal(r.wireLength, 8 + Math.ceil(len / 8) * 8);
    }
  });

  test('HVM_PARAMS round trip; count and length must agree', () => {
    const { items } = decodeAll('libxc', libxcStream(HVM_HEADERS, cat(encodeHvmParams(HVM_PARAMS))));
    assert.deepEqual(records(items)[0]!.parsed, { kind: 'hvm-params', value: HVM_PARAMS });
    const none = decodeAll('libxc', libxcStream(HVM_HEADERS, cat(encodeHvmParams([]))));
    assert.deepEqual(records(none.items)[0]!.parsed, { kind: 'hvm-params', value: [] });
    for (const body of [Buffer.alloc(4), cat(u32le(2, 0), u64le(1n, 2n)), cat(u32le(0, 0), u64le(1n, 2n))]) {
      assertStreamError('libxc', libxcStream(HVM_HEADERS, rawRecord(LibxcRecord.HVM_PARAMS, body)), 'bad-body', 40);
    }
  });

  test('CPUID and MSR policies: whole entries only', () => {
    const cpuid = cat(encodeCpuidPolicy([{ leaf: 1, subleaf: 0xffffffff, a: 2, b: 3, c: 4, d: 5 }]));
    const msr = cat(encodeMsrPolicy([{ index: 0xce, flags: 0, value: 1n }, { index: 0x10a, flags: 0, value: 2n }]));
    const { items } = decodeAll('libxc', libxcStream(HVM_HEADERS, cpuid, msr));
    assert.deepEqual(records(items).map((r) => [r.name, r.length]), [['X86_CPUID_POLICY', 24], ['X86_MSR_POLICY', 32], ['END', 0]]);
    assert.deepEqual(records(items)[0]!.body, cpuid.subarray(8));
    assertStreamError('libxc', libxcStream(HVM_HEADERS, rawRecord(LibxcRecord.X86_CPUID_POLICY, Buffer.alloc(16))), 'bad-body', 40);
    assertStreamError('libxc', libxcStream(HVM_HEADERS, rawRecord(LibxcRecord.X86_MSR_POLICY, Buffer.alloc(24))), 'bad-body', 40);
  });

  test('empty libxc records (END, VERIFY, CHECKPOINT, STATIC_DATA_END) decode, and refuse a body', () => {
    const empties = [LibxcRecord.VERIFY, LibxcRecord.STATIC_DATA_END, LibxcRecord.CHECKPOINT];
    const { items, decoder } = decodeAll('libxc', libxcStream(HVM_HEADERS, ...empties.map((t) => rawRecord(t))));
    assert.deepEqual(records(items).map((r) => r.name), ['VERIFY', 'STATIC_DATA_END', 'CHECKPOINT', 'END']);
    assert.equal(decoder.isDone, true);
    for (const type of [...empties, LibxcRecord.END]) {
      assertStreamError('libxc', libxcStream(HVM_HEADERS, rawRecord(type, Buffer.alloc(8))), 'bad-body', 40);
    }
  });

  test('a bare libxc stream counts checkpoints at CHECKPOINT and completes at END', () => {
    const cp = rawRecord(LibxcRecord.CHECKPOINT);
    const { decoder } = decodeAll('libxc', cat(HVM_HEADERS, cp, cat(encodeTscInfo(TSC)), cp));
    assert.equal(decoder.checkpoints, 2);
    assert.equal(decoder.endPosition(), 'between-checkpoints');
    const complete = decodeAll('libxc', libxcStream(HVM_HEADERS, cp));
    assert.equal(complete.decoder.endPosition(), 'complete');
  });

  const PV_ONLY = [0x02, 0x03, 0x04, 0x05, 0x06, 0x07, 0x0c];

  test('PV-only records decode in a PV stream', () => {
    const recs = PV_ONLY.map((type) => rawRecord(type, Buffer.alloc(type * 3, type)));
    const { items, decoder } = decodeAll('libxc', libxcStream(PV_HEADERS, ...recs));
    assert.deepEqual(items[0], {
      kind: 'libxc-header', offset: 0, wireLength: 40, header: { domainType: 1, pageShift: 12, xenMajor: 4, xenMinor: 17 },
    });
    assert.deepEqual(records(items).map((r) => r.name), [
      'X86_PV_INFO', 'X86_PV_P2M_FRAMES', 'X86_PV_VCPU_BASIC', 'X86_PV_VCPU_EXTENDED', 'X86_PV_VCPU_XSAVE', 'SHARED_INFO',
      'X86_PV_VCPU_MSRS', 'END',
    ]);
    records(items).slice(0, -1).forEach((r, i) => assert.deepEqual(r.body, Buffer.alloc(PV_ONLY[i]! * 3, PV_ONLY[i])));
    assert.equal(decoder.isDone, true);
  });

  test('PV-only records are rejected in an HVM stream, HVM-only records in a PV stream', () => {
    for (const type of PV_ONLY) {
      assertStreamError('libxc', libxcStream(HVM_HEADERS, rawRecord(type, Buffer.alloc(8))), 'unexpected-record', 40);
    }
    assertStreamError('libxc', libxcStream(PV_HEADERS, cat(encodeHvmContext(Buffer.alloc(16)))), 'unexpected-record', 40);
    assertStreamError('libxc', libxcStream(PV_HEADERS, cat(encodeHvmParams(HVM_PARAMS))), 'unexpected-record', 40);
  });

  test('CHECKPOINT_DIRTY_PFN_LIST on the forward stream is unexpected', () => {
    assertStreamError('libxc', libxcStream(HVM_HEADERS, cat(encodeDirtyPfnList([1]))), 'unexpected-record', 40);
  });

  test('an unknown optional record is skipped, its body kept; the stream goes on', () => {
    const optional = rawRecord(0x80000013, Buffer.from('future stuff'));
    const optionalKnownBase = rawRecord(0x80000001, Buffer.alloc(3));
    const { items, decoder } = decodeAll('libxc', libxcStream(HVM_HEADERS, optional, optionalKnownBase, cat(encodeTscInfo(TSC))));
    const [a, b, tsc, end] = records(items);
    assert.equal(a!.skipped, true);
    assert.equal(a!.type, 0x80000013);
    assert.equal(a!.offset, 40);
    assert.deepEqual(a!.body, Buffer.from('future stuff'));
    assert.equal(a!.parsed, undefined);
    // The optional bit makes even a known type number optional: libxc's switch matches the whole type.
    assert.equal(b!.skipped, true);
    assert.equal(b!.parsed, undefined);
    assert.equal(tsc!.skipped, false);
    assert.equal(tsc!.name, 'X86_TSC_INFO');
    assert.equal(end!.name, 'END');
    assert.equal(decoder.isDone, true);
  });

  test('an unknown mandatory record is rejected', () => {
    for (const type of [0x13, 0x14, 0x7fffffff]) {
      assertStreamError('libxc', libxcStream(HVM_HEADERS, rawRecord(type, Buffer.alloc(8))), 'unknown-record', 40);
    }
  });
});

describe('xl header', () => {
  test('round trip of the domain config JSON', () => {
    const config = JSON.stringify({ c_info: { name: 'vm-ü', domid: 0, uuid: 'a'.repeat(36) }, b_info: { max_vcpus: 4 }, disks: [{ vdev: 'xvda' }] });
    const header = encodeXlHeader(config);
    const { items } = decodeAll('xl', cat(header, encodeLibxlHeader(), LIBXL_END));
    assert.deepEqual(items[0], { kind: 'xl-header', offset: 0, wireLength: header.length, header: { mandatoryFlags: 3, optionalFlags: 0, config } });
    assert.deepEqual(JSON.parse((items[0] as { header: { config: string } }).header.config), JSON.parse(config));
    assert.deepEqual(items.slice(1).map((i) => [i.kind, i.offset]), [['libxl-header', header.length], ['record', header.length + 16]]);
  });

  test('optional flags are optional: unknown ones are reported, not rejected', () => {
    const header = encodeXlHeader('{}');
    header.writeUInt32LE(0x10, 40);
    const { items } = decodeAll('xl', cat(header, encodeLibxlHeader(), LIBXL_END));
    assert.equal((items[0] as { header: { optionalFlags: number } }).header.optionalFlags, 0x10);
  });

  test('optional data longer than the config is tolerated, as xl does', () => {
    const config = Buffer.from('{"a":1}\0');
    const optional = cat(u32le(config.length), config, Buffer.from('extra'));
    const fixed = cat(encodeXlHeader('').subarray(0, 44), u32le(optional.length));
    const { items } = decodeAll('xl', cat(fixed, optional, encodeLibxlHeader(), LIBXL_END));
    assert.equal((items[0] as { header: { config: string } }).header.config, '{"a":1}');
    assert.equal(items[1]!.offset, 48 + optional.length);
  });

  test('a config length running past the optional data is a bad body in the header', () => {
    const header = encodeXlHeader('{"a":1}');
    header.writeUInt32LE(header.readUInt32LE(48) + 1, 48);
    const { error } = decodeCatching('xl', cat(header, encodeLibxlHeader(), LIBXL_END));
    assert.ok(error instanceof StreamError);
    assert.equal(error.code, 'bad-body');
    assert.ok(error.offset >= 0 && error.offset < header.length, `offset ${error.offset}`);
  });

  test('the JSON flag without room for the config length is a bad body', () => {
    const header = encodeXlHeader('').subarray(0, 48);
    header.writeUInt32LE(0, 44);
    const { error } = decodeCatching('xl', cat(header, encodeLibxlHeader(), LIBXL_END));
    assert.ok(error instanceof StreamError);
    assert.equal(error.code, 'bad-body');
  });
});

describe('back channel', () => {
  test('banner, then READY/RESUMED, then SUSPENDED/DIRTY_PFN_LIST/READY/RESUMED per cycle', () => {
    const b = backChannel(3, (c) => [c, 7, 0x000fffffffffffff, 2 ** 32 + c]);
    const { items, decoder } = decodeAll('back', b.bytes());
    assert.equal(matchesLayout(items, b.parts), undefined);
    assert.deepEqual(items[0], { kind: 'banner', offset: 0, wireLength: 54 });
    const summary = records(items).map((r) =>
      r.parsed?.kind === 'checkpoint-state' ? r.parsed.id : r.parsed?.kind === 'dirty-pfns' ? Array.from(r.parsed.pfns) : r.name);
    assert.deepEqual(summary, [
      2, 3,
      1, [1, 7, 0x000fffffffffffff, 2 ** 32 + 1], 2, 3,
      1, [2, 7, 0x000fffffffffffff, 2 ** 32 + 2], 2, 3,
    ]);
    assert.deepEqual(records(items).map((r) => r.layer), ['libxl', 'libxl', 'libxl', 'libxc', 'libxl', 'libxl', 'libxl', 'libxc', 'libxl', 'libxl']);
    assert.equal(decoder.offset, b.length);
  });

  test('an empty dirty list decodes to no pfns', () => {
    const { items } = decodeAll('back', cat(BANNER, hex('0f 00 00 00 00 00 00 00')));
    assert.deepEqual((items[1] as StreamRecord).parsed, { kind: 'dirty-pfns', pfns: new Float64Array(0) });
  });

  test('a wrong banner is rejected at byte 0; without expectBanner records start at byte 0', () => {
    const wrong = Buffer.from(BANNER);
    wrong[10]! ^= 0x20;
    assertStreamError('back', cat(wrong, encodeCheckpointState(2)), 'bad-banner', 0);
    const { items } = decodeAll('back', cat(encodeCheckpointState(2)), { expectBanner: false });
    assert.deepEqual(items.map((i) => [i.kind, i.offset]), [['record', 0]]);
  });

  test('only CHECKPOINT_STATE and CHECKPOINT_DIRTY_PFN_LIST travel on the back channel', () => {
    for (const type of [LibxlRecord.END, LibxlRecord.CHECKPOINT_END, LibxlRecord.EMULATOR_CONTEXT, LibxcRecord.CHECKPOINT, LibxcRecord.HVM_CONTEXT]) {
      assertStreamError('back', cat(BANNER, rawRecord(type, Buffer.alloc(type === LibxlRecord.EMULATOR_CONTEXT ? 8 : 0))), 'unexpected-record', 54);
    }
    const page = cat(encodePageData({ pfns: [1], types: [PageType.XTAB], page: () => Buffer.alloc(0) }));
    assertStreamError('back', cat(BANNER, page), 'unexpected-record', 54);
  });

  test('a dirty list that is not whole u64s is a bad body', () => {
    assertStreamError('back', cat(BANNER, rawRecord(0x0f, Buffer.alloc(12))), 'bad-body', 54);
  });

  // xen-colo.md §1.7: since Xen 4.18 the secondary writes type, length = 8·n, 8 zero bytes, then the n pfns.
  const pfns = [3n, 0xfffffffffffffn, 0x1234n];
  const xen418DirtyList = cat(u32le(0x0f, 8 * pfns.length), Buffer.alloc(8), u64le(...pfns));

  test('Xen ≥ 4.18 16-byte dirty-list header decodes with dirtyPfnListHeader: 16', () => {
    const bytes = cat(BANNER, encodeCheckpointState(1), xen418DirtyList, encodeCheckpointState(2), encodeCheckpointState(3));
    const { items } = decodeAll('back', bytes, { dirtyPfnListHeader: 16 });
    const list = items[2] as StreamRecord;
    assert.equal(list.name, 'CHECKPOINT_DIRTY_PFN_LIST');
    assert.equal(list.offset, 54 + 16);
    assert.equal(list.length, 24);
    assert.equal(list.wireLength, 16 + 24);
    assert.deepEqual(list.parsed, { kind: 'dirty-pfns', pfns: Float64Array.from(pfns.map(Number)) });
    assert.deepEqual(items.slice(3).map((i) => [i.offset, (i as StreamRecord).parsed]), [
      [54 + 16 + 40, { kind: 'checkpoint-state', id: 2 }],
      [54 + 16 + 40 + 16, { kind: 'checkpoint-state', id: 3 }],
    ]);
  });

  test('read as the spec says, the Xen ≥ 4.18 layout yields a bogus pfn 0 and loses the last pfn', () => {
    // What the primary's read_record does (§1.7): the body is 24 bytes from right after the 8-byte header.
    const bytes = cat(BANNER, xen418DirtyList, encodeCheckpointState(2));
    const { items, error } = decodeCatching('back', bytes);
    const list = items[1] as StreamRecord;
    assert.deepEqual(list.parsed, { kind: 'dirty-pfns', pfns: Float64Array.from([0, 3, 0xfffffffffffff]) });
    // The left-over pfn is then read as a record header.
    assert.ok(error instanceof StreamError, 'the stray 8 bytes do not pass as a record');
    assert.equal(error.offset, 54 + 32);
  });

  test('in 16-byte mode the stray bytes must be zero, and only the dirty list has them', () => {
    const bad = Buffer.from(xen418DirtyList);
    bad[12] = 1;
    assertStreamError('back', cat(BANNER, bad), 'bad-body', 54 + 8, { dirtyPfnListHeader: 16 });
    const { items } = decodeAll('back', cat(BANNER, encodeCheckpointState(2), encodeCheckpointState(3)), { dirtyPfnListHeader: 16 });
    assert.deepEqual(items.map((i) => i.offset), [0, 54, 70]);
    const spec = decodeAll('back', cat(BANNER, encodeDirtyPfnList([1, 2])), { dirtyPfnListHeader: 8 });
    assert.deepEqual((spec.items[1] as StreamRecord).parsed, { kind: 'dirty-pfns', pfns: Float64Array.from([1, 2]) });
  });
});
