// Encoders and format helpers, checked byte for byte against the layouts in xen-colo.md §1 (not against the
// encoder's own constants).

import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import {
  CHECKPOINT_NEW,
  CheckpointState,
  LibxcRecord,
  LibxlRecord,
  PageType,
  XL_MAGIC,
  XL_RECEIVER_BANNER,
  checkpointStateName,
  chunksLength,
  encodeCheckpointState,
  encodeCpuidPolicy,
  encodeDirtyPfnList,
  encodeEmulatorRecord,
  encodeHvmContext,
  encodeHvmParams,
  encodeLibxc,
  encodeLibxcHeaders,
  encodeLibxl,
  encodeLibxlHeader,
  encodeMsrPolicy,
  encodePageData,
  encodeRecord,
  encodeTscInfo,
  encodeXenstorePairs,
  encodeXlHeader,
  pageTypeHasData,
  pageTypeIsValid,
  paddedLength,
  recordName,
} from './index.js';
import { cat, hex, makePage, pfnEntry, u32le, u64le } from './test-support/fixtures.js';

describe('stream headers', () => {
  test('libxl header is "LibxlFmt", version 2, options 0, all big-endian', () => {
    assert.deepEqual(encodeLibxlHeader(), hex('4c 69 62 78 6c 46 6d 74 | 00 00 00 02 | 00 00 00 00'));
  });

  test('libxc image header is big-endian, domain header little-endian', () => {
    const bytes = encodeLibxcHeaders({ xenMajor: 4, xenMinor: 17 });
    assert.deepEqual(bytes, hex(`
      ff ff ff ff ff ff ff ff | 58 45 4e 46 | 00 00 00 03 | 00 00 | 00 00 00 00 00 00
      02 00 00 00 | 0c 00 | 00 00 | 04 00 00 00 | 11 00 00 00`));
  });

  test('libxc domain header carries the PV domain type when asked', () => {
    const bytes = encodeLibxcHeaders({ domainType: 1, xenMajor: 4, xenMinor: 21 });
    assert.deepEqual(bytes.subarray(24), hex('01 00 00 00 | 0c 00 | 00 00 | 04 00 00 00 | 15 00 00 00'));
  });

  test('xl header: 32-byte magic with embedded NUL, LE byte-order mark, flags 0x3, NUL-terminated JSON', () => {
    const config = '{"c_info":{"name":"vm-ü","domid":0}}';
    const bytes = encodeXlHeader(config);
    const json = Buffer.from(config, 'utf8');
    const magic = cat(Buffer.from('Xen saved domain, xl format', 'ascii'), hex('0a 20 00 20 0d'));
    assert.equal(magic.length, 32);
    assert.deepEqual(bytes.subarray(0, 32), magic);
    assert.deepEqual(XL_MAGIC, magic);
    assert.deepEqual(bytes.subarray(32, 36), hex('04 03 02 01'));
    assert.deepEqual(bytes.subarray(36, 40), hex('03 00 00 00'));
    assert.deepEqual(bytes.subarray(40, 44), hex('00 00 00 00'));
    // optional data = u32 config_len + config incl. its NUL; config_len counts UTF-8 bytes, NUL included.
    assert.equal(bytes.readUInt32LE(44), 4 + json.length + 1);
    assert.equal(bytes.readUInt32LE(48), json.length + 1);
    assert.deepEqual(bytes.subarray(52), cat(json, hex('00')));
    assert.equal(bytes.length, 48 + 4 + json.length + 1);
  });

  test('receiver banner is the 54-byte line xl writes, without NUL', () => {
    assert.equal(XL_RECEIVER_BANNER.length, 54);
    assert.equal(XL_RECEIVER_BANNER.toString('latin1'), 'xl migration receiver ready, send binary domain data.\n');
  });
});

describe('record framing', () => {
  test('every body length 0..17 gets a LE header with the unpadded length and zero padding to 8', () => {
    for (let len = 0; len <= 17; len++) {
      const body = Buffer.alloc(len, 0xab);
      const wire = cat(encodeRecord(0x1234, [body]));
      const padded = Math.ceil(len / 8) * 8;
      assert.equal(wire.length, 8 + padded, `length ${len}`);
      assert.deepEqual(wire.subarray(0, 8), cat(hex('34 12 00 00'), u32le(len)));
      assert.deepEqual(wire.subarray(8, 8 + len), body);
      assert.ok(wire.subarray(8 + len).every((b) => b === 0), `padding of length ${len} is zero`);
    }
  });

  test('bodies given in several parts, Uint8Array or Buffer, are framed as one body', () => {
    const a = new Uint8Array([1, 2, 3]);
    const b = Buffer.from([4, 5]);
    const view = new Uint8Array(new Uint8Array([9, 9, 6, 7, 9]).buffer, 2, 2);
    const chunks = encodeRecord(7, [a, Buffer.alloc(0), b, view]);
    const wire = cat(chunks);
    assert.equal(chunksLength(chunks), 16);
    assert.deepEqual(wire, hex('07 00 00 00 07 00 00 00 | 01 02 03 04 05 06 07 | 00'));
  });

  test('empty records are just the 8-byte header', () => {
    assert.deepEqual(cat(encodeLibxl(LibxlRecord.END)), hex('00 00 00 00 00 00 00 00'));
    assert.deepEqual(cat(encodeLibxl(LibxlRecord.LIBXC_CONTEXT)), hex('01 00 00 00 00 00 00 00'));
    assert.deepEqual(cat(encodeLibxl(LibxlRecord.CHECKPOINT_END)), hex('04 00 00 00 00 00 00 00'));
    assert.deepEqual(cat(encodeLibxc(LibxcRecord.CHECKPOINT)), hex('0e 00 00 00 00 00 00 00'));
    assert.deepEqual(cat(encodeLibxc(LibxcRecord.STATIC_DATA_END)), hex('10 00 00 00 00 00 00 00'));
    assert.deepEqual(cat(encodeLibxc(LibxcRecord.END)), hex('00 00 00 00 00 00 00 00'));
  });

  test('paddedLength rounds up to 8 over the whole u32 range (no 32-bit wrap)', () => {
    assert.equal(paddedLength(0), 0);
    assert.equal(paddedLength(1), 8);
    assert.equal(paddedLength(8), 8);
    assert.equal(paddedLength(9), 16);
    assert.equal(paddedLength(0x7ffffff9), 0x80000000);
    assert.equal(paddedLength(0x80000001), 0x80000008);
    assert.equal(paddedLength(0xfffffff9), 0x100000000);
    assert.equal(paddedLength(0xffffffff), 0x100000000);
  });
});

describe('libxl records', () => {
  test('CHECKPOINT_NEW on the wire is 16 bytes: type 5, length 4, id 0, 4 bytes padding', () => {
    assert.deepEqual(CHECKPOINT_NEW, hex('05 00 00 00 04 00 00 00 00 00 00 00 00 00 00 00'));
  });

  test('CHECKPOINT_STATE carries each control id in a 4-byte body', () => {
    for (const id of [0, 1, 2, 3] as const) {
      assert.deepEqual(cat(encodeCheckpointState(id)), hex(`05 00 00 00 04 00 00 00 0${id} 00 00 00 00 00 00 00`));
    }
  });

  test('emulator records start with the emulator sub-header, counted in the length', () => {
    const data = Buffer.from('QEVM state!'); // 11 bytes
    const wire = cat(encodeEmulatorRecord(LibxlRecord.EMULATOR_CONTEXT, data));
    assert.deepEqual(wire, cat(hex('03 00 00 00 13 00 00 00 | 02 00 00 00 00 00 00 00'), data, hex('00 00 00 00 00')));
    const legacy = cat(encodeEmulatorRecord(LibxlRecord.EMULATOR_XENSTORE_DATA, Buffer.alloc(0), 1, 0));
    assert.deepEqual(legacy, hex('02 00 00 00 08 00 00 00 | 01 00 00 00 00 00 00 00'));
  });

  test('xenstore data is packed key\\0value\\0 pairs', () => {
    assert.deepEqual(encodeXenstorePairs([['a/b', '1'], ['c', '']]), Buffer.from('a/b\x001\x00c\x00\x00', 'latin1'));
    assert.equal(encodeXenstorePairs([]).length, 0);
  });
});

describe('libxc records', () => {
  test('PAGE_DATA: count, reserved, pfn|type<<60 entries, then pages only for types with data', () => {
    const pages = [makePage(1), makePage(2), makePage(3), makePage(4)];
    const pfns = [1, 0x000fffffffffffff, 0x12345, 0, 2 ** 40 + 3];
    const types = [PageType.NOTAB, PageType.XTAB, PageType.L4TAB_PIN, PageType.BROKEN, PageType.XALLOC];
    const wire = cat(encodePageData({ pfns, types, page: (i) => pages[i]! }));
    const entries = u64le(
      pfnEntry(1n, 0x0),
      pfnEntry(0xfffffffffffffn, 0xf),
      pfnEntry(0x12345n, 0xc),
      pfnEntry(0n, 0xd),
      pfnEntry(2n ** 40n + 3n, 0xe),
    );
    assert.deepEqual(entries.subarray(8, 16), hex('ff ff ff ff ff ff 0f f0'));
    const body = cat(u32le(5, 0), entries, pages[0]!, pages[2]!);
    assert.deepEqual(wire, cat(u32le(1, body.length), body));
  });

  test('PAGE_DATA types default to NOTAB, and every type with data gets a page', () => {
    const wire = cat(encodePageData({ pfns: [7, 8], page: (i) => Buffer.alloc(4096, i + 1) }));
    assert.equal(wire.length, 8 + 8 + 16 + 8192);
    assert.equal(wire.readBigUInt64LE(16), 7n);
    assert.equal(wire.readBigUInt64LE(24), 8n);
    assert.equal(wire[32], 1);
    assert.equal(wire[32 + 4096], 2);
  });

  test('PAGE_DATA from runs (pages()) is byte for byte the same as page by page, across gaps and data-less types', () => {
    // Guest memory of 16 pages with distinct contents; runs broken by a pfn gap, a BROKEN entry and an XTAB entry.
    const memory = Buffer.alloc(16 * 4096);
    for (let p = 0; p < 16; p++) memory.fill(p + 1, p * 4096, (p + 1) * 4096);
    const pfns = [2, 3, 4, 5, 9, 10, 11, 12, 13, 14, 0, 1, 7];
    const types = [0, 0, 0, PageType.BROKEN, 0, 0, PageType.XTAB, 0, 0, 0, 0, 0, 0];
    const page = (i: number): Buffer => memory.subarray(pfns[i]! * 4096, (pfns[i]! + 1) * 4096);
    const asked: [number, number][] = [];
    const pages = (i: number, n: number): Buffer => {
      asked.push([i, n]);
      return memory.subarray(pfns[i]! * 4096, (pfns[i]! + n) * 4096);
    };
    assert.deepEqual(cat(encodePageData({ pfns, types, page, pages })), cat(encodePageData({ pfns, types, page })));
    assert.deepEqual(asked, [[0, 3], [4, 2], [7, 3], [10, 2], [12, 1]]);
    assert.throws(() => encodePageData({ pfns: [1, 2], page, pages: () => Buffer.alloc(4096) }), /not 8192/);
  });

  test('PAGE_DATA refuses what Xen could not encode', () => {
    const page = (): Buffer => Buffer.alloc(4096);
    assert.throws(() => encodePageData({ pfns: [], page }), RangeError);
    assert.throws(() => encodePageData({ pfns: [2 ** 52], page }), RangeError);
    assert.throws(() => encodePageData({ pfns: [-1], page }), RangeError);
    assert.throws(() => encodePageData({ pfns: [1.5], page }), RangeError);
    assert.throws(() => encodePageData({ pfns: [1], types: [5], page }), RangeError);
    assert.throws(() => encodePageData({ pfns: [1], types: [0x10], page }), RangeError);
    assert.throws(() => encodePageData({ pfns: [1], page: () => Buffer.alloc(4095) }), RangeError);
  });

  test('X86_TSC_INFO: mode, khz, nsec, incarnation, reserved in 24 bytes', () => {
    const wire = cat(encodeTscInfo({ mode: 2, khz: 3_000_000, nsec: 0x0102030405060708n, incarnation: 9 }));
    assert.deepEqual(wire, cat(hex('08 00 00 00 18 00 00 00'), u32le(2, 3_000_000), hex('08 07 06 05 04 03 02 01'), u32le(9, 0)));
  });

  test('HVM_CONTEXT is opaque and padded; HVM_PARAMS is count, reserved, index/value pairs', () => {
    const ctx = Buffer.from([1, 2, 3, 4, 5]);
    assert.deepEqual(cat(encodeHvmContext(ctx)), hex('09 00 00 00 05 00 00 00 | 01 02 03 04 05 00 00 00'));
    const wire = cat(encodeHvmParams([{ index: 2n, value: 0xfeffc000n }, { index: 44n, value: 2n ** 64n - 1n }]));
    assert.deepEqual(wire, cat(hex('0a 00 00 00 28 00 00 00'), u32le(2, 0), u64le(2n, 0xfeffc000n, 44n, 2n ** 64n - 1n)));
    assert.deepEqual(cat(encodeHvmParams([])), cat(hex('0a 00 00 00 08 00 00 00'), u32le(0, 0)));
  });

  test('CHECKPOINT_DIRTY_PFN_LIST is bare u64 pfns after an 8-byte header', () => {
    const wire = cat(encodeDirtyPfnList([3, 0x000fffffffffffff, 2 ** 33 + 1]));
    assert.deepEqual(wire, cat(hex('0f 00 00 00 18 00 00 00'), u64le(3n, 0xfffffffffffffn, 2n ** 33n + 1n)));
    assert.deepEqual(cat(encodeDirtyPfnList([])), hex('0f 00 00 00 00 00 00 00'));
  });

  test('CPUID policy is six u32 per leaf; MSR policy is u32 idx, u32 flags, u64 value', () => {
    const cpuid = cat(encodeCpuidPolicy([{ leaf: 0x80000008, subleaf: 0xffffffff, a: 1, b: 2, c: 3, d: 4 }]));
    assert.deepEqual(cpuid, cat(hex('11 00 00 00 18 00 00 00'), u32le(0x80000008, 0xffffffff, 1, 2, 3, 4)));
    const msr = cat(encodeMsrPolicy([{ index: 0xc0000080, flags: 0, value: 0xd01n }]));
    assert.deepEqual(msr, cat(hex('12 00 00 00 10 00 00 00'), u32le(0xc0000080, 0), u64le(0xd01n)));
  });

  test('the encoder references page contents instead of copying them', () => {
    const page = makePage(5);
    const chunks = encodePageData({ pfns: [1], page: () => page });
    assert.ok(chunks.some((c) => c.buffer === page.buffer && c.byteOffset === page.byteOffset), 'page buffer is one of the chunks');
  });
});

describe('names and page types', () => {
  test('record names per layer, optional and unknown types', () => {
    assert.equal(recordName('libxl', 5), 'CHECKPOINT_STATE');
    assert.equal(recordName('libxc', 5), 'X86_PV_VCPU_EXTENDED');
    assert.equal(recordName('libxc', 0x0f), 'CHECKPOINT_DIRTY_PFN_LIST');
    assert.equal(recordName('libxc', 0x12), 'X86_MSR_POLICY');
    assert.equal(recordName('libxc', 0x80000013), 'OPTIONAL_0x80000013');
    assert.equal(recordName('libxc', 0x13), 'UNKNOWN_0x00000013');
    assert.equal(recordName('libxl', 0x80000000), 'UNKNOWN_0x80000000');
    assert.equal(checkpointStateName(CheckpointState.SVM_READY), 'SVM_READY');
    assert.equal(checkpointStateName(9), 'UNKNOWN(9)');
  });

  test('XEN_DOMCTL_PFINFO types: 0–4 and 9–0xF are valid; BROKEN, XALLOC, XTAB carry no data', () => {
    const valid = [0, 1, 2, 3, 4, 9, 10, 11, 12, 13, 14, 15];
    for (let t = 0; t < 16; t++) assert.equal(pageTypeIsValid(t), valid.includes(t), `type ${t}`);
    for (const t of valid) assert.equal(pageTypeHasData(t), t < 0xd, `type ${t}`);
  });
});
