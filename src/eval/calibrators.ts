/**
 * Calibrators fitted on a validation window and applied to new scores: Platt scaling (a logistic
 * regression on the logit of the score) and isotonic regression. Each is plain data
 * `{ format, kind, params }` plus `apply`; `JSON.stringify` keeps the data and `calibratorFromJson`
 * rebuilds the function.
 */
import { KilnError } from '../core/errors.js';
import { argsortAscending } from './sort.js';
import { ArgCheck, checkLabels, checkScores, checkWeights, classTotals, fail, type WeightOption } from './validate.js';

export const CALIBRATOR_FORMAT = 'kiln.calibrator@1';

export interface PlattParams {
  /** p = σ(slope · logit(clip(score)) + intercept). scikit-learn's `_sigmoid_calibration` (a, b) = (−slope, −intercept) on the same input. */
  slope: number;
  intercept: number;
  /** Scores are clipped to [eps, 1 − eps] before the logit. */
  eps: number;
}

export interface IsotonicParams {
  /** Breakpoints, strictly increasing; scores outside [x[0], x[last]] are clipped to it. */
  x: number[];
  /** Fitted probability at each breakpoint, non-decreasing; linear in between. */
  y: number[];
}

export type CalibratorJson =
  | { format: typeof CALIBRATOR_FORMAT; kind: 'platt'; params: PlattParams }
  | { format: typeof CALIBRATOR_FORMAT; kind: 'isotonic'; params: IsotonicParams };

export type Calibrator = CalibratorJson & {
  /** Calibrated probabilities of default for these scores. */
  apply(scores: ArrayLike<number>): Float64Array;
};

export interface PlattOptions extends WeightOption {
  /** Clip for the logit (default 1e-15). */
  eps?: number;
  /** Newton iterations at most (default 100). */
  maxIterations?: number;
}

const sigmoid = (t: number): number => (t >= 0 ? 1 / (1 + Math.exp(-t)) : Math.exp(t) / (1 + Math.exp(t)));
const softplus = (t: number): number => (t > 0 ? t + Math.log1p(Math.exp(-t)) : Math.log1p(Math.exp(t)));
const logitClipped = (s: number, eps: number): number => {
  const p = Math.min(Math.max(s, eps), 1 - eps);
  return Math.log(p) - Math.log1p(-p);
};

function checkFit(fn: string, score: ArrayLike<number>, y: ArrayLike<number>, options: WeightOption | undefined): void {
  const c = new ArgCheck(fn);
  const n = checkLabels(c, y);
  checkScores(c, score, n, 'score', true);
  checkWeights(c, options?.weight, n);
  c.done();
}

function checkApply(kind: string, scores: ArrayLike<number>): void {
  const c = new ArgCheck(`${kind}.apply`);
  checkScores(c, scores, -1, 'scores');
  c.done();
}

/** Builds the Platt calibrator from its parameters. */
export function plattCalibrator(params: PlattParams): Calibrator {
  const { slope, intercept, eps } = params;
  return {
    format: CALIBRATOR_FORMAT, kind: 'platt', params: { slope, intercept, eps },
    apply(scores) {
      checkApply('platt', scores);
      const out = new Float64Array(scores.length);
      for (let i = 0; i < out.length; i++) out[i] = sigmoid(slope * logitClipped(scores[i]!, eps) + intercept);
      return out;
    },
  };
}

/**
 * Platt scaling: fits p = σ(slope·logit(score) + intercept) by Newton's method with backtracking line
 * search (Lin, Lin & Weng 2007), on Platt's smoothed targets: y = 1 counts as (N₊ + 1)/(N₊ + 2) and
 * y = 0 as 1/(N₋ + 2), N the (weighted) class totals. This is scikit-learn's `_sigmoid_calibration`
 * (used by `CalibratedClassifierCV(method='sigmoid')`) applied to logit(score), solved to a tighter
 * tolerance than its BFGS. Starts, as scikit-learn does, from slope 0 and the smoothed prior log-odds.
 * @example fitPlatt(validScore, validY).apply(testScore)
 */
export function fitPlatt(score: ArrayLike<number>, y: ArrayLike<number>, options?: PlattOptions): Calibrator {
  const eps = options?.eps ?? 1e-15;
  const maxIterations = options?.maxIterations ?? 100;
  if (!(eps > 0 && eps < 0.5)) fail('fitPlatt', 'eps', `eps is ${String(eps)}; expected a number in (0, 0.5), e.g. 1e-15`);
  if (!(Number.isInteger(maxIterations) && maxIterations >= 1)) fail('fitPlatt', 'maxIterations', `maxIterations is ${String(maxIterations)}; expected an integer >= 1`);
  checkFit('fitPlatt', score, y, options);
  const w = options?.weight;
  const n = y.length;
  const z = new Float64Array(n), t = new Float64Array(n);
  const { pos, neg } = classTotals(y, w);
  const hiT = (pos + 1) / (pos + 2), loT = 1 / (neg + 2);
  for (let i = 0; i < n; i++) { z[i] = logitClipped(score[i]!, eps); t[i] = y[i] === 1 ? hiT : loT; }
  const loss = (a: number, b: number): number => {
    let s = 0;
    for (let i = 0; i < n; i++) { const e = a * z[i]! + b; s += (w ? w[i]! : 1) * (softplus(e) - t[i]! * e); }
    return s;
  };
  let a = 0, b = Math.log((pos + 1) / (neg + 1));
  let f = loss(a, b);
  const total = pos + neg;
  for (let it = 0; it < maxIterations; it++) {
    let ga = 0, gb = 0, haa = 1e-12, hab = 0, hbb = 1e-12;
    for (let i = 0; i < n; i++) {
      const wi = w ? w[i]! : 1;
      const p = sigmoid(a * z[i]! + b);
      const r = wi * (p - t[i]!), h = wi * p * (1 - p);
      ga += r * z[i]!; gb += r;
      haa += h * z[i]! * z[i]!; hab += h * z[i]!; hbb += h;
    }
    if (Math.max(Math.abs(ga), Math.abs(gb)) <= 1e-11 * Math.max(1, total)) break;
    const det = haa * hbb - hab * hab;
    const da = -(hbb * ga - hab * gb) / det, db = -(haa * gb - hab * ga) / det;
    const slope = ga * da + gb * db;
    let step = 1, accepted = false;
    while (step >= 1e-10) {
      const fNew = loss(a + step * da, b + step * db);
      if (fNew <= f + 1e-4 * step * slope) { a += step * da; b += step * db; f = fNew; accepted = true; break; }
      step /= 2;
    }
    if (!accepted) break; // at the optimum to machine precision: no step decreases the loss
  }
  if (!Number.isFinite(a) || !Number.isFinite(b)) {
    throw new KilnError('EVAL_INPUT_INVALID', `fitPlatt: Newton's method diverged (slope ${a}, intercept ${b}); the scores may separate the classes perfectly — use fitIsotonic, or a larger validation window`);
  }
  return plattCalibrator({ slope: a, intercept: b, eps });
}

/** Builds the isotonic calibrator from its breakpoints; prediction is scipy's `interp1d` with clipping. */
export function isotonicCalibrator(params: IsotonicParams): Calibrator {
  const x = Float64Array.from(params.x), yv = Float64Array.from(params.y);
  const m = x.length;
  return {
    format: CALIBRATOR_FORMAT, kind: 'isotonic', params: { x: Array.from(x), y: Array.from(yv) },
    apply(scores) {
      checkApply('isotonic', scores);
      const out = new Float64Array(scores.length);
      if (m === 1) { out.fill(yv[0]!); return out; }
      const lo = x[0]!, hi = x[m - 1]!;
      for (let i = 0; i < out.length; i++) {
        const v = Math.min(Math.max(scores[i]!, lo), hi);
        let l = 0, h = m; // searchsorted(x, v, 'left'), clipped to [1, m - 1]
        while (l < h) { const mid = (l + h) >>> 1; if (x[mid]! < v) l = mid + 1; else h = mid; }
        const j = Math.min(Math.max(l, 1), m - 1);
        const x0 = x[j - 1]!, y0 = yv[j - 1]!;
        out[i] = ((yv[j]! - y0) / (x[j]! - x0)) * (v - x0) + y0;
      }
      return out;
    },
  };
}

/**
 * Pool-adjacent-violators in place (scikit-learn's `_inplace_contiguous_isotonic_regression`): makes
 * `v` the non-decreasing weighted least-squares fit. `target` marks blocks: [i..j] active means
 * target[i] = j and target[j] = i.
 */
export function pav(v: Float64Array, w: Float64Array): void {
  const n = v.length;
  const target = Int32Array.from({ length: n }, (_, i) => i);
  let i = 0;
  while (i < n) {
    let k = target[i]! + 1;
    if (k === n) break;
    if (v[i]! < v[k]!) { i = k; continue; }
    let sumWy = w[i]! * v[i]!, sumW = w[i]!;
    for (;;) {
      const prev = v[k]!;
      sumWy += w[k]! * v[k]!;
      sumW += w[k]!;
      k = target[k]! + 1;
      if (k === n || prev < v[k]!) {
        v[i] = sumWy / sumW;
        w[i] = sumW;
        target[i] = k - 1;
        target[k - 1] = i;
        if (i > 0) i = target[i - 1]!;
        break;
      }
    }
  }
  for (i = 0; i < n;) {
    const k = target[i]! + 1;
    v.fill(v[i]!, i + 1, k);
    i = k;
  }
}

/**
 * Isotonic calibration: the non-decreasing step-then-linear map from score to default rate that best
 * fits the outcomes (weighted least squares, pool-adjacent-violators), as scikit-learn's
 * `IsotonicRegression(increasing=True, out_of_bounds='clip')`: tied scores are merged first, rows of
 * weight 0 are ignored, redundant breakpoints are trimmed, new scores are interpolated linearly and
 * clipped to the fitted range. Unlike scikit-learn, scores closer than 1e-15 are not merged.
 * @example fitIsotonic(validScore, validY).apply(testScore)
 */
export function fitIsotonic(score: ArrayLike<number>, y: ArrayLike<number>, options?: WeightOption): Calibrator {
  checkFit('fitIsotonic', score, y, options);
  const w = options?.weight;
  const order = argsortAscending(score);
  const n = order.length;
  const ux = new Float64Array(n), uy = new Float64Array(n), uw = new Float64Array(n);
  let m = 0;
  for (let i = 0; i < n;) {
    const s = score[order[i]!]! + 0;
    let sw = 0, swy = 0;
    for (; i < n && score[order[i]!] === s; i++) {
      const r = order[i]!;
      const wi = w ? w[r]! : 1;
      if (wi > 0) { sw += wi; swy += wi * y[r]!; }
    }
    if (sw > 0) { ux[m] = s; uy[m] = swy / sw; uw[m] = sw; m++; }
  }
  const xs = ux.subarray(0, m), ys = uy.subarray(0, m);
  pav(ys, uw.subarray(0, m));
  const keepX: number[] = [], keepY: number[] = [];
  for (let k = 0; k < m; k++) {
    if (k === 0 || k === m - 1 || ys[k] !== ys[k - 1] || ys[k] !== ys[k + 1]) { keepX.push(xs[k]!); keepY.push(ys[k]!); }
  }
  return isotonicCalibrator({ x: keepX, y: keepY });
}

/** Rebuilds a calibrator from its JSON (a string or the parsed object), checking format and parameters. */
export function calibratorFromJson(json: string | unknown): Calibrator {
  const fn = 'calibratorFromJson';
  let o: unknown = json;
  if (typeof json === 'string') {
    try { o = JSON.parse(json); } catch (e) { fail(fn, 'json', `not valid JSON (${(e as Error).message})`); }
  }
  const r = o as Partial<Record<'format' | 'kind' | 'params', unknown>> | null;
  if (r === null || typeof r !== 'object') return fail(fn, 'json', 'expected an object { format, kind, params }');
  if (r.format !== CALIBRATOR_FORMAT) fail(fn, 'format', `format ${String(r.format)} is not ${CALIBRATOR_FORMAT}; this kiln reads ${CALIBRATOR_FORMAT}`);
  const p = (r.params ?? {}) as Record<string, unknown>;
  const finite = (v: unknown): v is number => typeof v === 'number' && Number.isFinite(v);
  if (r.kind === 'platt') {
    if (!finite(p.slope) || !finite(p.intercept) || !finite(p.eps)) fail(fn, 'params', 'platt params need finite slope, intercept and eps');
    return plattCalibrator({ slope: p.slope as number, intercept: p.intercept as number, eps: p.eps as number });
  }
  if (r.kind === 'isotonic') {
    const x = p.x, y = p.y;
    const ok = Array.isArray(x) && Array.isArray(y) && x.length === y.length && x.length > 0 && x.every(finite) && y.every(finite)
      && x.every((v, i) => i === 0 || v > x[i - 1]!) && y.every((v, i) => i === 0 || v >= y[i - 1]!);
    if (!ok) fail(fn, 'params', 'isotonic params need equal-length, non-empty x (strictly increasing) and y (non-decreasing)');
    return isotonicCalibrator({ x: x as number[], y: y as number[] });
  }
  return fail(fn, 'kind', `kind ${String(r.kind)} is unknown; use one of: platt, isotonic`);
}
