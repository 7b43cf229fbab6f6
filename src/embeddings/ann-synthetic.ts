/**
 * Synthetic clustered vectors for index tests and benchmarks: `clusters` centres drawn N(0, 1) per
 * coordinate, each row a random centre plus N(0, spread^2) noise per coordinate. All randomness is from
 * one seeded `Rng`, so the same arguments give the same bytes.
 */
import { Rng } from '../core/rng.js';

export function clusteredVectors(n: number, dim: number, clusters: number, seed: number, spread = 0.5): Float32Array {
  const rng = new Rng(seed, 17);
  const centres = new Float32Array(clusters * dim);
  for (let i = 0; i < centres.length; i++) centres[i] = rng.normal();
  const out = new Float32Array(n * dim);
  for (let i = 0; i < n; i++) {
    const c = rng.int(clusters) * dim;
    for (let j = 0; j < dim; j++) out[i * dim + j] = centres[c + j]! + spread * rng.normal();
  }
  return out;
}
