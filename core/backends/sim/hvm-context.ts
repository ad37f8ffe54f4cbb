// A Xen-shaped HVM context blob: the record layout and sizes follow xen/include/public/arch-x86/hvm/save.h
// (descriptor {u16 typecode, u16 instance, u32 length}, then the struct), so the checkpoint carries a blob of the
// size a real guest of that many vCPUs would, and a stream decoder sees a plausible HVM_CONTEXT.

const HVM_FILE_MAGIC = 0x54381286;
const HVM_FILE_VERSION = 1;
const DESCRIPTOR_BYTES = 8;

const CODE_END = 0;
const CODE_HEADER = 1;
const CODE_CPU = 2;

// Offsets inside struct hvm_hw_cpu (512 bytes of FPU state, then sixteen GPRs, then rip …; tsc near the end).
const CPU_RIP_OFFSET = 512 + 16 * 8;
const CPU_TSC_OFFSET = 1008;

interface RecordShape {
  code: number;
  bytes: number;
  perVcpu: boolean;
  instances?: number;
}

// In typecode order, as Xen's hvm_save walks its handlers.
const RECORDS: readonly RecordShape[] = [
  { code: CODE_HEADER, bytes: 24, perVcpu: false },
  { code: CODE_CPU, bytes: 1024, perVcpu: true },
  { code: 3, bytes: 8, perVcpu: false, instances: 2 }, // PIC, master and slave
  { code: 4, bytes: 400, perVcpu: false }, // IOAPIC, 48 pins
  { code: 5, bytes: 24, perVcpu: true }, // LAPIC
  { code: 6, bytes: 1024, perVcpu: true }, // LAPIC_REGS
  { code: 7, bytes: 16, perVcpu: false }, // PCI_IRQ
  { code: 8, bytes: 8, perVcpu: false }, // ISA_IRQ
  { code: 9, bytes: 8, perVcpu: false }, // PCI_LINK
  { code: 10, bytes: 56, perVcpu: false }, // PIT
  { code: 11, bytes: 16, perVcpu: false }, // RTC
  { code: 12, bytes: 1048, perVcpu: false }, // HPET
  { code: 13, bytes: 8, perVcpu: false }, // PMTIMER
  { code: 14, bytes: 240, perVcpu: true }, // MTRR
  { code: 16, bytes: 856, perVcpu: true }, // CPU_XSAVE with the AVX area
  { code: 19, bytes: 8, perVcpu: true }, // TSC_ADJUST
  { code: CODE_END, bytes: 0, perVcpu: false },
];

/** Bytes of the blob for `vcpus` vCPUs: about 4.8 KiB for one, 7.9 KiB for two, 14 KiB for four. */
export function hvmContextSize(vcpus: number): number {
  let size = 0;
  for (const r of RECORDS) {
    const n = r.perVcpu ? vcpus : (r.instances ?? 1);
    size += n * (DESCRIPTOR_BYTES + r.bytes);
  }
  return size;
}

/** A fresh context: every record present and zeroed, except the header. */
export function buildHvmContext(vcpus: number, tscKhz: number): Uint8Array {
  const blob = new Uint8Array(hvmContextSize(vcpus));
  const view = new DataView(blob.buffer);
  let at = 0;
  for (const r of RECORDS) {
    const n = r.perVcpu ? vcpus : (r.instances ?? 1);
    for (let instance = 0; instance < n; instance++) {
      view.setUint16(at, r.code, true);
      view.setUint16(at + 2, instance, true);
      view.setUint32(at + 4, r.bytes, true);
      if (r.code === CODE_HEADER) {
        view.setUint32(at + 8, HVM_FILE_MAGIC, true);
        view.setUint32(at + 12, HVM_FILE_VERSION, true);
        view.setUint32(at + 28, tscKhz, true);
      }
      at += DESCRIPTOR_BYTES + r.bytes;
    }
  }
  return blob;
}

/** Offsets of each vCPU's hvm_hw_cpu record; throws on anything that is not a well-formed context. */
export function cpuRecordOffsets(blob: Uint8Array): number[] {
  const view = new DataView(blob.buffer, blob.byteOffset, blob.byteLength);
  const cpus: number[] = [];
  let at = 0;
  let first = true;
  for (;;) {
    if (at + DESCRIPTOR_BYTES > blob.byteLength) throw new Error('HVM context: truncated record descriptor');
    const code = view.getUint16(at, true);
    const length = view.getUint32(at + 4, true);
    const body = at + DESCRIPTOR_BYTES;
    if (body + length > blob.byteLength) throw new Error(`HVM context: record ${code} runs past the end`);
    if (first) {
      if (code !== CODE_HEADER || length < 8 || view.getUint32(body, true) !== HVM_FILE_MAGIC) {
        throw new Error('HVM context: missing header record');
      }
      first = false;
    }
    if (code === CODE_CPU) {
      if (length !== 1024) throw new Error('HVM context: CPU record of the wrong size');
      cpus.push(body);
    }
    at = body + length;
    if (code === CODE_END) break;
  }
  if (at !== blob.byteLength) throw new Error('HVM context: bytes after the END record');
  return cpus;
}

/**
 * Writes each vCPU's rip and tsc from the guest clock, so the context changes while the guest runs the way real
 * vCPU registers do, and a checkpoint that forgot to carry it would show up in a fidelity test.
 */
export function stampVcpuRegisters(blob: Uint8Array, guestNs: bigint, tscKhz: number, offsets: readonly number[] = cpuRecordOffsets(blob)): void {
  const view = new DataView(blob.buffer, blob.byteOffset, blob.byteLength);
  const tsc = (guestNs * BigInt(tscKhz)) / 1_000_000n;
  offsets.forEach((cpu, vcpu) => {
    const rip = 0xffffffff81000000n + ((guestNs / 1000n + BigInt(vcpu) * 0x1000n) & 0xffffffn);
    view.setBigUint64(cpu + CPU_RIP_OFFSET, rip, true);
    view.setBigUint64(cpu + CPU_TSC_OFFSET, BigInt.asUintN(64, tsc), true);
  });
}
