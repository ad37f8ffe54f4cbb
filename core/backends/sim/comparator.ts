// The output comparator, after QEMU's colo-compare (qemu-colo.md §1.2, §1.4; xen-colo.md §2.6): the primary's
// packets wait until the secondary produced the same packet; a difference or a packet waiting too long asks for
// a checkpoint, and a checkpoint releases whatever the primary still holds.
import type { CheckpointTrigger } from '../../colo/types.js';
import type { GuestPacket, ReleaseSink } from './packet.js';

/** What the comparator can ask the engine for; `timer` is the longest wait elapsing with nothing asked. */
export type ComparatorTrigger = Extract<CheckpointTrigger, 'miscompare' | 'timeout' | 'timer'>;

/** colo-compare `compare_timeout` default (net/colo-compare.c). */
export const COMPARE_TIMEOUT_MS = 3000;
/** colo-compare `expired_scan_cycle` as the code has it; the QAPI doc says 3000 (xen-colo.md §2.6). */
export const EXPIRED_SCAN_CYCLE_MS = 1000;
/** colo-compare `max_queue_size` default. */
export const MAX_QUEUE_SIZE = 1024;
/** libxl's COLO_PROXY_CHECKPOINT_TIMEOUT: a checkpoint at least this often even when output agrees. */
export const COLO_PROXY_CHECKPOINT_TIMEOUT_MS = 5000;

export interface ComparatorOptions {
  release: ReleaseSink;
  compareTimeoutMs?: number;
  expiredScanCycleMs?: number;
  maxQueueSize?: number;
  /** Clock for queue ages and release stamps; performance.now() unless a test injects one. */
  now?: () => number;
}

export interface ComparatorStats {
  compared: number;
  released: number;
  miscompares: number;
  timeouts: number;
  /** Packets refused because their side's queue was full (colo-compare drops them too). */
  droppedPrimary: number;
  droppedSecondary: number;
  /** Secondary packets thrown away at a checkpoint, as colo-compare does on COLO_CHECKPOINT. */
  discardedSecondary: number;
  primaryQueued: number;
  secondaryQueued: number;
}

interface Held {
  packet: GuestPacket;
  queuedAt: number;
}

interface Waiter {
  resolve: (trigger: ComparatorTrigger) => void;
  reject: (reason: unknown) => void;
  cleanup: () => void;
}

export class OutputComparator {
  private readonly release: ReleaseSink;
  private readonly compareTimeoutMs: number;
  private readonly expiredScanCycleMs: number;
  private readonly maxQueueSize: number;
  private readonly now: () => number;
  private readonly primary: Held[] = [];
  private readonly secondary: Held[] = [];
  /** Set from the first mismatch until the checkpoint: once the copies differ, nothing more may be released. */
  private diverged = false;
  /** The checkpoint asked for in this epoch, so one epoch asks once. */
  private requested: ComparatorTrigger | null = null;
  /** A request nobody was waiting for yet; the next nextTrigger() gets it at once. */
  private undelivered: ComparatorTrigger | null = null;
  private waiter: Waiter | null = null;
  private scanTimer: NodeJS.Timeout | null = null;
  private counts = { compared: 0, released: 0, miscompares: 0, timeouts: 0, droppedPrimary: 0, droppedSecondary: 0, discardedSecondary: 0 };

  constructor(options: ComparatorOptions) {
    this.release = options.release;
    this.compareTimeoutMs = options.compareTimeoutMs ?? COMPARE_TIMEOUT_MS;
    this.expiredScanCycleMs = options.expiredScanCycleMs ?? EXPIRED_SCAN_CYCLE_MS;
    this.maxQueueSize = options.maxQueueSize ?? MAX_QUEUE_SIZE;
    this.now = options.now ?? (() => performance.now());
  }

  get stats(): ComparatorStats {
    return { ...this.counts, primaryQueued: this.primary.length, secondaryQueued: this.secondary.length };
  }

  pushPrimary(packet: GuestPacket): void {
    this.enqueue(this.primary, packet, 'droppedPrimary');
  }

  pushSecondary(packet: GuestPacket): void {
    this.enqueue(this.secondary, packet, 'droppedSecondary');
  }

  /**
   * Call once a checkpoint has made both copies equal, while both are still suspended: held primary output is
   * now covered and goes out, secondary output is superseded.
   */
  checkpointed(): void {
    const at = this.now();
    for (const held of this.primary.splice(0)) this.emit(held.packet, at);
    this.counts.discardedSecondary += this.secondary.splice(0).length;
    this.diverged = false;
    this.requested = null;
    this.undelivered = null;
  }

  /** The expiry check colo-compare runs every expired_scan_cycle; start() runs it on a timer. */
  scanExpired(): void {
    const oldest = this.primary[0];
    if (oldest && this.now() - oldest.queuedAt > this.compareTimeoutMs) this.request('timeout');
  }

  start(): void {
    if (this.scanTimer) return;
    this.scanTimer = setInterval(() => this.scanExpired(), this.expiredScanCycleMs);
    this.scanTimer.unref();
  }

  /** Stops the scan timer and rejects a pending nextTrigger(). */
  stop(): void {
    if (this.scanTimer) clearInterval(this.scanTimer);
    this.scanTimer = null;
    const waiter = this.waiter;
    this.waiter = null;
    if (waiter) {
      waiter.cleanup();
      waiter.reject(new Error('comparator stopped'));
    }
  }

  /**
   * Resolves with the first checkpoint request, or `timer` after `maxWaitMs` without one. One waiter at a time:
   * the engine waits for one checkpoint at a time.
   */
  nextTrigger(maxWaitMs: number = COLO_PROXY_CHECKPOINT_TIMEOUT_MS, signal?: AbortSignal): Promise<ComparatorTrigger> {
    if (signal?.aborted) return Promise.reject(abortReason(signal));
    if (this.waiter) return Promise.reject(new Error('nextTrigger() is already waiting'));
    if (this.undelivered) {
      const trigger = this.undelivered;
      this.undelivered = null;
      return Promise.resolve(trigger);
    }
    return new Promise<ComparatorTrigger>((resolve, reject) => {
      const onAbort = (): void => {
        this.waiter = null;
        cleanup();
        reject(abortReason(signal));
      };
      const timer = setTimeout(() => {
        this.waiter = null;
        cleanup();
        resolve('timer');
      }, maxWaitMs);
      const cleanup = (): void => {
        clearTimeout(timer);
        signal?.removeEventListener('abort', onAbort);
      };
      signal?.addEventListener('abort', onAbort, { once: true });
      this.waiter = { resolve, reject, cleanup };
    });
  }

  private enqueue(queue: Held[], packet: GuestPacket, dropCounter: 'droppedPrimary' | 'droppedSecondary'): void {
    if (queue.length >= this.maxQueueSize) {
      this.counts[dropCounter]++;
      return;
    }
    queue.push({ packet, queuedAt: this.now() });
    this.compare();
  }

  private compare(): void {
    while (!this.diverged && this.primary.length > 0 && this.secondary.length > 0) {
      const p = this.primary[0]!;
      const s = this.secondary[0]!;
      this.counts.compared++;
      if (!p.packet.data.equals(s.packet.data)) {
        // Both stay queued: the primary copy may only leave once a checkpoint covers it.
        this.diverged = true;
        this.counts.miscompares++;
        this.request('miscompare');
        return;
      }
      this.primary.shift();
      this.secondary.shift();
      this.emit(p.packet, this.now());
    }
  }

  private request(trigger: 'miscompare' | 'timeout'): void {
    if (this.requested) return;
    this.requested = trigger;
    if (trigger === 'timeout') this.counts.timeouts++;
    const waiter = this.waiter;
    if (waiter) {
      this.waiter = null;
      waiter.cleanup();
      waiter.resolve(trigger);
    } else {
      this.undelivered = trigger;
    }
  }

  private emit(packet: GuestPacket, at: number): void {
    this.counts.released++;
    this.release(packet, at);
  }
}

function abortReason(signal: AbortSignal | undefined): Error {
  const reason: unknown = signal?.reason;
  return reason instanceof Error ? reason : new DOMException('The operation was aborted', 'AbortError');
}
