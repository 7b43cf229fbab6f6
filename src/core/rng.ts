/**
 * Seeded pseudo-random numbers. sfc32 (a small, fast, well-tested 32-bit generator) seeded through
 * splitmix32, so that `new Rng(seed, stream)` gives independent, reproducible streams: a simulator can
 * give each borrower its own stream and generate borrowers in any order or on any thread with the same
 * bytes out.
 */
export class Rng {
  private a: number;
  private b: number;
  private c: number;
  private d: number;
  private spareNormal = NaN;

  constructor(seed: number, stream = 0) {
    let s = (Math.imul(seed | 0, 0x9e3779b1) ^ Math.imul((stream | 0) + 0x632be5ab, 0x85ebca77) ^ Math.floor(seed / 4294967296)) >>> 0;
    const next = (): number => {
      s = (s + 0x9e3779b9) | 0;
      let z = s;
      z = Math.imul(z ^ (z >>> 16), 0x85ebca6b);
      z = Math.imul(z ^ (z >>> 13), 0xc2b2ae35);
      return (z ^ (z >>> 16)) >>> 0;
    };
    this.a = next(); this.b = next(); this.c = next(); this.d = next() | 1;
    for (let i = 0; i < 12; i++) this.nextU32();
  }

  nextU32(): number {
    const t = (((this.a + this.b) | 0) + this.d) | 0;
    this.d = (this.d + 1) | 0;
    this.a = this.b ^ (this.b >>> 9);
    this.b = (this.c + (this.c << 3)) | 0;
    this.c = (this.c << 21) | (this.c >>> 11);
    this.c = (this.c + t) | 0;
    return t >>> 0;
  }

  /** Uniform in [0, 1) with 32 bits of resolution. */
  uniform(): number {
    return this.nextU32() / 4294967296;
  }

  /** Integer uniform in [0, n). */
  int(n: number): number {
    return Math.floor(this.uniform() * n);
  }

  bernoulli(p: number): boolean {
    return this.uniform() < p;
  }

  /** Standard normal (Marsaglia polar method; the second value of each pair is kept for the next call). */
  normal(): number {
    const spare = this.spareNormal;
    if (spare === spare) { this.spareNormal = NaN; return spare; }
    let u: number, v: number, s: number;
    do {
      u = 2 * this.uniform() - 1;
      v = 2 * this.uniform() - 1;
      s = u * u + v * v;
    } while (s >= 1 || s === 0);
    const m = Math.sqrt((-2 * Math.log(s)) / s);
    this.spareNormal = v * m;
    return u * m;
  }

  lognormal(mu: number, sigma: number): number {
    return Math.exp(mu + sigma * this.normal());
  }

  exponential(rate: number): number {
    return -Math.log(1 - this.uniform()) / rate;
  }

  /** Poisson by inversion for small means, normal approximation (rounded, floored at 0) above 30. */
  poisson(mean: number): number {
    if (mean <= 0) return 0;
    if (mean > 30) return Math.max(0, Math.round(mean + Math.sqrt(mean) * this.normal()));
    const l = Math.exp(-mean);
    let k = 0;
    let p = this.uniform();
    while (p > l) { k++; p *= this.uniform(); }
    return k;
  }

  /** Index drawn from cumulative weights (last element = total). */
  categorical(cumWeights: ArrayLike<number>): number {
    const n = cumWeights.length;
    const x = this.uniform() * cumWeights[n - 1]!;
    for (let i = 0; i < n - 1; i++) if (x < cumWeights[i]!) return i;
    return n - 1;
  }
}

/** Cumulative sums of weights, for `Rng.categorical`. */
export function cumulative(weights: readonly number[]): Float64Array {
  const out = new Float64Array(weights.length);
  let s = 0;
  for (let i = 0; i < weights.length; i++) { s += weights[i]!; out[i] = s; }
  return out;
}
