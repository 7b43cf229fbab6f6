/**
 * Scorecard scaling: probability of default ↔ points, the linear-in-log-odds scale of credit scores.
 * points = offset + factor · ln(odds of good), odds of good = (1 − pd) / pd, with
 * factor = pdo / ln 2 and offset = basePoints − factor · ln(baseOdds): `baseOdds` to 1 good:bad scores
 * `basePoints`, and every `pdo` points doubles the odds.
 */
import { ArgCheck, fail } from './validate.js';

export interface ScalingParams {
  /** Points at the base odds (default 600). */
  basePoints?: number;
  /** Odds of good at the base points, good:bad (default 50, i.e. pd = 1/51). */
  baseOdds?: number;
  /** Points to double the odds (default 20). */
  pdo?: number;
}

export interface ScorecardScaling {
  params: Required<ScalingParams>;
  factor: number;
  offset: number;
  /** Points for a probability of default in [0, 1]: pd 0 is +Infinity, pd 1 is −Infinity. */
  toPoints(pd: number): number;
  /** The inverse: probability of default for points (±Infinity map back to 0 and 1). */
  toPd(points: number): number;
  toPointsArray(pd: ArrayLike<number>): Float64Array;
  toPdArray(points: ArrayLike<number>): Float64Array;
}

/**
 * Builds the points ↔ probability-of-default map. Higher points = lower risk.
 * @example const s = scorecardScaling({ basePoints: 600, baseOdds: 50, pdo: 20 });
 * s.toPoints(1 / 51) // 600;  s.toPoints(1 / 101) // 620;  s.toPd(620) // 0.00990…
 */
export function scorecardScaling(params: ScalingParams = {}): ScorecardScaling {
  const basePoints = params.basePoints ?? 600, baseOdds = params.baseOdds ?? 50, pdo = params.pdo ?? 20;
  const c = new ArgCheck('scorecardScaling');
  if (!Number.isFinite(basePoints)) c.add('basePoints', `basePoints is ${String(basePoints)}; expected a finite number such as 600`);
  if (!(baseOdds > 0 && baseOdds < Infinity)) c.add('baseOdds', `baseOdds is ${String(baseOdds)}; expected odds of good > 0 such as 50 (50:1)`);
  if (!(pdo > 0 && pdo < Infinity)) c.add('pdo', `pdo is ${String(pdo)}; expected points to double the odds > 0 such as 20`);
  c.done();
  const factor = pdo / Math.LN2;
  const offset = basePoints - factor * Math.log(baseOdds);
  const toPoints = (pd: number): number => {
    if (!(pd >= 0 && pd <= 1)) fail('scorecardScaling.toPoints', 'pd', `pd is ${String(pd)}; expected a probability of default in [0, 1]`);
    // ln((1 − pd) / pd) without cancellation near 0 and 1
    return offset + factor * (Math.log1p(-pd) - Math.log(pd));
  };
  const toPd = (points: number): number => {
    if (points !== points) fail('scorecardScaling.toPd', 'points', 'points is NaN; expected a number');
    const t = (points - offset) / factor; // ln(odds of good)
    return t >= 0 ? Math.exp(-t) / (1 + Math.exp(-t)) : 1 / (1 + Math.exp(t));
  };
  return {
    params: { basePoints, baseOdds, pdo }, factor, offset, toPoints, toPd,
    toPointsArray: (pd) => Float64Array.from(pd, toPoints),
    toPdArray: (points) => Float64Array.from(points, toPd),
  };
}
