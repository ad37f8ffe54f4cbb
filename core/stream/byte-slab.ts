// Short-lived byte copies carved from shared slabs, as Node's pool does for buffers under 4 KiB. A checkpoint
// copies a few KiB several times (a CPU context, a joined batch of records), and giving each copy an ArrayBuffer of
// its own costs more than the copy. A copy stays valid for as long as it is referenced: a full slab is not reused,
// a new one is started and the old one goes once its last copy does.

export class ByteSlab {
  private slab: Buffer;
  private used = 0;

  /** @param slabBytes size of each slab; copies larger than a quarter of it get a buffer of their own. */
  constructor(private readonly slabBytes = 256 * 1024) {
    this.slab = Buffer.allocUnsafeSlow(slabBytes);
  }

  /** A copy of `parts` laid end to end (`total` bytes in all). */
  join(parts: readonly Uint8Array[], total: number): Buffer {
    const out = this.carve(total);
    let at = 0;
    for (const p of parts) {
      out.set(p, at);
      at += p.byteLength;
    }
    return out;
  }

  /** An uninitialised region of `n` bytes: the caller writes every byte of it. */
  private carve(n: number): Buffer {
    if (n * 4 > this.slabBytes) return Buffer.allocUnsafeSlow(n);
    if (this.used + n > this.slabBytes) {
      this.slab = Buffer.allocUnsafeSlow(this.slabBytes);
      this.used = 0;
    }
    const out = this.slab.subarray(this.used, this.used + n);
    // 8-byte alignment keeps DataViews and typed-array views over a copy on aligned addresses.
    this.used += (n + 7) & ~7;
    return out;
  }
}
