/** Vector kernels shared by the text encoders: masked mean pooling over tokens, and row L2 normalisation. */

/**
 * Mean of h [batch, length, width] over the tokens where mask [batch, length] is non-zero, as
 * [batch, width]; a row without tokens is zeros. Sums in float64.
 */
export function maskedMeanPool(h: Float32Array, mask: Int32Array, batch: number, length: number, width: number): Float32Array {
  const out = new Float32Array(batch * width);
  const acc = new Float64Array(width);
  for (let b = 0; b < batch; b++) {
    acc.fill(0);
    let count = 0;
    for (let t = 0; t < length; t++) {
      if (mask[b * length + t] === 0) continue;
      count++;
      const base = (b * length + t) * width;
      for (let j = 0; j < width; j++) acc[j]! += h[base + j]!;
    }
    if (count === 0) continue;
    for (let j = 0; j < width; j++) out[b * width + j] = acc[j]! / count;
  }
  return out;
}

/** Scales each row of x [n, d] to unit L2 norm in place; an all-zero row stays zero. */
export function l2NormalizeRows(x: Float32Array, n: number, d: number): void {
  for (let i = 0; i < n; i++) {
    let ss = 0;
    for (let j = 0; j < d; j++) ss += x[i * d + j]! * x[i * d + j]!;
    if (ss === 0) continue;
    const inv = 1 / Math.sqrt(ss);
    for (let j = 0; j < d; j++) x[i * d + j]! *= inv;
  }
}
