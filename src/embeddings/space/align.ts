/**
 * Orthogonal Procrustes: the rotation R (d x d, R^T R = I) that brings a new version's vectors A onto
 * an older version's B over the entities both hold, minimising |A R - B|. R = M (M^T M)^(-1/2) with
 * M = A^T B = U S V^T (R = U V^T, the polar factor of M), through a Jacobi eigen-decomposition of M^T M. A rotation
 * keeps every inner product and distance, so neighbours and scores within the new version do not change;
 * only its axes line up with the old one's.
 */

/** Eigen-decomposition of a symmetric d x d matrix (row-major): values and column eigenvectors. */
export function symmetricEigen(S: Float64Array, d: number, sweeps = 60): { values: Float64Array; vectors: Float64Array } {
  const a = Float64Array.from(S);
  const v = new Float64Array(d * d);
  for (let i = 0; i < d; i++) v[i * d + i] = 1;
  for (let sweep = 0; sweep < sweeps; sweep++) {
    let off = 0;
    for (let p = 0; p < d; p++) for (let q = p + 1; q < d; q++) off += a[p * d + q]! * a[p * d + q]!;
    if (off < 1e-22) break;
    for (let p = 0; p < d; p++) {
      for (let q = p + 1; q < d; q++) {
        const apq = a[p * d + q]!;
        if (Math.abs(apq) < 1e-300) continue;
        const theta = (a[q * d + q]! - a[p * d + p]!) / (2 * apq);
        const t = Math.sign(theta || 1) / (Math.abs(theta) + Math.sqrt(theta * theta + 1));
        const c = 1 / Math.sqrt(t * t + 1);
        const s = t * c;
        for (let k = 0; k < d; k++) {
          const akp = a[k * d + p]!, akq = a[k * d + q]!;
          a[k * d + p] = c * akp - s * akq;
          a[k * d + q] = s * akp + c * akq;
        }
        for (let k = 0; k < d; k++) {
          const apk = a[p * d + k]!, aqk = a[q * d + k]!;
          a[p * d + k] = c * apk - s * aqk;
          a[q * d + k] = s * apk + c * aqk;
        }
        for (let k = 0; k < d; k++) {
          const vkp = v[k * d + p]!, vkq = v[k * d + q]!;
          v[k * d + p] = c * vkp - s * vkq;
          v[k * d + q] = s * vkp + c * vkq;
        }
      }
    }
  }
  return { values: Float64Array.from({ length: d }, (_, i) => a[i * d + i]!), vectors: v };
}

/**
 * The rotation taking rows `aRows` of A onto rows `bRows` of B (both n x d row-major), or null when they
 * share no rows. Directions the shared rows do not span are completed arbitrarily (still a rotation).
 */
export function procrustes(A: Float32Array, aRows: Int32Array, B: Float32Array, bRows: Int32Array, d: number): Float64Array | null {
  if (aRows.length === 0) return null;
  const M = new Float64Array(d * d);
  for (let t = 0; t < aRows.length; t++) {
    const ao = aRows[t]! * d, bo = bRows[t]! * d;
    for (let i = 0; i < d; i++) {
      const ai = A[ao + i]!;
      if (ai === 0) continue;
      const row = i * d;
      for (let j = 0; j < d; j++) M[row + j]! += ai * B[bo + j]!;
    }
  }
  // S = M^T M, symmetric positive semi-definite.
  const S = new Float64Array(d * d);
  for (let i = 0; i < d; i++) for (let j = i; j < d; j++) {
    let s = 0;
    for (let k = 0; k < d; k++) s += M[k * d + i]! * M[k * d + j]!;
    S[i * d + j] = s; S[j * d + i] = s;
  }
  const { values, vectors } = symmetricEigen(S, d);
  let max = 0;
  for (const x of values) max = Math.max(max, x);
  if (!(max > 0)) return null;
  // M = U diag(sigma) V^T: V from the eigenvectors of M^T M, u_k = M v_k / sigma_k where sigma_k > 0; the
  // directions the shared rows do not span (sigma_k ~ 0) get any orthonormal completion (Gram-Schmidt).
  const U = new Float64Array(d * d);
  const done: number[] = [];
  const free: number[] = [];
  for (let k = 0; k < d; k++) {
    if (values[k]! <= max * 1e-10) { free.push(k); continue; }
    const sigma = Math.sqrt(values[k]!);
    for (let i = 0; i < d; i++) {
      let s = 0;
      for (let j = 0; j < d; j++) s += M[i * d + j]! * vectors[j * d + k]!;
      U[i * d + k] = s / sigma;
    }
    done.push(k);
  }
  let e = 0;
  for (const k of free) {
    for (; e < d; e++) {
      const u = new Float64Array(d);
      u[e] = 1;
      for (const c of done) {
        let dot = 0;
        for (let i = 0; i < d; i++) dot += u[i]! * U[i * d + c]!;
        for (let i = 0; i < d; i++) u[i]! -= dot * U[i * d + c]!;
      }
      let norm = 0;
      for (let i = 0; i < d; i++) norm += u[i]! * u[i]!;
      if (norm < 1e-6) continue;
      norm = Math.sqrt(norm);
      for (let i = 0; i < d; i++) U[i * d + k] = u[i]! / norm;
      done.push(k);
      e++;
      break;
    }
  }
  // R = U V^T.
  const R = new Float64Array(d * d);
  for (let i = 0; i < d; i++) for (let j = 0; j < d; j++) {
    let s = 0;
    for (let k = 0; k < d; k++) s += U[i * d + k]! * vectors[j * d + k]!;
    R[i * d + j] = s;
  }
  return R;
}

/** Rows times R (n x d by d x d), into a new array. */
export function rotate(X: Float32Array, R: Float64Array, d: number): Float32Array {
  const n = X.length / d;
  const out = new Float32Array(X.length);
  const row = new Float64Array(d);
  for (let r = 0; r < n; r++) {
    row.fill(0);
    for (let k = 0; k < d; k++) {
      const x = X[r * d + k]!;
      if (x === 0) continue;
      for (let j = 0; j < d; j++) row[j]! += x * R[k * d + j]!;
    }
    for (let j = 0; j < d; j++) out[r * d + j] = row[j]!;
  }
  return out;
}

/** Root mean squared distance between matched rows of A and B, relative to B's RMS norm. */
export function relativeResidual(A: Float32Array, aRows: Int32Array, B: Float32Array, bRows: Int32Array, d: number): number {
  let num = 0, den = 0;
  for (let t = 0; t < aRows.length; t++) {
    for (let j = 0; j < d; j++) {
      const a = A[aRows[t]! * d + j]!, b = B[bRows[t]! * d + j]!;
      num += (a - b) * (a - b);
      den += b * b;
    }
  }
  return den > 0 ? Math.sqrt(num / den) : 0;
}
