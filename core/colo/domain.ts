// What the checkpoint engine needs from one copy of a VM. The simulator implements it with real memory; the
// operations mirror what libxc and libxl do to a Xen domain (suspend, log-dirty, map pages, device state).

export interface TscInfo {
  mode: number;
  khz: number;
  nsec: bigint;
  incarnation: number;
}

export interface HvmParam {
  readonly index: bigint;
  readonly value: bigint;
}

/** Everything of the vCPUs and platform that travels at the end of each checkpoint (TSC, HVM context, params). */
export interface CpuContext {
  tsc: TscInfo;
  hvmContext: Uint8Array;
  /** Read-only: a domain may hand out its own list, which changes only by being replaced. */
  hvmParams: readonly HvmParam[];
}

export interface Domain {
  readonly name: string;
  /** Number of guest page frames (the p2m size); valid pfns are 0 … pageCount-1. */
  readonly pageCount: number;
  readonly running: boolean;
  /** Stops the guest; resolves once it no longer touches memory or emits output. */
  suspend(): Promise<void>;
  /** Lets the guest run again. */
  resume(): void;
  /** Starts logging which pages the guest writes (Xen's log-dirty mode). */
  enableLogDirty(): void;
  disableLogDirty(): void;
  /** The pfns written since the previous call, in ascending order; clears the log (Xen's CLEAN operation). */
  takeDirtyPfns(): Uint32Array;
  /** The bytes of one page. The view stays valid and unchanged while the domain is suspended. */
  readPage(pfn: number): Uint8Array;
  /** The bytes of `count` consecutive pages from `firstPfn` on, as one view (as readPage, for a run). */
  readPages(firstPfn: number, count: number): Uint8Array;
  writePage(pfn: number, data: Uint8Array): void;
  /**
   * Writes consecutive pages from `firstPfn` on, their bytes given as parts laid end to end (a whole number of
   * pages in all, split anywhere). A checkpoint's pages often come in runs; one copy per run beats one per page.
   */
  writePages(firstPfn: number, parts: readonly Uint8Array[]): void;
  /** A snapshot (not a live view) of the device model's state: what QEMU saves into EMULATOR_CONTEXT. */
  getDeviceState(): Uint8Array;
  setDeviceState(state: Uint8Array): void;
  getCpuContext(): CpuContext;
  setCpuContext(context: CpuContext): void;
}
