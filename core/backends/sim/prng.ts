// A seeded generator whose whole state is four 32-bit words, small enough to travel inside the device state:
// whatever is random in the simulated guest must be reproducible on the secondary after a checkpoint.
import { randomInt } from 'node:crypto';

export type PrngState = readonly [number, number, number, number];

const TWO_POW_32 = 0x1_0000_0000;

export class Prng {
  private a: number;
  private b: number;
  private c: number;
  private d: number;

  /** From a 32-bit seed, or from a state returned by `state` to continue that exact sequence. */
  constructor(seed: number | PrngState) {
    if (typeof seed === 'number') {
      // splitmix32 spreads a small seed over all four words, so seeds 1 and 2 give unrelated sequences.
      let s = seed >>> 0;
      const next = (): number => {
        s = (s + 0x9e3779b9) >>> 0;
        let z = s;
        z = Math.imul(z ^ (z >>> 16), 0x85ebca6b);
        z = Math.imul(z ^ (z >>> 13), 0xc2b2ae35);
        return (z ^ (z >>> 16)) >>> 0;
      };
      this.a = next();
      this.b = next();
      this.c = next();
      this.d = next();
      for (let i = 0; i < 12; i++) this.nextU32();
    } else {
      [this.a, this.b, this.c, this.d] = seed.map((w) => w >>> 0) as unknown as [number, number, number, number];
    }
  }

  get state(): PrngState {
    return [this.a >>> 0, this.b >>> 0, this.c >>> 0, this.d >>> 0];
  }

  /** sfc32: fast, passes PractRand to large sizes, and its counter word rules out a stuck all-zero state. */
  nextU32(): number {
    const t = (((this.a + this.b) | 0) + this.d) | 0;
    this.d = (this.d + 1) | 0;
    this.a = this.b ^ (this.b >>> 9);
    this.b = (this.c + (this.c << 3)) | 0;
    this.c = (this.c << 21) | (this.c >>> 11);
    this.c = (this.c + t) | 0;
    return t >>> 0;
  }

  /** Uniform in [0, 1). */
  nextFloat(): number {
    return this.nextU32() / TWO_POW_32;
  }

  /** Uniform integer in [0, n); n ≤ 2^32. */
  nextBelow(n: number): number {
    return Math.floor(this.nextFloat() * n);
  }
}

/** A seed for state that is deliberately not reproducible (per-host nondeterminism). */
export function randomSeed(): number {
  return randomInt(0, TWO_POW_32 - 1);
}
