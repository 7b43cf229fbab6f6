/**
 * TreeSHAP of a "long" leaf (shap-table.ts): one whose path has more unique features than a leaf table
 * holds, explained from the row's mask over them in O(|U|^2) with no table, and the Shapley weights the
 * tables use too.
 */

/**
 * Most unique features on any path for a tree to be explained by shap-table.ts at all: a leaf past
 * TABLE_MAX_FEATURES is a long leaf (masks are 31-bit).
 */
export const LONG_MAX_FEATURES = 30;

/** W[m][s] = s!(m-s-1)!/m! (Shapley weight of a coalition of s of the other m - 1 players), 0 for s = m. */
export const W: Float64Array[] = Array.from({ length: LONG_MAX_FEATURES + 1 }, (_, m) => {
  const w = new Float64Array(m + 1);
  for (let s = 0; s < m; s++) {
    // s!(m-s-1)!/m! = 1 / (m · C(m-1, s))
    let c = 1;
    for (let k = 1; k <= s; k++) c = (c * (m - s - 1 + k)) / k;
    w[s] = 1 / (m * c);
  }
  return w;
});

const POLY = new Float64Array(LONG_MAX_FEATURES + 2);
const DEFL = new Float64Array(LONG_MAX_FEATURES + 2);

/**
 * A long leaf's contributions from its mask A (bit k: the row agrees with the path's k-th unique
 * feature): with P the product of z over U \ A and e_j the elementary symmetric polynomials of the z of
 * A' (A, or A without i), phi_i = (o_i - z_i) · v · (P / z_i)^[i not in A] · sum_s w(s) · e_{|A'| - s}.
 * For i not in A every term is the same: -v · P · sum_s w(s) e_{|A| - s}(A). For i in A, e(A \ {i}) by
 * dividing (z_i + t) out of the polynomial of A (synthetic division), O(|A|) each.
 */
export function longLeafShap(m: number, off: number, v: number, Z: Float64Array, feats: Int32Array, A: number, phi: Float64Array, o: number): void {
  const w = W[m]!;
  // poly[d] = coefficient of t^d in prod over k in A of (z_k + t): poly[d] = e_{a - d}.
  let a = 0;
  let P = 1;
  POLY[0] = 1;
  for (let k = 0; k < m; k++) {
    const z = Z[off + k]!;
    if ((A >> k) & 1) {
      POLY[a + 1] = POLY[a]!;
      for (let d = a; d > 0; d--) POLY[d] = POLY[d - 1]! + z * POLY[d]!;
      POLY[0] = z * POLY[0]!;
      a++;
    } else P *= z;
  }
  // Not in A: the coalition's size s = |S| runs over subsets S of A, e_{a - s} = POLY[s].
  let cold = 0;
  for (let s = 0; s <= a; s++) cold += w[s]! * POLY[s]!;
  cold *= -v * P;
  for (let k = 0; k < m; k++) {
    const feature = feats[off + k]!;
    if (!((A >> k) & 1)) { phi[o + feature]! += cold; continue; }
    // Divide (z + t) out: DEFL has degree a - 1, DEFL[d] = coefficient of t^d.
    const z = Z[off + k]!;
    DEFL[a - 1] = POLY[a]!;
    for (let d = a - 1; d > 0; d--) DEFL[d - 1] = POLY[d]! - z * DEFL[d]!;
    let sum = 0;
    for (let s = 0; s < a; s++) sum += w[s]! * DEFL[s]!;
    phi[o + feature]! += (1 - z) * v * P * sum;
  }
}
