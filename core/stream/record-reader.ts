// Pulls decoded items from a Readable one at a time. Chunks are taken as the source delivers them (no re-slicing,
// so a large record is never copied just to be read), and the source is paused as soon as the next item is
// complete: a slow consumer leaves data in the socket (backpressure), and at most one record plus one chunk sits
// in memory.

import type { Readable } from 'node:stream';
import type { StreamDecoder, StreamItem } from './decoder.js';

export class RecordReader {
  private ended = false;
  private failure: Error | undefined;
  private wake: (() => void) | undefined;

  constructor(private readonly source: Readable, readonly decoder: StreamDecoder) {
    source.on('data', (chunk: Buffer) => {
      try {
        decoder.push(chunk);
      } catch (err) {
        this.failure ??= err instanceof Error ? err : new Error(String(err));
      }
      this.throttle();
      this.poke();
    });
    source.on('end', () => {
      this.ended = true;
      this.poke();
    });
    source.on('error', (err: Error) => {
      this.failure ??= err;
      this.poke();
    });
    source.on('close', () => {
      this.ended = true;
      this.poke();
    });
  }

  /**
   * The next item if its bytes are already here, without waiting (and without the promise hop of next()); a
   * checkpoint's records mostly arrive together, so the engine reads them this way and waits only when it must.
   */
  tryNext(): StreamItem | undefined {
    const item = this.decoder.next();
    this.throttle();
    return item;
  }

  /** The next item; null at a clean end of input. Rejects with a StreamError on bad bytes, or the source's error. */
  async next(): Promise<StreamItem | null> {
    for (;;) {
      const item = this.decoder.next();
      this.throttle();
      if (item) return item;
      if (this.failure) throw this.failure;
      if (this.ended) {
        this.decoder.end();
        return this.decoder.next() ?? null;
      }
      await new Promise<void>((resolve) => {
        this.wake = resolve;
      });
    }
  }

  /** Lets bytes flow only while the decoder lacks some for its next item (or must see what follows END). */
  private throttle(): void {
    if (this.ended || this.failure) return;
    const want = this.decoder.isDone || this.decoder.needed > 0;
    if (want && this.source.isPaused()) this.source.resume();
    else if (!want && !this.source.isPaused()) this.source.pause();
  }

  private poke(): void {
    const w = this.wake;
    this.wake = undefined;
    w?.();
  }
}
