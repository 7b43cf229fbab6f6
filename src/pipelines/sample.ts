/** Seeded row samples (reason statistics, smoke samples, reference samples). */
import { Rng } from '../core/rng.js';

/** All of 0..n-1 when n <= max, else a seeded sample of max row indices in ascending order. */
export function sampleRows(n: number, max: number, seed: number): Int32Array {
  if (n <= max) return Int32Array.from({ length: n }, (_, i) => i);
  const rng = new Rng(seed, 0x5a4);
  // Selection sampling (Knuth's algorithm S): each row kept with the probability still needed.
  const out = new Int32Array(max);
  let k = 0;
  for (let i = 0; i < n && k < max; i++) if (rng.uniform() * (n - i) < max - k) out[k++] = i;
  return out;
}
