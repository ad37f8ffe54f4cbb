// A FIFO of received chunks. Reads that fall inside one chunk return a view of it; only reads that span chunks
// copy, so a record that arrived whole is never copied.

export class ByteQueue {
  private chunks: Buffer[] = [];
  private head = 0; // index of the first live chunk
  private headOffset = 0; // bytes already consumed from chunks[head]
  private total = 0;

  get length(): number {
    return this.total;
  }

  push(chunk: Uint8Array): void {
    if (chunk.byteLength === 0) return;
    this.chunks.push(Buffer.isBuffer(chunk) ? chunk : Buffer.from(chunk.buffer, chunk.byteOffset, chunk.byteLength));
    this.total += chunk.byteLength;
  }

  /** The little-endian u32 at `at` without consuming or copying (record headers are read this way). */
  peekUInt32LE(at: number): number {
    const first = this.chunks[this.head]!;
    const start = this.headOffset + at;
    if (start + 4 <= first.length) return first.readUInt32LE(start);
    return this.peek(at + 4).readUInt32LE(at);
  }

  /** The first n bytes, without consuming them. n must not exceed length. */
  peek(n: number): Buffer {
    const first = this.chunks[this.head]!;
    const inFirst = first.length - this.headOffset;
    if (n <= inFirst) return first.subarray(this.headOffset, this.headOffset + n);
    return this.gather(n, false);
  }

  /** Removes and returns the first n bytes. n must not exceed length. */
  take(n: number): Buffer {
    if (n === 0) return Buffer.alloc(0);
    const first = this.chunks[this.head]!;
    const inFirst = first.length - this.headOffset;
    if (n <= inFirst) {
      const out = first.subarray(this.headOffset, this.headOffset + n);
      this.headOffset += n;
      this.total -= n;
      if (this.headOffset === first.length) {
        this.dropHead();
        this.compact();
      }
      return out;
    }
    return this.gather(n, true);
  }

  /** Whether the first n bytes lie in one chunk, so take(n) needs no copy. */
  isContiguous(n: number): boolean {
    const first = this.chunks[this.head];
    return first !== undefined && n <= first.length - this.headOffset;
  }

  /** Removes the first n bytes and returns them as views of the chunks they arrived in (no copy). */
  takeSegments(n: number): Buffer[] {
    if (n > this.total) throw new RangeError(`need ${n} bytes, have ${this.total}`);
    const out: Buffer[] = [];
    let left = n;
    while (left > 0) {
      const chunk = this.chunks[this.head]!;
      const count = Math.min(chunk.length - this.headOffset, left);
      out.push(chunk.subarray(this.headOffset, this.headOffset + count));
      this.headOffset += count;
      this.total -= count;
      left -= count;
      if (this.headOffset === chunk.length) this.dropHead();
    }
    this.compact();
    return out;
  }

  private gather(n: number, consume: boolean): Buffer {
    if (n > this.total) throw new RangeError(`need ${n} bytes, have ${this.total}`);
    const out = Buffer.allocUnsafe(n);
    let copied = 0;
    let index = this.head;
    let offset = this.headOffset;
    while (copied < n) {
      const chunk = this.chunks[index]!;
      const count = Math.min(chunk.length - offset, n - copied);
      chunk.copy(out, copied, offset, offset + count);
      copied += count;
      offset += count;
      if (offset === chunk.length) {
        index++;
        offset = 0;
      }
    }
    if (consume) {
      this.total -= n;
      while (this.head < index) this.dropHead();
      this.headOffset = offset;
      this.compact();
    }
    return out;
  }

  private dropHead(): void {
    this.chunks[this.head] = undefined as unknown as Buffer;
    this.head++;
    this.headOffset = 0;
  }

  /** Drops consumed slots now and then, so the array does not grow without bound on a long stream. */
  private compact(): void {
    if (this.head > 64 && this.head * 2 > this.chunks.length) {
      this.chunks = this.chunks.slice(this.head);
      this.head = 0;
    }
  }
}
