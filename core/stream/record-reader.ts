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

  /** Moves what the source has buffered into the decoder, but only as much as the next item needs. */
  private drainSource(): boolean {
    let moved = false;
    while (this.decoder.needed > 0) {
      const chunk = this.source.read() as Buffer | null;
      if (chunk === null) break;
      this.decoder.push(chunk);
      moved = true;
    }
    return moved;
  }
}
