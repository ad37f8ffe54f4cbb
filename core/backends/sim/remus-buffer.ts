// Remus output buffering, after libxl's Remus nic (xen-colo.md §2.7, libxl_netbuffer.c): output of an epoch is
// held until the checkpoint that covers it has landed on the backup, so a client never sees output the backup
// could not reproduce after a failover.
import type { GuestPacket, ReleaseSink } from './packet.js';

/** No published default: it only bounds memory when an engine stalls (the kernel's plug qdisc is bounded too). */
export const REMUS_BUFFER_MAX_PACKETS = 65536;

export interface RemusBufferOptions {
  release: ReleaseSink;
  maxPackets?: number;
  now?: () => number;
}

export interface RemusBufferStats {
  buffered: number;
  released: number;
  dropped: number;
  discarded: number;
  /** Epochs closed by plug() and waiting for their commit. */
  epochsPending: number;
}

export class RemusOutputBuffer {
  private readonly release: ReleaseSink;
  private readonly maxPackets: number;
  private readonly now: () => number;
  private open: GuestPacket[] = [];
  private readonly closed: GuestPacket[][] = [];
  private held = 0;
  private counts = { released: 0, dropped: 0, discarded: 0 };

  constructor(options: RemusBufferOptions) {
    this.release = options.release;
    this.maxPackets = options.maxPackets ?? REMUS_BUFFER_MAX_PACKETS;
    this.now = options.now ?? (() => performance.now());
  }

  get stats(): RemusBufferStats {
    return { buffered: this.held, ...this.counts, epochsPending: this.closed.length };
  }

  push(packet: GuestPacket): void {
    if (this.held >= this.maxPackets) {
      this.counts.dropped++;
      return;
    }
    this.open.push(packet);
    this.held++;
  }

  /**
   * At postsuspend: the guest is stopped, so everything buffered so far belongs to the checkpoint being taken;
   * output after the resume goes to a new epoch.
   */
  plug(): void {
    this.closed.push(this.open);
    this.open = [];
  }

  /** The checkpoint of the oldest plugged epoch has landed: its output may go. Returns how many packets left. */
  commit(): number {
    const epoch = this.closed.shift();
    if (!epoch) throw new Error('commit() without a plugged epoch');
    this.flush(epoch);
    return epoch.length;
  }

  /** Protection ended with the primary alive: nothing is left to wait for. */
  releaseAll(): void {
    for (const epoch of this.closed.splice(0)) this.flush(epoch);
    const open = this.open;
    this.open = [];
    this.flush(open);
  }

  /** The primary is gone: output that no checkpoint covered must never reach a client. */
  discardAll(): number {
    const lost = this.held;
    this.closed.length = 0;
    this.open = [];
    this.held = 0;
    this.counts.discarded += lost;
    return lost;
  }

  private flush(packets: GuestPacket[]): void {
    const at = this.now();
    this.held -= packets.length;
    this.counts.released += packets.length;
    for (const p of packets) this.release(p, at);
  }
}
