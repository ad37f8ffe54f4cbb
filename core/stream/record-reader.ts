// Pulls decoded items from a Readable one at a time. It reads from the source only when the decoder needs more
// bytes, so a slow consumer leaves data in the socket (backpressure) and at most one record sits in memory.

import type { Readable } from 'node:stream';
import type { StreamDecoder} from './decoder.js';
import { type StreamItem } from './decoder.js';

export class RecordReader {
  private ended = false;
  private failure: Error | undefined;
  private wake: (() => void) | undefined;

  constructor(private readonly source: Readable, readonly decoder: StreamDecoder) {
    const poke = (): void => {
      const w = this.wake;
      this.wake = undefined;
      w?.();
    };
    source.on('readable', poke);
    source.on('end', () => {
      this.ended = true;
      poke();
    });
    source.on('error', (err: Error) => {
      this.failure = err;
      poke();
    });
    source.on('close', () => {
      this.ended = true;
      poke();
    });
  }

  /**
   * The next item if its bytes are already here, without waiting (and without the promise hop of next()); a
   * checkpoint's records mostly arrive together, so the engine reads them this way and waits only when it must.
   */
  tryNext(): StreamItem | undefined {
    const item = this.decoder.next();
    if (item || this.failure || this.ended) return item;
    return this.drainSource() ? this.decoder.next() : undefined;
  }

  /** The next item; null at a clean end of input. Rejects with a StreamError on bad bytes, or the source's error. */
  async next(): Promise<StreamItem | null> {
    for (;;) {
      const item = this.decoder.next();
      if (item) return item;
      if (this.failure) throw this.failure;
      if (this.ended) {
        this.drainSource();
        this.decoder.end();
        return this.decoder.next() ?? null;
      }
      if (!this.drainSource()) {
        await new Promise<void>((resolve) => {
          this.wake = resolve;
        });
      }
    }
  }

  /** Moves bytes from the source into the decoder, but only as many as the next item still lacks. */
  private drainSource(): boolean {
    let moved = false;
    for (;;) {
      // After END every further byte is an error for the decoder to report; reading on also lets the source
      // notice it is drained and emit 'end' (it never does while its buffer is left alone).
      const done = this.decoder.isDone;
      const missing = done ? this.source.readableLength : this.decoder.needed - this.decoder.buffered;
      if (!done && missing <= 0) break;
      // read(n) with n up to what the source holds returns exactly n bytes, so bytes beyond the next item stay in
      // the source (and the socket) instead of piling up in the decoder. read(0) on an empty source asks it for
      // more and arranges a 'readable' event.
      const chunk = this.source.read(Math.min(missing, this.source.readableLength)) as Buffer | null;
      if (chunk === null) break;
      this.decoder.push(chunk);
      moved = true;
      if (done) break;
    }
    return moved;
  }
}
