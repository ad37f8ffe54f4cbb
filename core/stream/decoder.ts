// The streaming decoder: bytes in, one header or record out at a time. It follows libxl's layer switching on the
// forward stream (xen-colo.md §1.5), reads the header-less back channel (§1.3), and checks every length, padding
// byte and record type before a record is handed on. It buffers only what the next item needs.

import { StreamError } from './errors.js';
import {
  DomainType,
  LIBXC_DOMAIN_HEADER_SIZE,
  LIBXC_ID,
  LIBXC_IMAGE_HEADER_SIZE,
  LIBXC_MARKER,
  LIBXC_MAX_KNOWN_TYPE,
  LIBXC_OPTIONAL_FLAG,
  LIBXC_OPT_BIG_ENDIAN,
  LIBXC_RECORD_MAX,
  LIBXC_VERSION,
  LIBXL_HEADER_SIZE,
  LIBXL_IDENT,
  LIBXL_OPT_BIG_ENDIAN,
  LIBXL_OPT_LEGACY,
  LIBXL_RECORD_MAX,
  LIBXL_VERSION,
  type Layer,
  LibxcRecord,
  LibxlRecord,
  PAGE_SHIFT,
  RECORD_HEADER_SIZE,
  XL_BYTEORDER_VALUE,
  XL_FIXED_HEADER_SIZE,
  XL_KNOWN_MANDATORY_FLAGS,
  XL_MAGIC,
  XL_MANDATORY_FLAG_JSON,
  XL_MANDATORY_FLAG_STREAMV2,
  XL_RECEIVER_BANNER,
  CheckpointState,
  paddedLength,
  recordName,
  checkpointStateName,
} from './format.js';
import {
  type EmulatorData,
  type HvmParamEntry,
  type PageData,
  type TscInfo,
  parseCheckpointStateId,
  parseDirtyPfnList,
  parseEmulator,
  parseHvmParams,
  parsePageData,
  parseTscInfo,
  parseXenstorePairs,
  requireLength,
} from './bodies.js';
import { ByteQueue } from './byte-queue.js';
import { type ByteSource, SegmentedBytes } from './segmented-bytes.js';

/** What the bytes are: an xl save file or migration stream, a bare libxl or libxc stream, or the back channel. */
export type StreamKind = 'xl' | 'libxl' | 'libxc' | 'back';

export interface DecoderLimits {
  libxcRecordMax: number;
  libxlRecordMax: number;
  /** Largest xl optional-data block (the domain config JSON). */
  xlConfigMax: number;
}

export interface DecoderOptions {
  limits?: Partial<DecoderLimits>;
  /** Back channel only: expect xl's receiver banner before the records (default true). */
  expectBanner?: boolean;
  /** Xen ≥ 4.18 sends 8 stray zero bytes after the dirty-pfn-list header (xen-colo.md §1.7); 16 accepts that. */
  dirtyPfnListHeader?: 8 | 16;
  /** When known, pfns at or above this are rejected. */
  p2mSize?: number;
}

export interface XlHeader {
  mandatoryFlags: number;
  optionalFlags: number;
  config?: string;
}

export interface LibxlHeader {
  options: number;
}

export interface LibxcHeader {
  domainType: number;
  pageShift: number;
  xenMajor: number;
  xenMinor: number;
}

export type ParsedBody =
  | { kind: 'page-data'; value: PageData }
  | { kind: 'checkpoint-state'; id: number }
  | { kind: 'emulator'; value: EmulatorData; xenstore?: Array<[string, string]> }
  | { kind: 'tsc'; value: TscInfo }
  | { kind: 'hvm-params'; value: HvmParamEntry[] }
  | { kind: 'dirty-pfns'; pfns: Float64Array };

export interface StreamRecord {
  kind: 'record';
  layer: Layer;
  type: number;
  name: string;
  /** Byte offset of the record header. */
  offset: number;
  /** Body length as in the header (padding excluded). */
  length: number;
  /** Bytes the record takes on the wire: header, body, padding. */
  wireLength: number;
  /** The body; a PAGE_DATA body that arrived in pieces is joined on first access (use `parsed` to avoid that). */
  readonly body: Buffer;
  /** True for an optional libxc record of a type we do not know: skipped, as libxc does. */
  skipped: boolean;
  parsed?: ParsedBody;
}

/** A decoded record. A class rather than a literal: the engine makes a dozen per checkpoint, thousands a second. */
class DecodedRecord implements StreamRecord {
  readonly kind = 'record';
  readonly name: string;
  skipped = false;
  parsed?: ParsedBody;
  // A true private field: copies of a record ({...record}) carry its fields, not where its bytes sit.
  readonly #source: ByteSource;

  constructor(
    readonly layer: Layer,
    readonly type: number,
    readonly offset: number,
    readonly length: number,
    readonly wireLength: number,
    source: ByteSource,
  ) {
    this.name = recordName(layer, type);
    this.#source = source;
  }

  /** Joined only if someone asks for the whole body; the engine reads PAGE_DATA through `parsed`. */
  get body(): Buffer {
    const source = this.#source;
    return source instanceof SegmentedBytes ? source.toBuffer() : (source as Buffer);
  }
}

export type StreamItem =
  | { kind: 'xl-header'; offset: number; wireLength: number; header: XlHeader }
  | { kind: 'libxl-header'; offset: number; wireLength: number; header: LibxlHeader }
  | { kind: 'libxc-header'; offset: number; wireLength: number; header: LibxcHeader }
  | { kind: 'banner'; offset: number; wireLength: number }
  | StreamRecord;

/** Where the bytes ended, in protocol terms: the caller decides what an end there means. */
export type EndPosition =
  | 'nothing'          // no bytes at all
  | 'complete'         // after END of a plain stream
  | 'between-checkpoints' // checkpointed stream, after CHECKPOINT_END (or NEW): a clean place to stop
  | 'inside-checkpoint';  // a checkpoint began but did not finish: the secondary would discard it

type State =
  | 'xl-header'
  | 'libxl-header'
  | 'libxc-header'
  | 'banner'
  | 'libxl'
  | 'libxc'
  | 'after-checkpoint-end'
  | 'back'
  | 'done';

const DEFAULT_LIMITS: DecoderLimits = {
  libxcRecordMax: LIBXC_RECORD_MAX,
  libxlRecordMax: LIBXL_RECORD_MAX,
  xlConfigMax: 16 * 1024 * 1024,
};

const PV_ONLY = new Set<number>([
  LibxcRecord.X86_PV_INFO, LibxcRecord.X86_PV_P2M_FRAMES, LibxcRecord.X86_PV_VCPU_BASIC,
  LibxcRecord.X86_PV_VCPU_EXTENDED, LibxcRecord.X86_PV_VCPU_XSAVE, LibxcRecord.SHARED_INFO,
  LibxcRecord.X86_PV_VCPU_MSRS,
]);
const HVM_ONLY = new Set<number>([LibxcRecord.HVM_CONTEXT, LibxcRecord.HVM_PARAMS]);
const EMPTY_LIBXC = new Set<number>([
  LibxcRecord.END, LibxcRecord.VERIFY, LibxcRecord.CHECKPOINT, LibxcRecord.STATIC_DATA_END,
]);
const EMPTY_LIBXL = new Set<number>([LibxlRecord.END, LibxlRecord.LIBXC_CONTEXT, LibxlRecord.CHECKPOINT_END]);

export class StreamDecoder {
  private readonly queue = new ByteQueue();
  private readonly limits: DecoderLimits;
  private state: State;
  private consumed = 0;
  private ended = false;
  private domainType: number | undefined;
  private libxcStarted = false;
  /** Set once the libxc layer ended a pass with CHECKPOINT rather than END. */
  private checkpointed = false;
  private insideCheckpoint = false;
  private checkpointsDone = 0;
  private sawEnd = false;
  private failure: StreamError | undefined;

  constructor(readonly kind: StreamKind, private readonly options: DecoderOptions = {}) {
    this.limits = { ...DEFAULT_LIMITS, ...options.limits };
    this.state = { xl: 'xl-header', libxl: 'libxl-header', libxc: 'libxc-header', back: 'banner' }[kind] as State;
    if (kind === 'back' && options.expectBanner === false) this.state = 'back';
  }

  /** Bytes decoded so far: the offset of the next item. */
  get offset(): number {
    return this.consumed;
  }

  /** Bytes received but not yet decoded. */
  get buffered(): number {
    return this.queue.length;
  }

  /** Complete checkpoints seen (CHECKPOINT_END on a libxl stream, CHECKPOINT on a bare libxc stream). */
  get checkpoints(): number {
    return this.checkpointsDone;
  }

  get isDone(): boolean {
    return this.state === 'done';
  }

  push(chunk: Uint8Array): void {
    if (this.ended) throw new Error('push() after end()');
    this.queue.push(chunk);
  }

  /** Marks the end of input; `next()` then reports truncation instead of waiting for more. */
  end(): void {
    this.ended = true;
  }

  /** How many bytes the next item needs in all, or 0 when it can be decoded now (or the stream is done). */
  get needed(): number {
    const need = this.bytesForNextItem();
    return need <= this.queue.length ? 0 : need;
  }

  /** The next complete item, or undefined when more bytes are needed (or, after end(), at a clean end). */
  next(): StreamItem | undefined {
    // Some checks fail only after the record left the queue, so decoding on would silently step over the damage.
    // Once the bytes are known bad, every later call gives the same answer.
    if (this.failure) throw this.failure;
    try {
      return this.nextItem();
    } catch (err) {
      if (err instanceof StreamError) this.failure = err;
      throw err;
    }
  }

  private nextItem(): StreamItem | undefined {
    if (this.state === 'done') {
      if (this.queue.length > 0) {
        throw new StreamError('unexpected-record', this.consumed, `${this.queue.length} bytes follow the END record`);
      }
      return undefined;
    }
    const need = this.bytesForNextItem();
    if (this.queue.length < need) {
      if (this.ended && (this.queue.length > 0 || this.isHeaderState())) this.throwTruncated(need);
      return undefined;
    }
    return this.decodeItem();
  }

  /** Where the input ended; meaningful after end() once next() returned undefined. */
  endPosition(): EndPosition {
    if (this.consumed === 0) return 'nothing';
    if (this.state === 'done' || this.sawEnd) return 'complete';
    if (this.insideCheckpoint || !this.checkpointed) return 'inside-checkpoint';
    return 'between-checkpoints';
  }

  private isHeaderState(): boolean {
    return this.state === 'xl-header' || this.state === 'libxl-header' || this.state === 'libxc-header' || this.state === 'banner';
  }

  private bytesForNextItem(): number {
    switch (this.state) {
      case 'xl-header': {
        if (this.queue.length < XL_FIXED_HEADER_SIZE) return XL_FIXED_HEADER_SIZE;
        const optional = this.queue.peek(XL_FIXED_HEADER_SIZE).readUInt32LE(44);
        // An absurd length is rejected from the fixed part alone; never wait for (or buffer) the optional data.
        return optional > this.limits.xlConfigMax + 4 ? XL_FIXED_HEADER_SIZE : XL_FIXED_HEADER_SIZE + optional;
      }
      case 'libxl-header':
        return LIBXL_HEADER_SIZE;
      case 'libxc-header':
        return LIBXC_IMAGE_HEADER_SIZE + LIBXC_DOMAIN_HEADER_SIZE;
      case 'banner':
        return XL_RECEIVER_BANNER.length;
      case 'done':
        return 0;
      default: {
        if (this.queue.length < RECORD_HEADER_SIZE) return RECORD_HEADER_SIZE;
        const type = this.queue.peekUInt32LE(0);
        const length = this.queue.peekUInt32LE(4);
        // An absurd length is rejected from the header alone (decodeRecord); never wait for (or buffer) its body.
        if (length > this.maxFor(type)) return RECORD_HEADER_SIZE;
        return RECORD_HEADER_SIZE + this.quirkBytes(type) + paddedLength(length);
      }
    }
  }

  private maxFor(type: number): number {
    return this.layerForRecord(type) === 'libxl' ? this.limits.libxlRecordMax : this.limits.libxcRecordMax;
  }

  private quirkBytes(type: number): number {
    return this.state === 'back' && type === LibxcRecord.CHECKPOINT_DIRTY_PFN_LIST && this.options.dirtyPfnListHeader === 16 ? 8 : 0;
  }

  /** Which layer the record at the head of the queue belongs to. */
  private layerForRecord(type: number): Layer {
    switch (this.state) {
      case 'libxl':
        return 'libxl';
      case 'libxc':
        return 'libxc';
      case 'back':
        return type === LibxlRecord.CHECKPOINT_STATE ? 'libxl' : 'libxc';
      default:
        // After CHECKPOINT_END: COLO sends CHECKPOINT_STATE(NEW) (libxl 5); Remus goes straight on with libxc.
        // libxc's 5 is a PV-only record, and COLO streams are HVM, so the type alone tells the layers apart.
        return type === LibxlRecord.CHECKPOINT_STATE && this.domainType !== DomainType.X86_PV ? 'libxl' : 'libxc';
    }
  }

  private throwTruncated(need: number): never {
    const have = this.queue.length;
    const where = this.consumed;
    let what: string;
    switch (this.state) {
      case 'xl-header': what = 'xl save-file header'; break;
      case 'libxl-header': what = 'libxl stream header'; break;
      case 'libxc-header': what = 'libxc image and domain headers'; break;
      case 'banner': what = 'xl receiver banner'; break;
      default:
        if (have < RECORD_HEADER_SIZE) what = 'record header';
        else {
          const type = this.queue.peek(RECORD_HEADER_SIZE).readUInt32LE(0);
          what = `${recordName(this.layerForRecord(type), type)} record`;
        }
    }
    throw new StreamError('truncated', where, `stream ends inside the ${what}: ${have} of ${need} bytes present`);
  }

  private take(n: number): Buffer {
    const bytes = this.queue.take(n);
    this.consumed += n;
    return bytes;
  }

  private decodeItem(): StreamItem {
    const offset = this.consumed;
    switch (this.state) {
      case 'xl-header':
        return this.decodeXlHeader(offset);
      case 'libxl-header':
        return this.decodeLibxlHeader(offset);
      case 'libxc-header':
        return this.decodeLibxcHeader(offset);
      case 'banner': {
        const bytes = this.take(XL_RECEIVER_BANNER.length);
        if (!bytes.equals(XL_RECEIVER_BANNER)) {
          throw new StreamError('bad-banner', offset, `back channel does not start with xl's receiver banner (got ${JSON.stringify(bytes.toString('latin1').slice(0, 60))})`);
        }
        this.state = 'back';
        return { kind: 'banner', offset, wireLength: bytes.length };
      }
      default:
        return this.decodeRecord(offset);
    }
  }

  private decodeXlHeader(offset: number): StreamItem {
    const fixed = this.queue.peek(XL_FIXED_HEADER_SIZE);
    if (!fixed.subarray(0, 32).equals(XL_MAGIC)) throw new StreamError('bad-magic', offset, 'not an xl save file: magic does not match');
    const byteorder = fixed.readUInt32LE(32);
    if (byteorder !== XL_BYTEORDER_VALUE) {
      throw new StreamError('bad-options', offset + 32, `xl byte-order mark 0x${byteorder.toString(16)} is not little-endian 0x01020304`);
    }
    const mandatoryFlags = fixed.readUInt32LE(36);
    const optionalFlags = fixed.readUInt32LE(40);
    const optionalLength = fixed.readUInt32LE(44);
    if (mandatoryFlags & ~XL_KNOWN_MANDATORY_FLAGS) {
      throw new StreamError('bad-options', offset + 36, `xl header has unknown mandatory flags 0x${mandatoryFlags.toString(16)}`);
    }
    if (!(mandatoryFlags & XL_MANDATORY_FLAG_STREAMV2)) {
      throw new StreamError('bad-version', offset + 36, 'xl header lacks the STREAMv2 flag: legacy streams are not supported');
    }
    if (optionalLength > this.limits.xlConfigMax + 4) {
      throw new StreamError('record-too-long', offset + 44, `xl optional data of ${optionalLength} bytes exceeds the ${this.limits.xlConfigMax}-byte limit`);
    }
    const all = this.take(XL_FIXED_HEADER_SIZE + optionalLength);
    const optional = all.subarray(XL_FIXED_HEADER_SIZE);
    let config: string | undefined;
    if (mandatoryFlags & XL_MANDATORY_FLAG_JSON) {
      if (optional.length < 4) throw new StreamError('bad-body', offset + 48, 'xl header says JSON config follows but has no room for its length');
      const configLength = optional.readUInt32LE(0);
      if (configLength > optional.length - 4) {
        throw new StreamError('bad-body', offset + 48, `xl config length ${configLength} runs past the optional data (${optional.length - 4} bytes)`);
      }
      const raw = optional.subarray(4, 4 + configLength);
      config = raw.toString('utf8').replace(/\0+$/, '');
    }
    this.state = 'libxl-header';
    return { kind: 'xl-header', offset, wireLength: all.length, header: { mandatoryFlags, optionalFlags, config } };
  }

  private decodeLibxlHeader(offset: number): StreamItem {
    const h = this.take(LIBXL_HEADER_SIZE);
    if (h.readBigUInt64BE(0) !== LIBXL_IDENT) throw new StreamError('bad-magic', offset, 'libxl stream ident is not "LibxlFmt"');
    const version = h.readUInt32BE(8);
    if (version !== LIBXL_VERSION) throw new StreamError('bad-version', offset + 8, `libxl stream version ${version}, expected ${LIBXL_VERSION}`);
    const options = h.readUInt32BE(12);
    if (options & LIBXL_OPT_BIG_ENDIAN) throw new StreamError('bad-options', offset + 12, 'libxl stream is big-endian: unable to handle big endian streams');
    if (options & ~(LIBXL_OPT_BIG_ENDIAN | LIBXL_OPT_LEGACY)) {
      throw new StreamError('bad-options', offset + 12, `libxl stream sets reserved option bits 0x${options.toString(16)}`);
    }
    this.state = 'libxl';
    return { kind: 'libxl-header', offset, wireLength: LIBXL_HEADER_SIZE, header: { options } };
  }

  private decodeLibxcHeader(offset: number): StreamItem {
    const h = this.take(LIBXC_IMAGE_HEADER_SIZE + LIBXC_DOMAIN_HEADER_SIZE);
    if (h.readBigUInt64BE(0) !== LIBXC_MARKER) throw new StreamError('bad-magic', offset, 'libxc image header marker is not 0xffffffffffffffff');
    if (h.readUInt32BE(8) !== LIBXC_ID) throw new StreamError('bad-magic', offset + 8, 'libxc image header id is not "XENF"');
    const version = h.readUInt32BE(12);
    if (version !== LIBXC_VERSION) throw new StreamError('bad-version', offset + 12, `libxc stream version ${version}, expected ${LIBXC_VERSION}`);
    const options = h.readUInt16BE(16);
    if (options & LIBXC_OPT_BIG_ENDIAN) throw new StreamError('bad-options', offset + 16, 'libxc stream is big-endian');
    if (options !== 0) throw new StreamError('bad-options', offset + 16, `libxc image header sets reserved option bits 0x${options.toString(16)}`);
    if (h.readUInt16BE(18) !== 0 || h.readUInt32BE(20) !== 0) throw new StreamError('bad-options', offset + 18, 'libxc image header reserved bytes are not zero');
    const d = LIBXC_IMAGE_HEADER_SIZE;
    const domainType = h.readUInt32LE(d);
    if (domainType !== DomainType.X86_HVM && domainType !== DomainType.X86_PV) {
      throw new StreamError('bad-options', offset + d, `libxc domain type ${domainType} is neither x86 PV (1) nor x86 HVM (2)`);
    }
    const pageShift = h.readUInt16LE(d + 4);
    if (pageShift !== PAGE_SHIFT) throw new StreamError('bad-options', offset + d + 4, `page shift ${pageShift}, expected ${PAGE_SHIFT}`);
    if (h.readUInt16LE(d + 6) !== 0) throw new StreamError('bad-options', offset + d + 6, 'libxc domain header reserved field is not zero');
    this.domainType = domainType;
    this.libxcStarted = true;
    this.insideCheckpoint = true;
    this.state = 'libxc';
    return {
      kind: 'libxc-header', offset, wireLength: h.length,
      header: { domainType, pageShift, xenMajor: h.readUInt32LE(d + 8), xenMinor: h.readUInt32LE(d + 12) },
    };
  }

  private decodeRecord(offset: number): StreamRecord {
    const type = this.queue.peekUInt32LE(0);
    const length = this.queue.peekUInt32LE(4);
    const layer = this.layerForRecord(type);
    const max = layer === 'libxl' ? this.limits.libxlRecordMax : this.limits.libxcRecordMax;
    if (length > max) {
      throw new StreamError('record-too-long', offset + 4, `${recordName(layer, type)} record claims ${length} bytes; the ${layer} limit is ${max}`);
    }
    if (layer === 'libxl') this.checkLibxlType(type, offset);
    else this.checkLibxcType(type, offset);

    const extra = this.quirkBytes(type);
    const wireLength = RECORD_HEADER_SIZE + extra + paddedLength(length);
    // A PAGE_DATA record spread over several reads stays in its chunks (see SegmentedBytes); anything else that
    // spans reads is joined, which is cheap for records that small.
    const whole = layer === 'libxc' && type === LibxcRecord.PAGE_DATA && !this.queue.isContiguous(wireLength) ? null : this.queue.take(wireLength);
    const wire: ByteSource = whole ?? new SegmentedBytes(this.queue.takeSegments(wireLength));
    this.consumed += wireLength;
    if (extra > 0 && !wire.subarray(RECORD_HEADER_SIZE, RECORD_HEADER_SIZE + extra).equals(Buffer.alloc(extra))) {
      throw new StreamError('bad-body', offset + RECORD_HEADER_SIZE, 'expected the 8 zero bytes Xen ≥ 4.18 puts after the dirty-pfn-list header');
    }
    const bodyStart = RECORD_HEADER_SIZE + extra;
    const padStart = bodyStart + length;
    // At most 7 bytes: read in place in a whole record (a view each record would cost more than the check).
    const padding = whole ?? wire.subarray(padStart, wireLength);
    const base = whole === null ? 0 : padStart;
    for (let i = 0; i < wireLength - padStart; i++) {
      const byte = padding[base + i]!;
      if (byte !== 0) {
        throw new StreamError('bad-padding', offset + padStart + i, `${recordName(layer, type)} record padding byte is 0x${byte.toString(16)}, not zero`);
      }
    }
    const bodySource: ByteSource = wire instanceof SegmentedBytes ? wire.range(bodyStart, bodyStart + length) : wire.subarray(bodyStart, bodyStart + length);
    const record = new DecodedRecord(layer, type, offset, length, wireLength, bodySource);
    if (layer === 'libxl') this.afterLibxl(record);
    else this.afterLibxc(record, bodySource);
    return record;
  }

  private checkLibxlType(type: number, offset: number): void {
    if (type > LibxlRecord.CHECKPOINT_STATE) {
      // libxl rejects every type it does not know, optional-looking ones included.
      throw new StreamError('unknown-record', offset, `unknown libxl record type 0x${type.toString(16).padStart(8, '0')}`);
    }
    const why = this.libxlMisplaced(type);
    if (why) throw new StreamError('unexpected-record', offset, `${recordName('libxl', type)} ${why}`);
  }

  /** Why a libxl record of this type cannot come here, or undefined when it can. */
  private libxlMisplaced(type: number): string | undefined {
    if (this.state === 'back') return type === LibxlRecord.CHECKPOINT_STATE ? undefined : 'cannot appear on the back channel';
    if (this.state === 'after-checkpoint-end') return undefined;
    switch (type) {
      case LibxlRecord.LIBXC_CONTEXT:
        return this.libxcStarted ? 'appears a second time; checkpoints continue the libxc stream without it' : undefined;
      case LibxlRecord.CHECKPOINT_END:
        return !this.checkpointed || !this.insideCheckpoint ? 'without a libxc CHECKPOINT before it' : undefined;
      case LibxlRecord.CHECKPOINT_STATE:
        return 'on the forward stream is only valid right after CHECKPOINT_END';
      case LibxlRecord.END:
        return this.checkpointed && !this.sawLibxcEnd ? 'in a checkpointed stream before the libxc stream ended' : undefined;
      default:
        return undefined;
    }
  }

  private sawLibxcEnd = false;

  private checkLibxcType(type: number, offset: number): void {
    const base = type & ~LIBXC_OPTIONAL_FLAG;
    if (this.state === 'back') {
      if (type !== LibxcRecord.CHECKPOINT_DIRTY_PFN_LIST) {
        throw new StreamError('unexpected-record', offset, `${recordName('libxc', type)} cannot appear on the back channel`);
      }
      return;
    }
    if (type & LIBXC_OPTIONAL_FLAG) return;
    if (base > LIBXC_MAX_KNOWN_TYPE) {
      throw new StreamError('unknown-record', offset, `unknown mandatory libxc record type 0x${type.toString(16).padStart(8, '0')}`);
    }
    if (type === LibxcRecord.CHECKPOINT_DIRTY_PFN_LIST) {
      throw new StreamError('unexpected-record', offset, 'CHECKPOINT_DIRTY_PFN_LIST belongs on the back channel, not the forward stream');
    }
    if (this.domainType === DomainType.X86_HVM && PV_ONLY.has(type)) {
      throw new StreamError('unexpected-record', offset, `${recordName('libxc', type)} is a PV record in an x86 HVM stream`);
    }
    if (this.domainType === DomainType.X86_PV && HVM_ONLY.has(type)) {
      throw new StreamError('unexpected-record', offset, `${recordName('libxc', type)} is an HVM record in an x86 PV stream`);
    }
  }

  private afterLibxl(record: StreamRecord): void {
    const { type, body, offset } = record;
    if (EMPTY_LIBXL.has(type) && body.length !== 0) {
      throw new StreamError('bad-body', offset, `${record.name} must have an empty body, has ${body.length} bytes`);
    }
    switch (type) {
      case LibxlRecord.CHECKPOINT_STATE: {
        const id = parseCheckpointStateId(body, offset);
        record.parsed = { kind: 'checkpoint-state', id };
        if (this.state === 'after-checkpoint-end') {
          if (id !== CheckpointState.NEW) {
            throw new StreamError('unexpected-record', offset, `CHECKPOINT_STATE(${checkpointStateName(id)}) on the forward stream; only NEW is sent there`);
          }
          this.state = 'libxc';
        } else if (id === CheckpointState.NEW) {
          throw new StreamError('unexpected-record', offset, 'CHECKPOINT_STATE(NEW) on the back channel; it belongs on the forward stream');
        }
        return;
      }
      case LibxlRecord.EMULATOR_CONTEXT:
      case LibxlRecord.EMULATOR_XENSTORE_DATA: {
        const value = parseEmulator(body, offset);
        record.parsed = type === LibxlRecord.EMULATOR_XENSTORE_DATA
          ? { kind: 'emulator', value, xenstore: parseXenstorePairs(value.data, offset) }
          : { kind: 'emulator', value };
        return;
      }
      case LibxlRecord.LIBXC_CONTEXT:
        this.state = this.libxcStarted ? 'libxc' : 'libxc-header';
        return;
      case LibxlRecord.CHECKPOINT_END:
        this.checkpointsDone++;
        this.insideCheckpoint = false;
        this.state = 'after-checkpoint-end';
        return;
      case LibxlRecord.END:
        this.sawEnd = true;
        this.insideCheckpoint = false;
        this.state = 'done';
        return;
    }
  }

  private afterLibxc(record: StreamRecord, bodySource: ByteSource): void {
    const { type, offset } = record;
    // Only PAGE_DATA can be in pieces; every other body is a plain Buffer already, so reading it costs nothing.
    const body = bodySource as Buffer;
    if (this.state === 'after-checkpoint-end') {
      this.state = 'libxc';
    }
    if (type & LIBXC_OPTIONAL_FLAG) {
      record.skipped = true;
      return;
    }
    if (EMPTY_LIBXC.has(type) && bodySource.length !== 0) {
      throw new StreamError('bad-body', offset, `${record.name} must have an empty body, has ${bodySource.length} bytes`);
    }
    if (this.state !== 'back') this.insideCheckpoint = true;
    const p2m = this.options.p2mSize;
    switch (type) {
      case LibxcRecord.PAGE_DATA:
        record.parsed = { kind: 'page-data', value: parsePageData(bodySource, offset, p2m) };
        return;
      case LibxcRecord.X86_TSC_INFO:
        record.parsed = { kind: 'tsc', value: parseTscInfo(body, offset) };
        return;
      case LibxcRecord.HVM_PARAMS:
        record.parsed = { kind: 'hvm-params', value: parseHvmParams(body, offset) };
        return;
      case LibxcRecord.CHECKPOINT_DIRTY_PFN_LIST:
        record.parsed = { kind: 'dirty-pfns', pfns: parseDirtyPfnList(body, offset, p2m) };
        return;
      case LibxcRecord.X86_CPUID_POLICY:
        requireLength('X86_CPUID_POLICY', body, 24, offset);
        return;
      case LibxcRecord.X86_MSR_POLICY:
        requireLength('X86_MSR_POLICY', body, 16, offset);
        return;
      case LibxcRecord.CHECKPOINT:
        this.checkpointed = true;
        if (this.kind === 'libxc') {
          this.checkpointsDone++;
          this.insideCheckpoint = false;
        } else {
          this.state = 'libxl';
        }
        return;
      case LibxcRecord.END:
        this.sawLibxcEnd = true;
        if (this.kind === 'libxc') {
          this.sawEnd = true;
          this.insideCheckpoint = false;
          this.state = 'done';
        } else {
          this.state = 'libxl';
        }
        return;
    }
  }
}
