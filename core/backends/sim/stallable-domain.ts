// Wraps a Domain so a test or demo can make its suspend hang: the "stalled secondary" fault. A secondary stuck in
// suspend never answers the primary, which then sits paused mid-checkpoint, as a hung SVM leaves a real primary.

import type { CpuContext, Domain } from '../../colo/domain.js';

export class StallableDomain implements Domain {
  private gate: Promise<void> | undefined;
  private open: (() => void) | undefined;

  constructor(private readonly inner: Domain) {}

  get stalled(): boolean {
    return this.gate !== undefined;
  }

  stall(): void {
    this.gate ??= new Promise<void>((resolve) => {
      this.open = resolve;
    });
  }

  unstall(): void {
    this.open?.();
    this.gate = undefined;
    this.open = undefined;
  }

  get name(): string { return this.inner.name; }
  get pageCount(): number { return this.inner.pageCount; }
  get running(): boolean { return this.inner.running; }

  async suspend(): Promise<void> {
    await this.inner.suspend();
    if (this.gate) await this.gate;
  }

  resume(): void { this.inner.resume(); }
  enableLogDirty(): void { this.inner.enableLogDirty(); }
  disableLogDirty(): void { this.inner.disableLogDirty(); }
  takeDirtyPfns(): Uint32Array { return this.inner.takeDirtyPfns(); }
  readPage(pfn: number): Uint8Array { return this.inner.readPage(pfn); }
  readPages(firstPfn: number, count: number): Uint8Array { return this.inner.readPages(firstPfn, count); }
  writePage(pfn: number, data: Uint8Array): void { this.inner.writePage(pfn, data); }
  writePages(firstPfn: number, parts: readonly Uint8Array[]): void { this.inner.writePages(firstPfn, parts); }
  getDeviceState(): Uint8Array { return this.inner.getDeviceState(); }
  setDeviceState(state: Uint8Array): void { this.inner.setDeviceState(state); }
  getCpuContext(): CpuContext { return this.inner.getCpuContext(); }
  setCpuContext(context: CpuContext): void { this.inner.setCpuContext(context); }
}
