/**
 * Split search over a node's histogram, with XGBoost's formulas: leaf weight w = -T(G)/(H+lambda) and
 * score T(G)^2/(H+lambda), where T soft-thresholds by alpha; gain = score(L) + score(R) - score(parent).
 * With monotone constraints the weights are clamped to the node's bounds and gains use
 * -(2Gw + (H+lambda)w^2 + 2 alpha |w|), the objective reduction at a given weight, as XGBoost's
 * TreeEvaluator does. Numeric features try every bin boundary with missing values sent right, then
 * (when the node has missing values) sent left; categorical features use one-vs-rest splits for few
 * categories, otherwise LightGBM-style partitions: categories sorted by weight, prefixes from either end.
 */

export interface SplitParams {
  lambda: number;
  alpha: number;
  minChildWeight: number;
  maxCatToOnehot: number;
  maxCatThreshold: number;
  /** Any monotone constraint set: gains use clamped weights for every feature, as in XGBoost. */
  constrained: boolean;
}

/** What a node knows when its split is searched. */
export interface NodeStats {
  G: number;
  H: number;
  lower: number;
  upper: number;
  /** The node's own weight, clamped to [lower, upper]. */
  weight: number;
}

export interface SplitCandidate {
  gain: number;
  feature: number;
  /** Numeric: bins 0..bin go left (-1: only missing values go left). */
  bin: number;
  defaultLeft: boolean;
  categorical: boolean;
  /** Categorical: 1 for bins that go right (XGBoost stores the categories of the right branch). */
  catRight: Uint8Array | null;
  GL: number;
  HL: number;
  GR: number;
  HR: number;
  /** Child weights before shrinkage, clamped to the node's bounds. */
  wL: number;
  wR: number;
}

export function thresholdL1(g: number, alpha: number): number {
  return g > alpha ? g - alpha : g < -alpha ? g + alpha : 0;
}

/** Unclamped optimal leaf weight (before the learning rate). */
export function leafWeight(G: number, H: number, p: SplitParams): number {
  const d = H + p.lambda;
  return d > 0 ? -thresholdL1(G, p.alpha) / d : 0;
}

/** Score of a leaf at its optimal weight: T(G)^2 / (H + lambda). */
export function leafScore(G: number, H: number, p: SplitParams): number {
  const d = H + p.lambda;
  if (!(d > 0)) return 0;
  const t = thresholdL1(G, p.alpha);
  return (t * t) / d;
}

/** Objective reduction of a leaf held at weight w. */
export function scoreAtWeight(G: number, H: number, w: number, p: SplitParams): number {
  return -(2 * G * w + (H + p.lambda) * w * w + 2 * p.alpha * Math.abs(w));
}

export function clamp(w: number, lo: number, hi: number): number {
  return w < lo ? lo : w > hi ? hi : w;
}

/** Score of the node itself, the baseline every candidate's gain is measured against. */
export function nodeScore(n: NodeStats, p: SplitParams): number {
  return p.constrained ? scoreAtWeight(n.G, n.H, n.weight, p) : leafScore(n.G, n.H, p);
}

/** Mutable best-so-far, so the scan allocates nothing per candidate. */
class Best {
  gain = -Infinity;
  feature = -1;
  bin = 0;
  defaultLeft = false;
  categorical = false;
  catRight: Uint8Array | null = null;
  GL = 0;
  HL = 0;
  wL = 0;
  wR = 0;
}

/** The unconstrained candidate "only missing values go left" (bin -1, before scanNumeric's bins). */
function missingOnlyLeft(G: number, H: number, gl: number, hl: number, f: number, mcw: number, eps: number, lambda: number, alpha: number, parent: number, best: Best): void {
  const hr = H - hl;
  if (hl < mcw || hr < mcw || hl <= eps || hr <= eps) return;
  const gr = G - gl;
  const tl = alpha === 0 ? gl : thresholdL1(gl, alpha);
  const tr = alpha === 0 ? gr : thresholdL1(gr, alpha);
  const gain = (tl * tl) / (hl + lambda) + (tr * tr) / (hr + lambda) - parent;
  if (gain > best.gain) {
    best.gain = gain; best.feature = f; best.bin = -1; best.defaultLeft = true; best.categorical = false;
    best.GL = gl; best.HL = hl; best.wL = -tl / (hl + lambda); best.wR = -tr / (hr + lambda);
  }
}

/**
 * The unconstrained numeric scan, kept free of closures because it is the hot loop of split search:
 * left = (g0, h0) + bins 0..t for t = 0..last.
 */
function scanNumeric(hist: Float64Array, base: number, last: number, G: number, H: number, g0: number, h0: number, defaultLeft: boolean, f: number, mcw: number, eps: number, lambda: number, alpha: number, parent: number, best: Best): void {
  let gl = g0;
  let hl = h0;
  let bestGain = best.gain;
  let bestT = -2;
  let bestGL = 0;
  let bestHL = 0;
  // The hot loop: kept free of the t = -1 candidate (missingOnlyLeft) and of writes to `best`: either
  // made it about 3x slower.
  for (let t = 0; t <= last; t++) {
    const gb = hist[base + 2 * t]!;
    const hb = hist[base + 2 * t + 1]!;
    if (gb === 0 && hb === 0) continue; // an empty bin repeats the previous candidate, which already lost or won
    gl += gb;
    hl += hb;
    const hr = H - hl;
    if (hl < mcw || hr < mcw || hl <= eps || hr <= eps) continue;
    const gr = G - gl;
    const tl = alpha === 0 ? gl : thresholdL1(gl, alpha);
    const tr = alpha === 0 ? gr : thresholdL1(gr, alpha);
    const gain = (tl * tl) / (hl + lambda) + (tr * tr) / (hr + lambda) - parent;
    if (gain > bestGain) { bestGain = gain; bestT = t; bestGL = gl; bestHL = hl; }
  }
  if (bestT === -2) return;
  const tl = alpha === 0 ? bestGL : thresholdL1(bestGL, alpha);
  const tr = alpha === 0 ? G - bestGL : thresholdL1(G - bestGL, alpha);
  best.gain = bestGain; best.feature = f; best.bin = bestT; best.defaultLeft = defaultLeft; best.categorical = false;
  best.GL = bestGL; best.HL = bestHL; best.wL = -tl / (bestHL + lambda); best.wR = -tr / (H - bestHL + lambda);
}

/**
 * Searches the allowed features of one node. `hist` holds the node's histogram (see histogram.ts for
 * the layout). Returns null when no split has both children valid.
 */
export function findBestSplit(
  hist: Float64Array, histStride: number, nBins: Int32Array, categorical: Uint8Array, allowed: Uint8Array, monotone: Int8Array,
  node: NodeStats, p: SplitParams, sortScratch: Int32Array, keyScratch: Float64Array,
): SplitCandidate | null {
  const best = new Best();
  const { G, H, lower, upper } = node;
  const parent = nodeScore(node, p);
  const mcw = p.minChildWeight;
  const eps = 1e-10 * H;
  const lambda = p.lambda;
  const alpha = p.alpha;
  const constrained = p.constrained;
  let cons = 0;

  // Gain of left stats (gl, hl), right = node - left; -Infinity when invalid. Stores weights in wl/wr.
  let wl = 0;
  let wr = 0;
  const gainOf = (gl: number, hl: number): number => {
    const hr = H - hl;
    if (hl < mcw || hr < mcw || hl <= eps || hr <= eps) return -Infinity;
    const gr = G - gl;
    if (!constrained) {
      const tl = alpha === 0 ? gl : thresholdL1(gl, alpha);
      const tr = alpha === 0 ? gr : thresholdL1(gr, alpha);
      const dl = hl + lambda;
      const dr = hr + lambda;
      wl = dl > 0 ? -tl / dl : 0;
      wr = dr > 0 ? -tr / dr : 0;
      return (dl > 0 ? (tl * tl) / dl : 0) + (dr > 0 ? (tr * tr) / dr : 0) - parent;
    }
    wl = clamp(leafWeight(gl, hl, p), lower, upper);
    wr = clamp(leafWeight(gr, hr, p), lower, upper);
    if ((cons > 0 && wl > wr) || (cons < 0 && wl < wr)) return -Infinity;
    return scoreAtWeight(gl, hl, wl, p) + scoreAtWeight(gr, hr, wr, p) - parent;
  };
  const consider = (gain: number, f: number, bin: number, defaultLeft: boolean, gl: number, hl: number): boolean => {
    if (!(gain > best.gain)) return false;
    best.gain = gain; best.feature = f; best.bin = bin; best.defaultLeft = defaultLeft; best.categorical = false;
    best.GL = gl; best.HL = hl; best.wL = wl; best.wR = wr;
    return true;
  };

  for (let f = 0; f < nBins.length; f++) {
    if (!allowed[f]) continue;
    const nb = nBins[f]!;
    if (nb === 0) continue;
    const base = f * histStride * 2;
    const mg = hist[base + 2 * nb]!;
    const mh = hist[base + 2 * nb + 1]!;
    const hasMiss = mh > 0 || mg !== 0;
    cons = monotone[f]!;
    if (!categorical[f]) {
      if (nb < 2 && !hasMiss) continue;
      const last = hasMiss ? nb - 1 : nb - 2;
      if (!constrained) {
        scanNumeric(hist, base, last, G, H, 0, 0, false, f, mcw, eps, lambda, alpha, parent, best);
        if (hasMiss) {
          missingOnlyLeft(G, H, mg, mh, f, mcw, eps, lambda, alpha, parent, best);
          scanNumeric(hist, base, nb - 2, G, H, mg, mh, true, f, mcw, eps, lambda, alpha, parent, best);
        }
        continue;
      }
      let gl = 0;
      let hl = 0;
      for (let t = 0; t <= last; t++) {
        gl += hist[base + 2 * t]!;
        hl += hist[base + 2 * t + 1]!;
        consider(gainOf(gl, hl), f, t, false, gl, hl);
      }
      if (hasMiss) {
        gl = mg;
        hl = mh;
        consider(gainOf(gl, hl), f, -1, true, gl, hl);
        for (let t = 0; t <= nb - 2; t++) {
          gl += hist[base + 2 * t]!;
          hl += hist[base + 2 * t + 1]!;
          consider(gainOf(gl, hl), f, t, true, gl, hl);
        }
      }
      continue;
    }
    // Categorical: candidate sets go right; rows of categories not in the set (and unseen ones) go left.
    let m = 0;
    for (let b = 0; b < nb; b++) {
      if (hist[base + 2 * b + 1]! > 0 || hist[base + 2 * b]! !== 0) sortScratch[m++] = b;
    }
    if (m === 0 || (m === 1 && !hasMiss)) continue;
    const tryCat = (setBins: Int32Array, from: number, count: number, step: number, gs: number, hs: number): void => {
      // set stats (gs, hs) go right, so the left side is node - set - (missing when it goes right).
      for (let dir = 0; dir < 2; dir++) {
        const defaultLeft = dir === 1;
        if (defaultLeft && !hasMiss) break;
        const gr = defaultLeft ? gs : gs + mg;
        const hr = defaultLeft ? hs : hs + mh;
        if (consider(gainOf(G - gr, H - hr), f, 0, defaultLeft, G - gr, H - hr)) {
          best.categorical = true;
          const set = new Uint8Array(nb);
          for (let k = 0, i = from; k < count; k++, i += step) set[setBins[i]!] = 1;
          best.catRight = set;
        }
      }
    };
    if (nb < p.maxCatToOnehot) {
      for (let k = 0; k < m; k++) {
        const b = sortScratch[k]!;
        tryCat(sortScratch, k, 1, 1, hist[base + 2 * b]!, hist[base + 2 * b + 1]!);
      }
      continue;
    }
    for (let k = 0; k < m; k++) {
      const b = sortScratch[k]!;
      keyScratch[b] = leafWeight(hist[base + 2 * b]!, hist[base + 2 * b + 1]!, p);
    }
    const order = sortScratch.subarray(0, m).sort((a, b) => keyScratch[a]! - keyScratch[b]! || a - b);
    const maxK = Math.min(m, p.maxCatThreshold);
    for (let end = 0; end < 2; end++) {
      let gs = 0;
      let hs = 0;
      for (let k = 1; k <= maxK; k++) {
        const b = end === 0 ? order[k - 1]! : order[m - k]!;
        gs += hist[base + 2 * b]!;
        hs += hist[base + 2 * b + 1]!;
        if (end === 0) tryCat(order, 0, k, 1, gs, hs);
        else tryCat(order, m - 1, k, -1, gs, hs);
      }
      if (m === 1) break;
    }
  }
  if (best.feature < 0) return null;
  return {
    gain: best.gain, feature: best.feature, bin: best.bin, defaultLeft: best.defaultLeft, categorical: best.categorical,
    catRight: best.categorical ? best.catRight : null,
    GL: best.GL, HL: best.HL, GR: G - best.GL, HR: H - best.HL, wL: best.wL, wR: best.wR,
  };
}
