// Layer switching on whole forward streams (xen-colo.md §1.5, §1.6): COLO, Remus and plain migrations, with the
// xl header and without, HVM and PV; checkpoint counting and where an end falls.

import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import {
  CheckpointState,
  LibxcRecord,
  LibxlRecord,
  StreamDecoder,
  type StreamItem,
  type StreamRecord,
  encodeCheckpointState,
  encodeEmulatorRecord,
  encodeLibxcHeaders,
  encodeLibxlHeader,
} from './index.js';
import { CONFIG_JSON, cat, decodeAll, drain, forwardStream, matchesLayout, rawRecord } from './test-support/fixtures.js';

function names(items: readonly StreamItem[]): string[] {
  return items.map((i) => (i.kind === 'record' ? `${i.layer}:${i.name}` : i.kind));
}

const HEAD = ['xl-header', 'libxl-header', 'libxl:LIBXC_CONTEXT', 'libxc-header', 'libxc:X86_CPUID_POLICY', 'libxc:X86_MSR_POLICY', 'libxc:STATIC_DATA_END'];
const CYCLE0 = ['libxc:PAGE_DATA', 'libxc:PAGE_DATA', 'libxc:X86_TSC_INFO', 'libxc:HVM_CONTEXT', 'libxc:HVM_PARAMS', 'libxc:CHECKPOINT',
  'libxl:EMULATOR_XENSTORE_DATA', 'libxl:EMULATOR_CONTEXT', 'libxl:CHECKPOINT_END'];
const CYCLE = ['libxc:PAGE_DATA', 'libxc:X86_TSC_INFO', 'libxc:HVM_CONTEXT', 'libxc:HVM_PARAMS', 'libxc:CHECKPOINT',
  'libxl:EMULATOR_CONTEXT', 'libxl:CHECKPOINT_END'];
const NEW = 'libxl:CHECKPOINT_STATE';

/** Decodes item by item, noting the checkpoint count after each. */
function decodeStepwise(kind: 'xl' | 'libxl', bytes: Buffer): Array<{ item: StreamItem; checkpoints: number }> {
  const d = new StreamDecoder(kind);
  d.push(bytes);
  d.end();
  const out: Array<{ item: StreamItem; checkpoints: number }> = [];
  for (let item = d.next(); item; item = d.next()) out.push({ item, checkpoints: d.checkpoints });
  return out;
}

describe('forward stream layer switching', () => {
  test('COLO: headers, cycle 0, then NEW · PAGE_DATA … CHECKPOINT · EMU · CHECKPOINT_END per cycle', () => {
    const b = forwardStream({ mode: 'colo', cycles: 3, pages: 2, trailingNew: true });
    const bytes = b.bytes();
    const { items, decoder } = decodeAll('xl', bytes);
    assert.deepEqual(names(items), [...HEAD, ...CYCLE0, NEW, ...CYCLE, NEW, ...CYCLE, NEW]);
    assert.equal(matchesLayout(items, b.parts), undefined);
    const states = items.filter((i): i is StreamRecord => i.kind === 'record' && i.name === 'CHECKPOINT_STATE');
    assert.ok(states.every((s) => s.parsed?.kind === 'checkpoint-state' && s.parsed.id === CheckpointState.NEW));
    assert.equal(decoder.checkpoints, 3);
    assert.equal(decoder.endPosition(), 'between-checkpoints');
    assert.equal(decoder.offset, bytes.length);
    assert.equal(decoder.buffered, 0);
    assert.equal(decoder.isDone, false);
  });

  test('COLO: the header items say what the stream says', () => {
    const { items } = decodeAll('xl', forwardStream({ mode: 'colo', cycles: 1 }).bytes());
    assert.deepEqual(items[0], {
      kind: 'xl-header', offset: 0, wireLength: items[1]!.offset, header: { mandatoryFlags: 3, optionalFlags: 0, config: CONFIG_JSON },
    });
    assert.deepEqual(items[1], { kind: 'libxl-header', offset: items[1]!.offset, wireLength: 16, header: { options: 0 } });
    assert.deepEqual(items[3], {
      kind: 'libxc-header', offset: items[1].offset + 24, wireLength: 40, header: { domainType: 2, pageShift: 12, xenMajor: 4, xenMinor: 17 },
    });
  });

  test('COLO: the checkpoint count rises at each CHECKPOINT_END and nowhere else', () => {
    const steps = decodeStepwise('xl', forwardStream({ mode: 'colo', cycles: 4, pages: 0, trailingNew: true }).bytes());
    let seen = 0;
    for (const { item, checkpoints } of steps) {
      if (item.kind === 'record' && item.name === 'CHECKPOINT_END') seen++;
      assert.equal(checkpoints, seen, `after ${item.kind === 'record' ? item.name : item.kind} at ${item.offset}`);
    }
    assert.equal(seen, 4);
  });

  test('COLO: the end falls between checkpoints after CHECKPOINT_END or NEW, inside one anywhere else', () => {
    const b = forwardStream({ mode: 'colo', cycles: 2, pages: 1, trailingNew: true });
    const bytes = b.bytes();
    for (let i = 0; i < b.parts.length; i++) {
      const part = b.parts[i]!;
      const upTo = part.offset + part.wireLength;
      // An end right after a header is a truncation; those are covered by the truncation tests.
      if (b.parts[i + 1] && b.parts[i + 1]!.kind !== 'record') continue;
      const { decoder } = decodeAll('xl', bytes.subarray(0, upTo));
      const name = part.kind === 'record' ? `${part.layer}:${part.type}` : part.kind;
      const between = name === `libxl:${LibxlRecord.CHECKPOINT_END}` || name === `libxl:${LibxlRecord.CHECKPOINT_STATE}`;
      assert.equal(decoder.endPosition(), between ? 'between-checkpoints' : 'inside-checkpoint', `ending after item ${i} (${name})`);
    }
  });

  test('Remus: no NEW; after CHECKPOINT_END the libxc layer goes straight on', () => {
    const b = forwardStream({ mode: 'remus', cycles: 3, pages: 1 });
    const { items, decoder } = decodeAll('xl', b.bytes());
    assert.deepEqual(names(items), [...HEAD, ...CYCLE0, ...CYCLE, ...CYCLE]);
    assert.equal(matchesLayout(items, b.parts), undefined);
    assert.equal(decoder.checkpoints, 3);
    assert.equal(decoder.endPosition(), 'between-checkpoints');
    const partial = decodeAll('xl', b.bytes().subarray(0, b.parts.at(-3)!.offset));
    assert.equal(partial.decoder.endPosition(), 'inside-checkpoint');
    assert.equal(partial.decoder.checkpoints, 2);
  });

  test('plain: libxc END, the emulator records, libxl END; the stream is complete', () => {
    const b = forwardStream({ mode: 'plain', pages: 2 });
    const { items, decoder } = decodeAll('xl', b.bytes());
    assert.deepEqual(names(items), [...HEAD, 'libxc:PAGE_DATA', 'libxc:PAGE_DATA', 'libxc:X86_TSC_INFO', 'libxc:HVM_CONTEXT', 'libxc:HVM_PARAMS',
      'libxc:END', 'libxl:EMULATOR_XENSTORE_DATA', 'libxl:EMULATOR_CONTEXT', 'libxl:END']);
    assert.equal(matchesLayout(items, b.parts), undefined);
    assert.equal(decoder.checkpoints, 0);
    assert.equal(decoder.isDone, true);
    assert.equal(decoder.endPosition(), 'complete');
    const cut = decodeAll('xl', b.bytes().subarray(0, b.parts.at(-1)!.offset));
    assert.equal(cut.decoder.endPosition(), 'inside-checkpoint', 'a plain stream without its END is not complete');
  });

  test('a bare libxl stream (no xl header) decodes the same items, shifted', () => {
    const withXl = forwardStream({ mode: 'colo', cycles: 2, pages: 1 });
    const bare = forwardStream({ mode: 'colo', cycles: 2, pages: 1, xl: false });
    const a = decodeAll('xl', withXl.bytes()).items.slice(1);
    const b = decodeAll('libxl', bare.bytes()).items;
    assert.equal(matchesLayout(b, bare.parts), undefined);
    const shift = withXl.parts[1]!.offset;
    assert.deepEqual(b.map((i) => [i.kind, i.offset + shift, i.wireLength]), a.map((i) => [i.kind, i.offset, i.wireLength]));
  });

  test('many cycles: every checkpoint is counted', () => {
    const { decoder } = decodeAll('xl', forwardStream({ mode: 'colo', cycles: 60, pages: 0 }).bytes());
    assert.equal(decoder.checkpoints, 60);
  });

  test('after CHECKPOINT_END, type 5 is CHECKPOINT_STATE in an HVM stream but a libxc PV record in a PV stream', () => {
    const start = (domainType: number): Buffer => cat(encodeLibxlHeader(), rawRecord(LibxlRecord.LIBXC_CONTEXT),
      encodeLibxcHeaders({ domainType, xenMajor: 4, xenMinor: 17 }), rawRecord(LibxcRecord.CHECKPOINT),
      encodeEmulatorRecord(LibxlRecord.EMULATOR_CONTEXT, Buffer.alloc(4)), rawRecord(LibxlRecord.CHECKPOINT_END));
    const rec = cat(encodeCheckpointState(CheckpointState.NEW));

    const hvm = decodeAll('libxl', cat(start(2), rec)).items.at(-1) as StreamRecord;
    assert.deepEqual([hvm.layer, hvm.name, hvm.parsed], ['libxl', 'CHECKPOINT_STATE', { kind: 'checkpoint-state', id: 0 }]);

    const pv = decodeAll('libxl', cat(start(1), rec, rawRecord(LibxcRecord.CHECKPOINT)));
    const r = pv.items.at(-2) as StreamRecord;
    assert.deepEqual([r.layer, r.name], ['libxc', 'X86_PV_VCPU_EXTENDED']);
    assert.equal(pv.decoder.checkpoints, 1);
  });

  test('pushing more after a record boundary continues where it left off', () => {
    const b = forwardStream({ mode: 'colo', cycles: 3, pages: 1 });
    const bytes = b.bytes();
    const d = new StreamDecoder('xl');
    const items: StreamItem[] = [];
    // Stop exactly at every CHECKPOINT_END: the decoder must wait, not fail, then resume.
    let from = 0;
    for (const part of b.parts) {
      if (part.kind === 'record' && part.layer === 'libxl' && part.type === LibxlRecord.CHECKPOINT_END) {
        d.push(bytes.subarray(from, part.offset + part.wireLength));
        from = part.offset + part.wireLength;
        drain(d, items);
        assert.equal(d.next(), undefined);
        assert.equal(d.needed, 8, 'waits for a record header');
      }
    }
    d.push(bytes.subarray(from));
    d.end();
    drain(d, items);
    assert.equal(matchesLayout(items, b.parts), undefined);
  });

  test('endPosition is "nothing" before any byte', () => {
    const d = new StreamDecoder('back', { expectBanner: false });
    d.end();
    assert.equal(d.next(), undefined);
    assert.equal(d.endPosition(), 'nothing');
  });
});
