// Encoders for every header and record COLO uses. Each returns the bytes as a list of buffers, the way Xen hands an
// iovec to writev: page contents are referenced, not copied, so a checkpoint costs one copy (into the socket).

import {
  CheckpointState,
  type CheckpointStateId,
  DomainType,
  EMULATOR_SUBHEADER_SIZE,
  EmulatorId,
  LIBXC_DOMAIN_HEADER_SIZE,
  LIBXC_ID,
  LIBXC_IMAGE_HEADER_SIZE,
  LIBXC_MARKER,
  LIBXC_VERSION,
  LIBXL_HEADER_SIZE,
  LIBXL_IDENT,
  LIBXL_VERSION,
  LibxcRecord,
  LibxlRecord,
  PAGE_SHIFT,
  PAGE_SIZE,
  PFN_MAX,
  RECORD_HEADER_SIZE,
  XL_BYTEORDER_VALUE,
  XL_FIXED_HEADER_SIZE,
  XL_MAGIC,
  XL_MANDATORY_FLAG_JSON,
  XL_MANDATORY_FLAG_STREAMV2,
  pageTypeHasData,
  pageTypeIsValid,
  paddedLength,
} from './format.js';

export type Chunks = Buffer[];

const ZERO_PADDING = Buffer.alloc(8);
const U64_MAX = 0xffff_ffff_ffff_ffffn;

/**
 * A zero-filled buffer. Buffer.alloc gives every small buffer an ArrayBuffer of its own; allocUnsafe carves small
 * ones out of Node's shared pool, which matters when a checkpoint is a dozen little records.
 */
function zeroed(size: number): Buffer {
  return Buffer.allocUnsafe(size).fill(0);
}

export function chunksLength(chunks: readonly Uint8Array[]): number {
  let n = 0;
  for (const c of chunks) n += c.byteLength;
  return n;
}

/** Bodies up to this size are copied into the header's buffer: one chunk beats three for tiny records. */
const INLINE_BODY_MAX = 512;

/** A record: 8-byte header, the body parts, then zeros up to the next 8-byte boundary. */
export function encodeRecord(type: number, body: readonly Uint8Array[] = []): Chunks {
  const length = chunksLength(body);
  const padded = paddedLength(length);
  if (length <= INLINE_BODY_MAX) {
    const out = zeroed(RECORD_HEADER_SIZE + padded);
    out.writeUInt32LE(type >>> 0, 0);
    out.writeUInt32LE(length, 4);
    let at = RECORD_HEADER_SIZE;
    for (const part of body) {
      out.set(part, at);
      at += part.byteLength;
    }
    return [out];
  }
  const header = Buffer.allocUnsafe(RECORD_HEADER_SIZE);
  header.writeUInt32LE(type >>> 0, 0);
  header.writeUInt32LE(length, 4);
  const out: Chunks = [header];
  for (const part of body) {
    if (part.byteLength > 0) out.push(Buffer.isBuffer(part) ? part : Buffer.from(part.buffer, part.byteOffset, part.byteLength));
  }
  const pad = padded - length;
  if (pad > 0) out.push(ZERO_PADDING.subarray(0, pad));
  return out;
}

// ---- xl save-file header ----

/** The xl save-file header with the domain config as JSON (NUL-terminated, as xl writes it). */
export function encodeXlHeader(configJson: string): Buffer {
  const config = Buffer.from(configJson + '\0', 'utf8');
  const optionalLength = 4 + config.length;
  const out = Buffer.alloc(XL_FIXED_HEADER_SIZE + optionalLength);
  XL_MAGIC.copy(out, 0);
  out.writeUInt32LE(XL_BYTEORDER_VALUE, 32);
  out.writeUInt32LE(XL_MANDATORY_FLAG_STREAMV2 | XL_MANDATORY_FLAG_JSON, 36);
  out.writeUInt32LE(0, 40);
  out.writeUInt32LE(optionalLength, 44);
  out.writeUInt32LE(config.length, 48);
  config.copy(out, 52);
  return out;
}

// ---- libxl ----

export function encodeLibxlHeader(): Buffer {
  const out = Buffer.alloc(LIBXL_HEADER_SIZE);
  out.writeBigUInt64BE(LIBXL_IDENT, 0);
  out.writeUInt32BE(LIBXL_VERSION, 8);
  out.writeUInt32BE(0, 12); // little-endian, not legacy
  return out;
}

/** CHECKPOINT_STATE: Xen writes a 4-byte body (one u32), padded to 8 on the wire. */
export function encodeCheckpointState(id: CheckpointStateId): Chunks {
  const body = Buffer.allocUnsafe(4);
  body.writeUInt32LE(id, 0);
  return encodeRecord(LibxlRecord.CHECKPOINT_STATE, [body]);
}

/** The encoded CHECKPOINT_STATE records, built once: every checkpoint sends several. Never written to. */
export const CHECKPOINT_STATE_RECORDS: Readonly<Record<CheckpointStateId, Buffer>> = Object.fromEntries(
  Object.values(CheckpointState).map((id) => [id, Buffer.concat(encodeCheckpointState(id))]),
) as Record<CheckpointStateId, Buffer>;

export const CHECKPOINT_NEW: Buffer = CHECKPOINT_STATE_RECORDS[CheckpointState.NEW];

export function encodeEmulatorRecord(
  type: typeof LibxlRecord.EMULATOR_CONTEXT | typeof LibxlRecord.EMULATOR_XENSTORE_DATA,
  data: Uint8Array,
  emulatorId: number = EmulatorId.QEMU_UPSTREAM,
  index = 0,
): Chunks {
  const sub = Buffer.allocUnsafe(EMULATOR_SUBHEADER_SIZE);
  sub.writeUInt32LE(emulatorId, 0);
  sub.writeUInt32LE(index, 4);
  return encodeRecord(type, [sub, data]);
}

/** EMULATOR_XENSTORE_DATA body after the sub-header: packed `key\0value\0` pairs. */
export function encodeXenstorePairs(pairs: ReadonlyArray<readonly [string, string]>): Buffer {
  return Buffer.from(pairs.map(([k, v]) => `${k}\0${v}\0`).join(''), 'utf8');
}

export function encodeLibxl(type: number): Chunks {
  return encodeRecord(type);
}

// ---- libxc ----

export interface LibxcHeaderFields {
  domainType?: number;
  xenMajor: number;
  xenMinor: number;
}

/** The image header and the domain header, sent once at the start of the libxc stream. */
export function encodeLibxcHeaders({ domainType = DomainType.X86_HVM, xenMajor, xenMinor }: LibxcHeaderFields): Buffer {
  const out = Buffer.alloc(LIBXC_IMAGE_HEADER_SIZE + LIBXC_DOMAIN_HEADER_SIZE);
  out.writeBigUInt64BE(LIBXC_MARKER, 0);
  out.writeUInt32BE(LIBXC_ID, 8);
  out.writeUInt32BE(LIBXC_VERSION, 12);
  out.writeUInt16BE(0, 16); // little-endian; reserved bytes 18..23 stay zero
  const d = LIBXC_IMAGE_HEADER_SIZE;
  out.writeUInt32LE(domainType, d);
  out.writeUInt16LE(PAGE_SHIFT, d + 4);
  out.writeUInt32LE(xenMajor, d + 8);
  out.writeUInt32LE(xenMinor, d + 12);
  return out;
}

export interface PageBatch {
  /** Frame numbers, at most 2^52-1 each. */
  pfns: ArrayLike<number>;
  /** XEN_DOMCTL_PFINFO type per pfn; NOTAB (0) when omitted. */
  types?: ArrayLike<number>;
  /** Contents of each pfn whose type carries data, PAGE_SIZE bytes each, in pfn order. */
  page(index: number): Uint8Array;
  /**
   * Optional: the contents of `count` entries from `index` on as one view, count × PAGE_SIZE bytes. Asked only for
   * runs of consecutive pfns that all carry data, so a source that keeps memory contiguous (guest memory) answers
   * with one view per run instead of one per page.
   */
  pages?(index: number, count: number): Uint8Array;
}

/** PAGE_DATA: count, reserved, the encoded pfns, then one page per pfn whose type carries data. */
export function encodePageData(batch: PageBatch): Chunks {
  const count = batch.pfns.length;
  if (count < 1) throw new RangeError('PAGE_DATA needs at least one pfn');
  const head = Buffer.allocUnsafe(8 + count * 8);
  head.writeUInt32LE(count, 0);
  head.writeUInt32LE(0, 4);
  const body: Buffer[] = [head];
  const view = new DataView(head.buffer, head.byteOffset, head.byteLength);
  // With pages(): the entry where the current run of consecutive data-carrying pfns began (-1: none), and its pfn.
  // A run goes out as one view, one iovec instead of hundreds.
  let runFrom = -1;
  let runPfn = 0;
  for (let i = 0; i < count; i++) {
    const pfn = batch.pfns[i]!;
    const type = batch.types ? batch.types[i]! : 0;
    if (!Number.isInteger(pfn) || pfn < 0 || pfn > PFN_MAX) throw new RangeError(`pfn ${pfn} out of range`);
    if (!pageTypeIsValid(type)) throw new RangeError(`page type ${type} is not a XEN_DOMCTL_PFINFO type`);
    // Bits 63–60 type, 51–0 pfn; split in two u32 halves because a JS number holds only 53 bits exactly.
    view.setUint32(8 + i * 8, pfn % 0x100000000, true);
    view.setUint32(12 + i * 8, ((type << 28) | Math.floor(pfn / 0x100000000)) >>> 0, true);
    if (batch.pages !== undefined) {
      const continues = pageTypeHasData(type) && runFrom >= 0 && pfn === runPfn + (i - runFrom);
      if (!continues && runFrom >= 0) {
        body.push(viewOfRun(batch, runFrom, i - runFrom));
        runFrom = -1;
      }
      if (pageTypeHasData(type) && runFrom < 0) {
        runFrom = i;
        runPfn = pfn;
      }
      continue;
    }
    if (pageTypeHasData(type)) {
      const page = batch.page(i);
      if (page.byteLength !== PAGE_SIZE) throw new RangeError(`page ${pfn} is ${page.byteLength} bytes, not ${PAGE_SIZE}`);
      body.push(Buffer.isBuffer(page) ? page : Buffer.from(page.buffer, page.byteOffset, page.byteLength));
    }
  }
  if (runFrom >= 0) body.push(viewOfRun(batch, runFrom, count - runFrom));
  return encodeRecord(LibxcRecord.PAGE_DATA, body);
}

function viewOfRun(batch: PageBatch, from: number, n: number): Buffer {
  const bytes = batch.pages!(from, n);
  if (bytes.byteLength !== n * PAGE_SIZE) throw new RangeError(`pages ${from}…${from + n - 1} are ${bytes.byteLength} bytes, not ${n * PAGE_SIZE}`);
  return Buffer.isBuffer(bytes) ? bytes : Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength);
}

export interface TscInfoFields {
  mode: number;
  khz: number;
  nsec: bigint;
  incarnation: number;
}

export function encodeTscInfo(tsc: TscInfoFields): Chunks {
  const body = zeroed(24);
  body.writeUInt32LE(tsc.mode, 0);
  body.writeUInt32LE(tsc.khz, 4);
  body.writeBigUInt64LE(tsc.nsec, 8);
  body.writeUInt32LE(tsc.incarnation, 16);
  return encodeRecord(LibxcRecord.X86_TSC_INFO, [body]);
}

export function encodeHvmContext(context: Uint8Array): Chunks {
  return encodeRecord(LibxcRecord.HVM_CONTEXT, [context]);
}

export function encodeHvmParams(params: ReadonlyArray<{ index: bigint; value: bigint }>): Chunks {
  const body = zeroed(8 + params.length * 16);
  body.writeUInt32LE(params.length, 0);
  // DataView's 64-bit setter is native; Buffer's writeBigUInt64LE splits the BigInt in JS.
  const view = new DataView(body.buffer, body.byteOffset, body.byteLength);
  for (let i = 0; i < params.length; i++) {
    const { index, value } = params[i]!;
    // DataView wraps out-of-range values silently; Buffer's setter refused them, and so do we.
    if (index < 0n || index > U64_MAX || value < 0n || value > U64_MAX) throw new RangeError(`HVM param ${index} = ${value} does not fit in 64 bits`);
    view.setBigUint64(8 + i * 16, index, true);
    view.setBigUint64(16 + i * 16, value, true);
  }
  return encodeRecord(LibxcRecord.HVM_PARAMS, [body]);
}

/** CHECKPOINT_DIRTY_PFN_LIST: bare u64 pfns, back channel only. */
export function encodeDirtyPfnList(pfns: ArrayLike<number>): Chunks {
  const body = Buffer.allocUnsafe(pfns.length * 8);
  for (let i = 0; i < pfns.length; i++) {
    const pfn = pfns[i]!;
    body.writeUInt32LE(pfn % 0x100000000, i * 8);
    body.writeUInt32LE(Math.floor(pfn / 0x100000000), i * 8 + 4);
  }
  return encodeRecord(LibxcRecord.CHECKPOINT_DIRTY_PFN_LIST, [body]);
}

export interface CpuidLeaf {
  leaf: number;
  subleaf: number;
  a: number;
  b: number;
  c: number;
  d: number;
}

/** X86_CPUID_POLICY: an array of xen_cpuid_leaf_t (six u32 each). */
export function encodeCpuidPolicy(leaves: readonly CpuidLeaf[]): Chunks {
  const body = Buffer.alloc(leaves.length * 24);
  leaves.forEach((l, i) => {
    [l.leaf, l.subleaf, l.a, l.b, l.c, l.d].forEach((v, j) => body.writeUInt32LE(v >>> 0, i * 24 + j * 4));
  });
  return encodeRecord(LibxcRecord.X86_CPUID_POLICY, [body]);
}

export interface MsrEntry {
  index: number;
  flags: number;
  value: bigint;
}

/** X86_MSR_POLICY: an array of xen_msr_entry_t (u32 idx, u32 flags, u64 val). */
export function encodeMsrPolicy(entries: readonly MsrEntry[]): Chunks {
  const body = Buffer.alloc(entries.length * 16);
  entries.forEach((e, i) => {
    body.writeUInt32LE(e.index >>> 0, i * 16);
    body.writeUInt32LE(e.flags >>> 0, i * 16 + 4);
    body.writeBigUInt64LE(e.value, i * 16 + 8);
  });
  return encodeRecord(LibxcRecord.X86_MSR_POLICY, [body]);
}

export function encodeLibxc(type: number, body: readonly Uint8Array[] = []): Chunks {
  return encodeRecord(type, body);
}
