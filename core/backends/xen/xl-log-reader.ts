// The bytes of an xl log, as the tail delivers them, turned into one event per line, each with the byte offset
// just past it (where a reader that stops there resumes). Lines may arrive split across chunks; an overlong line
// is cut at MAX_XL_LINE and the rest of it skipped, so a host that writes garbage costs bounded memory.
//
// A busy protection writes six lines per checkpoint at up to a hundred checkpoints a second, nearly all of them
// the same few. Those are recognised in place, in the decoded chunk, by one anchored pattern each, without
// cutting them out as strings first; every other line goes through parseXlLine + classifyXlLine. Both paths give
// the same event for the same line (xl-log-reader.test.ts checks them against each other).

import { MAX_XL_LINE, type XlEvent, classifyXlLine, parseXlLine } from './xl-log-line.js';

/** Called for each line read: its event and the byte offset just past its newline. */
export type XlLineHandler = (event: XlEvent, end: number) => void;

const SUSPENDED: XlEvent = Object.freeze({ kind: 'suspended' });
const BUFFERED: XlEvent = Object.freeze({ kind: 'secondary-buffered' });
const PROCESSED: XlEvent = Object.freeze({ kind: 'secondary-processed' });

// Sticky: each is tried exactly at a line's start and must reach its newline where the general path would read
// the whole line. The Checkpointed pattern stops after "N/M" as classifyXlLine's does.
// Only test() is used (no match object per line); the numbers are read by hand from where the pattern put them.
const XC_LINE = /xc: (?:progress: (?:Domain now suspended[^\n\r]*\n|Checkpointed save: \d{1,15}\/\d)|info: All records (?:buffered|processed)\n)/y;
const RECORD_LINE = /libxl: debug: [A-Za-z0-9_.-]+\.c:\d+:[A-Za-z0-9_]+: (?:Domain \d+:)?Record: \d{1,9}, length \d{1,15}\n/y;
const CHECKPOINTED_DIGITS = 'xc: progress: Checkpointed save: '.length;
const LENGTH_WORD = ', length '.length;


export class XlLogReader {
  /** Offset of the next byte pushed. */
  private offset: number;
  /** The start of an unfinished line (at most MAX_XL_LINE bytes of it) and how many bytes it had in all. */
  private partial: Buffer[] = [];
  private partialKept = 0;
  private partialTotal = 0;
  private readonly recurring = new RecurringLines();
  private readonly current: { bytes: Buffer | string; from: number; to: number } = { bytes: '', from: 0, to: 0 };

  /** `offset`: where in the file the first pushed byte sits (a resumed tail starts past what it has read). */
  constructor(offset = 0) {
    this.offset = offset;
  }

  /** Offset just past the last complete line: where to resume. */
  get resumeOffset(): number {
    return this.offset - this.partialTotal;
  }

  /** Bytes of an unfinished line held back. */
  get pendingBytes(): number {
    return this.partialTotal;
  }

  /** Bytes of that line actually kept in memory (never more than MAX_XL_LINE). */
  get heldBytes(): number {
    return this.partialKept;
  }

  /**
   * The text of the line being reported. Valid only inside the handler: lines are not cut out as strings unless
   * someone asks (most never are, and a line object each would cost as much as reading the line).
   */
  lineText(): string {
    const c = this.current;
    return typeof c.bytes === 'string' ? c.bytes : c.bytes.toString('utf8', c.from, c.to);
  }

  /** Reads `chunk`; calls `onLine` for each line it completes, in order. */
  push(chunk: Buffer, onLine: XlLineHandler): void {
    const base = this.offset;
    this.offset += chunk.length;
    let at = 0;
    if (this.partialTotal > 0) {
      const nl = chunk.indexOf(10);
      if (nl < 0) {
        this.hold(chunk);
        return;
      }
      this.hold(chunk.subarray(0, nl));
      const bytes = Buffer.concat(this.partial);
      this.partial = [];
      this.partialKept = 0;
      this.partialTotal = 0;
      const text = bytes.toString('utf8');
      this.current.bytes = text;
      onLine(classifyXlLine(parseXlLine(text)), base + nl + 1);
      at = nl + 1;
    }
    const last = chunk.lastIndexOf(10);
    if (last >= at) this.lines(chunk, at, last + 1, base, onLine);
    if (last + 1 < chunk.length) this.hold(chunk.subarray(Math.max(at, last + 1)));
  }

  private lines(chunk: Buffer, from: number, to: number, base: number, onLine: XlLineHandler): void {
    const current = this.current;
    // xl writes ASCII; other bytes decode as replacement characters, which only the general path ever reads.
    const t = chunk.toString('latin1', from, to);
    let at = 0;
    for (;;) {
      const nl = t.indexOf('\n', at);
      if (nl < 0) return;
      const end = base + from + nl + 1;
      const event = nl - at <= MAX_XL_LINE ? this.recurring.eventAt(t, at, nl) : null;
      if (event !== null) {
        current.bytes = chunk;
        current.from = from + at;
        current.to = from + nl;
        onLine(event, end);
      } else {
        const text = chunk.toString('utf8', from + at, from + Math.min(nl, at + MAX_XL_LINE));
        current.bytes = text;
        onLine(classifyXlLine(parseXlLine(text)), end);
      }
      at = nl + 1;
    }
  }

  private hold(bytes: Buffer): void {
    this.partialTotal += bytes.length;
    const room = MAX_XL_LINE - this.partialKept;
    if (room <= 0) return;
    const kept = bytes.length <= room ? Buffer.from(bytes) : Buffer.from(bytes.subarray(0, room));
    this.partial.push(kept);
    this.partialKept += kept.length;
  }
}

const isDigit = (c: number): boolean => c >= 48 && c <= 57;

function numberAt(t: string, from: number, to: number): number {
  let n = 0;
  for (let i = from; i < to; i++) n = n * 10 + (t.charCodeAt(i) - 48);
  return n;
}

/** A Record line seen before, matched again by its exact text (far cheaper than the general pattern). */
interface KnownRecordLine {
  exact: RegExp;
  event: XlEvent;
}

/** How many distinct Record lines a reader remembers (one domain reads the same two back-channel records). */
const KNOWN_RECORD_LINES = 4;

const regexpEscape = (s: string): string => s.replace(/[.*+?^${}()|[\]\\/]/g, '\\$&');

/** Recognises the recurring lines in place in the decoded text `t`. */
class RecurringLines {
  private readonly records: KnownRecordLine[] = [];

  /** The event of the line starting at `at` and ending at `nl` when it is one of the recurring ones, else null. */
  eventAt(t: string, at: number, nl: number): XlEvent | null {
    const c = t.charCodeAt(at);
    if (c === 120 /* x */) {
      XC_LINE.lastIndex = at;
      if (!XC_LINE.test(t)) return null;
      const d = t.charCodeAt(at + 14);
      if (d === 68 /* D */) return SUSPENDED;
      if (d === 67 /* C */) return { kind: 'checkpointed', pages: numberAt(t, at + CHECKPOINTED_DIGITS, t.indexOf('/', at + CHECKPOINTED_DIGITS)) };
      return t.charCodeAt(at + 22) === 98 /* b */ ? BUFFERED : PROCESSED;
    }
    if (c === 108 /* l */) return this.record(t, at, nl);
    return null;
  }

  private record(t: string, at: number, nl: number): XlEvent | null {
    for (const known of this.records) {
      known.exact.lastIndex = at;
      if (known.exact.test(t)) return known.event;
    }
    RECORD_LINE.lastIndex = at;
    if (!RECORD_LINE.test(t)) return null;
    // The line ends "Record: <type>, length <length>\n": read both numbers back from its end.
    let i = nl;
    while (isDigit(t.charCodeAt(i - 1))) i--;
    const length = numberAt(t, i, nl);
    const typeEnd = i - LENGTH_WORD;
    let j = typeEnd;
    while (isDigit(t.charCodeAt(j - 1))) j--;
    const event: XlEvent = Object.freeze({ kind: 'record', type: numberAt(t, j, typeEnd), length });
    if (this.records.length < KNOWN_RECORD_LINES) this.records.push({ exact: new RegExp(regexpEscape(t.slice(at, nl)) + '\n', 'y'), event });
    return event;
  }
}
