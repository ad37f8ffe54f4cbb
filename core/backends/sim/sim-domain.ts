// One simulated VM: real guest memory, a log-dirty bitmap, a guest clock and the CPU/device state that a
// checkpoint carries. The engine in core/colo drives it through the `Domain` interface exactly as libxc drives Xen.
import { createHash, randomFillSync } from 'node:crypto';
import { setTimeout as sleep } from 'node:timers/promises';
import type { CpuContext, Domain, HvmParam } from '../../colo/domain.js';
import { buildHvmContext, cpuRecordOffsets, stampVcpuRegisters } from './hvm-context.js';
import { ByteSlab } from '../../stream/index.js';

export const PAGE_SIZE = 4096;
export const DEFAULT_PAGE_COUNT = 16384;

/** What the device model (the workload) saves into EMULATOR_CONTEXT and loads on the secondary. */
export interface DeviceModel {
  saveState(): Uint8Array;
  /** Must validate fully before changing anything: the bytes came over the wire. */
  loadState(state: Uint8Array): void;
}

export interface SimDomainOptions {
  name: string;
  /** Guest page frames; default 16384 (64 MiB). */
  pageCount?: number;
  vcpus?: number;
  /** A fresh domain is paused, as `xl create -p` or an incoming migration leaves it. */
  running?: boolean;
  /** `random` gives the initial copy real content to move; `zero` is cheaper for tests. Default zero. */
  fill?: 'zero' | 'random';
  /** Extra wait in suspend(), modelling the stop cost of real vCPUs (presets.ts STOP_COST_MS_PER_VCPU). */
  stopCostMs?: number;
  tscKhz?: number;
}

// Xen's HVM_PARAM_* indices (xen/include/public/hvm/params.h) for the pages every HVM guest has.
const HVM_PARAM_STORE_PFN = 1n;
const HVM_PARAM_IOREQ_PFN = 5n;
const HVM_PARAM_BUFIOREQ_PFN = 6n;
const HVM_PARAM_IDENT_PT = 12n;
const HVM_PARAM_CONSOLE_PFN = 17n;

const STOPPED: Promise<void> = Promise.resolve();

/** CPU contexts are copied twice a checkpoint; their copies come from a shared slab (see ByteSlab). */
const contextCopies = new ByteSlab();

function copyOfContext(src: Uint8Array): Uint8Array {
  return contextCopies.join([src], src.byteLength);
}

export class SimDomain implements Domain {
  readonly name: string;
  readonly pageCount: number;
  readonly vcpus: number;
  readonly tscKhz: number;
  private readonly memory: Buffer;
  private readonly dirty: Uint32Array;
  private dirtyPending = 0;
  private logDirty = false;
  private isRunning: boolean;
  private lastResumedAt: number;
  private stopCostMs: number;
  private suspending: Promise<void> | null = null;
  private guestNsBase = 0n;
  private runningSinceNs: bigint | null = null;
  private hvmContext: Uint8Array;
  private cpuOffsets: number[] | undefined;
  private hvmParams: readonly HvmParam[];
  private tscMode = 0;
  private tscIncarnation = 0;
  private deviceModel: DeviceModel | null = null;
  private opaqueDeviceState: Uint8Array = new Uint8Array(0);
  private guestWrites = 0;

  constructor(options: SimDomainOptions) {
    const pageCount = options.pageCount ?? DEFAULT_PAGE_COUNT;
    const vcpus = options.vcpus ?? 1;
    if (!Number.isInteger(pageCount) || pageCount < 8 || pageCount > 0x100000) {
      throw new RangeError(`pageCount must be an integer in 8…1048576, got ${pageCount}`);
    }
    if (!Number.isInteger(vcpus) || vcpus < 1 || vcpus > 128) throw new RangeError(`vcpus must be 1…128, got ${vcpus}`);
    this.name = options.name;
    this.pageCount = pageCount;
    this.vcpus = vcpus;
    this.tscKhz = options.tscKhz ?? 2_400_000;
    this.stopCostMs = options.stopCostMs ?? 0;
    this.memory = Buffer.alloc(pageCount * PAGE_SIZE);
    // Unseeded on purpose: two domains must never start equal by accident, or a fidelity test could pass
    // without the initial copy having moved anything.
    if (options.fill === 'random') randomFillSync(this.memory);
    this.dirty = new Uint32Array(Math.ceil(pageCount / 32));
    this.hvmContext = buildHvmContext(vcpus, this.tscKhz);
    // The special pages sit at the top of guest memory, as hvmloader places them below the 4 GiB hole.
    const top = BigInt(pageCount);
    this.hvmParams = [
      { index: HVM_PARAM_STORE_PFN, value: top - 1n },
      { index: HVM_PARAM_IOREQ_PFN, value: top - 2n },
      { index: HVM_PARAM_BUFIOREQ_PFN, value: top - 3n },
      { index: HVM_PARAM_IDENT_PT, value: (top - 4n) << 12n },
      { index: HVM_PARAM_CONSOLE_PFN, value: top - 5n },
    ];
    this.isRunning = false;
    this.lastResumedAt = performance.now();
    if (options.running) this.resume();
  }

  get running(): boolean {
    return this.isRunning;
  }

  /** performance.now() of the last resume: the workload counts guest time only from here. */
  get resumedAt(): number {
    return this.lastResumedAt;
  }

  /** Page writes the guest has made since creation (for rate displays). */
  get guestWriteCount(): number {
    return this.guestWrites;
  }

  /** Pages in the dirty log right now, without clearing it. */
  get dirtyCount(): number {
    return this.dirtyPending;
  }

  get logDirtyEnabled(): boolean {
    return this.logDirty;
  }

  suspend(): Promise<void> {
    if (!this.isRunning) return this.suspending ?? Promise.resolve();
    this.isRunning = false;
    this.guestNsBase = this.guestTimeNs();
    this.runningSinceNs = null;
    // Guest activity runs in synchronous ticks that check `running` first, so with the flag down no write can be
    // in progress: without a modelled vCPU stop cost the guest is stopped already.
    if (this.stopCostMs <= 0) return STOPPED;
    const suspending = sleep(this.stopCostMs).finally(() => {
      if (this.suspending === suspending) this.suspending = null;
    });
    this.suspending = suspending;
    return suspending;
  }

  /** Changes the modelled vCPU stop cost from the next suspend on. */
  setStopCostMs(ms: number): void {
    if (!Number.isFinite(ms) || ms < 0) throw new RangeError(`stop cost must be a non-negative number of ms, got ${ms}`);
    this.stopCostMs = ms;
  }

  resume(): void {
    if (this.isRunning) return;
    this.isRunning = true;
    this.lastResumedAt = performance.now();
    this.runningSinceNs = process.hrtime.bigint();
  }

  enableLogDirty(): void {
    // Xen starts a fresh log when log-dirty is switched on; earlier writes are covered by the full first pass.
    this.dirty.fill(0);
    this.dirtyPending = 0;
    this.logDirty = true;
  }

  disableLogDirty(): void {
    this.logDirty = false;
    this.dirty.fill(0);
    this.dirtyPending = 0;
  }

  takeDirtyPfns(): Uint32Array {
    // Xen refuses CLEAN without log-dirty; an engine that asks has a bug worth hearing about.
    if (!this.logDirty) throw new Error(`${this.name}: log-dirty is not enabled`);
    const out = new Uint32Array(this.dirtyPending);
    let n = 0;
    const words = this.dirty;
    for (let w = 0; w < words.length; w++) {
      let bits = words[w]!;
      if (bits === 0) continue;
      words[w] = 0;
      while (bits !== 0) {
        const low = bits & -bits;
        out[n++] = w * 32 + (31 - Math.clz32(low));
        bits ^= low;
      }
    }
    this.dirtyPending = 0;
    return out;
  }

  readPage(pfn: number): Uint8Array {
    this.checkPfn(pfn);
    return this.memory.subarray(pfn * PAGE_SIZE, (pfn + 1) * PAGE_SIZE);
  }

  readPages(firstPfn: number, count: number): Uint8Array {
    this.checkPfn(firstPfn);
    if (!Number.isInteger(count) || count < 1) throw new RangeError(`${this.name}: page count ${count} is not a positive integer`);
    this.checkPfn(firstPfn + count - 1);
    return this.memory.subarray(firstPfn * PAGE_SIZE, (firstPfn + count) * PAGE_SIZE);
  }

  /** The toolstack's write (restore on the secondary). Not logged: the SVM's log must hold only its guest's writes. */
  writePage(pfn: number, data: Uint8Array): void {
    this.checkPfn(pfn);
    this.requireSuspended('writePage');
    if (data.byteLength !== PAGE_SIZE) throw new RangeError(`page data must be ${PAGE_SIZE} bytes, got ${data.byteLength}`);
    this.memory.set(data, pfn * PAGE_SIZE);
  }

  writePages(firstPfn: number, parts: readonly Uint8Array[]): void {
    this.requireSuspended('writePages');
    let total = 0;
    for (const p of parts) total += p.byteLength;
    if (total % PAGE_SIZE !== 0) throw new RangeError(`page data must be a whole number of pages, got ${total} bytes`);
    this.checkPfn(firstPfn);
    if (total > 0) this.checkPfn(firstPfn + total / PAGE_SIZE - 1);
    let at = firstPfn * PAGE_SIZE;
    for (const p of parts) {
      this.memory.set(p, at);
      at += p.byteLength;
    }
  }

  /** A write by the guest itself; only a running guest writes, and log-dirty sees it. */
  guestWrite(pfn: number, offset: number, data: Uint8Array): void {
    this.checkPfn(pfn);
    if (!this.isRunning) throw new Error(`${this.name}: guest write while suspended`);
    if (offset < 0 || offset + data.byteLength > PAGE_SIZE) throw new RangeError('guest write crosses a page boundary');
    this.memory.set(data, pfn * PAGE_SIZE + offset);
    this.guestWrites++;
    if (this.logDirty) {
      const w = pfn >>> 5;
      const bit = 1 << (pfn & 31);
      const word = this.dirty[w]!;
      if ((word & bit) === 0) {
        this.dirty[w] = word | bit;
        this.dirtyPending++;
      }
    }
  }

  /** The workload registers itself here so its position and PRNG state travel with each checkpoint. */
  attachDeviceModel(model: DeviceModel): void {
    if (this.deviceModel && this.deviceModel !== model) throw new Error(`${this.name}: a device model is already attached`);
    this.deviceModel = model;
  }

  getDeviceState(): Uint8Array {
    return this.deviceModel ? this.deviceModel.saveState() : this.opaqueDeviceState.slice();
  }

  setDeviceState(state: Uint8Array): void {
    this.requireSuspended('setDeviceState');
    // Without a device model the bytes are kept as they are, like a device model whose state never changes.
    if (this.deviceModel) this.deviceModel.loadState(state);
    else this.opaqueDeviceState = state.slice();
  }

  /** Nanoseconds the guest has run, carried over checkpoints through the TSC record. */
  guestTimeNs(): bigint {
    const since = this.runningSinceNs;
    return since === null ? this.guestNsBase : this.guestNsBase + (process.hrtime.bigint() - since);
  }

  getCpuContext(): CpuContext {
    const nsec = this.guestTimeNs();
    const hvmContext = copyOfContext(this.hvmContext);
    // The layout only changes with setCpuContext, so its vCPU offsets are parsed once there, not every checkpoint.
    this.cpuOffsets ??= cpuRecordOffsets(this.hvmContext);
    stampVcpuRegisters(hvmContext, nsec, this.tscKhz, this.cpuOffsets);
    return {
      tsc: { mode: this.tscMode, khz: this.tscKhz, nsec, incarnation: this.tscIncarnation },
      hvmContext,
      // Shared, not copied: the list is read-only and setCpuContext replaces it rather than changing it.
      hvmParams: this.hvmParams,
    };
  }

  setCpuContext(context: CpuContext): void {
    this.requireSuspended('setCpuContext');
    const offsets = cpuRecordOffsets(context.hvmContext);
    const cpus = offsets.length;
    if (cpus !== this.vcpus) throw new Error(`${this.name}: HVM context is for ${cpus} vCPUs, this domain has ${this.vcpus}`);
    if (context.tsc.nsec < 0n) throw new RangeError('TSC nsec is negative');
    this.hvmContext = copyOfContext(context.hvmContext);
    this.cpuOffsets = offsets;
    this.hvmParams = context.hvmParams.map((p) => ({ index: p.index, value: p.value }));
    this.tscMode = context.tsc.mode;
    this.tscIncarnation = context.tsc.incarnation;
    this.guestNsBase = context.tsc.nsec;
  }

  /** sha1 of one page, for fidelity checks page by page. */
  pageHash(pfn: number): string {
    return createHash('sha1').update(this.readPage(pfn)).digest('hex');
  }

  /** sha256 of all guest memory: PVM and SVM must agree after every committed checkpoint. */
  memoryDigest(): string {
    return createHash('sha256').update(this.memory).digest('hex');
  }

  private checkPfn(pfn: number): void {
    if (!Number.isInteger(pfn) || pfn < 0 || pfn >= this.pageCount) {
      throw new RangeError(`${this.name}: pfn ${pfn} outside 0…${this.pageCount - 1}`);
    }
  }

  private requireSuspended(what: string): void {
    // Xen and QEMU load state only into a stopped guest; loading under a running workload would tear it.
    if (this.isRunning) throw new Error(`${this.name}: ${what} while the domain is running`);
  }
}

