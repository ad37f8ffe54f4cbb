// A byte range that arrived in several chunks, read without joining them. A 1024-page PAGE_DATA record spans
// dozens of socket reads; joining it would copy 4 MiB into a fresh buffer only for the receiver to copy every page
// again into guest memory. Here a page that lies inside one chunk is a view; only pages that straddle a chunk
// boundary are copied.

/** What parsers need of a body: its length and byte ranges (views where possible). `Buffer` satisfies it. */
export interface ByteSource {
  readonly length: number;
  subarray(start: number, end?: number): Buffer;
}

export class SegmentedBytes implements ByteSource {
  readonly length: number;
  /** Offset of each segment's first byte, relative to this range's start. */
  private readonly starts: number[];
  private cursor = 0;

  constructor(private readonly segments: readonly Buffer[]) {
    this.starts = [];
    let at = 0;
    for (const s of segments) {
      this.starts.push(at);
      at += s.length;
    }
    this.length = at;
  }

  /** Bytes start..end: a view when they lie in one segment, else a copy. */
  subarray(start: number, end: number = this.length): Buffer {
    if (start < 0 || end > this.length || start > end) throw new RangeError(`range ${start}..${end} outside 0..${this.length}`);
    if (start === end) return Buffer.alloc(0);
    const i = this.segmentOf(start);
    const seg = this.segments[i]!;
    const from = start - this.starts[i]!;
    if (from + (end - start) <= seg.length) return seg.subarray(from, from + (end - start));
    const out = Buffer.allocUnsafe(end - start);
    let copied = 0;
    for (let j = i; copied < out.length; j++) {
      const s = this.segments[j]!;
      const offset = j === i ? from : 0;
      copied += s.copy(out, copied, offset, Math.min(s.length, offset + out.length - copied));
    }
    return out;
  }

  /** The sub-range start..end as segments, without copying. */
  range(start: number, end: number = this.length): SegmentedBytes {
    if (start < 0 || end > this.length || start > end) throw new RangeError(`range ${start}..${end} outside 0..${this.length}`);
    const parts: Buffer[] = [];
    if (start === end) return new SegmentedBytes(parts);
    for (let j = this.segmentOf(start); j < this.segments.length; j++) {
      const segStart = this.starts[j]!;
      if (segStart >= end) break;
      const s = this.segments[j]!;
      parts.push(s.subarray(Math.max(0, start - segStart), Math.min(s.length, end - segStart)));
    }
    return new SegmentedBytes(parts);
  }

  /** The range's pieces as views of the chunks they arrived in. */
  parts(): readonly Buffer[] {
    return this.segments;
  }

  /** All bytes joined (a copy). */
  toBuffer(): Buffer {
    return Buffer.concat(this.segments, this.length);
  }

  /** The segment holding byte `offset`; reads are mostly sequential, so start from the last one found. */
  private segmentOf(offset: number): number {
    let i = this.cursor;
    if (i >= this.starts.length || this.starts[i]! > offset) i = 0;
    while (i + 1 < this.starts.length && this.starts[i + 1]! <= offset) i++;
    this.cursor = i;
    return i;
  }
}
