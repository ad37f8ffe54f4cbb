// A network link between the simulated hosts, as a Transform on the byte stream: bytes leave at the link's
// bandwidth (a token bucket) and arrive one latency later. The checkpoint pause the console shows depends on
// this: dirty bytes / bandwidth is most of it (qemu-colo.md §2, "pause model").
import { Transform, type TransformCallback } from 'node:stream';

export interface LinkOptions {
  /** Bits per second; Infinity for no pacing. */
  bitsPerSecond: number;
  /** One-way latency in ms. */
  latencyMs: number;
}

export type LinkPresetName = '1gbe' | '10gbe' | 'unlimited';

export const LINK_PRESETS: Readonly<Record<LinkPresetName, LinkOptions>> = {
  '1gbe': { bitsPerSecond: 1e9, latencyMs: 0.1 },
  '10gbe': { bitsPerSecond: 1e10, latencyMs: 0.05 },
  unlimited: { bitsPerSecond: Infinity, latencyMs: 0 },
};

export const linkPresetNames = Object.keys(LINK_PRESETS) as LinkPresetName[];

/** The error a cut link is destroyed with; `code` lets the engine tell it from a protocol error. */
export class LinkCutError extends Error {
  readonly code = 'ELINKCUT';
  constructor(message = 'link cut') {
    super(message);
    this.name = 'LinkCutError';
  }
}

// Pieces a large write is cut into, so delivery trickles out the way frames would instead of all at the end.
const SEGMENT_BYTES = 16 * 1024;
// Bucket depth: one segment, so an idle link cannot hoard credit and then beat its own bandwidth.
const BURST_BYTES = SEGMENT_BYTES;
// How far a writer may run ahead of the wire before write callbacks are held (a socket's send buffer).
const AHEAD_MS = 2;
const MIN_AHEAD_BYTES = 64 * 1024;

interface InFlight {
  chunk: Buffer;
  deliverAt: number;
}

export class LinkModel extends Transform {
  private bytesPerMs: number;
  private latencyMs: number;
  private tokens = BURST_BYTES;
  private refilledAt = performance.now();
  private readonly inFlight: InFlight[] = [];
  private lastDeliverAt = 0;
  private deliveryTimer: NodeJS.Timeout | null = null;
  private deliveryImmediate: NodeJS.Immediate | null = null;
  private writeTimer: NodeJS.Timeout | null = null;
  private pendingFlush: TransformCallback | null = null;
  private passed = 0;

  constructor(options: LinkOptions | LinkPresetName = 'unlimited') {
    super();
    const o = typeof options === 'string' ? LINK_PRESETS[options] : options;
    this.bytesPerMs = checkedRate(o.bitsPerSecond);
    this.latencyMs = checkedLatency(o.latencyMs);
  }

  /** Bytes that have arrived at the far end. */
  get bytesDelivered(): number {
    return this.passed;
  }

  /** Changes the bandwidth from now on (the 'slow link' fault); bytes already on the wire keep their times. */
  setBandwidth(bitsPerSecond: number): void {
    const rate = checkedRate(bitsPerSecond);
    this.refill(performance.now());
    this.bytesPerMs = rate;
  }

  setLatency(latencyMs: number): void {
    this.latencyMs = checkedLatency(latencyMs);
  }

  /** The cable is pulled: bytes in flight are lost and both ends see a LinkCutError. */
  cut(reason?: string): void {
    this.clearTimers();
    this.inFlight.length = 0;
    this.destroy(new LinkCutError(reason));
  }

  override _transform(chunk: Buffer, _encoding: BufferEncoding, callback: TransformCallback): void {
    // Unlimited and nothing queued ahead: hand the same buffer on, no copy and no timer.
    if (this.bytesPerMs === Infinity && this.latencyMs === 0 && this.inFlight.length === 0) {
      this.passed += chunk.length;
      callback(null, chunk);
      return;
    }
    const now = performance.now();
    for (let at = 0; at < chunk.length; at += SEGMENT_BYTES) {
      const segment = chunk.subarray(at, Math.min(at + SEGMENT_BYTES, chunk.length));
      const onWireUntil = now + this.spendTokens(segment.length, now);
      const deliverAt = Math.max(onWireUntil + this.latencyMs, this.lastDeliverAt);
      this.lastDeliverAt = deliverAt;
      this.inFlight.push({ chunk: segment, deliverAt });
    }
    this.deliverDue();
    const debtBytes = -this.tokens;
    const aheadBytes = Math.max(MIN_AHEAD_BYTES, this.bytesPerMs * AHEAD_MS);
    if (debtBytes <= aheadBytes) {
      callback();
      return;
    }
    this.writeTimer = setTimeout(() => {
      this.writeTimer = null;
      if (!this.destroyed) callback();
    }, (debtBytes - aheadBytes) / this.bytesPerMs);
  }

  override _flush(callback: TransformCallback): void {
    if (this.inFlight.length === 0) callback();
    else this.pendingFlush = callback;
  }

  override _destroy(error: Error | null, callback: (error?: Error | null) => void): void {
    this.clearTimers();
    this.inFlight.length = 0;
    callback(error);
  }

  /** Consumes tokens for n bytes; returns ms until the last of them has left (0 when credit covered them). */
  private spendTokens(n: number, now: number): number {
    this.refill(now);
    if (this.bytesPerMs === Infinity) return 0;
    this.tokens -= n;
    return this.tokens >= 0 ? 0 : -this.tokens / this.bytesPerMs;
  }

  private refill(now: number): void {
    if (this.bytesPerMs !== Infinity) {
      this.tokens = Math.min(BURST_BYTES, this.tokens + (now - this.refilledAt) * this.bytesPerMs);
    } else {
      this.tokens = BURST_BYTES;
    }
    this.refilledAt = now;
  }

  private deliverDue(): void {
    if (this.destroyed) return;
    const now = performance.now();
    while (this.inFlight.length > 0 && this.inFlight[0]!.deliverAt <= now) {
      const { chunk } = this.inFlight.shift()!;
      this.passed += chunk.length;
      this.push(chunk);
    }
    if (this.inFlight.length === 0) {
      const flush = this.pendingFlush;
      this.pendingFlush = null;
      flush?.();
      return;
    }
    if (this.deliveryTimer || this.deliveryImmediate) return;
    const wait = this.inFlight[0]!.deliverAt - now;
    // setTimeout cannot wait less than 1 ms; sub-millisecond latencies (a LAN's 0.1 ms) would otherwise become
    // 1 ms per round trip and inflate every pause. setImmediate polls instead, letting I/O run in between.
    if (wait >= 1) {
      this.deliveryTimer = setTimeout(() => {
        this.deliveryTimer = null;
        this.deliverDue();
      }, Math.floor(wait));
    } else {
      this.deliveryImmediate = setImmediate(() => {
        this.deliveryImmediate = null;
        this.deliverDue();
      });
    }
  }

  private clearTimers(): void {
    if (this.deliveryTimer) clearTimeout(this.deliveryTimer);
    if (this.deliveryImmediate) clearImmediate(this.deliveryImmediate);
    if (this.writeTimer) clearTimeout(this.writeTimer);
    this.deliveryTimer = null;
    this.deliveryImmediate = null;
    this.writeTimer = null;
  }
}

function checkedRate(bitsPerSecond: number): number {
  if (bitsPerSecond === Infinity) return Infinity;
  if (!Number.isFinite(bitsPerSecond) || bitsPerSecond <= 0) {
    throw new RangeError(`bandwidth must be > 0 bit/s or Infinity, got ${bitsPerSecond}`);
  }
  return bitsPerSecond / 8 / 1000;
}

function checkedLatency(latencyMs: number): number {
  if (!Number.isFinite(latencyMs) || latencyMs < 0) throw new RangeError(`latency must be ≥ 0 ms, got ${latencyMs}`);
  return latencyMs;
}
