// Splits the bytes of a tailed log into lines, whatever the chunk boundaries (a line, or a UTF-8 character, may be
// cut between two SSH data packets), and keeps the byte offset of the first byte not yet part of a complete line:
// that is where a restarted tail must begin so that no line is lost or read twice. The host is untrusted, so a line
// is never buffered past MAX_XL_LINE bytes: the rest of an overlong line is counted and dropped.

import { MAX_XL_LINE } from './xl-log-line.js';

export class LogLineSplitter {
  private parts: Buffer[] = [];
  /** Bytes kept of the current partial line (at most MAX_XL_LINE). */
  private kept = 0;
  /** Bytes of the current partial line seen, kept or not. */
  private seen = 0;
  private consumed: number;
  /** Lines longer than MAX_XL_LINE that were cut. */
  overlongLines = 0;

  constructor(startOffset = 0, private readonly maxLine = MAX_XL_LINE) {
    this.consumed = startOffset;
  }

  /** The offset just past the last complete line: a tail resumed here misses nothing and repeats nothing. */
  get offset(): number {
    return this.consumed;
  }

  /** The complete lines this chunk finishes, without their '\n'. */
  push(chunk: Buffer): string[] {
    const lines: string[] = [];
    let start = 0;
    for (;;) {
      const nl = chunk.indexOf(0x0a, start);
      const end = nl === -1 ? chunk.length : nl;
      this.keep(chunk.subarray(start, end));
      if (nl === -1) break;
      lines.push(this.finishLine());
      start = nl + 1;
    }
    return lines;
  }

  private keep(piece: Buffer): void {
    this.seen += piece.length;
    const room = this.maxLine - this.kept;
    if (room <= 0 || piece.length === 0) return;
    const part = piece.length > room ? piece.subarray(0, room) : piece;
    // Copied: the chunk's memory belongs to the stream and a slice would pin all of it.
    this.parts.push(Buffer.from(part));
    this.kept += part.length;
  }

  private finishLine(): string {
    const text = Buffer.concat(this.parts, this.kept).toString('utf8');
    if (this.seen > this.maxLine) this.overlongLines++;
    this.consumed += this.seen + 1;
    this.parts = [];
    this.kept = 0;
    this.seen = 0;
    return text;
  }
}
