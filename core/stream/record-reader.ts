// Pulls decoded items from a Readable one at a time. Chunks are taken as the source delivers them (no re-slicing,
// so a large record is never copied just to be read). The decoder is fed only while it lacks bytes for its next
// item, so it holds at most one record plus one chunk; a chunk it does not need yet waits, and the source is
// paused until it is taken, so a slow consumer leaves data in the socket (backpressure). In the lockstep of the
// checkpoint protocol a chunk mostly arrives when the decoder needs it, so the socket is seldom paused at all.

import type { Readable } from 'node:stream';
import type { StreamDecoder, StreamItem } from './decoder.js';

export class RecordReader {
  private ended = false;
  private failure: Error | undefined;
  private wake: (() => void) | undefined;
  private readonly waiting: Buffer[] = [];

  constructor(private readonly source: Readable, readonly decoder: StreamDecoder) {
    source.on('data', (chunk: Buffer) => {
      this.waiting.push(chunk);
      this.feed();
      if (this.waiting.length > 0 && !source.isPaused()) source.pause();
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
    this.feed();
    return item;
  }

  /** The next item; null at a clean end of input. Rejects with a StreamError on bad bytes, or the source's error. */
  async next(): Promise<StreamItem | null> {
    for (;;) {
      const item = this.decoder.next();
      this.feed();
      if (item) return item;
      if (this.failure) throw this.failure;
      if (this.ended && this.waiting.length === 0) {
        this.decoder.end();
        return this.decoder.next() ?? null;
      }
      if (this.decoder.needed > 0 && this.waiting.length > 0) continue;
      await new Promise<void>((resolve) => {
        this.wake = resolve;
      });
      this.wake = undefined;
    }
  }

  /** Moves queued chunks into the decoder while it lacks bytes for its next item (or must see what follows END). */
  private feed(): void {
    while (this.waiting.length > 0 && (this.decoder.isDone || this.decoder.needed > 0)) {
      this.decoder.push(this.waiting.shift()!);
    }
    if (this.waiting.length === 0 && this.source.isPaused() && !this.ended) this.source.resume();
  }

  private poke(): void {
    const w = this.wake;
    this.wake = undefined;
    w?.();
  }
}
