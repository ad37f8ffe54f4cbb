// xl's stderr logger (xen-colo.md §3.2): levels filtered by the number of -v, an optional timestamp and pid (-T),
// `<context>: <level>: <message>`. Lines are written synchronously, so a line is in the log before the bytes
// that follow it leave for the peer: the order in the log is the order of events.

import { writeSync } from 'node:fs';

export const LEVELS = ['none', 'debug', 'verbose', 'detail', 'progress', 'info', 'notice', 'warning', 'error', 'critical'] as const;
export type Level = (typeof LEVELS)[number];

export interface LoggerOptions {
  /** Number of -v given. */
  verbose: number;
  /** -T */
  timestamps: boolean;
  /** -t: progress updates overwrite each other with CR (no level, no stamp), a newline once complete. */
  progressCr?: boolean;
}

/** libxl source positions for its messages; the line numbers are made up (they vary by version anyway). */
export const LIBXL_AT = {
  recordHeader: 'libxl_stream_read.c:279:stream_record_header_done',
  coloSaveTeardown: 'libxl_colo_save.c:229:libxl__colo_save_teardown',
  coloSaveRead: 'libxl_colo_save.c:683:colo_common_read_stream_done',
  coloSaveWrite: 'libxl_colo_save.c:596:colo_common_write_stream_done',
  coloRestoreTeardown: 'libxl_colo_restore.c:557:libxl__colo_restore_teardown',
  checkpointDevice: 'libxl_checkpoint_device.c:90:all_devices_matched',
  coloSave: 'libxl_colo_save.c:94:libxl__colo_save_setup',
  readExactly: 'libxl_utils.c:397:libxl_read_exactly',
} as const;

export class XlLogger {
  private readonly min: number;
  /** Length of the progress line now on screen (-t), which the next message blanks out first. */
  private progressShown = 0;

  constructor(private readonly o: LoggerOptions) {
    // Default XTL_PROGRESS (4); each -v lowers it by one, down to DEBUG (1).
    this.min = Math.max(1, 4 - o.verbose);
  }

  enabled(level: Level): boolean {
    return LEVELS.indexOf(level) >= this.min;
  }

  log(context: 'xc' | 'libxl', level: Level, message: string): void {
    if (!this.enabled(level)) return;
    if (level === 'progress' && this.o.progressCr) {
      this.progressLine(`${context}: ${message}`);
      return;
    }
    this.eraseProgress();
    let head = '';
    if (this.o.timestamps) head = `${stamp(new Date())} [${process.pid}] `;
    this.raw(`${head}${context}: ${level}: ${message}`);
  }

  /** A libxl message: `<file>:<line>:<func>: Domain <d>:<text>`. */
  libxl(level: Level, at: string, domid: number | undefined, text: string): void {
    this.log('libxl', level, `${at}: ${domid === undefined ? '' : `Domain ${domid}:`}${text}`);
  }

  /** xl's own fprintf(stderr, …): no context, no level, never filtered or stamped. */
  raw(line: string): void {
    this.write(`${line}\n`);
  }

  private progressLine(text: string): void {
    const complete = /: (\d+)\/\1 /.test(text);
    const pad = this.progressShown > text.length ? `${' '.repeat(this.progressShown - text.length)}\r` : '';
    this.write(`${this.progressShown > 0 ? '\r' : ''}${text}${complete ? '\n' : ''}${pad}`);
    this.progressShown = complete ? 0 : text.length;
  }

  private eraseProgress(): void {
    if (this.progressShown === 0) return;
    this.write(`\r${' '.repeat(this.progressShown)}\r`);
    this.progressShown = 0;
  }

  private write(text: string): void {
    try {
      writeSync(2, text);
    } catch {
      // stderr gone (the log was removed, the terminal closed): xl carries on, as it ignores fprintf's result.
    }
  }
}

/** `%Y-%m-%d %H:%M:%S %Z` in UTC, as the lab's hosts run. */
export function stamp(d: Date): string {
  const p = (n: number): string => String(n).padStart(2, '0');
  return `${d.getUTCFullYear()}-${p(d.getUTCMonth() + 1)}-${p(d.getUTCDate())} ${p(d.getUTCHours())}:${p(d.getUTCMinutes())}:${p(d.getUTCSeconds())} UTC`;
}
