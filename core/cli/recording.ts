// What `demo --record-stream` tells the user about the file it writes: its size as it grows (on stderr, only
// when it changed), and the optional limit. The engine writes the stream to the file descriptor itself,
// synchronously, so this module watches the file rather than the writes; reaching the limit stops the run, and
// the file is then cut back to the last checkpoint (or, inside the initial copy, the last record) that fits.

import { createReadStream, fstatSync, truncateSync } from 'node:fs';
import { performance } from 'node:perf_hooks';
import { RecordReader, StreamDecoder } from '../stream/index.js';
import { formatMiB } from './args.js';

/** Without a limit, a pipe or file on stderr gets a line per this many bytes written. */
const STEP_WITHOUT_LIMIT = 64 * 1024 ** 2;
/** With a limit, a line per this share of it. */
const LIMIT_STEPS = 10;
/** A terminal gets a line at most this often (ms), when the size changed. */
const TTY_EVERY_MS = 1000;
const POLL_MS = 200;

export interface RecordingMeterOptions {
  fd: number;
  /** The name the user gave, for messages. */
  path: string;
  limitBytes?: number;
  /** stderr is a terminal: time-based lines instead of size steps. */
  tty: boolean;
  say: (line: string) => void;
  /** Called once, when the file reaches the limit. */
  onLimit: () => void;
}

export class RecordingMeter {
  private timer: NodeJS.Timeout | undefined;
  private shownBytes = 0;
  private shownAt = -Infinity;
  private reached = false;

  constructor(private readonly o: RecordingMeterOptions) {}

  get limitReached(): boolean {
    return this.reached;
  }

  start(): void {
    this.timer ??= setInterval(() => this.poll(), POLL_MS);
  }

  stop(): void {
    clearInterval(this.timer);
    this.timer = undefined;
  }

  /** Looks at the file's size now; says so if due, and acts on the limit. Returns the size. */
  poll(now = performance.now()): number {
    const size = fstatSync(this.o.fd).size;
    const limit = this.o.limitBytes;
    if (limit !== undefined && size >= limit && !this.reached) {
      this.reached = true;
      this.o.say(`recording: ${this.o.path} reached the ${formatMiB(limit)} limit (--record-limit); stopping the run`);
      this.o.onLimit();
      return size;
    }
    if (!this.reached && this.due(size, now)) {
      this.o.say(`recording: ${formatMiB(size)} written to ${this.o.path}${limit === undefined ? '' : ` (limit ${formatMiB(limit)})`}`);
      this.shownBytes = size;
      this.shownAt = now;
    }
    return size;
  }

  private due(size: number, now: number): boolean {
    if (size === this.shownBytes) return false;
    if (this.o.tty) return now - this.shownAt >= TTY_EVERY_MS;
    const step = this.o.limitBytes === undefined ? STEP_WITHOUT_LIMIT : this.o.limitBytes / LIMIT_STEPS;
    return Math.floor(size / step) > Math.floor(this.shownBytes / step);
  }
}

export interface CutResult {
  /** The file's size now. */
  bytes: number;
  /** Complete checkpoints the file holds (0 is the initial copy). */
  checkpoints: number;
  /** The file ends at a checkpoint's end; otherwise it ends at a record boundary inside the initial copy. */
  atCheckpoint: boolean;
}

/**
 * Cuts an xl stream file back to at most `limit` bytes: to the end of the last complete checkpoint that fits, or,
 * if not even the initial copy does, to the last whole record that fits. Either way `stream inspect` reads it
 * without error, and a secondary fed with it would hold the last complete checkpoint (or nothing).
 */
export async function cutToLimit(file: string, limit: number): Promise<CutResult> {
  const source = createReadStream(file, { highWaterMark: 1024 * 1024 });
  const decoder = new StreamDecoder('xl');
  const reader = new RecordReader(source, decoder);
  let checkpointEnd = 0;
  let recordEnd = 0;
  let checkpoints = 0;
  try {
    while ((await reader.next()) !== null && decoder.offset <= limit) {
      recordEnd = decoder.offset;
      if (decoder.checkpoints > checkpoints) {
        checkpoints = decoder.checkpoints;
        checkpointEnd = decoder.offset;
      }
    }
  } finally {
    source.destroy();
  }
  const bytes = checkpoints > 0 ? checkpointEnd : recordEnd;
  truncateSync(file, bytes);
  return { bytes, checkpoints, atCheckpoint: checkpoints > 0 };
}
