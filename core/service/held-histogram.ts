// How long a run held the guest's output, packet by packet, in constant space: a histogram with logarithmic
// buckets (each 2 % wider than the last), so a run of millions of packets still gives its p50 and p99 within 1 %,
// and the exact maximum. Stored as JSON (only the buckets in use) in history.sqlite's run_output.

const FLOOR_MS = 0.01;
const GROWTH = 1.02;
const LOG_GROWTH = Math.log(GROWTH);
/** Up to FLOOR_MS × 1.02^1199 ≈ 200 000 s: more than any hold; larger values land in the last bucket. */
const BUCKETS = 1200;

export class HeldHistogram {
  private readonly counts = new Float64Array(BUCKETS);
  count = 0;
  max = 0;

  add(ms: number): void {
    if (!Number.isFinite(ms) || ms < 0) return;
    this.counts[bucketOf(ms)]!++;
    this.count++;
    if (ms > this.max) this.max = ms;
  }

  /** The q-quantile by nearest rank, as the bucket's middle, never above the exact maximum; NaN when empty. */
  quantile(q: number): number {
    if (this.count === 0) return NaN;
    const rank = Math.min(this.count, Math.max(1, Math.ceil(q * this.count)));
    let seen = 0;
    for (let i = 0; i < BUCKETS; i++) {
      seen += this.counts[i]!;
      if (seen >= rank) return Math.min(this.max, middleOf(i));
    }
    return this.max;
  }

  toJson(): string {
    const used: Record<string, number> = {};
    for (let i = 0; i < BUCKETS; i++) if (this.counts[i]! > 0) used[i] = this.counts[i]!;
    return JSON.stringify(used);
  }

  /** Reads what toJson wrote; entries that are not a bucket and a positive count are skipped. */
  static fromJson(text: string, max: number): HeldHistogram {
    const h = new HeldHistogram();
    let parsed: unknown;
    try {
      parsed = JSON.parse(text);
    } catch {
      return h;
    }
    if (typeof parsed !== 'object' || parsed === null) return h;
    for (const [k, v] of Object.entries(parsed)) {
      const i = Number(k);
      if (!Number.isInteger(i) || i < 0 || i >= BUCKETS || typeof v !== 'number' || !(v > 0)) continue;
      h.counts[i] = (h.counts[i] ?? 0) + v;
      h.count += v;
    }
    h.max = Number.isFinite(max) && max >= 0 ? max : 0;
    return h;
  }
}

function bucketOf(ms: number): number {
  if (ms < FLOOR_MS) return 0;
  return Math.min(BUCKETS - 1, 1 + Math.floor(Math.log(ms / FLOOR_MS) / LOG_GROWTH));
}

/** Bucket 0 holds [0, FLOOR); bucket i ≥ 1 holds [FLOOR·g^(i-1), FLOOR·g^i). */
function middleOf(i: number): number {
  if (i === 0) return FLOOR_MS / 2;
  return FLOOR_MS * GROWTH ** (i - 0.5);
}
