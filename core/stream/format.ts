// Constants of the Xen migration stream formats (xen-colo.md §1): the xl save-file header, the libxl v2 stream
// and the libxc v3 stream. Stream headers are big-endian; record headers and bodies are little-endian (x86 host
// order); every record is padded with zeros to 8 bytes.

export const PAGE_SHIFT = 12;
export const PAGE_SIZE = 1 << PAGE_SHIFT;
export const RECORD_ALIGN = 8;
export const RECORD_HEADER_SIZE = 8;

// ---- xl save-file header (tools/xl/xl.h, xl_saverestore.c) ----
/** 32 bytes with an embedded NUL, exactly as xl writes it. */
export const XL_MAGIC = Buffer.from('Xen saved domain, xl format\n \0 \r', 'latin1');
export const XL_BYTEORDER_VALUE = 0x01020304;
export const XL_FIXED_HEADER_SIZE = 48;
export const XL_MANDATORY_FLAG_JSON = 1 << 0;
export const XL_MANDATORY_FLAG_STREAMV2 = 1 << 1;
export const XL_KNOWN_MANDATORY_FLAGS = XL_MANDATORY_FLAG_JSON | XL_MANDATORY_FLAG_STREAMV2;
/** What `xl migrate-receive` writes on the back channel before anything else. */
export const XL_RECEIVER_BANNER = Buffer.from('xl migration receiver ready, send binary domain data.\n', 'latin1');

// ---- libxl stream v2 (libxl_sr_stream_format.h) ----
export const LIBXL_IDENT = 0x4c6962786c466d74n; // "LibxlFmt"
export const LIBXL_VERSION = 2;
export const LIBXL_HEADER_SIZE = 16;
export const LIBXL_OPT_BIG_ENDIAN = 1 << 0;
export const LIBXL_OPT_LEGACY = 1 << 1;

export const LibxlRecord = {
  END: 0x0,
  LIBXC_CONTEXT: 0x1,
  EMULATOR_XENSTORE_DATA: 0x2,
  EMULATOR_CONTEXT: 0x3,
  CHECKPOINT_END: 0x4,
  CHECKPOINT_STATE: 0x5,
} as const;

export const CheckpointState = {
  NEW: 0,
  SVM_SUSPENDED: 1,
  SVM_READY: 2,
  SVM_RESUMED: 3,
} as const;
export type CheckpointStateId = (typeof CheckpointState)[keyof typeof CheckpointState];

export const EmulatorId = { UNKNOWN: 0, QEMU_TRADITIONAL: 1, QEMU_UPSTREAM: 2 } as const;
export const EMULATOR_SUBHEADER_SIZE = 8;

// ---- libxc stream v3 (xg_sr_stream_format.h) ----
export const LIBXC_MARKER = 0xffffffffffffffffn;
export const LIBXC_ID = 0x58454e46; // "XENF"
export const LIBXC_VERSION = 3;
export const LIBXC_IMAGE_HEADER_SIZE = 24;
export const LIBXC_DOMAIN_HEADER_SIZE = 16;
export const LIBXC_OPT_BIG_ENDIAN = 1 << 0;
export const DomainType = { X86_PV: 1, X86_HVM: 2 } as const;

export const LibxcRecord = {
  END: 0x00,
  PAGE_DATA: 0x01,
  X86_PV_INFO: 0x02,
  X86_PV_P2M_FRAMES: 0x03,
  X86_PV_VCPU_BASIC: 0x04,
  X86_PV_VCPU_EXTENDED: 0x05,
  X86_PV_VCPU_XSAVE: 0x06,
  SHARED_INFO: 0x07,
  X86_TSC_INFO: 0x08,
  HVM_CONTEXT: 0x09,
  HVM_PARAMS: 0x0a,
  TOOLSTACK: 0x0b,
  X86_PV_VCPU_MSRS: 0x0c,
  VERIFY: 0x0d,
  CHECKPOINT: 0x0e,
  CHECKPOINT_DIRTY_PFN_LIST: 0x0f,
  STATIC_DATA_END: 0x10,
  X86_CPUID_POLICY: 0x11,
  X86_MSR_POLICY: 0x12,
} as const;
export const LIBXC_OPTIONAL_FLAG = 0x80000000;
export const LIBXC_MAX_KNOWN_TYPE = LibxcRecord.X86_MSR_POLICY;

/** REC_LENGTH_MAX in xg_sr_common.h. */
export const LIBXC_RECORD_MAX = 128 * 1024 * 1024;
/** libxl sets no bound of its own; device state of a real QEMU is a few MiB, so 64 MiB leaves room. */
export const LIBXL_RECORD_MAX = 64 * 1024 * 1024;
/** Xen's MAX_BATCH_SIZE: the writer sends at most this many pfns per PAGE_DATA record. */
export const PAGE_DATA_BATCH_MAX = 1024;

/** XEN_DOMCTL_PFINFO types, as carried in bits 63–60 of each PAGE_DATA pfn. */
export const PageType = {
  NOTAB: 0x0,
  L1TAB: 0x1,
  L2TAB: 0x2,
  L3TAB: 0x3,
  L4TAB: 0x4,
  L1TAB_PIN: 0x9,
  L2TAB_PIN: 0xa,
  L3TAB_PIN: 0xb,
  L4TAB_PIN: 0xc,
  BROKEN: 0xd,
  XALLOC: 0xe,
  XTAB: 0xf,
} as const;
/** 2^52 - 1: bits 51–0 of a PAGE_DATA entry hold the pfn. */
export const PFN_MAX = 0x000fffffffffffff;

export function pageTypeIsValid(type: number): boolean {
  return (type >= 0x0 && type <= 0x4) || (type >= 0x9 && type <= 0xf);
}

/** BROKEN, XALLOC and XTAB frames are listed without page contents. */
export function pageTypeHasData(type: number): boolean {
  return type < PageType.BROKEN;
}

export function paddedLength(length: number): number {
  // Arithmetic, not `& ~7`: lengths are u32 and bitwise operators would wrap them to negative numbers from 2^31 on.
  return Math.ceil(length / RECORD_ALIGN) * RECORD_ALIGN;
}

export type Layer = 'libxl' | 'libxc';

const LIBXL_NAMES = new Map<number, string>(Object.entries(LibxlRecord).map(([k, v]) => [v, k]));
const LIBXC_NAMES = new Map<number, string>(Object.entries(LibxcRecord).map(([k, v]) => [v, k]));
const CHECKPOINT_STATE_NAMES = new Map<number, string>(Object.entries(CheckpointState).map(([k, v]) => [v, k]));

export function recordName(layer: Layer, type: number): string {
  const known = layer === 'libxl' ? LIBXL_NAMES.get(type) : LIBXC_NAMES.get(type);
  if (known) return known;
  const hex = `0x${type.toString(16).padStart(8, '0')}`;
  return layer === 'libxc' && type & LIBXC_OPTIONAL_FLAG ? `OPTIONAL_${hex}` : `UNKNOWN_${hex}`;
}

export function checkpointStateName(id: number): string {
  return CHECKPOINT_STATE_NAMES.get(id) ?? `UNKNOWN(${id})`;
}
