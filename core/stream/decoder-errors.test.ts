// Bad bytes: truncation at every byte boundary, bit flips in every header field, a bounded fuzz loop, absurd lengths,
// non-zero padding and trailing bytes. Whatever the input, the decoder must answer with items or a StreamError that
// says where, never another exception and never a wait for bytes it will refuse anyway.

import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import {
  LIBXC_RECORD_MAX,
  LIBXL_RECORD_MAX,
  LibxcRecord,
  LibxlRecord,
  type DecoderOptions,
  StreamDecoder,
  StreamError,
  type StreamErrorCode,
  type StreamKind,
  encodeCheckpointState,
  encodeEmulatorRecord,
  encodeLibxcHeaders,
  encodeLibxlHeader,
  encodeXlHeader,
  paddedLength,
} from './index.js';
import {
  type Expected,
  type StreamBuilder,
  backChannel,
  cat,
  decodeCatching,
  forwardStream,
  rawRecord,
  rng,
  show,
  u32le,
} from './test-support/fixtures.js';

const BANNER = Buffer.from('xl migration receiver ready, send binary domain data.\n', 'latin1');
const HVM_HEADERS = encodeLibxcHeaders({ xenMajor: 4, xenMinor: 17 });

function isNew(p: Expected): boolean {
  return p.kind === 'record' && p.layer === 'libxl' && p.type === LibxlRecord.CHECKPOINT_STATE;
}

/** What endPosition() should say when the input stops right after `last`, from the protocol's point of view. */
function expectedEnd(last: Expected): string {
  if (last.kind === 'record' && last.layer === 'libxl') {
    if (last.type === LibxlRecord.END) return 'complete';
    if (last.type === LibxlRecord.CHECKPOINT_END || isNew(last)) return 'between-checkpoints';
  }
  return 'inside-checkpoint';
}

/**
 * For every prefix length: if the prefix ends where a record could start, the complete items decode and then
 * next() says undefined; otherwise next() throws 'truncated' at the start of the item that was cut (a stream header
 * is never optional, so stopping right before one is a truncation too).
 */
function checkEveryPrefix(kind: StreamKind, b: { parts: readonly Expected[]; bytes(): Buffer }, checkEnd: boolean, options?: DecoderOptions): void {
  const bytes = b.bytes();
  let complete = 0; // parts wholly inside the prefix
  for (let len = 0; len <= bytes.length; len++) {
    while (complete < b.parts.length && b.parts[complete]!.offset + b.parts[complete]!.wireLength <= len) complete++;
    const next = b.parts[complete];
    const clean = next === undefined || (next.offset === len && next.kind === 'record');
    const { items, error, decoder } = decodeCatching(kind, bytes.subarray(0, len), options);
    if (items.length !== complete) assert.fail(`prefix ${len}: decoded ${items.length} items, expected ${complete}`);
    for (let i = 0; i < complete; i++) {
      if (items[i]!.offset !== b.parts[i]!.offset) assert.fail(`prefix ${len}: item ${i} at ${items[i]!.offset}, expected ${b.parts[i]!.offset}`);
    }
    if (clean) {
      if (error !== undefined) assert.fail(`prefix ${len} ends on a record boundary but threw ${show(error)}`);
      if (checkEnd) {
        const want = expectedEnd(b.parts[complete - 1]!);
        if (decoder.endPosition() !== want) assert.fail(`prefix ${len}: endPosition ${decoder.endPosition()}, expected ${want}`);
        const checkpoints = b.parts.slice(0, complete).filter((p) => p.layer === 'libxl' && p.type === LibxlRecord.CHECKPOINT_END).length;
        if (decoder.checkpoints !== checkpoints) assert.fail(`prefix ${len}: ${decoder.checkpoints} checkpoints, expected ${checkpoints}`);
      }
    } else {
      if (!(error instanceof StreamError) || error.code !== 'truncated' || error.offset !== next.offset) {
        assert.fail(`prefix ${len}: expected truncated at ${next.offset}, got ${show(error)}`);
      }
    }
  }
}

describe('truncation', () => {
  test('COLO forward stream cut at every byte', () => {
    checkEveryPrefix('xl', forwardStream({ mode: 'colo', cycles: 2, pages: 1, trailingNew: true }), true);
  });

  test('Remus forward stream cut at every byte', () => {
    checkEveryPrefix('xl', forwardStream({ mode: 'remus', cycles: 2, pages: 0 }), true);
  });

  test('plain forward stream cut at every byte', () => {
    checkEveryPrefix('libxl', forwardStream({ mode: 'plain', pages: 1, xl: false }), true);
  });

  test('back channel cut at every byte, in both dirty-list layouts', () => {
    checkEveryPrefix('back', backChannel(3), false);
    // The Xen ≥ 4.18 layout: 8 zero bytes between the dirty list's header and its pfns.
    const b = backChannel(3);
    const quirky = b.parts.map((p) => (p.type === LibxcRecord.CHECKPOINT_DIRTY_PFN_LIST ? cat(p.bytes.subarray(0, 8), Buffer.alloc(8), p.bytes.subarray(8)) : p.bytes));
    let at = 0;
    const parts = quirky.map((bytes, i) => {
      const p = { ...b.parts[i]!, bytes, offset: at, wireLength: bytes.length };
      at += bytes.length;
      return p;
    });
    checkEveryPrefix('back', { parts, bytes: () => Buffer.concat(quirky) }, false, { dirtyPfnListHeader: 16 });
  });

  test('a truncation error names what was cut', () => {
    const bytes = forwardStream({ mode: 'colo', cycles: 1 }).bytes();
    const { error } = decodeCatching('xl', bytes.subarray(0, 20));
    assert.ok(error instanceof StreamError);
    assert.match(error.message, /xl save-file header/);
    assert.match(error.message, /\(at byte 0\)/);
  });
});

interface Field {
  name: string;
  at: number;
  size: number;
  codes: StreamErrorCode[];
  /** Errors must point into [from, to). */
  from: number;
  to: number;
  /** Bits (0 = least significant bit of the field's first byte) whose flip leaves a valid header. */
  legalBits?: number[];
}

describe('bit flips in header fields', () => {
  const b = forwardStream({ mode: 'colo', cycles: 1, pages: 1, trailingNew: true });
  const bytes = b.bytes();
  const xlEnd = b.parts[1]!.offset;
  const lh = b.parts[1]!.offset;
  const xc = b.parts[3]!.offset;

  const fields: Field[] = [
    { name: 'xl magic', at: 0, size: 32, codes: ['bad-magic'], from: 0, to: xlEnd },
    { name: 'xl byte-order mark', at: 32, size: 4, codes: ['bad-options'], from: 0, to: xlEnd },
    // Bit 0 is XL_MANDATORY_FLAG_JSON: without it xl reads the config as xl.cfg text, still a valid header.
    { name: 'xl mandatory flags', at: 36, size: 4, codes: ['bad-options', 'bad-version'], from: 0, to: xlEnd, legalBits: [0] },
    { name: 'libxl ident', at: lh, size: 8, codes: ['bad-magic'], from: lh, to: lh + 16 },
    { name: 'libxl version', at: lh + 8, size: 4, codes: ['bad-version'], from: lh, to: lh + 16 },
    // Options are big-endian; bit 1 of the u32 (the legacy-conversion flag) sits in its last byte.
    { name: 'libxl options', at: lh + 12, size: 4, codes: ['bad-options'], from: lh, to: lh + 16, legalBits: [25] },
    { name: 'libxc marker', at: xc, size: 8, codes: ['bad-magic'], from: xc, to: xc + 40 },
    { name: 'libxc id', at: xc + 8, size: 4, codes: ['bad-magic'], from: xc, to: xc + 40 },
    { name: 'libxc version', at: xc + 12, size: 4, codes: ['bad-version'], from: xc, to: xc + 40 },
    { name: 'libxc options', at: xc + 16, size: 2, codes: ['bad-options'], from: xc, to: xc + 40 },
    { name: 'libxc reserved', at: xc + 18, size: 6, codes: ['bad-options'], from: xc, to: xc + 40 },
    { name: 'libxc domain type', at: xc + 24, size: 4, codes: ['bad-options'], from: xc, to: xc + 40 },
    { name: 'libxc page shift', at: xc + 28, size: 2, codes: ['bad-options'], from: xc, to: xc + 40 },
    { name: 'libxc domain header reserved', at: xc + 30, size: 2, codes: ['bad-options'], from: xc, to: xc + 40 },
  ];

  for (const f of fields) {
    test(f.name, () => {
      let errors = 0;
      for (let bit = 0; bit < f.size * 8; bit++) {
        const m = Buffer.from(bytes);
        m[f.at + (bit >> 3)]! ^= 1 << (bit & 7);
        const { error, items } = decodeCatching('xl', m);
        if (f.legalBits?.includes(bit)) {
          assert.equal(error, undefined, `bit ${bit} is legal: ${show(error)}`);
          assert.equal(items.length, b.parts.length);
          continue;
        }
        assert.ok(error instanceof StreamError, `bit ${bit}: ${show(error)}`);
        assert.ok(f.codes.includes(error.code), `bit ${bit}: code ${error.code} (${error.message})`);
        assert.ok(error.offset >= f.from && error.offset < f.to, `bit ${bit}: offset ${error.offset} outside [${f.from}, ${f.to})`);
        errors++;
      }
      assert.equal(errors, f.size * 8 - (f.legalBits?.length ?? 0));
    });
  }

  test('xl optional_data_len', () => {
    const original = bytes.readUInt32LE(44);
    for (let bit = 0; bit < 32; bit++) {
      const length = (original ^ (1 << bit)) >>> 0;
      const m = Buffer.from(bytes);
      m.writeUInt32LE(length, 44);
      const { error } = decodeCatching('xl', m);
      assert.ok(error instanceof StreamError, `bit ${bit}: ${show(error)}`);
      const got = [error.code, error.offset];
      if (length < original) {
        // The config no longer fits in the optional data.
        assert.equal(error.code, 'bad-body', `bit ${bit}: ${error.message}`);
        assert.ok(error.offset >= 0 && error.offset < xlEnd, `bit ${bit}: offset ${error.offset}`);
      } else if (length > 16 * 1024 * 1024 + 4) {
        assert.deepEqual(got, ['record-too-long', 44], `bit ${bit}: ${error.message}`);
      } else if (48 + length > m.length) {
        assert.deepEqual(got, ['truncated', 0], `bit ${bit}: ${error.message}`);
      } else {
        // xl tolerates optional data longer than the config, so the libxl header is looked for where the
        // length says, and is not there.
        assert.deepEqual(got, [48 + length + 16 > m.length ? 'truncated' : 'bad-magic', 48 + length], `bit ${bit}: ${error.message}`);
      }
    }
  });

  test('xl optional_data_len with absurd values is too long, at the length field', () => {
    for (const value of [0xffffffff, 0x80000000, 64 * 1024 * 1024]) {
      const m = Buffer.from(bytes);
      m.writeUInt32LE(value, 44);
      const { error } = decodeCatching('xl', m);
      assert.ok(error instanceof StreamError);
      assert.deepEqual([error.code, error.offset], ['record-too-long', 44]);
    }
  });

  test('record type fields: unknown types are rejected at the record; other flips never blame earlier bytes', () => {
    let exact = 0;
    for (let i = 0; i < b.parts.length; i++) {
      const p = b.parts[i]!;
      if (p.kind !== 'record') continue;
      // Right after CHECKPOINT_END the next record's layer follows from its type (§1.5), so a flipped type there
      // is read by libxc.
      const layer = b.parts[i - 1]?.type === LibxlRecord.CHECKPOINT_END && b.parts[i - 1]?.layer === 'libxl' ? 'either' : p.layer;
      for (let bit = 0; bit < 32; bit++) {
        const type = (p.type! ^ (1 << bit)) >>> 0;
        const m = Buffer.from(bytes);
        m.writeUInt32LE(type, p.offset);
        const { error } = decodeCatching('xl', m);
        const unknownHere = layer === 'libxl' ? type > 5 : !(type & 0x80000000) && type > 0x12;
        const what = `${p.layer} type ${p.type} at ${p.offset} → 0x${type.toString(16)}`;
        if (unknownHere) {
          assert.ok(error instanceof StreamError, what);
          assert.deepEqual([error.code, error.offset], ['unknown-record', p.offset], `${what}: ${error.message}`);
          exact++;
        } else if (error !== undefined) {
          // Another valid type: its body may still fit (HVM_CONTEXT is opaque), or the error shows up later.
          assert.ok(error instanceof StreamError, `${what}: ${show(error)}`);
          assert.ok(error.offset >= p.offset, `${what}: error at ${error.offset} blames earlier bytes`);
        }
      }
    }
    assert.ok(exact > 300, `${exact} flips made unknown types`);
  });

  test('record length fields: too long at the length field; only swallowing own zero padding goes unnoticed', () => {
    for (const p of b.parts) {
      if (p.kind !== 'record') continue;
      const limit = p.layer === 'libxl' ? LIBXL_RECORD_MAX : LIBXC_RECORD_MAX;
      for (let bit = 0; bit < 32; bit++) {
        const length = (p.length! ^ (1 << bit)) >>> 0;
        const m = Buffer.from(bytes);
        m.writeUInt32LE(length, p.offset + 4);
        const { error } = decodeCatching('xl', m);
        const what = `${p.layer} type ${p.type} at ${p.offset}, length ${p.length} → ${length}`;
        if (length > limit) {
          assert.ok(error instanceof StreamError, what);
          assert.deepEqual([error.code, error.offset], ['record-too-long', p.offset + 4], `${what}: ${error.message}`);
        } else if (length > p.length! && length <= paddedLength(p.length!)) {
          // The longer body takes in only the record's own zero padding: nothing on the wire says it is wrong.
          assert.ok(error === undefined || error instanceof StreamError, what);
        } else {
          assert.ok(error instanceof StreamError, `${what}: ${show(error)}`);
          assert.ok(error.offset >= p.offset, `${what}: error at ${error.offset} blames earlier bytes`);
        }
      }
    }
  });
});

describe('fuzzing', () => {
  /** Decodes with a drain before end() too, so a decoder that loops or waits forever would show. */
  function decodeMutated(kind: StreamKind, m: Buffer, chunks: Buffer[] = [m]): { error: unknown; offsets: number[] } {
    const d = new StreamDecoder(kind);
    const offsets: number[] = [];
    try {
      for (const c of chunks) {
        d.push(c);
        for (let item = d.next(), n = 0; item; item = d.next(), n++) {
          if (n > m.length) throw new Error('decoder does not make progress');
          offsets.push(item.offset);
        }
      }
      d.end();
      for (let item = d.next(), n = 0; item; item = d.next(), n++) {
        if (n > m.length) throw new Error('decoder does not make progress');
        offsets.push(item.offset);
      }
      return { error: undefined, offsets };
    } catch (error) {
      return { error, offsets };
    }
  }

  function itemStartOf(b: StreamBuilder, at: number): number {
    let start = 0;
    for (const p of b.parts) if (p.offset <= at) start = p.offset;
    return start;
  }

  function flipEveryBit(kind: StreamKind, b: StreamBuilder, upTo: number): number {
    const bytes = b.bytes();
    let failures = 0;
    for (let at = 0; at < Math.min(upTo, bytes.length); at++) {
      for (let bit = 0; bit < 8; bit++) {
        const m = Buffer.from(bytes);
        m[at]! ^= 1 << bit;
        const { error, offsets } = decodeMutated(kind, m);
        if (error === undefined) continue;
        if (!(error instanceof StreamError)) assert.fail(`byte ${at} bit ${bit}: ${show(error)} is not a StreamError`);
        failures++;
        const start = itemStartOf(b, at);
        if (error.offset < start || error.offset > m.length) assert.fail(`byte ${at} bit ${bit}: error at ${error.offset}, the flip is in the item at ${start}`);
        // Everything before the damaged item decodes as before.
        for (let i = 0; i < b.parts.length && b.parts[i]!.offset < start; i++) {
          if (offsets[i] !== b.parts[i]!.offset) assert.fail(`byte ${at} bit ${bit}: item ${i} moved`);
        }
      }
    }
    return failures;
  }

  test('every bit of the first 400 bytes of a COLO stream', () => {
    const failures = flipEveryBit('xl', forwardStream({ mode: 'colo', cycles: 2, pages: 1, trailingNew: true }), 400);
    // Much of these bytes is opaque to the wire format (the config JSON, Xen's version, CPUID and MSR values, pfns),
    // so many flips are legal; the floor only proves the loop is not vacuous.
    assert.ok(failures > 1000, `${failures} of 3200 flips were caught`);
  });

  test('every bit of a back channel', () => {
    const b = backChannel(3);
    const failures = flipEveryBit('back', b, b.length);
    assert.ok(failures > 0.7 * b.length * 8, `${failures} of ${b.length * 8} flips were caught`);
  });

  test('random multi-byte damage anywhere, fed in random chunks', () => {
    const b = forwardStream({ mode: 'colo', cycles: 2, pages: 1, trailingNew: true });
    const bytes = b.bytes();
    const r = rng(0xc0105);
    for (let round = 0; round < 300; round++) {
      const m = Buffer.from(bytes);
      let first = m.length;
      for (let k = 1 + Math.floor(r() * 4); k > 0; k--) {
        const at = Math.floor(r() * m.length);
        m[at] = Math.floor(r() * 256);
        first = Math.min(first, at);
      }
      const chunks: Buffer[] = [];
      for (let at = 0; at < m.length;) {
        const n = 1 + Math.floor(r() * 3000);
        chunks.push(m.subarray(at, at + n));
        at += n;
      }
      const { error } = decodeMutated('xl', m, chunks);
      if (error === undefined) continue;
      if (!(error instanceof StreamError)) assert.fail(`round ${round}: ${show(error)} is not a StreamError`);
      assert.ok(error.offset >= itemStartOf(b, first), `round ${round}: error at ${error.offset} before the damage at ${first}`);
    }
  });

  test('random garbage is rejected by every kind of decoder', () => {
    const r = rng(99);
    for (let round = 0; round < 200; round++) {
      const garbage = Buffer.alloc(1 + Math.floor(r() * 600));
      for (let i = 0; i < garbage.length; i++) garbage[i] = Math.floor(r() * 256);
      for (const kind of ['xl', 'libxl', 'libxc', 'back'] as const) {
        const { error } = decodeMutated(kind, garbage);
        assert.ok(error instanceof StreamError, `${kind} round ${round}: ${show(error)}`);
      }
    }
  });
});

describe('absurd lengths', () => {
  /** Pushes the bytes without end(): the decoder must decide from the header, not wait for the body. */
  function rejectsAtOnce(kind: StreamKind, bytes: Buffer, lengthAt: number, options?: ConstructorParameters<typeof StreamDecoder>[1]): void {
    const d = new StreamDecoder(kind, options);
    d.push(bytes);
    let error: unknown;
    try {
      for (let i = 0; i < 10 && d.next(); i++);
    } catch (e) {
      error = e;
    }
    assert.ok(error instanceof StreamError, `expected record-too-long without waiting, got ${show(error)}`);
    assert.deepEqual([error.code, error.offset], ['record-too-long', lengthAt], error.message);
    assert.ok(d.buffered <= bytes.length);
  }

  const lengths = [0xffffffff, 0xfffffff9, 0x80000000, 0x7fffffff, 200 * 1024 * 1024];

  test('libxc records beyond 128 MiB', () => {
    for (const length of [...lengths, LIBXC_RECORD_MAX + 1]) {
      for (const type of [LibxcRecord.PAGE_DATA, LibxcRecord.HVM_CONTEXT, 0x80000020]) {
        rejectsAtOnce('libxc', cat(HVM_HEADERS, u32le(type, length)), 44);
      }
    }
  });

  test('libxl records beyond the libxl limit', () => {
    for (const length of [...lengths, LIBXL_RECORD_MAX + 1]) {
      rejectsAtOnce('libxl', cat(encodeLibxlHeader(), u32le(LibxlRecord.EMULATOR_CONTEXT, length)), 20);
    }
  });

  test('back-channel records, in both dirty-list layouts', () => {
    for (const length of lengths) {
      rejectsAtOnce('back', cat(BANNER, u32le(LibxcRecord.CHECKPOINT_DIRTY_PFN_LIST, length)), 58);
      rejectsAtOnce('back', cat(BANNER, u32le(LibxcRecord.CHECKPOINT_DIRTY_PFN_LIST, length)), 58, { dirtyPfnListHeader: 16 });
      rejectsAtOnce('back', cat(BANNER, u32le(LibxlRecord.CHECKPOINT_STATE, length)), 58);
    }
  });

  test('xl optional data beyond its limit, from the 48-byte fixed part alone', () => {
    for (const length of lengths) {
      const fixed = encodeXlHeader('{}').subarray(0, 48);
      fixed.writeUInt32LE(length, 44);
      rejectsAtOnce('xl', Buffer.from(fixed), 44);
    }
  });

  test('limits can be lowered; a length right at the limit is waited for, not rejected', () => {
    rejectsAtOnce('libxc', cat(HVM_HEADERS, u32le(LibxcRecord.HVM_CONTEXT, 4097)), 44, { limits: { libxcRecordMax: 4096 } });
    rejectsAtOnce('libxl', cat(encodeLibxlHeader(), u32le(LibxlRecord.EMULATOR_CONTEXT, 1001)), 20, { limits: { libxlRecordMax: 1000 } });
    const cfg = encodeXlHeader('{"name":"a long enough config"}');
    rejectsAtOnce('xl', cfg, 44, { limits: { xlConfigMax: 8 } });

    const d = new StreamDecoder('libxc');
    d.push(cat(HVM_HEADERS, u32le(LibxcRecord.HVM_CONTEXT, LIBXC_RECORD_MAX)));
    assert.equal(d.next()?.kind, 'libxc-header');
    assert.equal(d.next(), undefined);
    assert.equal(d.needed, 8 + LIBXC_RECORD_MAX);
    const l = new StreamDecoder('libxl');
    l.push(cat(encodeLibxlHeader(), u32le(LibxlRecord.EMULATOR_CONTEXT, LIBXL_RECORD_MAX - 1)));
    assert.equal(l.next()?.kind, 'libxl-header');
    assert.equal(l.next(), undefined);
    assert.equal(l.needed, 8 + LIBXL_RECORD_MAX);
  });

  test('a libxl record is held to the libxl limit even when libxc allows more', () => {
    // 100 MiB: fine for libxc's 128 MiB, too much for a libxl record.
    rejectsAtOnce('libxl', cat(encodeLibxlHeader(), u32le(LibxlRecord.EMULATOR_CONTEXT, 100 * 1024 * 1024)), 20);
    const d = new StreamDecoder('libxc');
    d.push(cat(HVM_HEADERS, u32le(LibxcRecord.HVM_CONTEXT, 100 * 1024 * 1024)));
    d.next();
    assert.equal(d.next(), undefined, 'libxc waits for a 100 MiB body');
  });

  test('counts inside bodies that promise more than the body holds are bad bodies, not allocations', () => {
    for (const type of [LibxcRecord.PAGE_DATA, LibxcRecord.HVM_PARAMS]) {
      const { error } = decodeCatching('libxc', cat(HVM_HEADERS, rawRecord(type, u32le(0xffffffff, 0)), rawRecord(0)));
      assert.ok(error instanceof StreamError);
      assert.deepEqual([error.code, error.offset], ['bad-body', 40]);
    }
  });
});

describe('padding and trailing bytes', () => {
  test('a non-zero padding byte is reported at its own offset', () => {
    const cases: Array<{ kind: StreamKind; prefix: Buffer; record: Buffer; bodyLength: number }> = [
      { kind: 'libxc', prefix: HVM_HEADERS, record: rawRecord(LibxcRecord.HVM_CONTEXT, Buffer.from([7])), bodyLength: 1 },
      { kind: 'libxc', prefix: HVM_HEADERS, record: rawRecord(0x80000030, Buffer.alloc(3, 1)), bodyLength: 3 },
      { kind: 'libxl', prefix: encodeLibxlHeader(), record: cat(encodeEmulatorRecord(LibxlRecord.EMULATOR_CONTEXT, Buffer.alloc(5, 1))), bodyLength: 13 },
      { kind: 'back', prefix: BANNER, record: cat(encodeCheckpointState(1)), bodyLength: 4 },
    ];
    for (const c of cases) {
      const padding = paddedLength(c.bodyLength) - c.bodyLength;
      assert.ok(padding > 0);
      for (let j = 0; j < padding; j++) {
        for (const value of [0x01, 0x80, 0xff]) {
          const rec = Buffer.from(c.record);
          rec[8 + c.bodyLength + j] = value;
          const { error } = decodeCatching(c.kind, cat(c.prefix, rec));
          assert.ok(error instanceof StreamError, `${c.kind} padding byte ${j}`);
          assert.deepEqual([error.code, error.offset], ['bad-padding', c.prefix.length + 8 + c.bodyLength + j], error.message);
        }
      }
    }
  });

  test('the first bad padding byte is the one reported', () => {
    const rec = rawRecord(LibxcRecord.HVM_CONTEXT, Buffer.from([7]), { pad: Buffer.from([0, 0, 3, 0, 4, 0, 0]) });
    const { error } = decodeCatching('libxc', cat(HVM_HEADERS, rec));
    assert.ok(error instanceof StreamError);
    assert.deepEqual([error.code, error.offset], ['bad-padding', 40 + 8 + 1 + 2]);
  });

  test('bytes after END are rejected where they start', () => {
    const plain = forwardStream({ mode: 'plain', pages: 0 }).bytes();
    for (const extra of [Buffer.from([0]), Buffer.alloc(8), cat(encodeLibxlHeader()), Buffer.from('x')]) {
      const { error, decoder } = decodeCatching('xl', cat(plain, extra));
      assert.ok(error instanceof StreamError);
      assert.deepEqual([error.code, error.offset], ['unexpected-record', plain.length], error.message);
      assert.equal(decoder.isDone, true);
    }
    const libxc = cat(HVM_HEADERS, rawRecord(LibxcRecord.END), Buffer.from([1, 2, 3]));
    const { error } = decodeCatching('libxc', libxc);
    assert.ok(error instanceof StreamError);
    assert.deepEqual([error.code, error.offset], ['unexpected-record', 48]);
  });

  test('bytes pushed after END in a later chunk are rejected too', () => {
    const plain = forwardStream({ mode: 'plain', pages: 0 }).bytes();
    const d = new StreamDecoder('xl');
    d.push(plain);
    while (d.next());
    assert.equal(d.isDone, true);
    assert.equal(d.next(), undefined);
    d.push(Buffer.from([0]));
    assert.throws(() => d.next(), (e: unknown) => e instanceof StreamError && e.code === 'unexpected-record' && e.offset === plain.length);
  });

  test('a StreamError is final: later calls throw it again instead of decoding past the damage', () => {
    // Bad padding is found after the record was taken off the queue; the next record behind it is fine.
    const bad = rawRecord(LibxcRecord.HVM_CONTEXT, Buffer.from([7]), { pad: Buffer.from([0, 0, 3, 0, 0, 0, 0]) });
    const cases: Array<[StreamKind, Buffer]> = [
      ['libxc', cat(HVM_HEADERS, bad, rawRecord(LibxcRecord.VERIFY), rawRecord(LibxcRecord.END))],
      ['libxc', cat(HVM_HEADERS, rawRecord(LibxcRecord.X86_TSC_INFO, Buffer.alloc(8)), rawRecord(LibxcRecord.END))],
      ['back', cat(BANNER, encodeCheckpointState(0), encodeCheckpointState(2))],
      ['libxl', cat(Buffer.from('LibxlFmx'), Buffer.alloc(8), rawRecord(0))],
    ];
    for (const [kind, bytes] of cases) {
      const d = new StreamDecoder(kind);
      d.push(bytes);
      d.end();
      let first: unknown;
      try {
        while (d.next());
      } catch (e) {
        first = e;
      }
      assert.ok(first instanceof StreamError, kind);
      for (let i = 0; i < 3; i++) assert.throws(() => d.next(), (e: unknown) => e === first, `${kind}: call ${i} after the error`);
    }
  });

  test('push() after end() is a programming error, not a stream error', () => {
    const d = new StreamDecoder('xl');
    d.end();
    assert.throws(() => d.push(Buffer.from([1])), (e: unknown) => e instanceof Error && !(e instanceof StreamError));
  });
});
