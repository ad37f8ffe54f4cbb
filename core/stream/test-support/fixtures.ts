// Test fixtures for core/stream: hand-built bytes straight from xen-colo.md §1, builders for whole streams that know
// where each item starts, and helpers to decode and compare. Excluded from the build (tsconfig.build.json).

import {
  CheckpointState,
  type CheckpointStateId,
  type Chunks,
  type DecoderOptions,
  type Layer,
  LibxcRecord,
  LibxlRecord,
  PAGE_SIZE,
  PageType,
  StreamDecoder,
  type StreamItem,
  type StreamKind,
  encodeCheckpointState,
  encodeCpuidPolicy,
  encodeDirtyPfnList,
  encodeEmulatorRecord,
  encodeHvmContext,
  encodeHvmParams,
  encodeLibxcHeaders,
  encodeLibxl,
  encodeLibxlHeader,
  encodeLibxc,
  encodeMsrPolicy,
  encodePageData,
  encodeTscInfo,
  encodeXenstorePairs,
  encodeXlHeader,
} from '../index.js';

/** An error (or the lack of one) for an assertion message. */
export function show(e: unknown): string {
  if (e === undefined) return 'no error';
  if (e instanceof Error) return `${e.name}: ${e.message}`;
  return typeof e === 'object' ? JSON.stringify(e) : `${typeof e} ${JSON.stringify(e)}`;
}

/** Bytes from a hex string; spaces, newlines and `|` are ignored. */
export function hex(s: string): Buffer {
  const clean = s.replace(/[\s|]/g, '');
  if (!/^([0-9a-f]{2})*$/i.test(clean)) throw new Error(`bad hex: ${s}`);
  return Buffer.from(clean, 'hex');
}

export function cat(...parts: Array<Uint8Array | readonly Uint8Array[]>): Buffer {
  const flat: Uint8Array[] = [];
  for (const p of parts) {
    if (p instanceof Uint8Array) flat.push(p);
    else flat.push(...p);
  }
  return Buffer.concat(flat);
}

/** mulberry32: a small seeded PRNG, so "random" tests are reproducible. */
export function rng(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

export function randomBytes(n: number, seed: number): Buffer {
  const r = rng(seed);
  const out = Buffer.alloc(n);
  for (let i = 0; i < n; i++) out[i] = Math.floor(r() * 256);
  return out;
}

/** A 4 KiB page of seeded noise with no zero bytes, so a misaligned reader never finds tidy zeros in it. */
export function makePage(seed: number): Buffer {
  const page = randomBytes(PAGE_SIZE, seed);
  for (let i = 0; i < page.length; i++) if (page[i] === 0) page[i] = 0x5a;
  return page;
}

/**
 * A record written by hand from the spec (u32 LE type, u32 LE length, body, zeros to 8 bytes), independent of
 * encodeRecord. `length` overrides the header's length field; `pad` replaces the padding.
 */
export function rawRecord(type: number, body: Uint8Array = Buffer.alloc(0), opts: { length?: number; pad?: Uint8Array } = {}): Buffer {
  const header = Buffer.alloc(8);
  header.writeUInt32LE(type >>> 0, 0);
  header.writeUInt32LE(opts.length ?? body.byteLength, 4);
  const pad = opts.pad ?? Buffer.alloc((8 - (body.byteLength % 8)) % 8);
  return Buffer.concat([header, body, pad]);
}

/** A u64 PAGE_DATA entry per the spec: bits 63–60 type, 51–0 pfn. */
export function pfnEntry(pfn: bigint, type: number): bigint {
  return (BigInt(type) << 60n) | pfn;
}

export function u32le(...values: number[]): Buffer {
  const out = Buffer.alloc(values.length * 4);
  values.forEach((v, i) => out.writeUInt32LE(v >>> 0, i * 4));
  return out;
}

export function u64le(...values: bigint[]): Buffer {
  const out = Buffer.alloc(values.length * 8);
  values.forEach((v, i) => out.writeBigUInt64LE(v, i * 8));
  return out;
}

/** Where an item should be and what it should be, as the builder laid it out. */
export interface Expected {
  kind: StreamItem['kind'];
  offset: number;
  wireLength: number;
  layer?: Layer;
  type?: number;
  /** Body length from the record header. */
  length?: number;
  /** For CHECKPOINT_STATE records. */
  stateId?: number;
  bytes: Buffer;
}

export class StreamBuilder {
  readonly parts: Expected[] = [];
  private at = 0;

  private add(part: Omit<Expected, 'offset' | 'wireLength'>): this {
    this.parts.push({ ...part, offset: this.at, wireLength: part.bytes.length });
    this.at += part.bytes.length;
    return this;
  }

  xlHeader(config: string): this {
    return this.add({ kind: 'xl-header', bytes: encodeXlHeader(config) });
  }

  libxlHeader(): this {
    return this.add({ kind: 'libxl-header', bytes: encodeLibxlHeader() });
  }

  libxcHeaders(domainType = 2, xenMajor = 4, xenMinor = 17): this {
    return this.add({ kind: 'libxc-header', bytes: encodeLibxcHeaders({ domainType, xenMajor, xenMinor }) });
  }

  banner(): this {
    return this.add({ kind: 'banner', bytes: Buffer.from('xl migration receiver ready, send binary domain data.\n', 'latin1') });
  }

  record(layer: Layer, record: Chunks | Buffer, stateId?: number): this {
    const bytes = Buffer.isBuffer(record) ? record : cat(record);
    return this.add({ kind: 'record', layer, type: bytes.readUInt32LE(0), length: bytes.readUInt32LE(4), stateId, bytes });
  }

  libxl(record: Chunks | Buffer): this {
    return this.record('libxl', record);
  }

  libxc(record: Chunks | Buffer): this {
    return this.record('libxc', record);
  }

  state(id: CheckpointStateId): this {
    return this.record('libxl', encodeCheckpointState(id), id);
  }

  bytes(): Buffer {
    return Buffer.concat(this.parts.map((p) => p.bytes));
  }

  get length(): number {
    return this.at;
  }
}

export const CONFIG_JSON = JSON.stringify({
  c_info: { type: 'hvm', name: 'guest-ü', domid: 0 },
  b_info: { max_memkb: 1048576, target_memkb: 1048576 },
});

export const XENSTORE_PAIRS: Array<[string, string]> = [
  ['physmap/1/start_addr', 'f0000000'],
  ['physmap/1/size', '800000'],
  ['physmap/1/name', 'vga.vram'],
];

export const TSC = { mode: 1, khz: 2_893_202, nsec: 123_456_789_012_345n, incarnation: 7 };
export const HVM_PARAMS = [
  { index: 2n, value: 0xfeffc000n },
  { index: 5n, value: 0x1n },
  { index: 44n, value: 0xffffffffffffffffn },
];

interface ForwardOptions {
  mode: 'colo' | 'remus' | 'plain';
  /** Checkpoints (checkpointed modes); plain streams have one pass. */
  cycles?: number;
  /** Pages with contents per PAGE_DATA batch: keep small where a test decodes the stream many times. */
  pages?: number;
  /** COLO: write CHECKPOINT_STATE(NEW) after the last CHECKPOINT_END too (xl does, at the end of each cycle). */
  trailingNew?: boolean;
  /** Start with the xl save-file header (an xl stream) or directly with the libxl header. */
  xl?: boolean;
}

function pageBatch(firstPfn: number, pages: number): Chunks {
  // Data-carrying pages first, then one each of the three types that carry none, and a pfn at the top of the range.
  const pfns: number[] = [];
  const types: number[] = [];
  for (let i = 0; i < pages; i++) {
    pfns.push(firstPfn + i);
    types.push(i % 2 === 0 ? PageType.NOTAB : PageType.L1TAB);
  }
  pfns.push(firstPfn + 1000, firstPfn + 1001, 0x000fffffffffffff);
  types.push(PageType.BROKEN, PageType.XALLOC, PageType.XTAB);
  const contents = pfns.map((_, i) => makePage(firstPfn * 7919 + i + 1));
  return encodePageData({ pfns, types, page: (i) => contents[i]! });
}

function hvmContext(cycle: number): Buffer {
  // 61 bytes: an opaque blob whose length is not a multiple of 8, so the record carries padding.
  const ctx = randomBytes(61, 77 + cycle);
  for (let i = 0; i < ctx.length; i++) if (ctx[i] === 0) ctx[i] = 1;
  return ctx;
}

function qemuState(cycle: number): Buffer {
  const s = randomBytes(203, 99 + cycle);
  for (let i = 0; i < s.length; i++) if (s[i] === 0) s[i] = 2;
  return s;
}

/** The forward stream of a COLO, Remus or plain migration, laid out as in xen-colo.md §1.5/§1.6. */
export function forwardStream(o: ForwardOptions): StreamBuilder {
  const pages = o.pages ?? 1;
  const cycles = o.mode === 'plain' ? 1 : (o.cycles ?? 2);
  const b = new StreamBuilder();
  if (o.xl !== false) b.xlHeader(CONFIG_JSON);
  b.libxlHeader();
  b.libxl(encodeLibxl(LibxlRecord.LIBXC_CONTEXT));
  b.libxcHeaders();
  b.libxc(encodeCpuidPolicy([
    { leaf: 0, subleaf: 0xffffffff, a: 0xd, b: 0x756e6547, c: 0x6c65746e, d: 0x49656e69 },
    { leaf: 7, subleaf: 0, a: 0, b: 0x029c6fbf, c: 0, d: 0xbc000400 },
  ]));
  b.libxc(encodeMsrPolicy([{ index: 0xce, flags: 0, value: 0x80000000n }, { index: 0x10a, flags: 0, value: 0n }]));
  b.libxc(encodeLibxc(LibxcRecord.STATIC_DATA_END));
  for (let cycle = 0; cycle < cycles; cycle++) {
    // Cycle 0 is a live migration: several memory passes. Later cycles send only the dirty pages.
    const batches = cycle === 0 ? 2 : 1;
    for (let i = 0; i < batches; i++) b.libxc(pageBatch(cycle * 100 + i * 10, pages));
    b.libxc(encodeTscInfo(TSC));
    b.libxc(encodeHvmContext(hvmContext(cycle)));
    b.libxc(encodeHvmParams(HVM_PARAMS));
    if (o.mode === 'plain') {
      b.libxc(encodeLibxc(LibxcRecord.END));
    } else {
      b.libxc(encodeLibxc(LibxcRecord.CHECKPOINT));
    }
    if (cycle === 0) b.libxl(encodeEmulatorRecord(LibxlRecord.EMULATOR_XENSTORE_DATA, encodeXenstorePairs(XENSTORE_PAIRS)));
    b.libxl(encodeEmulatorRecord(LibxlRecord.EMULATOR_CONTEXT, qemuState(cycle)));
    if (o.mode === 'plain') {
      b.libxl(encodeLibxl(LibxlRecord.END));
    } else {
      b.libxl(encodeLibxl(LibxlRecord.CHECKPOINT_END));
      if (o.mode === 'colo' && (cycle < cycles - 1 || o.trailingNew)) b.state(CheckpointState.NEW);
    }
  }
  return b;
}

/** The back channel: banner, then READY/RESUMED for cycle 0 and SUSPENDED/DIRTY/READY/RESUMED per later cycle. */
export function backChannel(cycles = 3, dirty: (cycle: number) => number[] = (c) => [c, 7, 0x000fffffffffffff, 12345 + c]): StreamBuilder {
  const b = new StreamBuilder().banner();
  b.state(CheckpointState.SVM_READY).state(CheckpointState.SVM_RESUMED);
  for (let cycle = 1; cycle < cycles; cycle++) {
    b.state(CheckpointState.SVM_SUSPENDED);
    b.libxc(encodeDirtyPfnList(dirty(cycle)));
    b.state(CheckpointState.SVM_READY).state(CheckpointState.SVM_RESUMED);
  }
  return b;
}

export function drain(decoder: StreamDecoder, into: StreamItem[]): void {
  for (let guard = 0; ; guard++) {
    if (guard > 1_000_000) throw new Error('decoder keeps returning items without consuming input');
    const item = decoder.next();
    if (!item) return;
    into.push(item);
  }
}

/** Decodes `chunks` in order, draining after each push, then end(). Throws whatever the decoder throws. */
export function decodeAll(kind: StreamKind, chunks: Buffer | readonly Uint8Array[], options?: DecoderOptions): { items: StreamItem[]; decoder: StreamDecoder } {
  const decoder = new StreamDecoder(kind, options);
  const items: StreamItem[] = [];
  for (const chunk of Buffer.isBuffer(chunks) ? [chunks] : chunks) {
    decoder.push(chunk);
    drain(decoder, items);
  }
  decoder.end();
  drain(decoder, items);
  return { items, decoder };
}

/** Like decodeAll, but returns the thrown error (or undefined) alongside what decoded before it. */
export function decodeCatching(kind: StreamKind, bytes: Buffer, options?: DecoderOptions): { items: StreamItem[]; error: unknown; decoder: StreamDecoder } {
  const decoder = new StreamDecoder(kind, options);
  const items: StreamItem[] = [];
  try {
    decoder.push(bytes);
    decoder.end();
    drain(decoder, items);
    return { items, error: undefined, decoder };
  } catch (error) {
    return { items, error, decoder };
  }
}

/** Splits bytes into chunks of 1..max bytes, reproducibly. */
export function randomSplit(bytes: Buffer, seed: number, max: number): Buffer[] {
  const r = rng(seed);
  const out: Buffer[] = [];
  for (let at = 0; at < bytes.length;) {
    const n = 1 + Math.floor(r() * max);
    out.push(bytes.subarray(at, at + n));
    at += n;
  }
  return out;
}

/** A plain, comparable picture of an item: everything it says, bodies copied out of whatever buffer they view. */
export function snapshot(item: StreamItem): Record<string, unknown> {
  if (item.kind !== 'record') return { ...item };
  const { body, parsed, ...rest } = item;
  let p: unknown = parsed;
  if (parsed?.kind === 'page-data') {
    const v = parsed.value;
    p = { kind: parsed.kind, pfns: Array.from(v.pfns), types: Array.from(v.types), dataIndex: Array.from(v.dataIndex), data: v.data.subarray(0, v.data.length).toString('hex') };
  } else if (parsed?.kind === 'emulator') {
    p = { ...parsed, value: { ...parsed.value, data: Buffer.from(parsed.value.data).toString('hex') } };
  } else if (parsed?.kind === 'dirty-pfns') {
    p = { kind: parsed.kind, pfns: Array.from(parsed.pfns) };
  }
  return { ...rest, body: Buffer.from(body).toString('hex'), parsed: p };
}

/** Checks decoded items against what the builder laid out: kind, offset, wire length, and record header fields. */
export function matchesLayout(items: readonly StreamItem[], parts: readonly Expected[]): string | undefined {
  if (items.length !== parts.length) return `decoded ${items.length} items, expected ${parts.length}`;
  for (let i = 0; i < parts.length; i++) {
    const it = items[i]!;
    const ex = parts[i]!;
    const want = { kind: ex.kind, offset: ex.offset, wireLength: ex.wireLength, layer: ex.layer, type: ex.type, length: ex.length };
    const got = {
      kind: it.kind, offset: it.offset, wireLength: it.wireLength,
      layer: it.kind === 'record' ? it.layer : undefined,
      type: it.kind === 'record' ? it.type : undefined,
      length: it.kind === 'record' ? it.length : undefined,
    };
    if (JSON.stringify(want) !== JSON.stringify(got)) return `item ${i}: got ${JSON.stringify(got)}, expected ${JSON.stringify(want)}`;
    if (it.kind === 'record') {
      const wireBody = ex.bytes.subarray(8, 8 + ex.length!);
      // The 16-byte dirty-list header variant puts 8 extra bytes before the body.
      if (!it.body.equals(wireBody) && !it.body.equals(ex.bytes.subarray(16, 16 + ex.length!))) return `item ${i}: body differs`;
    }
  }
  return undefined;
}
