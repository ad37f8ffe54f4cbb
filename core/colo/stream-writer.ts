// Writes encoded records to one end of a replication channel. Records of one step go out in a single writev
// (cork/uncork), because a checkpoint is many small records and a syscall each would dominate its cost.

import { writevSync } from 'node:fs';
import type { Writable } from 'node:stream';
import { ByteSlab, chunksLength, type Chunks } from '../stream/index.js';

/** Batches up to this size are joined into one buffer before they are written. */
const JOIN_BELOW = 16 * 1024;
/** Where joined batches are copied: one slab shared by every writer, instead of a fresh buffer per write. */
const joins = new ByteSlab();

export class StreamWriter {
  private bytes = 0;
  private held: Buffer[] = [];
  private heldBytes = 0;
  private corks = 0;
  private pending = 0;
  private waiters: Array<() => void> = [];
  private failure: Error | undefined;
  private readonly written = (err?: Error | null): void => {
    this.pending--;
    if (err) this.failure ??= err;
    if (this.pending === 0 || err) this.wakeWaiters();
  };

  /**
   * @param sink the channel
   * @param recordFd when set, every byte sent is also written to this file descriptor, synchronously, so the
   *   page views handed in are copied out before the guest runs again.
   */
  constructor(private readonly sink: Writable, private readonly recordFd?: number) {
    sink.on('error', (err: Error) => {
      this.failure ??= err;
    });
    // A destroyed stream need not call back the writes it was holding (a paced link drops them), so closing
    // must also release whoever waits for a flush.
    sink.on('close', () => {
      this.failure ??= new Error('replication channel closed');
      this.wakeWaiters();
    });
  }

  private wakeWaiters(): void {
    const waiters = this.waiters;
    this.waiters = [];
    for (const w of waiters) w();
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
    for (const c of chunks) this.held.push(c);
    this.heldBytes += n;
    if (this.corks === 0) this.release();
    this.bytes += n;
    return n;
  }

  /** Holds what is sent until uncork(), so several steps' records leave in one write. */
  cork(): void {
    this.corks++;
  }

  uncork(): void {
    if (this.corks > 0 && --this.corks === 0) this.release();
  }

  /** Runs `fn` with the channel corked, so everything it sends leaves in one write. */
  batch<T>(fn: () => T): T {
    this.cork();
    try {
      return fn();
    } finally {
      this.uncork();
    }
  }

  /**
   * Hands what is held to the channel. A small batch is joined into one buffer first: one plain write costs the
   * kernel less than a writev of many little pieces, and a checkpoint's control records are many little pieces.
   * A large one (pages) goes as a writev of references, so the pages are not copied here.
   */
  private release(): void {
    const chunks = this.held;
    if (chunks.length === 0) return;
    this.held = [];
    const bytes = this.heldBytes;
    this.heldBytes = 0;
    this.pending++;
    if (chunks.length === 1 || bytes <= JOIN_BELOW) {
      this.sink.write(chunks.length === 1 ? chunks[0] : joins.join(chunks, bytes), this.written);
      return;
    }
    this.sink.cork();
    for (let i = 0; i < chunks.length - 1; i++) this.sink.write(chunks[i]);
    this.sink.write(chunks[chunks.length - 1], this.written);
    this.sink.uncork();
  }

  /** Whether bytes sent are still waiting in this process's buffers, so flushed() would have to wait. */
  get backlogged(): boolean {
    return this.pending > 0 && this.sink.writableLength > 0 && !this.sink.destroyed;
  }

  /** Resolves once everything sent so far has left this process's buffers (handed to the kernel or the link). */
  async flushed(): Promise<void> {
    // A write the kernel took at once leaves nothing buffered; only then is there no need to wait a turn.
    if (this.backlogged) {
      await new Promise<void>((resolve) => this.waiters.push(resolve));
    }
    if (this.failure) throw this.failure;
  }
}
