// Writes encoded records to one end of a replication channel. Records of one step go out in a single writev
// (cork/uncork), because a checkpoint is many small records and a syscall each would dominate its cost.

import { writevSync } from 'node:fs';
import type { Writable } from 'node:stream';
import { chunksLength, type Chunks } from '../stream/index.js';

export class StreamWriter {
  private bytes = 0;
  private lastWrite: Promise<void> = Promise.resolve();
  private failure: Error | undefined;

  /**
   * @param sink the channel
   * @param recordFd when set, every byte sent is also written to this file descriptor, synchronously, so the
   *   page views handed in are copied out before the guest runs again.
   */
  constructor(private readonly sink: Writable, private readonly recordFd?: number) {
    sink.on('error', (err: Error) => {
      this.failure ??= err;
    });
  }

  /** Total bytes sent on this channel. */
  get bytesSent(): number {
    return this.bytes;
  }

  /** Queues the chunks; returns their byte count. Throws if the channel already failed or closed. */
  send(chunks: Chunks): number {
    if (this.failure) throw this.failure;
    if (this.sink.destroyed || this.sink.writableEnded) throw new Error('replication channel is closed');
    const n = chunksLength(chunks);
    if (this.recordFd !== undefined) writevSync(this.recordFd, chunks);
    this.sink.cork();
    let last: Promise<void> | undefined;
    for (let i = 0; i < chunks.length; i++) {
      if (i === chunks.length - 1) {
        last = new Promise<void>((resolve, reject) => {
          this.sink.write(chunks[i], (err) => (err ? reject(err) : resolve()));
        });
      } else {
        this.sink.write(chunks[i]);
      }
    }
    this.sink.uncork();
    if (last) {
      last.catch((err: Error) => {
        this.failure ??= err;
      });
      this.lastWrite = last;
    }
    this.bytes += n;
    return n;
  }

  /** Resolves once everything sent so far has been handed to the operating system. */
  async flushed(): Promise<void> {
    await this.lastWrite;
    if (this.failure) throw this.failure;
  }
}
