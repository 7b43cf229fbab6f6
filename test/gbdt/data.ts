/** Seeded synthetic data sets for the GBDT tests. */
import { Rng } from '../../src/core/rng.js';

export interface Dataset {
  features: Float32Array[];
  label: Float32Array;
  names: string[];
}

/** A binary task: nonlinear logit of the first few features, `missing` rate of NaN everywhere. */
export function binaryData(n: number, nFeatures: number, seed: number, missing = 0.05): Dataset {
  const rng = new Rng(seed, 11);
  const features = Array.from({ length: nFeatures }, () => new Float32Array(n));
  const label = new Float32Array(n);
  for (let i = 0; i < n; i++) {
    const x = (j: number): number => {
      const v = features[j]?.[i] ?? NaN;
      return v === v ? v : 0;
    };
    for (let j = 0; j < nFeatures; j++) features[j]![i] = rng.uniform() < missing ? NaN : rng.normal();
    const z = 1.5 * x(0) * x(1) + Math.sin(2 * x(2)) + 0.8 * x(3) ** 2 - 0.8 + (nFeatures > 4 ? 0.5 * x(4) : 0);
    label[i] = rng.uniform() < 1 / (1 + Math.exp(-z)) ? 1 : 0;
  }
  return { features, label, names: features.map((_, j) => `x${j}`) };
}

/** Rows from..to of every column. */
export function slice(d: Dataset, from: number, to: number): Dataset {
  return { features: d.features.map((c) => c.subarray(from, to)), label: d.label.subarray(from, to), names: d.names };
}

/** Row i of column-major features: its values in feature order. */
export function row(features: ArrayLike<number>[], i: number): Float64Array {
  return Float64Array.from(features, (c) => c[i]!);
}
