// The records of one checkpoint, built from a Domain (primary side) and applied to a Domain (secondary side), in
// the order Xen writes them for an HVM guest (xen-colo.md §1.4).

import {
  type Chunks,
  type CpuidLeaf,
  type MsrEntry,
  type PageData,
  LibxcRecord,
  LibxlRecord,
  PAGE_DATA_BATCH_MAX,
  PAGE_SIZE,
  SegmentedBytes,
  encodeCpuidPolicy,
  encodeEmulatorRecord,
  encodeHvmContext,
  encodeHvmParams,
  encodeLibxc,
  encodeLibxl,
  encodeMsrPolicy,
  encodePageData,
  encodeTscInfo,
} from '../stream/index.js';
import type { CpuContext, Domain } from './domain.js';

/** A small, plausible CPU policy: the receiver checks it is there, not what it says. */
const CPUID_POLICY: CpuidLeaf[] = [
  { leaf: 0x0, subleaf: 0, a: 0xd, b: 0x756e6547, c: 0x6c65746e, d: 0x49656e69 },
  { leaf: 0x1, subleaf: 0, a: 0x306f2, b: 0x800, c: 0xfeda3203, d: 0x178bfbff },
];
const MSR_POLICY: MsrEntry[] = [{ index: 0xce, flags: 0, value: 0n }];

/** CPUID and MSR policy, then STATIC_DATA_END: sent once, before the first page. */
export function staticRecords(): Chunks {
  return [
    ...encodeCpuidPolicy(CPUID_POLICY),
    ...encodeMsrPolicy(MSR_POLICY),
    ...encodeLibxc(LibxcRecord.STATIC_DATA_END),
  ];
}

/** PAGE_DATA records for `pfns`, at most Xen's batch size each; the page bytes are referenced, not copied. */
export function pageDataRecords(domain: Domain, pfns: Uint32Array, from = 0, to = pfns.length): Chunks {
  const out: Chunks = [];
  for (let start = from; start < to; start += PAGE_DATA_BATCH_MAX) {
    const batch = pfns.subarray(start, Math.min(start + PAGE_DATA_BATCH_MAX, to));
    const pages = { pfns: batch, page: (i: number) => domain.readPage(batch[i]!), pages: (i: number, n: number) => domain.readPages(batch[i]!, n) };
    for (const c of encodePageData(pages)) out.push(c);
  }
  return out;
}

/** X86_TSC_INFO, HVM_CONTEXT, HVM_PARAMS, then CHECKPOINT: the end of the libxc part. */
export function endOfCheckpointRecords(context: CpuContext): Chunks {
  return [
    ...encodeTscInfo(context.tsc),
    ...encodeHvmContext(context.hvmContext),
    ...encodeHvmParams(context.hvmParams),
    ...encodeLibxc(LibxcRecord.CHECKPOINT),
  ];
}

/** EMULATOR_CONTEXT (the device model's state) and CHECKPOINT_END: the libxl part. */
export function deviceRecords(domain: Domain): Chunks {
  return [
    ...encodeEmulatorRecord(LibxlRecord.EMULATOR_CONTEXT, domain.getDeviceState()),
    ...encodeLibxl(LibxlRecord.CHECKPOINT_END),
  ];
}

/** Writes a PAGE_DATA record's pages into `domain`, one copy per run of consecutive pfns. Returns pages written. */
export function applyPageData(domain: Domain, pages: PageData): number {
  const { pfns, dataIndex, data } = pages;
  let written = 0;
  let i = 0;
  while (i < pfns.length) {
    const first = dataIndex[i]!;
    if (first < 0) {
      i++;
      continue;
    }
    let end = i + 1;
    while (end < pfns.length && pfns[end] === pfns[end - 1]! + 1 && dataIndex[end] === dataIndex[end - 1]! + 1) end++;
    const count = end - i;
    const from = first * PAGE_SIZE;
    const to = from + count * PAGE_SIZE;
    domain.writePages(pfns[i]!, data instanceof SegmentedBytes ? data.range(from, to).parts() : [data.subarray(from, to)]);
    written += count;
    i = end;
  }
  return written;
}

/** The union of the primary's and the secondary's dirty pages, ascending, with a bitmap reused across cycles. */
export class DirtySet {
  private readonly bitmap: Uint8Array;

  constructor(pageCount: number) {
    this.bitmap = new Uint8Array(pageCount);
  }

  union(a: ArrayLike<number>, b: ArrayLike<number>): Uint32Array {
    const bits = this.bitmap;
    let count = 0;
    for (let i = 0; i < a.length; i++) {
      const p = a[i]!;
      if (bits[p] === 0) { bits[p] = 1; count++; }
    }
    for (let i = 0; i < b.length; i++) {
      const p = b[i]!;
      if (p < bits.length && bits[p] === 0) { bits[p] = 1; count++; }
    }
    const out = new Uint32Array(count);
    let n = 0;
    // Walking the bitmap sorts for free and clears it for the next cycle.
    if (count > 0) {
      for (let p = 0; p < bits.length && n < count; p++) {
        if (bits[p] !== 0) { out[n++] = p; bits[p] = 0; }
      }
    }
    return out;
  }
}
