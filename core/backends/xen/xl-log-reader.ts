// The bytes of an xl log, as the tail delivers them, turned into one event per line, each with the byte offset
// just past it (where a reader that stops there resumes). Lines may arrive split across chunks; an overlong line
// is cut at MAX_XL_LINE and the rest of it skipped, so a host that writes garbage costs bounded memory.
//
// A busy protection writes six lines per checkpoint at up to a hundred checkpoints a second, nearly all of them
// the same few, in the same order. They are recognised in place, in the decoded chunk, without cutting them out
// as strings: a line read before is matched again by its exact text, and a run of such lines that recurs (a
// checkpoint's constant lines between two "Checkpointed save" lines) by the exact text of the whole run. Every
// other line goes through parseXlLine + classifyXlLine. All paths give the same event for the same line
// (xl-log-reader.test.ts checks them against each other, whatever the chunking).

import { MAX_XL_LINE, type XlEvent, classifyXlLine, parseXlLine } from './xl-log-line.js';

/** Called for each line read: its event and the byte offset just past its newline. */
export type XlLineHandler = (event: XlEvent, end: number) => void;

// Sticky: tried exactly at a line's start. It stops after "N/M" as classifyXlLine's pattern does; only test() is
// used (no match object per line) and the number is read by hand.
const CHECKPOINTED_LINE = /xc: progress: Checkpointed save: \d{1,15}\/\d/y;
const CHECKPOINTED_DIGITS = 'xc: progress: Checkpointed save: '.length;

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
    const recurring = this.recurring;
    // xl writes ASCII; other bytes decode as replacement characters, which only the general path ever reads.
    const t = chunk.toString('latin1', from, to);
    // A run of known lines that began right after another kind of line (in this chunk) is learnt as a whole when
    // the next other line ends it: a checkpoint's constant lines between two "Checkpointed save" lines.
    let afterOther = false;
    let runStart = -1;
    const run: RunLine[] = [];
    let at = 0;
    for (;;) {
      if (afterOther) {
        const known = recurring.runAt(t, at);
        if (known !== null) {
          for (let i = 0; i < known.lines.length; i++) {
            const line = known.lines[i]!;
            current.bytes = chunk;
            current.from = from + at + line.start;
            current.to = from + at + line.nl;
            onLine(line.event, base + from + at + line.nl + 1);
          }
          at += known.length;
          afterOther = false;
          continue;
        }
      }
      const nl = t.indexOf('\n', at);
      if (nl < 0) return;
      const end = base + from + nl + 1;
      const event = nl - at <= MAX_XL_LINE ? recurring.eventAt(t, at, nl) : null;
      const knownLine = event !== null && recurring.lastWasKnownLine;
      if (knownLine) {
        if (afterOther) {
          runStart = at;
          run.length = 0;
        }
        if (runStart >= 0) run.push({ start: at - runStart, nl: nl - runStart, event });
      } else {
        if (runStart >= 0 && run.length >= 2) recurring.rememberRun(t, runStart, run);
        runStart = -1;
      }
      afterOther = !knownLine;
      if (event !== null) {
        current.bytes = chunk;
        current.from = from + at;
        current.to = from + nl;
        onLine(event, end);
      } else {
        const text = chunk.toString('utf8', from + at, from + Math.min(nl, at + MAX_XL_LINE));
        const general = classifyXlLine(parseXlLine(text));
        if (nl - at <= MAX_XL_LINE) recurring.remember(t, at, nl, general);
        current.bytes = text;
        onLine(general, end);
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

function numberAt(t: string, from: number, to: number): number {
  let n = 0;
  for (let i = from; i < to; i++) n = n * 10 + (t.charCodeAt(i) - 48);
  return n;
}

/** One line of a run: where it starts and where its newline is, from the run's start, and its event. */
interface RunLine {
  start: number;
  nl: number;
  event: XlEvent;
}

/** Known lines that came one after the other, matched again as a whole by their exact text. */
interface KnownRun {
  exact: RegExp;
  lines: RunLine[];
  /** Characters, the last newline included. */
  length: number;
}

/** How many runs a reader remembers, and the longest (a checkpoint of a COLO log has one run of about five lines). */
const KNOWN_RUNS = 8;
const KNOWN_RUN_MAX = 4096;

/** A line seen before whose event depends on its text alone, matched again by that exact text. */
interface KnownLine {
  exact: RegExp;
  event: XlEvent;
}

/** How many distinct lines a reader remembers, and the longest it will (a COLO log repeats about five). */
const KNOWN_LINES = 64;
const KNOWN_LINE_MAX = 512;
/** Events that vary from one cycle to the next, or say nothing: never remembered. */
const NOT_REMEMBERED: ReadonlySet<XlEvent['kind']> = new Set(['checkpointed', 'live-progress', 'unknown']);

/** Every character but letters, digits and space as \xHH: the text is latin1, so each fits. */
const exactPattern = (text: string): RegExp =>
  new RegExp(text.replace(/[^A-Za-z0-9 ]/g, (c) => `\\x${c.charCodeAt(0).toString(16).padStart(2, '0')}`), 'y');

/**
 * Recognises recurring lines in place in the decoded text `t`: a line already read is matched again by its exact
 * text (one anchored comparison, far cheaper than reading it), and "Checkpointed save", whose page count changes
 * every cycle, by its own pattern. Lines it does not know go to the general parser, and are remembered after.
 */
class RecurringLines {
  // Packed, not holey: indexed by line length on every line.
  private readonly byLength: (KnownLine[] | null)[] = new Array<KnownLine[] | null>(KNOWN_LINE_MAX + 1).fill(null);
  private known = 0;
  private readonly runs: KnownRun[] = [];
  /** Whether the last event eventAt found came from a known line (not from the "Checkpointed save" pattern). */
  lastWasKnownLine = false;

  /** The known run starting at `at`, if one does; the longest first. */
  runAt(t: string, at: number): KnownRun | null {
    for (let i = 0; i < this.runs.length; i++) {
      const r = this.runs[i]!;
      r.exact.lastIndex = at;
      if (r.exact.test(t)) return r;
    }
    return null;
  }

  /** Remembers the known lines `lines`, which followed each other from `at`. */
  rememberRun(t: string, at: number, lines: readonly RunLine[]): void {
    const length = lines[lines.length - 1]!.nl + 1;
    if (this.runs.length >= KNOWN_RUNS || length > KNOWN_RUN_MAX) return;
    this.runs.push({ exact: exactPattern(t.slice(at, at + length)), lines: lines.map((l) => ({ ...l })), length });
    this.runs.sort((x, y) => y.length - x.length);
  }

  /** The event of the line from `at` to its newline at `nl`, when it is a recurring one; else null. */
  eventAt(t: string, at: number, nl: number): XlEvent | null {
    const candidates = nl - at <= KNOWN_LINE_MAX ? this.byLength[nl - at]! : null;
    if (candidates !== null) {
      for (const k of candidates) {
        k.exact.lastIndex = at;
        if (k.exact.test(t)) {
          this.lastWasKnownLine = true;
          return k.event;
        }
      }
    }
    this.lastWasKnownLine = false;
    if (t.charCodeAt(at) === 120 /* x */) {
      CHECKPOINTED_LINE.lastIndex = at;
      if (CHECKPOINTED_LINE.test(t)) return { kind: 'checkpointed', pages: numberAt(t, at + CHECKPOINTED_DIGITS, t.indexOf('/', at + CHECKPOINTED_DIGITS)) };
    }
    return null;
  }

  /** Remembers the line from `at` to `nl`, whose event the general parser found, if it is worth it. */
  remember(t: string, at: number, nl: number, event: XlEvent): void {
    const length = nl - at;
    if (this.known >= KNOWN_LINES || length > KNOWN_LINE_MAX || NOT_REMEMBERED.has(event.kind)) return;
    const list = (this.byLength[length] ??= []);
    list.push({ exact: exactPattern(t.slice(at, nl + 1)), event: Object.freeze(event) });
    this.known++;
  }
}
